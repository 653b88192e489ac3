"""PDF files: the text layer of every page, with page numbers in ``metadata["page_spans"]``.

Extraction uses pypdf. Measured on reportlab's Japanese CID-font PDFs (HeiseiMin-W3,
HeiseiKakuGo-W5, encoding UniJIS-UCS2-H; ``evals/bench_loaders.py``), pypdf returns every
character, vendor characters included, while pdfminer.six emits ``(cid:8443)`` for 﨑 and maps
～ (U+FF5E) to 〜 (U+301C).

PDF text arrives in visual lines. A line that fills the page width and does not end a sentence
is a wrapped line: it is joined to the next one (with no space between Japanese characters), so
a sentence is not cut in two at the margin. Headings, list items and short lines stay apart.

Running headers and footers are dropped: a line among the first or last two of a page that
recurs, numbers aside, on at least half of the pages (and on two at least), such as
``社外秘　1 / 4`` or ``株式会社さくらテック 社内規程``, and a line that is only a page number
(``- 3 -``, ``3 / 12``, ``p. 3``, ``3ページ``) in those places of a PDF of two pages or more.
Regulation headings (第N章…) and list items are never dropped. They would otherwise sit in
every chunk of their page and match every query that shares a word with them (a footer
社外秘 on every page matched a question about 社外秘 information everywhere).
``metadata["running_lines"]`` lists what was dropped, numbers written ``#``.

Pages are separated by a blank line; ``page_spans`` is ``[[page_no, start, end], ...]`` with
1-based page numbers and offsets into ``Document.text``. PDFs carry no reliable heading marks,
so only the numbering of Japanese regulations is read as headings: a short line without 。
that starts with 第N章 (level 1), 第N節 (level 2) or 第N条 (level 3), or is 附則 (level 1),
goes to ``metadata["headings"]`` as ``[level, start, title]``.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from pathlib import Path

from jpagent.errors import LoaderError
from jpagent.loaders.common import make_document
from jpagent.types import Document

logger = logging.getLogger(__name__)

WRAP_WIDTH_SHARE = 0.85
"""A line at least this share of the page's widest line (in display columns) may be a wrap."""

MIN_WRAP_WIDTH = 40
"""Pages whose widest line is narrower than this (columns) are never joined: too little to judge."""

_SENTENCE_END = tuple("。．！？!?」』）)：:")
_BLOCK_START = re.compile(
    r"^\s*(?:第[0-9０-９一二三四五六七八九十百]+[章条節項]|[・•■□◆◇●○※＊*\-‐－]|"
    r"[0-9０-９]+[.)．）]|[（(][0-9０-９一二三四五六七八九十]+[）)]|[①-⑳])"
)
_PAGE_SEPARATOR = "\n\n"
_HEADING = re.compile(r"^第[0-9０-９一二三四五六七八九十百]+([章節条])(?:[\s　（(]|$)")
_HEADING_LEVELS = {"章": 1, "節": 2, "条": 3}
MAX_HEADING_CHARS = 40
"""Longer lines are body text even when they start with 第N条."""

RUNNING_EDGE_LINES = 2
"""How many lines at the top and at the bottom of a page may be a running header or footer."""
RUNNING_MAX_CHARS = 80
"""Longer lines are body text, never a running header or footer."""
_DIGITS = re.compile(r"[0-9０-９]+")
_PAGE_NUMBER = re.compile(
    r"[\s\-‐－–—―]*(?:p\.?|page|ページ|頁)?\s*[0-9０-９]+\s*(?:[/／]\s*[0-9０-９]+)?"
    r"\s*(?:ページ|頁)?[\s\-‐－–—―]*",
    re.IGNORECASE,
)


def load_pdf(path: Path, data: bytes) -> list[Document]:
    """One Document for the whole PDF; raises LoaderError for broken, encrypted or image-only files."""
    import pypdf  # imported on first use: keeps `import jpagent.loaders` light

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _raise_encrypted(path, reader)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata or {}).get("/Title")
    except LoaderError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged input
        raise LoaderError(
            f"{path}: cannot read the PDF ({type(exc).__name__}: {exc}); the file is truncated "
            "or damaged. Re-export or download it again.",
            f"{path}: PDF を読み取れません（途中で切れているか破損しています）。"
            "出力し直すか再取得してください。",
        ) from exc
    if not any(page.strip() for page in pages):
        raise LoaderError(
            f"{path}: no text layer (scanned PDF?) — run OCR first "
            f"({len(pages)} page(s), no extractable text).",
            f"{path}: テキスト層がありません（スキャンした PDF？）。先に OCR をかけてください。",
            hint="e.g. `ocrmypdf -l jpn in.pdf out.pdf`, then load out.pdf",
        )
    pages, running = drop_running_lines(pages)
    text_parts: list[str] = []
    spans: list[list[int]] = []
    headings: list[list] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        page_text = join_wrapped_lines(page)
        if text_parts:
            text_parts.append(_PAGE_SEPARATOR)
            offset += len(_PAGE_SEPARATOR)
        text_parts.append(page_text)
        spans.append([number, offset, offset + len(page_text)])
        headings.extend(
            [level, offset + start, title] for level, start, title in find_headings(page_text)
        )
        offset += len(page_text)
    empty = [span[0] for span in spans if span[1] == span[2]]
    if empty:
        logger.info("%s: pages without text (images only?): %s", path, empty)
    return [
        make_document(
            path,
            "".join(text_parts),
            "pdf",
            page_spans=spans,
            pages=len(pages),
            headings=headings,
            title=str(title) if title else None,
            running_lines=running,
        )
    ]


