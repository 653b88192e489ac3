"""Plain text and Markdown files.

The text is kept as written (only newlines are unified to LF), so chunk offsets point at the
source. Markdown headings are found, not rendered: ``metadata["headings"]`` lists
``[level, start, title]`` with ``start`` the offset of the heading line in ``Document.text``.
"""

from __future__ import annotations

import re
from pathlib import Path

from jpagent.loaders.common import decode_text, make_document
from jpagent.types import Document

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_OR_QUOTE = re.compile(r"^ {0,3}(?:[-*+>]|\d+[.)])(?:[ \t]|$)")


def load_txt(path: Path, data: bytes) -> list[Document]:
    """One Document with the decoded text; ``metadata["encoding"]`` names the encoding found."""
    text, encoding = decode_text(path, data)
    return [make_document(path, text, "txt", encoding=encoding)]


def load_markdown(path: Path, data: bytes) -> list[Document]:
    """One Document with the Markdown source and its headings; title = the first ``#`` heading."""
    text, encoding = decode_text(path, data)
    headings = markdown_headings(text)
    title = next((h[2] for h in headings if h[0] == 1), headings[0][2] if headings else None)
    return [make_document(path, text, "md", encoding=encoding, headings=headings, title=title)]


def markdown_headings(text: str) -> list[list]:
    """ATX (``## 見出し``) and setext (``見出し`` over ``===``/``---``) headings of ``text``.

    Returns ``[[level, start, title], ...]`` in order, ``start`` being the offset of the
    heading's first line. Lines inside fenced code blocks and YAML front matter are ignored.
    """
    headings: list[list] = []
    fence: str | None = None
    offset = 0
    previous: tuple[int, str] | None = None  # (start, stripped text) of a paragraph line
    lines = text.split("\n")
    index = _front_matter_end(lines)
    offset = sum(len(line) + 1 for line in lines[:index])
    for line in lines[index:]:
        start = offset
        offset += len(line) + 1
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0]:
                if len(fence_match.group(1)) >= len(fence):
                    fence = None
            continue
        if fence_match:
            fence, previous = fence_match.group(1), None
            continue
        atx = _ATX.match(line)
        if atx:
            title = (atx.group(2) or "").strip()
            if title:
                headings.append([len(atx.group(1)), start, title])
            previous = None
            continue
        setext = _SETEXT.match(line)
        if setext and previous is not None:
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append([level, previous[0], previous[1]])
            previous = None
            continue
        stripped = line.strip()
        is_paragraph_line = bool(stripped) and not _LIST_OR_QUOTE.match(line)
        previous = (start, stripped) if is_paragraph_line and line[:4].strip() else None
    return headings


def _front_matter_end(lines: list[str]) -> int:
    """Index of the first line after a leading ``---`` … ``---`` YAML block (0 if none)."""
    if not lines or lines[0].strip() != "---":
        return 0
    for index in range(1, len(lines)):
        if lines[index].strip() in {"---", "..."}:
            return index + 1
    return 0
