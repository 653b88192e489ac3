"""Cell formatting shared by the renderers, and the fallback renderer for unknown files.

:func:`render_generic` shows any JSON object as a table of its scalar settings (nested
objects flattened to dotted keys) plus a table for its ``rows`` and for every other list of
objects it holds — so a new kind of result is readable before it has its own renderer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jpagent.evals.reportsite.model import Block, Section, Table

#: Rows shown per table of a generic file (the rest is counted in the table's note).
MAX_ROWS = 60
#: Depth to which nested objects are flattened into ``a.b.c`` keys.
MAX_DEPTH = 3


def fmt(value: Any, digits: int = 3, fixed: bool = True) -> str:
    """One cell: floats to ``digits`` decimals (large ones grouped), ints grouped, None blank.

    With ``fixed=False`` a float that needs fewer decimals keeps its short form (0.3, not
    0.300): for settings, where the value typed matters more than aligned columns.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.{min(digits, 1)}f}"
        if not fixed and round(value, digits) == value:
            return repr(value)
        return f"{value:.{digits}f}"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(_is_scalar(v) for v in value):
        return ", ".join(fmt(v, digits, fixed) for v in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def pct(value: Any) -> str:
    """A share (0..1) as a percentage with one decimal; non-numbers as :func:`fmt`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:.1f}%"
    return fmt(value)


def num(value: Any) -> float | None:
    """A value as a float for a chart, or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def flatten(data: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Scalar leaves of ``data`` as ``(dotted.key, value)``; lists of objects are counted."""
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < MAX_DEPTH:
            pairs += flatten(value, name + ".", depth + 1)
        elif isinstance(value, list) and value and not all(_is_scalar(v) for v in value):
            pairs.append((name, f"[{len(value)} items]"))
        else:
            pairs.append((name, value))
    return pairs


def kv_table(title: str, pairs: Iterable[tuple[str, Any]], note: str = "") -> Table:
    """A two-column table (setting, value)."""
    rows = tuple((str(k), fmt(v, fixed=False)) for k, v in pairs)
    return Table(title, ("setting", "value"), rows, note)


def dict_rows_table(
    title: str, rows: Sequence[Mapping[str, Any]], limit: int = MAX_ROWS, note: str = ""
) -> Table:
    """A table of a list of objects: the union of their keys (first-seen order) as columns."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(str(k) for k in row))
    shown = rows[:limit]
    cells = tuple(tuple(fmt(row.get(c), fixed=False) for c in columns) for row in shown)
    if len(rows) > limit:
        note = (note + " " if note else "") + f"First {limit} of {len(rows)} rows."
    return Table(title, tuple(columns), cells, note)


def date_of(data: Mapping[str, Any], path: Path) -> str:
    """The run's date (``date`` field, else the ``YYYY-MM-DD`` in the file name, else blank)."""
    date = data.get("date")
    if isinstance(date, str) and date:
        return date
    parts = path.stem.split("-")
    for i in range(len(parts) - 2):
        candidate = "-".join(parts[i : i + 3])
        if len(candidate) == 10 and candidate.replace("-", "").isdigit():
            return candidate
    return ""


def make_section(
    kind: str, title: str, path: Path, data: Mapping[str, Any], blocks: Sequence[Block]
) -> Section:
    """A :class:`Section` with the date and command read from ``data``."""
    command = data.get("command")
    return Section(
        kind=kind,
        title=title,
        source=path,
        date=date_of(data, path),
        command=command if isinstance(command, str) else "",
        blocks=tuple(blocks),
    )


def render_generic(path: Path, data: Any) -> Section:
    """Any JSON object: its scalar settings, then a table per list of objects (``rows`` first)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"the top level is a JSON {type(data).__name__}, not an object")
    lists = {
        k: v
        for k, v in data.items()
        if isinstance(v, list) and v and all(isinstance(r, Mapping) for r in v)
    }
    order = sorted(lists, key=lambda k: k != "rows")
    scalars = [(k, v) for k, v in flatten(data) if k.split(".")[0] not in lists]
    scalars = [(k, v) for k, v in scalars if k not in ("command", "date")]
    blocks: list[Block] = [kv_table("Settings and figures", scalars)]
    blocks += [dict_rows_table(k, lists[k]) for k in order]
    return make_section("generic", path.stem, path, data, blocks)
