"""Decide which loader reads a file: by its content first, then by its extension.

Content decides when it is unambiguous (``%PDF-``, a ZIP holding ``word/document.xml``, NUL
bytes, a known binary signature), so a PDF saved as ``.txt`` is read as a PDF and a PNG saved as
``.md`` is skipped rather than indexed as garbage. Text files are then told apart by extension.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

from jpagent.errors import LoaderError

# Format names, as they appear in Document.metadata["format"].
FORMATS = ("txt", "md", "html", "pdf", "docx", "csv")

TEXT_EXTENSIONS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".log": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".csv": "csv",
    ".tsv": "csv",
}
"""Extensions read as text, and the format each one is parsed as."""

# Signatures of common binary files, for a message that says what the file is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!", "RAR archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office file (.doc/.xls/.ppt)"),
)

_ZIP_KINDS = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "Excel workbook (.xlsx)"),
    ("ppt/presentation.xml", "PowerPoint file (.pptx)"),
)

_UNICODE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

SNIFF_BYTES = 8192
"""How many leading bytes are searched for NUL bytes and HTML markers."""

_HINTS = {
    "legacy Office file (.doc/.xls/.ppt)": "save it as .docx (Word) or .csv (Excel) and load that",
    "Excel workbook (.xlsx)": "save the sheet as CSV and load that",
    "PowerPoint file (.pptx)": "export it as PDF and load that",
}


def sniff_format(path: Path, data: bytes) -> str:
    """Return the format (one of :data:`FORMATS`) that reads ``data``, read from ``path``.

    Raises :class:`~jpagent.errors.LoaderError` for binary or unsupported files, saying what
    the file looks like and what to do with it.
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_format(path, data)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise unsupported(path, f"binary file ({what})", _HINTS.get(what, ""))
    ext = path.suffix.lower()
    if ext in {".pdf", ".docx"}:
        raise LoaderError(
            f"{path}: the extension says {ext} but the content is not one "
            f"(no {'%PDF- header' if ext == '.pdf' else 'ZIP container'}); the file is broken or misnamed.",
            f"{path}: 拡張子は {ext} ですが中身が {ext} ではありません（破損または拡張子の誤り）。",
        )
    head = data[:SNIFF_BYTES]
    if b"\x00" in head and not head.startswith(_UNICODE_BOMS):
        raise unsupported(path, "binary file (contains NUL bytes)")
    if ext in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[ext]
    if _looks_like_html(head):
        return "html"
    supported = ", ".join(sorted({*TEXT_EXTENSIONS, ".pdf", ".docx"}))
    raise unsupported(
        path, f"unsupported file type '{ext or '(no extension)'}'", f"supported: {supported}"
    )


def unsupported(path: Path, what: str, hint: str = "") -> LoaderError:
    """A :class:`LoaderError` for a file jpagent does not read (reported as skipped)."""
    return LoaderError(
        f"{path}: {what}; not loaded.",
        f"{path}: 読み込めない形式のためスキップしました（{what}）。",
        hint=hint,
    )


def _zip_format(path: Path, data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise LoaderError(
            f"{path}: broken ZIP container ({exc}); if it is a .docx, open and save it again.",
            f"{path}: ZIP 形式が壊れています。docx なら Word で開いて保存し直してください。",
        ) from None
    for member, kind in _ZIP_KINDS:
        if member in names:
            if kind == "docx":
                return "docx"
            raise unsupported(path, kind, _HINTS.get(kind, ""))
    raise unsupported(path, "ZIP archive", "extract it and load the folder")


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    return start.startswith((b"<!doctype html", b"<html"))
