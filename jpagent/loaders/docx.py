"""Word (.docx) files through python-docx: paragraphs and tables in document order.

Each non-empty paragraph is a line. A paragraph is a heading when its style is ``Heading N`` /
``見出し N`` (as Word names them in English and Japanese) or when it carries an outline level;
headings go to ``metadata["headings"]`` as ``[level, start, title]``. Each table row becomes
a line: ``区分: 国内出張日当（1日）、役員: 5,000円、一般社員: 3,000円`` under a header row, else
its cells joined by ``" | "`` (a merged cell written once); see :mod:`jpagent.loaders.tables`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from jpagent.errors import LoaderError
from jpagent.loaders.common import make_document
from jpagent.loaders.tables import table_lines
from jpagent.types import Document

_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*([1-9])$", re.I)
_TITLE_STYLES = frozenset({"title", "表題"})
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def load_docx(path: Path, data: bytes) -> list[Document]:
    """One Document with the body text, headings and ``title`` (core property, Title style, h1)."""
    import docx  # python-docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, XML errors…
        raise LoaderError(
            f"{path}: cannot read the .docx ({type(exc).__name__}: {exc}); open it in Word and "
            "save it again.",
            f"{path}: docx を読み取れません。Word で開いて保存し直してください。",
        ) from exc
    lines: list[str] = []
    headings: list[list] = []
    offset = 0
    title = document.core_properties.title or ""

    def add(line: str) -> int:
        nonlocal offset
        start = offset
        lines.append(line)
        offset += len(line) + 1
        return start

    for element in document.element.body.iterchildren():
        if element.tag == f"{_W}p":
            paragraph = Paragraph(element, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = paragraph.style.name if paragraph.style is not None else ""
            level = heading_level(style, _outline_level(element))
            start = add(text)
            if style.lower() in _TITLE_STYLES:
                title = title or text
            elif level is not None:
                headings.append([level, start, text])
        elif element.tag == f"{_W}tbl":
            for row in table_rows(Table(element, document)):
                add(row)
    title = title or next((h[2] for h in headings if h[0] == 1), "")
    return [
        make_document(
            path, "\n".join(lines), "docx", encoding="utf-8", headings=headings, title=title or None
        )
    ]


def heading_level(style_name: str, outline_level: int | None = None) -> int | None:
    """Heading level from a style name (``Heading 2``, ``見出し 2``) or a 0-based outline level."""
    match = _HEADING_STYLE.match(style_name.strip())
    if match:
        return int(match.group(1))
    if outline_level is not None and 0 <= outline_level <= 8:
        return outline_level + 1
    return None


def table_rows(table: object) -> list[str]:
    """The table's lines (:func:`jpagent.loaders.tables.table_lines`): cells named by a header
    row (Word's "repeat as header row" flag, or one that looks like a header), else joined by
    ``" | "``. A cell merged across columns appears once, and then no cell is named."""
    rows: list[list[str]] = []
    merged = False
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        seen: list[object] = []  # the cells' XML elements, kept alive so `is` is reliable
        for cell in row.cells:
            if any(cell._tc is element for element in seen):
                merged = True
                continue
            seen.append(cell._tc)
            cells.append(" ".join(cell.text.split()))
        rows.append(cells)
    first = table._tbl.tr_lst[0] if table._tbl.tr_lst else None  # type: ignore[attr-defined]
    flagged = first is not None and first.find(f"{_W}trPr/{_W}tblHeader") is not None
    return table_lines(rows, header=False if merged else (True if flagged else None))


def _outline_level(paragraph_element: object) -> int | None:
    """The paragraph's own ``w:outlineLvl`` (0-8; 9 means body text), if set."""
    found = paragraph_element.find(f"{_W}pPr/{_W}outlineLvl")  # type: ignore[attr-defined]
    if found is None:
        return None
    try:
        return int(found.get(f"{_W}val"))
    except (TypeError, ValueError):
        return None
