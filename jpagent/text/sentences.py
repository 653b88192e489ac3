"""Japanese sentence splitting with character offsets.

:func:`split_sentences` is a pure, deterministic function that scans the text once with one
compiled regular expression (no backtracking), so a 1 MB line without punctuation costs one
pass. Rules:

* A sentence ends after a run of ``。 ． ！ ？ ! ? ｡`` (``！？``, ``?!``, ``。。`` count as one end),
  together with the closing brackets and quotes right after it (``…です。」`` keeps its ``」``).
* A sentence also ends at every line break; a blank line is a paragraph break.
* A terminator inside ``「」『』（）()【】〔〕［］[]〈〉《》“”‘’`` does not end a sentence
  (``「はい。」と答えた。`` is one sentence). Bracket depth is reset at each line break, so an
  unclosed bracket cannot swallow the rest of the document.
* ASCII ``.`` (and ``．`` after NFKC it is the same) ends a sentence unless it is part of a number
  (``3.14``, ``v2.3.1``), followed by an ASCII letter or digit (``example.com``, ``file.txt``,
  e-mail addresses), an ellipsis (``...``), a known abbreviation (``Mr.``, ``No.``, ``e.g.``) or a
  single-letter initial (``J. Smith``), or a list number at the start of a line (``1. 概要``).
* ``……`` and ``‥`` never end a sentence by themselves.
* URLs (``https://…``, ``www.…``) are skipped whole: their ``?`` and ``.`` end nothing.
* A Markdown heading line (``# 見出し``) is one sentence whatever punctuation it holds; list items
  (``・``, ``-``, ``*``, ``1.``, ``(1)``) are separate sentences because each is its own line.

Sentences carry no leading or trailing whitespace; ``text[s.start:s.end] == s.text``; together
they cover every non-blank character of the text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Sentence", "split_sentences"]


class Sentence(NamedTuple):
    """A sentence: ``text == source[start:end]`` (offsets are character indices)."""

    start: int
    end: int
    text: str


_OPENERS = "「『（(【〔［[〈《“‘｛"
_CLOSERS = "」』）)】〕］]〉》”’｝"
_PAIRS = dict(zip(_CLOSERS, _OPENERS, strict=True))
_TRAILERS = _CLOSERS + "\"'"
_TERMINATORS = "。．！？!?｡."
_STRONG_TERMINATORS = "。！？!?｡"

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr no nos vol vols fig figs p pp ed eds eg e.g ie i.e etc vs "
    "approx inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec "
    "u.s u.k a.m p.m ph.d".split()
)

_SCAN = re.compile(
    r"(?P<url>(?:(?:https?|ftp)://|www\.)[!-~]*[0-9A-Za-z/#=&_%~+\-*@$])"
    r"|(?P<nl>\r\n|[\n\r\u2028\u2029])"
    r"|(?P<term>[" + re.escape(_TERMINATORS) + r"]+)"
    r"|(?P<open>[" + re.escape(_OPENERS) + r"])"
    r"|(?P<close>[" + re.escape(_CLOSERS) + r"])"
)
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?=[ \t\r\n\u2028\u2029]|$)")
_LIST_NUMBER = re.compile(r"[ \t\u3000]*[(（]?[0-9０-９]{1,3}")
_NEWLINE = re.compile(r"[\n\r\u2028\u2029]")


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences with offsets (see the module docstring for the rules)."""
    out: list[Sentence] = []
    start = 0  # start of the current sentence
    line_start = 0
    stack: list[str] = []  # open brackets on the current line
    skip_to = _heading_end(text, 0)
    n = len(text)
    for m in _SCAN.finditer(text):
        pos = m.start()
        kind = m.lastgroup
        if kind == "nl":
            _emit(text, start, pos, out)
            start = line_start = m.end()
            stack.clear()
            skip_to = _heading_end(text, line_start)
            continue
        if pos < skip_to:  # inside a Markdown heading line
            continue
        if kind == "url":
            continue  # skipped whole; a terminator right after the trimmed URL is seen below
        if kind == "open":
            stack.append(m.group())
            continue
        if kind == "close":
            _close(stack, m.group())
            continue
        # terminator run
        run = m.group()
        if stack:
            continue
        end = m.end()
        if not _is_end(text, pos, end, run, line_start):
            continue
        while end < n and text[end] in _TRAILERS:
            end += 1
        _emit(text, start, end, out)
        start = end
    _emit(text, start, n, out)
    return out


def _heading_end(text: str, line_start: int) -> int:
    """End of the line if it is a Markdown heading, else ``line_start``."""
    if not _HEADING.match(text, line_start):
        return line_start
    nl = _next_newline(text, line_start)
    return nl


def _next_newline(text: str, pos: int) -> int:
    m = _NEWLINE.search(text, pos)
    return m.start() if m else len(text)


def _close(stack: list[str], closer: str) -> None:
    """Pop to the matching opener if one is open; an unmatched closer is ignored."""
    opener = _PAIRS[closer]
    for k in range(len(stack) - 1, -1, -1):
        if stack[k] == opener:
            del stack[k:]
            return


def _is_end(text: str, pos: int, end: int, run: str, line_start: int) -> bool:
    """Whether the terminator run ``text[pos:end]`` ends a sentence."""
    if any(c in _STRONG_TERMINATORS for c in run):
        return True
    # Only '.' and '．' from here on.
    if len(run) >= 2:
        return end >= len(text) or text[end] in "\r\n"  # '...': an ellipsis, not an end
    before = text[pos - 1] if pos > 0 else ""
    after = text[end] if end < len(text) else ""
    if after.isascii() and after.isalnum():
        return False  # 3.14, v2.3.1, example.com, file.txt, taro.yamada@…
    if before.isdigit() and _is_digit(after):
        return False  # ３．１４ (full-width digits)
    if before.isdigit() and _LIST_NUMBER.fullmatch(text, line_start, pos):
        return False  # "1. 概要" at the start of a line
    if before.isascii() and before.isalpha():
        word_start = pos
        while word_start > line_start and pos - word_start < 12:
            c = text[word_start - 1]
            if not (c.isascii() and (c.isalpha() or c == ".")):
                break
            word_start -= 1
        word = text[word_start:pos].lower().strip(".")
        if word in _ABBREVIATIONS:
            return False
        if len(word) == 1 and _is_initial(text, pos, word_start, end):
            return False  # an initial: "J. Smith"
    return True


def _is_initial(text: str, pos: int, word_start: int, end: int) -> bool:
    """``X.`` where X is an upper-case letter standing alone and a capitalised word follows."""
    if not text[pos - 1].isupper():
        return False
    if word_start > 0 and not (text[word_start - 1].isspace() or text[word_start - 1] == "."):
        return False
    rest = text[end : end + 3]
    return rest[:1] == " " and rest[1:2].isascii() and rest[1:2].isupper()


def _is_digit(c: str) -> bool:
    return c.isdigit() if c else False


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    """Append ``text[start:end]`` without surrounding whitespace, if anything is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append(Sentence(start, end, text[start:end]))