def drop_running_lines(pages: list[str]) -> tuple[list[str], list[str]]:
    """The pages without their running headers and footers, and what was dropped (numbers as
    ``#``); see the module notes. Documents of one page are returned as they are."""
    if len(pages) < 2:
        return pages, []
    lines = [page.replace("\r\n", "\n").split("\n") for page in pages]
    keys = [{i: _running_key(page[i]) for i in _edge_indices(page)} for page in lines]
    seen = Counter(key for page_keys in keys for key in set(page_keys.values()) if key)
    least = max(2, -(-len(pages) // 2))
    running = {key for key, n in seen.items() if n >= least}
    dropped: set[str] = set()
    out = []
    for page_lines, page_keys in zip(lines, keys, strict=True):
        drop = set()
        for i, key in page_keys.items():
            text = page_lines[i].strip()
            if key in running or _PAGE_NUMBER.fullmatch(text):
                drop.add(i)
                dropped.add(key or _numbers_as_hash(text))
        out.append("\n".join(line for i, line in enumerate(page_lines) if i not in drop))
    return out, sorted(dropped)


def _edge_indices(page_lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(page_lines) if line.strip()]
    return sorted(set(filled[:RUNNING_EDGE_LINES] + filled[-RUNNING_EDGE_LINES:]))


def _running_key(line: str) -> str:
    """The line with numbers as ``#`` and spaces folded; "" for a line that may not be dropped."""
    text = line.strip()
    if (
        not text
        or len(text) > RUNNING_MAX_CHARS
        or _HEADING.match(text)
        or _BLOCK_START.match(text)
    ):
        return ""
    return _numbers_as_hash(text)


def _numbers_as_hash(text: str) -> str:
    return " ".join(_DIGITS.sub("#", text).split())


def join_wrapped_lines(page_text: str) -> str:
    """Join lines that were wrapped at the page margin; strip trailing spaces on every line."""
    lines = [line.rstrip() for line in page_text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return ""
    widest = max(display_width(line) for line in lines)
    out = [lines[0]]
    for previous, line in zip(lines, lines[1:], strict=False):
        if _is_wrapped(previous, line, widest):
            joint = " " if previous[-1:].isascii() and line.lstrip()[:1].isascii() else ""
            out[-1] = out[-1] + joint + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


def find_headings(text: str) -> list[tuple[int, int, str]]:
    """``(level, start, title)`` of the regulation-style heading lines in ``text``."""
    found: list[tuple[int, int, str]] = []
    offset = 0
    for line in text.split("\n"):
        title = line.strip()
        if 0 < len(title) <= MAX_HEADING_CHARS and "。" not in title:
            match = _HEADING.match(title)
            if match:
                found.append((_HEADING_LEVELS[match.group(1)], offset + line.index(title), title))
            elif title == "附則":
                found.append((1, offset + line.index(title), title))
        offset += len(line) + 1
    return found


def display_width(text: str) -> int:
    """Width in monospace columns: wide (Japanese) characters count 2, others 1."""
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in text)


def _is_wrapped(previous: str, line: str, widest: int) -> bool:
    """Whether physical line ``line`` continues ``previous`` (which filled the page width)."""
    if not previous.strip() or not line.strip() or previous.endswith(_SENTENCE_END):
        return False
    if _BLOCK_START.match(line):
        return False
    return widest >= MIN_WRAP_WIDTH and display_width(previous) >= WRAP_WIDTH_SHARE * widest


def _raise_encrypted(path: Path, reader: object) -> None:
    try:
        if reader.decrypt(""):  # type: ignore[attr-defined]  # empty user password: readable
            return
    except Exception:  # any failure (unsupported cipher…) means we cannot decrypt
        pass
    raise LoaderError(
        f"{path}: the PDF is encrypted with a password; save an unprotected copy and load that.",
        f"{path}: PDF にパスワードが設定されています。保護を解除したコピーを読み込んでください。",
    )
