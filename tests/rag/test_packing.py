"""Context packing: best first, no duplicates, overlaps merged, nothing cut mid-sentence."""

from __future__ import annotations

import pytest

from jpagent.rag.packing import Source, pack_sources
from jpagent.rag.templates import render_template
from jpagent.text.sentences import split_sentences
from jpagent.types import Chunk, Hit, content_hash

RULES = (
    "第1条 この規程は、社員の勤務について定める。"
    "第2条 勤務時間は午前9時から午後6時までとする。"
    "第3条 休憩は正午から1時間とする。"
    "第4条 有給休暇は入社6か月後に10日付与する。"
    "第5条 有給休暇の申請は取得日の3日前までに行う。"
)
GUIDE = "出張の手引き。出張旅費は実費を精算する。宿泊費の上限は1泊1万2千円とする。"


def chunk(doc: str, text: str, start: int, source: str | None = None, **metadata) -> Chunk:
    """A chunk of ``doc`` at ``start`` (checks ``text == doc[start:end]`` like the chunker)."""
    end = start + len(text)
    path = source or ("規程/就業規則.md" if doc is RULES else "手引き/出張.txt")
    assert doc[start:end] == text
    h = content_hash(text)
    return Chunk(f"{path}:{h[:16]}:{start}", path, text, start, end, path, h, metadata)


def sentences(doc: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.text) for s in split_sentences(doc)]


def span(doc: str, first: int, last: int, source: str | None = None, **metadata) -> Chunk:
    """The chunk made of sentences ``first..last`` (inclusive) of ``doc``."""
    sents = sentences(doc)
    start, end = sents[first][0], sents[last][1]
    return chunk(doc, doc[start:end], start, source, **metadata)


def render(source: Source) -> str:
    return render_template("source.j2", source=source)


def cost(c: Chunk, number: int = 1) -> int:
    """Characters of the rendered block (the tests count tokens as characters) + separator."""
    src = Source(number, c.text, c.source, c.doc_id, c.start, c.end)
    return len(render(src)) + 1


def test_best_first_and_a_chunk_that_does_not_fit_is_skipped_not_cut() -> None:
    best, big, small = span(RULES, 3, 3), span(RULES, 0, 2), span(GUIDE, 1, 1)
    budget = cost(best) + cost(small, 2) + 5  # room for best and small, not big
    packed = pack_sources([Hit(best, 0.9), Hit(big, 0.8), Hit(small, 0.7)], budget, len, render)
    assert [s.chunk_id for s in packed.sources] == [best.id, small.id]
    assert [s.number for s in packed.sources] == [1, 2]
    assert packed.skipped == (big.id,)
    assert packed.truncated is False
    assert packed.tokens <= budget
    for s in packed.sources:  # whole chunks, unchanged
        assert s.text in (best.text, small.text)


def test_best_hit_larger_than_budget_is_cut_at_a_sentence_boundary() -> None:
    whole = span(RULES, 0, 4)
    budget = cost(span(RULES, 0, 1)) + 3  # two sentences and a little
    packed = pack_sources([Hit(whole, 1.0)], budget, len, render)
    (s,) = packed.sources
    assert packed.truncated is True
    assert s.text == RULES[: s.end - s.start]
    assert s.text == sentences(RULES)[0][2] + sentences(RULES)[1][2]
    assert s.text.endswith("。")
    assert (s.start, s.end) == (0, len(s.text))
    assert packed.tokens <= budget


@pytest.mark.parametrize(
    ("hits", "expected_spans"),
    [
        # the same chunk twice
        (lambda: [span(RULES, 1, 1), span(RULES, 1, 1)], [(1, 1)]),
        # a chunk inside an already chosen one
        (lambda: [span(RULES, 0, 2), span(RULES, 1, 1)], [(0, 2)]),
        # overlapping neighbours (the chunker's one-sentence overlap) merge into one source
        (lambda: [span(RULES, 0, 2), span(RULES, 2, 4)], [(0, 4)]),
        (lambda: [span(RULES, 2, 4), span(RULES, 0, 2)], [(0, 4)]),
        # adjacent but not overlapping chunks stay apart
        (lambda: [span(RULES, 0, 1), span(RULES, 2, 3)], [(0, 1), (2, 3)]),
    ],
)
def test_duplicates_dropped_and_overlaps_merged(hits, expected_spans) -> None:
    chunks = hits()
    packed = pack_sources([Hit(c, 1.0 - i / 10) for i, c in enumerate(chunks)], 10_000, len, render)
    sents = sentences(RULES)
    got = [(s.start, s.end) for s in packed.sources]
    assert got == [(sents[a][0], sents[b][1]) for a, b in expected_spans]
    for s in packed.sources:
        assert s.text == RULES[s.start : s.end]  # offsets stay true after merging
    assert [s.number for s in packed.sources] == list(range(1, len(got) + 1))


def test_merged_source_keeps_the_better_hit_id_and_the_first_page() -> None:
    a = span(RULES, 2, 4, page=2, heading_path=["第2章", "第4条"])
    b = span(RULES, 0, 2, page=1, heading_path=["第1章"])
    packed = pack_sources([Hit(a, 0.9), Hit(b, 0.5)], 10_000, len, render)
    (s,) = packed.sources
    assert s.chunk_id == a.id and s.score == 0.9
    assert s.page == 1 and s.heading_path == ("第1章",)
    assert s.start == 0 and s.end == len(RULES)


def test_identical_text_from_another_file_is_dropped() -> None:
    original = span(GUIDE, 1, 2)
    copy = chunk(GUIDE, original.text, original.start, source="コピー/出張.txt")
    packed = pack_sources([Hit(original, 0.9), Hit(copy, 0.8)], 10_000, len, render)
    assert [s.source for s in packed.sources] == ["手引き/出張.txt"]


def test_page_and_heading_from_chunk_metadata() -> None:
    c = span(GUIDE, 2, 2, page=7, heading_path=["出張", "宿泊"])
    (s,) = pack_sources([Hit(c, 1.0)], 10_000, len, render).sources
    assert (s.page, s.heading_path, s.name) == (7, ("出張", "宿泊"), "出張.txt")
    assert render(s).splitlines()[0] == "[1] 出典: 出張.txt（7ページ） 見出し: 出張 > 宿泊"


def test_no_room_gives_no_sources() -> None:
    packed = pack_sources([Hit(span(RULES, 0, 0), 1.0)], 0, len, render)
    assert packed.sources == () and packed.tokens == 0


def test_close_to_best_keeps_hits_near_the_best_score() -> None:
    from jpagent.rag.packing import close_to_best

    chunks = [span(RULES, i, i) for i in range(4)]
    hits = [Hit(c, s) for c, s in zip(chunks, (1.0, 0.92, 0.6, 0.3), strict=True)]
    assert close_to_best(hits, 0.8) == hits[:2]  # a near tie keeps both
    assert close_to_best(hits, 0.95) == hits[:1]  # a confident retrieval keeps one
    assert close_to_best(hits, 0.0) == hits
    assert close_to_best([], 0.8) == []
    flat = [Hit(c, 0.0) for c in chunks]  # no usable scores: keep everything
    assert close_to_best(flat, 0.8) == flat
