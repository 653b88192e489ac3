"""Tables as text: a row that can be read alone names its cells by their column headers.

Japanese regulations put one value per (row label, column header) pair::

    区分               | 役員     | 一般社員
    国内出張日当（1日） | 5,000円 | 3,000円

A chunk, a search hit or a small model that sees the row ``国内出張日当（1日） | 5,000円 |
3,000円`` without the header cannot tell 役員's amount from 一般社員's (the embedded 1.5B model
answered 5,000円 for 一般社員, evals/results/ask-2026-12-02.md). So a table whose first row
is a header is written one line per data row in the CSV loader's form,
``区分: 国内出張日当（1日）、役員: 5,000円、一般社員: 3,000円`` (empty cells left out, an
empty header cell leaves its value unnamed). Other tables keep their cells joined by ``" | "``.

Whether the first row is a header: the loader says so when the format does (HTML ``<th>``
cells); otherwise it is when the table has at least three columns and two rows, and every cell
of the first row except the top-left corner is non-empty, short, unique and not a number.
Two-column tables are left as they are: they are mostly label | value forms (氏名 | 山田),
where the first row is data. A table whose rows do not all have the header's number of cells
(merged cells) is left as it is too: its cells cannot be matched to their columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["CELL_SEPARATOR", "looks_like_header", "table_lines"]

CELL_SEPARATOR = " | "
FIELD_SEPARATOR = "、"
NAME_SEPARATOR = ": "
_MAX_HEADER_CHARS = 40
_NUMBER = re.compile(r"[\d０-９,，.．\s%％円¥￥$+\-−－]+")


def table_lines(rows: Sequence[Sequence[str]], *, header: bool | None = None) -> list[str]:
    """One line per non-empty row: cells named by the header row when there is one, else
    joined by ``" | "``. ``header=None`` decides by :func:`looks_like_header`."""
    kept = [list(row) for row in rows if any(row)]
    if header is None:
        header = looks_like_header(kept)
    if not header or len(kept) < 2 or any(len(row) != len(kept[0]) for row in kept):
        return [CELL_SEPARATOR.join(row) for row in kept]
    columns = kept[0]
    lines = []
    for row in kept[1:]:
        fields = [
            f"{name}{NAME_SEPARATOR}{value}" if name else value
            for name, value in zip(columns, row, strict=True)
            if value
        ]
        lines.append(FIELD_SEPARATOR.join(fields))
    return lines


def looks_like_header(rows: Sequence[Sequence[str]]) -> bool:
    """Whether the first row reads as column headers (see the module notes)."""
    if len(rows) < 2 or len(rows[0]) < 3:
        return False
    names = list(rows[0][1:]) if not rows[0][0] else list(rows[0])
    return (
        all(names)
        and len(set(names)) == len(names)
        and all(len(name) <= _MAX_HEADER_CHARS for name in names)
        and not any(_NUMBER.fullmatch(name) for name in names)
    )
