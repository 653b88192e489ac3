"""Context packing: turn ranked hits into numbered sources that fit a token budget.

:func:`pack_sources` is a plain function:

* hits are taken best first, in the order the retriever ranked them;
* a chunk whose text is already in the context (same chunk, a span inside a chosen span of the
  same document, or identical text from another file) is dropped;
* a chunk that overlaps a chosen chunk of the same document (the chunker's overlapping
  sentences) is merged into it, so the shared sentences appear once and the source keeps the
  better hit's number;
* each source block is counted with the model's token counter, as it will appear in the prompt;
  a chunk that does not fit is skipped, never cut. Only the best hit, when it alone is larger
  than the whole budget, is shortened, and then at a sentence boundary
  (:func:`jpagent.text.sentences.split_sentences`), so the context is never empty for lack of room.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any, NamedTuple

from jpagent.text.sentences import split_sentences
from jpagent.types import Hit

__all__ = ["PackedContext", "Source", "close_to_best", "pack_sources", "source_from_hit"]


@dataclass(frozen=True)
class Source:
    """A numbered source in the prompt: a chunk (or merged overlapping chunks) of one document.

    ``start``/``end`` are character offsets into the document text (``text == doc[start:end]``),
    ``page`` comes from the chunk metadata ``"page"``, ``heading_path`` from ``"heading_path"``.
    ``chunk_id`` is the best-ranked chunk behind this source.
    """

    number: int
    text: str
    source: str
    doc_id: str
    start: int
    end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    chunk_id: str = ""
    score: float = 0.0

    @property
    def name(self) -> str:
        """The source's file name (the last part of its path), shown in the prompt."""
        return PurePath(self.source).name or self.source


class PackedContext(NamedTuple):
    """The sources chosen for the prompt, their token count, and the chunk ids left out.

    ``skipped`` lists chunks left out for lack of room (not duplicates, which are merged or
    dropped silently); ``truncated`` is True when the best hit had to be shortened.
    """

    sources: tuple[Source, ...]
    tokens: int
    skipped: tuple[str, ...]
    truncated: bool


def source_from_hit(hit: Hit, number: int) -> Source:
    """The source for one hit, numbered ``number``."""
    chunk = hit.chunk
    return Source(
        number=number,
        text=chunk.text,
        source=chunk.source,
        doc_id=chunk.doc_id,
        start=chunk.start,
        end=chunk.end,
        page=_page(chunk.metadata),
        heading_path=tuple(str(h) for h in chunk.metadata.get("heading_path") or ()),
        chunk_id=chunk.id,
        score=hit.score,
    )


def close_to_best(hits: Sequence[Hit], min_relative_score: float) -> list[Hit]:
    """The hits (best first) whose score is at least ``min_relative_score`` × the best score.

    A small model answers best from the one passage that holds the answer: near-miss passages
    of the same article pull it to the wrong entity. With score fusion (min-max normalised,
    :class:`jpagent.retrieve.HybridConfig`) a confident retrieval shows as a gap between the
    first score and the rest, so the cut keeps one passage when the retriever is sure and
    several when it is not. ``0`` keeps every hit; scores that are not all positive (other
    retrievers) keep every hit too.
    """
    if min_relative_score <= 0 or not hits or hits[0].score <= 0:
        return list(hits)
    floor = min_relative_score * hits[0].score
    return [h for h in hits if h.score >= floor]


def pack_sources(
    hits: Sequence[Hit],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    render: Callable[[Source], str],
    *,
    separator_tokens: int = 1,
) -> PackedContext:
    """Choose, merge and number sources from ``hits`` (best first) within ``budget_tokens``.

    ``render`` gives a source's block as it appears in the prompt (header line and text);
    ``count_tokens`` counts it with the model's tokenizer; ``separator_tokens`` is added per
    block for the blank line between blocks.
    """

    def cost(source: Source) -> int:
        return count_tokens(render(source)) + separator_tokens

    chosen: list[Source] = []
    costs: list[int] = []
    seen_text: set[str] = set()
    skipped: list[str] = []
    truncated = False
    used = 0
    for hit in hits:
        chunk = hit.chunk
        if not chunk.text.strip() or chunk.text in seen_text:
            continue
        overlapping = [
            i
            for i, s in enumerate(chosen)
            if s.doc_id == chunk.doc_id and chunk.start < s.end and s.start < chunk.end
        ]
        if any(chosen[i].start <= chunk.start and chunk.end <= chosen[i].end for i in overlapping):
            continue  # already in the context
        if overlapping:
            first = overlapping[0]
            merged = chosen[first]
            for i in overlapping[1:]:
                merged = _union(merged, chosen[i])
            merged = _union(merged, source_from_hit(hit, merged.number))
            merged_cost = cost(merged)
            delta = merged_cost - sum(costs[i] for i in overlapping)
            if used + delta > budget_tokens:
                skipped.append(chunk.id)
                continue
            chosen[first], costs[first] = merged, merged_cost
            for i in reversed(overlapping[1:]):
                del chosen[i], costs[i]
            chosen, costs = _renumber(chosen), costs
            used += delta
            seen_text.add(chunk.text)
            continue
        source = source_from_hit(hit, len(chosen) + 1)
        source_cost = cost(source)
        if used + source_cost > budget_tokens:
            if chosen:
                skipped.append(chunk.id)
                continue
            shortened = _shorten(source, budget_tokens - used, cost)
            if shortened is None:
                skipped.append(chunk.id)
                continue
            source, source_cost, truncated = shortened[0], shortened[1], True
        chosen.append(source)
        costs.append(source_cost)
        seen_text.add(chunk.text)
        used += source_cost
    return PackedContext(tuple(chosen), used, tuple(skipped), truncated)


def _page(metadata: dict[str, Any]) -> int | None:
    page = metadata.get("page")
    if isinstance(page, bool) or page is None:
        return None
    try:
        return int(page)
    except (TypeError, ValueError):
        return None


def _union(a: Source, b: Source) -> Source:
    """Merge two overlapping sources of one document; keeps ``a``'s number, id and score."""
    left, right = (a, b) if a.start <= b.start else (b, a)
    if right.end <= left.end:
        text, end = left.text, left.end
    else:
        text, end = left.text + right.text[left.end - right.start :], right.end
    return replace(
        a,
        text=text,
        start=left.start,
        end=end,
        page=left.page,
        heading_path=left.heading_path,
    )


def _renumber(sources: list[Source]) -> list[Source]:
    return [s if s.number == i else replace(s, number=i) for i, s in enumerate(sources, 1)]


def _shorten(
    source: Source, budget: int, cost: Callable[[Source], int]
) -> tuple[Source, int] | None:
    """The longest prefix of whole sentences of ``source`` that fits ``budget`` (binary search)."""
    ends = [s.end for s in split_sentences(source.text)]
    best: tuple[Source, int] | None = None
    lo, hi = 0, len(ends) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        text = source.text[: ends[mid]]
        candidate = replace(source, text=text, end=source.start + len(text))
        c = cost(candidate)
        if c <= budget:
            best, lo = (candidate, c), mid + 1
        else:
            hi = mid - 1
    return best
