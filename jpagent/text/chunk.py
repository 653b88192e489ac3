"""Chunking: whole sentences packed up to a token budget, with whole-sentence overlap.

:func:`chunk_text` (and :func:`chunk_document`) work in four steps:

1. Split the text into sentences (:func:`jpagent.text.sentences.split_sentences`).
2. A sentence longer than the budget is cut into pieces that fit: at the last ``、`` / ``，`` /
   ``,`` / whitespace in the second half of the room, else at the last morpheme boundary that
   fits (MeCab offsets, :func:`jpagent.text.morph.token_spans`), never inside a morpheme.
   Only a single morpheme longer than the whole budget (a long run of unknown katakana, say)
   is cut inside, between moras: never before a small kana, ``ー`` or a voicing mark.
3. Pieces are packed greedily into chunks of at most ``max_tokens`` tokens (counted on the
   chunk's exact text). The next chunk repeats the last ``overlap_sentences`` whole sentences
   of the previous one (never a cut piece, never everything, only if it still fits).
4. Paragraphs (text separated by a blank line) are kept whole where they fit: a paragraph joins
   the chunk before it only if the chunk then stays within ``paragraph_pack_share`` of the
   budget; otherwise the chunk ends before it rather than taking its first sentences, and no
   sentence is repeated across a paragraph start. Short paragraphs still share a chunk; a
   paragraph longer than the budget is packed by sentences.
   (Measured on JSQuAD articles: a chunk that spans two paragraphs is the main reason an
   answer falls outside a small context budget; see jpagent/retrieve/README.md.)
5. A heading starts a new chunk (no overlap across it), and each chunk carries the path of
   headings above it: ``metadata["heading_path"] == ["第1章 総則", "第3条 勤務時間"]``.
   Headings come from ``metadata["headings"] = [[level, start, title], ...]`` (the loaders
   put them there); for Markdown (``metadata["format"] == "md"``) without them, ``#`` heading
   lines outside code fences are found here.

Guarantees: ``chunk.text == text[chunk.start:chunk.end]``; chunks carry the document id,
offsets and a content hash; ``chunk.id == f"{doc_id}:{content_hash[:16]}:{start}"``; the same
input and config always give the same chunks. A chunk ends at a sentence end unless it ends
in a piece of an over-long sentence (``metadata["sentence_end"]`` says which).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from jpagent.errors import ConfigError
from jpagent.text.morph import token_spans
from jpagent.text.sentences import split_sentences
from jpagent.text.tokens import TokenCounter, get_token_counter
from jpagent.types import Chunk, Document, content_hash

__all__ = ["ChunkConfig", "chunk_document", "chunk_text", "markdown_headings"]


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into chunks."""

    max_tokens: int = 384
    """Token budget per chunk, counted by the chunk's token counter."""
    overlap_sentences: int = 1
    """Whole sentences repeated at the start of the next chunk (0 for none)."""
    counter: str = "estimate"
    """Token counter spec used when no counter object is passed (see jpagent.text.tokens)."""
    split_at_headings: bool = True
    """Start a new chunk at each heading, so a chunk never spans two sections."""
    keep_paragraphs: bool = True
    """End a chunk before a paragraph (after a blank line) that does not fit in it whole."""
    paragraph_pack_share: float = 0.5
    """With ``keep_paragraphs``: a paragraph joins the chunk before it only while the chunk
    stays within this share of ``max_tokens`` (short paragraphs share a chunk, ordinary ones
    get their own: smaller chunks put more distinct answers in a prompt's budget)."""
    user_dict: str | None = None
    """MeCab user dictionary (CSV) used when cutting over-long sentences at morphemes."""


class _Unit(NamedTuple):
    start: int
    end: int
    tokens: int
    whole: bool  # a whole sentence (False: a piece of an over-long sentence)
    last_piece: bool  # ends where its sentence ends
    heading: bool  # the unit is a heading line
    paragraph: bool  # the unit opens a paragraph (a blank line before it)


