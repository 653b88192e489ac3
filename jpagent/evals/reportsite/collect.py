"""Read every ``*.json`` of a results folder and turn each into a section of the report.

The kind of a file is detected from its fields (``kind``, ``eval``, ``benchmark``) or, failing
that, from its name's prefix (``retrieval-tuning-``, ``loaders-``…). A file of a known kind
whose fields do not match its renderer is rendered by the generic renderer, with a warning
saying why; a file that is not a JSON object at all is listed as skipped with the reason.
Nothing here raises for a bad file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from jpagent.errors import ConfigError
from jpagent.evals.reportsite import kinds_bench, kinds_eval
from jpagent.evals.reportsite.generic import render_generic
from jpagent.evals.reportsite.model import Notes, Report, Section, Skipped

log = logging.getLogger(__name__)

Renderer = Callable[[Path, Any], Section]


class Kind(NamedTuple):
    """A known kind of result file: how to recognise it and how to render it."""

    name: str
    matches: Callable[[str, Mapping[str, Any]], bool]
    render: Renderer


def _prefix(*prefixes: str) -> Callable[[str, Mapping[str, Any]], bool]:
    return lambda name, data: name.startswith(prefixes)


#: Known kinds, in the order the report shows them (first match wins).
KINDS: tuple[Kind, ...] = (
    Kind(
        "mtbench",
        lambda n, d: d.get("kind") == "mtbench" or (n.startswith("mtbench-") and "models" in d),
        kinds_eval.render_mtbench,
    ),
    Kind(
        "retrieval",
        lambda n, d: (
            "metric_names" in d
            and "results" in d
            or (n.startswith("retrieval-") and not n.startswith("retrieval-tuning-"))
        ),
        kinds_eval.render_retrieval,
    ),
    Kind("qa", lambda n, d: d.get("eval") == "qa" or n.startswith("qa-"), kinds_eval.render_qa),
    Kind("ask", lambda n, d: d.get("eval") == "ask", kinds_eval.render_ask),
    Kind(
        "tuning",
        lambda n, d: n.startswith("retrieval-tuning-") or ("bm25_rows" in d and "best" in d),
        kinds_eval.render_tuning,
    ),
    Kind("loaders", _prefix("loaders-"), kinds_bench.render_loaders),
    Kind("chunking", _prefix("chunking-"), kinds_bench.render_chunking),
    Kind(
        "ingest",
        lambda n, d: d.get("benchmark") == "ingest" or n.startswith("ingest-"),
        kinds_bench.render_ingest,
    ),
    Kind(
        "latency",
        lambda n, d: d.get("benchmark") == "query latency" or n.startswith("latency-"),
        kinds_bench.render_latency,
    ),
)
_ORDER = {k.name: i for i, k in enumerate(KINDS)}


def detect_kind(name: str, data: Mapping[str, Any]) -> Kind | None:
    """The known kind of file ``name`` holding ``data``, or None (generic)."""
    for kind in KINDS:
        if kind.matches(name, data):
            return kind
    return None


def render_file(path: Path) -> Section | Skipped:
    """One result file as a :class:`Section`, or :class:`Skipped` with the reason."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return Skipped(path, f"cannot read the file: {exc}")
    except json.JSONDecodeError as exc:
        return Skipped(path, f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Skipped(path, f"the top level is a JSON {type(data).__name__}, not an object")
    kind = detect_kind(path.name, data)
    warning = ""
    section: Section | None = None
    if kind is not None:
        try:
            section = kind.render(path, data)
        except Exception as exc:  # schema drift: show what we can rather than nothing
            warning = (
                f"looks like a {kind.name} result but its fields do not match "
                f"({type(exc).__name__}: {exc}); shown with the generic renderer"
            )
            log.warning("%s: %s", path, warning)
    if section is None:
        try:
            section = render_generic(path, data)
        except Exception as exc:
            return Skipped(path, f"cannot render: {type(exc).__name__}: {exc}")
    notes_path = path.with_suffix(".md")
    blocks = section.blocks
    if notes_path.is_file():
        try:
            blocks = (*blocks, Notes(notes_path, notes_path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s: cannot read the notes beside it: %s", path, exc)
    return replace(section, blocks=blocks, warning=warning)


def _ordered(sections: list[Section]) -> list[Section]:
    """Known kinds in :data:`KINDS` order, newest first within a kind; generic files last."""
    by_date = sorted(sections, key=lambda s: (s.date[:10], s.source.name), reverse=True)
    return sorted(by_date, key=lambda s: _ORDER.get(s.kind, len(KINDS)))


def collect_report(folder: str | Path, title: str = "jpagent eval report") -> Report:
    """Every ``*.json`` directly in ``folder``, rendered and ordered (no recursion)."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(
            f"Results folder {root} does not exist or is not a folder.",
            f"結果フォルダ {root} が見つかりません。",
            hint="pass --results DIR (the folder the evals wrote their .json files to)",
        )
    sections: list[Section] = []
    skipped: list[Skipped] = []
    for path in sorted(root.glob("*.json")):
        result = render_file(path)
        if isinstance(result, Section):
            sections.append(result)
        else:
            skipped.append(result)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Report(title, root, now, tuple(_ordered(sections)), tuple(skipped))
