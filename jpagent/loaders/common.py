"""What every loader shares: building a Document and refusing text that is not text."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from jpagent.errors import LoaderError
from jpagent.text.encoding import decode_bytes
from jpagent.types import Document

BINARY_CONTROL_SHARE = 0.01
"""Decoded text with more than this share of control characters (other than tab, newline,
carriage return, form feed and ESC) is refused as binary."""

_ALLOWED_CONTROLS = frozenset("\t\n\r\f\x1b")


def normalize_newlines(text: str) -> str:
    """Turn CRLF and lone CR into LF, so offsets and line-based splitting agree everywhere."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def make_document(path: Path, text: str, fmt: str, **metadata: Any) -> Document:
    """A :class:`Document` whose id and source are ``str(path)``, with ``format`` and ``title``.

    ``title`` defaults to the file name without its extension. Raises
    :class:`~jpagent.errors.LoaderError` when ``text`` holds nothing but whitespace.
    """
    if not text.strip():
        raise LoaderError(
            f"{path}: no text to index (the {fmt} file holds only whitespace or markup).",
            f"{path}: 索引できる本文がありません（空白やタグのみ）。",
        )
    meta: dict[str, Any] = {"format": fmt, "title": path.stem}
    meta.update({key: value for key, value in metadata.items() if value is not None})
    return Document(id=str(path), text=text, source=str(path), metadata=meta)


def check_not_binary(path: Path, text: str, encoding: str) -> None:
    """Raise :class:`~jpagent.errors.LoaderError` if decoded ``text`` is mostly control codes.

    Legacy decoders accept many byte strings, so a binary file without NUL bytes can decode
    "cleanly" as CP932; its control characters give it away.
    """
    sample = text[:65536]
    if not sample:
        return
    controls = sum(
        1 for ch in sample if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc"
    )
    if controls / len(sample) > BINARY_CONTROL_SHARE:
        raise LoaderError(
            f"{path}: looks binary: {controls} control characters in the first {len(sample)} "
            f"characters decoded as {encoding}; not loaded.",
            f"{path}: バイナリファイルのようです（制御文字が多すぎます）。読み込みません。",
        )


def decode_text(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode a text file's bytes strictly: ``(text with LF newlines, encoding name)``.

    ``declared`` is a charset the file states (HTML ``<meta charset>``). Raises
    :class:`~jpagent.errors.DecodeError` when no encoding fits and
    :class:`~jpagent.errors.LoaderError` when the result is binary.
    """
    decoded = decode_bytes(data, source=str(path), declared=declared)
    text = normalize_newlines(decoded.text)
    check_not_binary(path, text, decoded.encoding)
    return text, decoded.encoding