_ATTACHING = frozenset("ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ゛゜ヽヾゝゞ\u3099\u309a")
_COMMA_CUTS = "、，,；;：: \u3000\t"
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)", re.M)
_BLANK_LINE = re.compile(r"\n[ \t\u3000\r]*\n")
_MD_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def chunk_document(
    doc: Document, config: ChunkConfig = ChunkConfig(), counter: TokenCounter | None = None
) -> list[Chunk]:
    """Chunks of ``doc`` (see :func:`chunk_text`)."""
    return chunk_text(doc.text, doc.id, doc.source, config, counter, doc.metadata)


def chunk_text(
    text: str,
    doc_id: str,
    source: str = "",
    config: ChunkConfig = ChunkConfig(),
    counter: TokenCounter | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Chunk]:
    """Chunks of ``text`` with offsets into it (see the module docstring for the rules)."""
    if config.max_tokens < 1:
        raise ConfigError(
            f"chunk max_tokens must be at least 1, got {config.max_tokens}.",
            f"チャンクのトークン上限は1以上にしてください（指定値 {config.max_tokens}）。",
            hint="Set text.chunk_tokens to e.g. 384.",
        )
    meta = dict(metadata or {})
    count = _memoized((counter or get_token_counter(config.counter)).count)
    headings = _headings(text, meta)
    heading_starts = [h[1] for h in headings]
    units = _units(text, config, count, heading_starts)
    groups = _pack(text, units, config, count)
    page_spans = meta.get("page_spans") or []
    chunks = []
    for index, group in enumerate(groups):
        start, end = units[group[0]].start, units[group[-1]].end
        body = text[start:end]
        digest = content_hash(body)
        first_content = next((units[i] for i in group if not units[i].heading), units[group[-1]])
        cmeta: dict[str, Any] = {
            "chunk_index": index,
            "heading_path": _heading_path(headings, first_content.start),
            "sentence_end": units[group[-1]].last_piece,
            "tokens": count(body),
        }
        pages = _pages(page_spans, start, end)
        if pages:
            cmeta["page"] = pages[0]
            cmeta["pages"] = pages
        chunks.append(
            Chunk(
                id=f"{doc_id}:{digest[:16]}:{start}",
                doc_id=doc_id,
                text=body,
                start=start,
                end=end,
                source=source,
                content_hash=digest,
                metadata=cmeta,
            )
        )
    return chunks


def _memoized(count: Any) -> Any:
    """``count`` with a per-call memo (gaps like "\\n\\n" and re-checked chunks repeat)."""
    memo: dict[str, int] = {}

    def counted(text: str) -> int:
        n = memo.get(text)
        if n is None:
            n = memo[text] = count(text)
        return n

    return counted


# ------------------------------------------------------------------------------ headings
def markdown_headings(text: str) -> list[list[Any]]:
    """``[[level, start, title], ...]`` for ATX (``#``) headings outside code fences."""
    fenced: list[tuple[int, int]] = []
    fences = list(_FENCE.finditer(text))
    for k in range(0, len(fences) - 1, 2):
        fenced.append((fences[k].start(), fences[k + 1].end()))
    if len(fences) % 2:
        fenced.append((fences[-1].start(), len(text)))
    out = []
    for m in _MD_HEADING.finditer(text):
        if any(a <= m.start() < b for a, b in fenced):
            continue
        out.append([len(m.group(1)), m.start(), m.group(2).strip()])
    return out


