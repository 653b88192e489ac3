"""Citation markers in an answer: parse ``[1]``, ``[1][3]``, ``[1,2]``, ``【1】``, ``［１］``…

The answer given to these functions is the model's answer text only (``ChatResult.text``), never
its reasoning, so a citation can never come from a reasoning trace.

* :func:`parse_citations` finds the markers with their positions and numbers.
* :func:`resolve_citations` maps the numbers to the packed sources: each becomes a
  :class:`jpagent.types.Citation` with the source path, page and character offsets. A number that
  points at no source is dropped and listed in ``unknown``; nothing is invented.
* :func:`is_no_answer` tells whether the answer says the sources do not support an answer
  (``資料からは分かりません``); such an answer carries no citations.
* :func:`infer_citations` is the fallback for an answer with no marker at all (small models
  often drop them): each answer sentence is matched to the source holding most of its character
  bigrams, and a source is cited only when it holds at least ``min_share`` of them. Such
  citations say ``inferred=True``; an answer the sources do not support gets none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from jpagent.rag.packing import Source
from jpagent.types import Citation

__all__ = [
    "NO_ANSWER",
    "CitationMark",
    "ResolvedCitations",
    "cited_numbers",
    "infer_citations",
    "is_no_answer",
    "parse_citations",
    "resolve_citations",
]

NO_ANSWER = "資料からは分かりません。"
"""The exact answer the prompts ask for when the sources do not support an answer."""

_MAX_RANGE = 50  # [1-3] expands to 1, 2, 3; a longer range is not a citation

# Opening bracket, optional label (資料 / 出典 / 文献 / source), numbers with separators and
# ranges, closing bracket. \d matches full-width digits too; int() reads them.
_NUM = r"\d{1,3}"
_ITEM = rf"{_NUM}(?:\s*[-‐–−~〜～]\s*{_NUM})?"
_LIST = rf"{_ITEM}(?:\s*[,，、・;；]\s*{_ITEM})*"
_LABEL = r"(?:資料|出典|文献|ソース|[Ss]ource)?\s*"
_MARK = re.compile(rf"[\[［【]\s*{_LABEL}(?P<nums>{_LIST})\s*[\]］】]")
_ITEM_RE = re.compile(rf"(?P<a>{_NUM})(?:\s*[-‐–−~〜～]\s*(?P<b>{_NUM}))?")
_NO_ANSWER_RE = re.compile(r"資料から(?:は|では)?(?:分|わ)かりません")


class CitationMark(NamedTuple):
    """One bracketed marker in the answer: its span in the text and the numbers it names."""

    start: int
    end: int
    numbers: tuple[int, ...]


class ResolvedCitations(NamedTuple):
    """Citations resolved against the sources.

    ``citations``: one per distinct cited number that names a source, in order of first
    appearance. ``unknown``: cited numbers that name no source (dropped). ``no_answer``: the
    answer says the sources do not support an answer (then ``citations`` is empty).
    """

    citations: tuple[Citation, ...]
    unknown: tuple[int, ...]
    no_answer: bool


def parse_citations(text: str) -> list[CitationMark]:
    """Find citation markers in ``text``, in order, with the numbers each one names.

    ``[1][3]`` is two markers; ``[1,2]``, ``[1、2]`` and ``[1-3]`` are one marker naming several
    numbers; full-width brackets and digits (``【1】``, ``［１］``) count the same.
    """
    marks: list[CitationMark] = []
    for m in _MARK.finditer(text):
        numbers: list[int] = []
        for item in _ITEM_RE.finditer(m.group("nums")):
            a = int(item.group("a"))
            b = int(item.group("b")) if item.group("b") else a
            if b < a or b - a >= _MAX_RANGE:
                numbers.append(a)
                if item.group("b"):
                    numbers.append(b)
                continue
            numbers.extend(range(a, b + 1))
        marks.append(CitationMark(m.start(), m.end(), tuple(numbers)))
    return marks


def cited_numbers(text: str) -> list[int]:
    """The distinct numbers cited in ``text``, in order of first appearance."""
    seen: dict[int, None] = {}
    for mark in parse_citations(text):
        for n in mark.numbers:
            seen.setdefault(n, None)
    return list(seen)


def is_no_answer(text: str) -> bool:
    """True when ``text`` says the sources do not support an answer (資料からは分かりません)."""
    return bool(_NO_ANSWER_RE.search(unicodedata.normalize("NFKC", text)))


def resolve_citations(text: str, sources: Iterable[Source]) -> ResolvedCitations:
    """Map the numbers cited in ``text`` to ``sources`` (matched by ``Source.number``).

    A no-answer text (:func:`is_no_answer`) resolves to no citations at all, whatever markers it
    holds.
    """
    if is_no_answer(text):
        return ResolvedCitations((), (), True)
    by_number = {s.number: s for s in sources}
    citations: list[Citation] = []
    unknown: list[int] = []
    for n in cited_numbers(text):
        source = by_number.get(n)
        if source is None:
            unknown.append(n)
            continue
        citations.append(
            Citation(
                number=n,
                source=source.source,
                start=source.start,
                end=source.end,
                page=source.page,
                chunk_id=source.chunk_id,
            )
        )
    return ResolvedCitations(tuple(citations), tuple(unknown), False)


_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")


def _bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` after NFKC, lower case, without spaces and punctuation."""
    kept = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).lower()
        if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S"))
    )
    return {kept[i : i + 2] for i in range(len(kept) - 1)}


def infer_citations(
    text: str, sources: Iterable[Source], min_share: float = 0.6, min_bigrams: int = 4
) -> tuple[Citation, ...]:
    """Citations for an answer without markers, matched by text (``inferred=True``).

    Each sentence of ``text`` with at least ``min_bigrams`` character bigrams goes to the
    source that holds the largest share of them, if that share is at least ``min_share``;
    sources are returned in their prompt order, each once. A no-answer text gets none.
    """
    if is_no_answer(text):
        return ()
    pool = [(s, _bigrams(s.text)) for s in sources]
    chosen: set[int] = set()
    for sentence in _SENTENCE_END.split(text):
        grams = _bigrams(sentence)
        if len(grams) < min_bigrams or not pool:
            continue
        share, number = max((len(grams & g) / len(grams), s.number) for s, g in pool)
        if share >= min_share:
            chosen.add(number)
    return tuple(
        Citation(
            number=s.number,
            source=s.source,
            start=s.start,
            end=s.end,
            page=s.page,
            chunk_id=s.chunk_id,
            inferred=True,
        )
        for s, _ in pool
        if s.number in chosen
    )
