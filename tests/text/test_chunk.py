"""Chunking: whole sentences, token budgets, overlap, over-long sentences, headings, pages."""

from __future__ import annotations

import hashlib
import random
import time

import pytest

from jpagent.errors import ConfigError
from jpagent.text.chunk import ChunkConfig, chunk_document, chunk_text, markdown_headings
from jpagent.text.morph import token_spans
from jpagent.text.sentences import split_sentences
from jpagent.text.tokens import EstimateCounter
from jpagent.types import Document

EST = EstimateCounter()

ARTICLE = (
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。"
    "吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で"
    "一番獰悪な種族であったそうだ。\n\n"
    "この書生というのは時々我々を捕えて煮て食うという話である。しかしその当時は何という"
    "考もなかったから別段恐しいとも思わなかった。ただ彼の掌に載せられてスーと持ち上げら"
    "れた時何だかフワフワした感じがあったばかりである。"
)


def sentence_ends(text: str) -> set[int]:
    return {s.end for s in split_sentences(text)}


def check_invariants(text: str, chunks: list, config: ChunkConfig) -> None:
    ends = sentence_ends(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.content_hash == hashlib.sha256(c.text.encode()).hexdigest()
        assert c.id == f"{c.doc_id}:{c.content_hash[:16]}:{c.start}"
        assert c.text == c.text.strip()
        if c.metadata["sentence_end"]:
            assert c.end in ends
        assert EST.count(c.text) == c.metadata["tokens"] <= config.max_tokens
    # Every non-blank character is in some chunk.
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


@pytest.mark.parametrize("budget", [16, 32, 64, 128, 1000])
@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_invariants_on_the_article(budget: int, overlap: int) -> None:
    config = ChunkConfig(max_tokens=budget, overlap_sentences=overlap)
    chunks = chunk_text(ARTICLE, "neko.txt", "neko.txt", config)
    check_invariants(ARTICLE, chunks, config)
    if budget >= 64:
        assert all(c.metadata["sentence_end"] for c in chunks)  # no sentence is over budget


def test_whole_sentences_and_one_sentence_overlap() -> None:
    config = ChunkConfig(max_tokens=50, overlap_sentences=1)
    chunks = chunk_text(ARTICLE, "d", config=config)
    assert len(chunks) >= 3
    sentences = split_sentences(ARTICLE)
    starts = {s.start for s in sentences}
    second_paragraph = ARTICLE.index("この書生")
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start in starts and prev.end in sentence_ends(ARTICLE)
        if nxt.start == second_paragraph:
            continue  # no sentence is repeated across a paragraph start
        # The next chunk begins with the last sentence of the previous one.
        last = [s for s in sentences if prev.start <= s.start and s.end <= prev.end][-1]
        assert nxt.start == last.start
    assert second_paragraph in {c.start for c in chunks}
    no_overlap = chunk_text(ARTICLE, "d", config=ChunkConfig(max_tokens=50, overlap_sentences=0))
    for prev, nxt in zip(no_overlap, no_overlap[1:], strict=False):
        assert nxt.start >= prev.end


PARAGRAPHS = (
    "第1条　有給休暇は入社6か月後に10日付与する。\n\n"
    "第2条　申請は5営業日前までに行う。\n\n"
    "第3条　経費精算は翌月10日までに申請する。領収書の原本を添付する。"
    "3万円を超える場合は部長の承認を要する。海外出張の精算は帰国後2週間以内とする。\n\n"
    "第4条　テレワークは週3日までとする。"
)


def test_paragraphs_kept_whole_and_short_ones_share_a_chunk() -> None:
    config = ChunkConfig(max_tokens=60, overlap_sentences=1, paragraph_pack_share=1.0)
    chunks = chunk_text(PARAGRAPHS, "rules.txt", config=config)
    check_invariants(PARAGRAPHS, chunks, config)
    # Articles 1 and 2 are short and share a chunk; article 3 does not fit beside them, so it
    # opens a chunk of its own instead of leaving its first sentences in the previous one.
    assert chunks[0].text.startswith("第1条") and "第2条" in chunks[0].text
    assert "第3条" not in chunks[0].text
    starts = {0} | {m + 2 for m in range(len(PARAGRAPHS)) if PARAGRAPHS.startswith("\n\n", m)}
    ends = {len(PARAGRAPHS)} | {
        m for m in range(len(PARAGRAPHS)) if PARAGRAPHS.startswith("\n\n", m)
    }
    for c in chunks:  # a chunk spanning paragraphs holds them whole
        if "\n\n" in c.text:
            assert c.start in starts and c.end in ends, c.text
    third = PARAGRAPHS.index("第3条")
    assert third in {c.start for c in chunks}
    # Without the rule the chunker packs sentences across the paragraph start (the old way).
    flat = chunk_text(PARAGRAPHS, "d", config=ChunkConfig(max_tokens=60, keep_paragraphs=False))
    assert any(c.start < third < c.end for c in flat)


def test_paragraphs_share_a_chunk_only_up_to_the_pack_share() -> None:
    first_two = PARAGRAPHS[: PARAGRAPHS.index("\n\n第3条")]
    need = EST.count(first_two)
    packed = chunk_text(PARAGRAPHS, "d", config=ChunkConfig(max_tokens=2 * need + 8))  # share 0.5
    assert packed[0].text == first_two
    apart = chunk_text(PARAGRAPHS, "d", config=ChunkConfig(max_tokens=need + 8))
    assert apart[0].text.startswith("第1条") and "第2条" not in apart[0].text
    assert apart[1].text.startswith("第2条")


def test_paragraph_longer_than_the_budget_is_packed_by_sentences() -> None:
    config = ChunkConfig(max_tokens=30, overlap_sentences=1)
    chunks = chunk_text(PARAGRAPHS, "rules.txt", config=config)
    check_invariants(PARAGRAPHS, chunks, config)
    third, fourth = PARAGRAPHS.index("第3条"), PARAGRAPHS.index("第4条")
    inside = [c for c in chunks if third <= c.start < fourth]
    assert len(inside) >= 2 and inside[0].start == third
    assert inside[1].start < inside[0].end  # overlap of one sentence inside the paragraph
    assert fourth in {c.start for c in chunks}  # the next paragraph starts fresh, no overlap
    assert all(not (c.start < fourth < c.end) for c in chunks)


@pytest.mark.parametrize("seed", range(8))
def test_random_japanese_round_trips(seed: int) -> None:
    rnd = random.Random(seed)
    pool = list("あいうえおかきくけこ漢字東京都大阪カタカナABC 123") + [
        "。",
        "、",
        "！",
        "\n",
        "\n\n",
        "「",
        "」",
    ]
    text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 3000)))
    config = ChunkConfig(
        max_tokens=rnd.choice([8, 20, 60, 200]), overlap_sentences=rnd.randint(0, 2)
    )
    chunks = chunk_text(text, f"r{seed}", config=config)
    check_invariants(text, chunks, config)
    assert chunk_text(text, f"r{seed}", config=config) == chunks  # deterministic


