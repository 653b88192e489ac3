"""CSV and TSV files (as Excel saves them: CP932, or UTF-8 with a BOM), one line per row.

The first row is the header. Every later row becomes one line ``列名: 値、列名: 値`` (empty
cells left out, line breaks inside a cell turned into spaces), so the chunker sees each row as
one sentence that names its columns. ``metadata["columns"]`` holds the header and
``metadata["rows"]`` ``[[row_no, start, end], ...]``, where ``row_no`` is the row number a
spreadsheet shows (the header is row 1) and ``start``/``end`` are offsets into
``Document.text``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jpagent.errors import LoaderError
from jpagent.loaders.common import decode_text, make_document
from jpagent.loaders.tables import FIELD_SEPARATOR, NAME_SEPARATOR
from jpagent.types import Document

_DELIMITERS = ",\t;"


def load_csv(path: Path, data: bytes) -> list[Document]:
    """One Document for the table; raises LoaderError for a malformed file or no data rows."""
    text, encoding = decode_text(path, data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise LoaderError(
            f"{path}: malformed CSV ({exc}).",
            f"{path}: CSV の形式が正しくありません（{exc}）。",
        ) from None
    records = [[cell.strip() for cell in record] for record in records]
    header_index = next((i for i, record in enumerate(records) if any(record)), len(records))
    if not any(any(record) for record in records[header_index + 1 :]):
        raise LoaderError(
            f"{path}: the CSV has no data rows (only a header, or nothing).",
            f"{path}: CSV にデータ行がありません。",
        )
    columns = header_names(records[header_index])
    lines: list[str] = []
    spans: list[list[int]] = []
    offset = 0
    for index in range(header_index + 1, len(records)):
        line = render_row(columns, records[index])
        if not line:
            continue
        spans.append([index + 1, offset, offset + len(line)])  # spreadsheet row numbers are 1-based
        lines.append(line)
        offset += len(line) + 1
    return [
        make_document(
            path,
            "\n".join(lines),
            "csv",
            encoding=encoding,
            delimiter=delimiter,
            columns=columns,
            rows=spans,
        )
    ]


def render_row(columns: list[str], record: list[str]) -> str:
    """``列名: 値、列名: 値`` for the non-empty cells of ``record``; extra cells get ``列N``."""
    fields = []
    for number, value in enumerate(record, start=1):
        if not value:
            continue
        name = columns[number - 1] if number <= len(columns) else f"列{number}"
        fields.append(f"{name}{NAME_SEPARATOR}{' '.join(value.split())}")
    return FIELD_SEPARATOR.join(fields)


def header_names(header: list[str]) -> list[str]:
    """Column names from the header row; a blank name becomes ``列N`` (its 1-based position)."""
    return [name or f"列{number}" for number, name in enumerate(header, start=1)]


def sniff_delimiter(text: str) -> str:
    """Comma, tab or semicolon, whichever :class:`csv.Sniffer` finds in the first lines."""
    sample = "\n".join(text.split("\n", 20)[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","
