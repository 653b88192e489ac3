"""The SDK entry (``jpagent.open``) applies the ``[retrieve]`` and ``[rag]`` settings to a real
knowledge base."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import jpagent
from jpagent.config import load_config


def _corpus(root: Path) -> Path:
    root.mkdir()
    (root / "有給休暇.txt").write_text(
        "年次有給休暇は入社6か月後に10日付与される。申請は3日前までに上長へ提出する。\n",
        encoding="utf-8",
    )
    (root / "経費.txt").write_bytes(
        "出張旅費の精算は翌月5日までに経理部へ申請する。領収書の原本を添付する。\n".encode("cp932")
    )
    return root


def test_retrieve_settings_reach_the_index_and_the_retriever(clean_env, monkeypatch) -> None:
    docs = _corpus(clean_env / "docs")
    with jpagent.open(clean_env / "kb", config=load_config()) as kb:
        kb.ingest([docs])
        assert kb.index.manifest["bm25"] == {"k1": 0.3, "b": 0.75}
        assert kb.retriever().config.method == "score"
        tuned = kb.search("有給休暇の申請", k=2)
    assert tuned[0].chunk.source.endswith("有給休暇.txt")

    (clean_env / "jpagent.toml").write_text(
        '[retrieve]\nfusion = "rrf"\nbm25_k1 = 1.2\ncandidates = 20\n', encoding="utf-8"
    )
    with jpagent.open(clean_env / "kb", config=load_config()) as kb:
        assert kb.index.manifest["bm25"] == {"k1": 1.2, "b": 0.75}  # BM25 rebuilt, no re-ingest
        hybrid = kb.retriever()
        assert (hybrid.config.method, hybrid.config.candidates) == ("rrf", 20)
        hits = kb.search("領収書の添付", k=2)
        assert hits[0].chunk.source.endswith("経費.txt")
        assert kb.ingest([docs]).unchanged == 2

    (clean_env / "jpagent.toml").write_text("", encoding="utf-8")
    with jpagent.open(clean_env / "kb", config=load_config()) as kb:  # not set: the folder's
        assert kb.index.manifest["bm25"] == {"k1": 1.2, "b": 0.75}


def test_rag_settings_reach_ask_and_chat(clean_env) -> None:
    (clean_env / "jpagent.toml").write_text(
        "[rag]\nk = 3\nmin_relative_score = 0.85\nstop_loops = false\n", encoding="utf-8"
    )
    with jpagent.open(clean_env / "kb", config=load_config()) as kb:
        rag = kb.rag_config()
        assert (rag.k, rag.min_relative_score, rag.stop_loops) == (3, 0.85, False)
        assert kb.chat().config == rag


@pytest.mark.slow
def test_one_kb_answers_questions_from_two_threads(clean_env) -> None:
    # A Streamlit app caches one KB and serves each session's rerun from a new thread.
    with jpagent.open(clean_env / "kb", config=load_config()) as kb:
        kb.ingest([_corpus(clean_env / "docs")], progress=False)
        questions = {
            "入社6か月後の有給休暇は何日？": ("10日", "有給休暇.txt"),
            "出張旅費の精算はいつまで？": ("翌月5日", "経費.txt"),
        }
        with ThreadPoolExecutor(2) as pool:
            answers = dict(zip(questions, pool.map(kb.ask, questions), strict=True))
    for question, (fact, file) in questions.items():
        answer = answers[question]
        assert fact in answer.text, (question, answer.text)
        assert [Path(c.source).name for c in answer.citations] == [file]