# ---------------------------------------------------------------- over-long sentences
def test_long_sentence_is_cut_at_morpheme_boundaries_never_mid_word() -> None:
    text = "猫が" + "ニャー" * 200 + "と鳴いた。"
    config = ChunkConfig(max_tokens=40, overlap_sentences=1)
    chunks = chunk_text(text, "nyaa", config=config)
    check_invariants(text, chunks, config)
    morpheme_starts = {a for a, _ in token_spans(text)} | {len(text)}
    for c in chunks:
        assert c.start in morpheme_starts and c.end in morpheme_starts
        assert not c.text.startswith(("ャ", "ー"))  # never ニ|ャー or ニャ|ー
    assert [c.metadata["sentence_end"] for c in chunks][-1] is True
    assert not any(c.metadata["sentence_end"] for c in chunks[:-1])
    # Pieces of one sentence do not overlap (overlap is whole sentences only).
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start >= prev.end


def test_long_sentence_prefers_commas() -> None:
    clause = "この規程は従業員の勤務時間と休暇の取り扱いを定めるもので"
    text = "、".join([clause] * 12) + "ある。"
    chunks = chunk_text(text, "d", config=ChunkConfig(max_tokens=60))
    assert len(chunks) > 2
    for c in chunks[:-1]:
        assert c.text.endswith("、")