def _headings(text: str, meta: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    raw = meta.get("headings")
    if not raw and meta.get("format") == "md":
        raw = markdown_headings(text)
    return sorted(((int(h[0]), int(h[1]), str(h[2])) for h in (raw or [])), key=lambda h: h[1])


def _heading_path(headings: Sequence[tuple[int, int, str]], pos: int) -> list[str]:
    stack: list[tuple[int, str]] = []
    for level, start, title in headings:
        if start > pos:
            break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    return [title for _, title in stack]


def _pages(page_spans: Sequence[Sequence[int]], start: int, end: int) -> list[int]:
    return sorted({int(p) for p, a, b in page_spans if a < end and start < b})


# --------------------------------------------------------------------------------- units
def _units(text: str, config: ChunkConfig, count: Any, heading_starts: list[int]) -> list[_Unit]:
    units: list[_Unit] = []
    prev_end = 0
    for s in split_sentences(text):
        k = bisect.bisect_left(heading_starts, prev_end)
        is_heading = k < len(heading_starts) and heading_starts[k] < s.end
        opens = bool(units) and _BLANK_LINE.search(text, prev_end, s.start) is not None
        prev_end = s.end
        n = count(s.text)
        if n <= config.max_tokens:
            units.append(_Unit(s.start, s.end, n, True, True, is_heading, opens))
            continue
        pieces = _cut(text, s.start, s.end, config, count)
        for j, (a, b, m) in enumerate(pieces):
            first = j == 0
            units.append(
                _Unit(a, b, m, False, j == len(pieces) - 1, is_heading and first, opens and first)
            )
    return units


def _cut(
    text: str, start: int, end: int, config: ChunkConfig, count: Any
) -> list[tuple[int, int, int]]:
    """Cut the over-long sentence ``text[start:end]`` into pieces that fit the budget.

    MeCab sees only a window of the text at a time (doubled while everything in it fits), so
    the cost stays linear in the sentence length.
    """
    budget = config.max_tokens
    pieces: list[tuple[int, int, int]] = []
    pos = start
    window = budget * 4  # characters analysed at a time; adapted to the text below
    while pos < end:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        stop = min(end, pos + window)
        if stop == end:
            n = count(text[pos:end])
            if n <= budget:
                pieces.append((pos, end, n))
                break
        spans = token_spans(text[pos:stop], config.user_dict)
        # Allowed cuts: morpheme starts. The window end is allowed only at the sentence end
        # (a morpheme at the window edge may be cut short).
        cuts = [pos + a for a, _ in spans[1:]]
        if stop == end:
            cuts.append(end)
        best = _last_fitting(text, pos, cuts, budget, count)
        if stop < end and (not cuts or best == cuts[-1]):
            window *= 2  # everything found so far fits: look further
            continue
        if best is None:
            # A single morpheme longer than the budget (a long run of unknown characters):
            # the only case cut inside a morpheme, between moras.
            best = _hard_cut(text, pos, cuts[0] if cuts else stop, budget, count)
        else:
            best = _prefer_comma(text, pos, best)
        piece_end = best
        while piece_end > pos and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((pos, piece_end, count(text[pos:piece_end])))
        window = max(budget, int((best - pos) * 1.5))
        pos = best
    return pieces


def _last_fitting(text: str, pos: int, cuts: list[int], budget: int, count: Any) -> int | None:
    """The furthest cut position whose piece fits the budget, or None.

    Gallops from a guess made with the window's characters per token, then bisects, so a
    piece costs a handful of counts.
    """
    if not cuts:
        return None

    def fits(k: int) -> bool:
        return count(text[pos : cuts[k]]) <= budget

    tokens = count(text[pos : cuts[-1]])
    if tokens <= budget:
        return cuts[-1]
    guess = bisect.bisect_right(cuts, pos + (cuts[-1] - pos) * budget // tokens) - 1
    guess = min(max(guess, 0), len(cuts) - 1)
    if fits(guess):  # gallop right: lo fits, hi does not
        lo, step = guess, 1
        hi = len(cuts) - 1  # known not to fit
        while lo + step < hi and fits(lo + step):
            lo += step
            step *= 2
        hi = min(hi, lo + step)
    else:  # gallop left
        hi, step = guess, 1
        while hi - step >= 0 and not fits(hi - step):
            hi -= step
            step *= 2
        if hi - step < 0:
            if not fits(0):
                return None
            lo = 0
        else:
            lo = hi - step
    while hi - lo > 1:  # invariant: cuts[lo] fits, cuts[hi] does not
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return cuts[lo]


def _hard_cut(text: str, pos: int, limit: int, budget: int, count: Any) -> int:
    """The furthest character position in ``(pos, limit]`` whose piece fits the budget.

    Cuts between moras: never before a small kana, ``ー``, a voicing mark or a combining mark
    (ニャー is cut as ニャー|, never ニャ|ー). At least one mora is taken.
    """
    lo, hi, best = pos + 1, limit, pos + 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if count(text[pos:mid]) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    cut = best
    while cut > pos + 1 and cut < limit and _attaches(text[cut]):
        cut -= 1
    if cut == pos + 1 and cut < limit and _attaches(text[cut]):
        cut = best  # one mora longer than the budget: move forward past its marks instead
        while cut < limit and _attaches(text[cut]):
            cut += 1
    return cut


def _attaches(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (small kana, ー, marks)."""
    return ch in _ATTACHING or unicodedata.combining(ch) != 0


def _prefer_comma(text: str, pos: int, cut: int) -> int:
    """Move ``cut`` back to just after a comma or space in the second half of the piece."""
    half = pos + (cut - pos) // 2
    for i in range(cut - 1, half - 1, -1):
        if text[i] in _COMMA_CUTS:
            return i + 1
    return cut


# ------------------------------------------------------------------------------- packing
def _pack(text: str, units: list[_Unit], config: ChunkConfig, count: Any) -> list[list[int]]:
    """Group unit indices into chunks that fit the budget, with whole-sentence overlap.

    Units are added while the sum of their counts (plus the whitespace between them) fits;
    the chunk's exact text is then counted once and trimmed from the end if it does not.
    """
    budget = config.max_tokens
    gaps = [0] + [
        count(text[units[k - 1].end : units[k].start]) if units[k].start > units[k - 1].end else 0
        for k in range(1, len(units))
    ]
    para_size = _paragraph_sizes(units, gaps) if config.keep_paragraphs else None
    para_limit = budget * config.paragraph_pack_share
    groups: list[list[int]] = []
    overlap: list[int] = []
    i = 0
    while i < len(units):
        group = [*overlap, i]
        used = sum(units[k].tokens for k in group) + sum(gaps[k] for k in group[1:])
        j = i + 1
        while j < len(units) and used + gaps[j] + units[j].tokens <= budget:
            if config.split_at_headings and units[j].heading:
                if any(not units[k].heading for k in group):
                    break
            if para_size is not None and units[j].paragraph:
                whole = para_size[j]  # tokens of paragraph j, gap before it included
                if used + whole > para_limit and any(not units[k].heading for k in group):
                    break
            group.append(j)
            used += gaps[j] + units[j].tokens
            j += 1
        while len(group) > 1 and count(text[units[group[0]].start : units[group[-1]].end]) > budget:
            if len(group) > len(overlap) + 1:
                group.pop()
            elif overlap:
                overlap = overlap[1:]
                group = group[1:]
            else:
                break
        groups.append(group)
        i = group[-1] + 1
        fresh = i < len(units) and (
            (config.split_at_headings and units[i].heading)
            or (config.keep_paragraphs and units[i].paragraph)
        )
        overlap = [] if fresh else _overlap(group, units, config.overlap_sentences)
    return groups


def _paragraph_sizes(units: list[_Unit], gaps: list[int]) -> list[int]:
    """For each unit that opens a paragraph: the paragraph's tokens (units and gaps) up to the
    next paragraph or heading; 0 for other units."""
    sizes = [0] * len(units)
    k = 0
    while k < len(units):
        total = gaps[k] + units[k].tokens
        m = k + 1
        while m < len(units) and not units[m].paragraph and not units[m].heading:
            total += gaps[m] + units[m].tokens
            m += 1
        sizes[k] = total
        k = m
    return sizes


def _overlap(group: list[int], units: list[_Unit], n: int) -> list[int]:
    """The last ``n`` whole sentences of ``group`` (never all of it, never a cut piece)."""
    if n <= 0 or len(group) < 2:
        return []
    tail: list[int] = []
    for j in reversed(group[1:]):
        if len(tail) == n or not units[j].whole or units[j].heading:
            break
        tail.insert(0, j)
    return tail