def test_huge_line_without_punctuation() -> None:
    """200,000 characters, no punctuation: cut at morphemes, window by window (linear)."""
    rnd = random.Random(0)
    text = "".join(
        rnd.choice("あいうえおかきくけこ東京都大阪府本日は晴天なり") for _ in range(200_000)
    )
    t0 = time.perf_counter()
    chunks = chunk_text(text, "huge", config=ChunkConfig(max_tokens=384))
    assert time.perf_counter() - t0 < 30
    assert all(c.metadata["tokens"] <= 384 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.end == nxt.start  # contiguous pieces, nothing lost
    assert "".join(c.text for c in chunks) == text


def test_single_morpheme_over_budget_is_cut_between_characters() -> None:
    text = "ア" * 500  # one unknown katakana run: MeCab keeps it as one morpheme
    config = ChunkConfig(max_tokens=30)
    chunks = chunk_text(text, "a", config=config)
    assert "".join(c.text for c in chunks) == text
    assert all(c.metadata["tokens"] <= 30 for c in chunks)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n"])
def test_empty_text(text: str) -> None:
    assert chunk_text(text, "empty") == []


def test_bad_budget() -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        chunk_text("本文。", "d", config=ChunkConfig(max_tokens=0))


# ------------------------------------------------------------------------------ headings
RULES_MD = """# 第1章 総則

## 第1条 目的

この規則は、従業員の就業に関する事項を定める。従業員はこの規則を守らなければならない。

## 第2条 適用範囲

この規則は、正社員に適用する。

# 第2章 勤務

## 第3条 勤務時間

勤務時間は9時から18時までとする。休憩は12時から13時までとする。

```bash
# これはコメントで見出しではない
echo ok
```
"""


def test_markdown_headings_outside_fences() -> None:
    got = markdown_headings(RULES_MD)
    assert [(h[0], h[2]) for h in got] == [
        (1, "第1章 総則"),
        (2, "第1条 目的"),
        (2, "第2条 適用範囲"),
        (1, "第2章 勤務"),
        (2, "第3条 勤務時間"),
    ]
    assert all(RULES_MD[h[1] :].lstrip().startswith("#") for h in got)


def test_heading_path_and_section_boundaries() -> None:
    doc = Document(id="rules.md", text=RULES_MD, source="rules.md", metadata={"format": "md"})
    chunks = chunk_document(doc, ChunkConfig(max_tokens=200, overlap_sentences=1))
    paths = [c.metadata["heading_path"] for c in chunks]
    assert paths == [
        ["第1章 総則", "第1条 目的"],
        ["第1章 総則", "第2条 適用範囲"],
        ["第2章 勤務", "第3条 勤務時間"],
    ]
    assert chunks[0].text.startswith("# 第1章 総則")  # consecutive headings travel together
    assert chunks[1].text.startswith("## 第2条 適用範囲")  # no overlap across a heading
    assert "これはコメント" in chunks[2].text


def test_headings_from_loader_metadata() -> None:
    text = "就業規則\n第3条 勤務時間\n勤務時間は9時から18時までとする。\n第4条 休日\n休日は土日とする。"
    headings = [[1, 0, "就業規則"], [2, text.index("第3条"), "第3条 勤務時間"]]
    headings.append([2, text.index("第4条"), "第4条 休日"])
    doc = Document(id="r.html", text=text, source="r.html", metadata={"headings": headings})
    chunks = chunk_document(doc)
    assert [c.metadata["heading_path"] for c in chunks] == [
        ["就業規則", "第3条 勤務時間"],
        ["就業規則", "第4条 休日"],
    ]


def test_plain_text_hash_lines_are_not_headings() -> None:
    text = "# これは本文\n次の行。"
    chunks = chunk_text(text, "t.txt", metadata={"format": "txt"})
    assert chunks[0].metadata["heading_path"] == []


def test_pages_from_page_spans() -> None:
    page1 = "一ページ目の文です。" * 3
    page2 = "二ページ目の文です。" * 3
    text = page1 + "\n" + page2
    spans = [[1, 0, len(page1)], [2, len(page1) + 1, len(text)]]
    chunks = chunk_text(
        text,
        "p.pdf",
        config=ChunkConfig(max_tokens=20, overlap_sentences=0),
        metadata={"page_spans": spans},
    )
    assert chunks[0].metadata["page"] == 1 and chunks[-1].metadata["page"] == 2
    assert all(c.metadata["pages"] in ([1], [2], [1, 2]) for c in chunks)


# ------------------------------------------------------------------------------- anchors
def test_langchain_defaults_cut_mid_word_and_we_do_not() -> None:
    splitters = pytest.importorskip("langchain_text_splitters")
    text = "猫が" + "ニャー" * 10 + "と鳴いた。"
    theirs = splitters.RecursiveCharacterTextSplitter(chunk_size=10, chunk_overlap=0).split_text(
        text
    )
    assert any(piece.startswith(("ャ", "ー")) for piece in theirs)  # ニャ|ー: the anchor failure
    ours = chunk_text(text, "d", config=ChunkConfig(max_tokens=8, overlap_sentences=0))
    assert len(ours) > 1
    assert not any(c.text.startswith(("ャ", "ー")) for c in ours)


def test_llamaindex_marks_japanese_sentences_as_non_sentences() -> None:
    node_parser = pytest.importorskip("llama_index.core.node_parser")
    text = ARTICLE.split("\n\n")[0]
    splitter = node_parser.SentenceSplitter(chunk_size=64, chunk_overlap=0)
    pieces = splitter._split(text, 64)
    assert pieces and not any(p.is_sentence for p in pieces)  # the anchor failure
    ours = split_sentences(text)
    assert [s.text for s in ours] == [p.text for p in pieces]  # same pieces, real sentences
