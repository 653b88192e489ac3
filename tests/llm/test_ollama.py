"""``ollama:`` through the official ``ollama`` client library.

Ollama's server is in no registry here, so these tests talk to
:mod:`tests.llm.ollama_stub_server`: a local server that speaks Ollama's HTTP API (NDJSON
``/api/chat``, ``/api/tags``, ``/api/show``, ``/api/embed``) and answers with the REAL embedded
Qwen2.5-Coder-1.5B model run by llama.cpp.
"""

from __future__ import annotations

import math
import re

import ollama
import pytest

from jpagent.errors import ModelError
from jpagent.llm.base import ChatModel, ChatOptions
from jpagent.llm.ollama import OllamaChat
from jpagent.llm.registry import get_chat_model
from jpagent.types import Message
from tests.llm.conftest import OLLAMA_MODEL

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
QUESTION = [Message("user", "日本の首都はどこですか？一文で答えてください。")]
GREEDY = ChatOptions(temperature=0.0, seed=42, max_tokens=16)


@pytest.fixture(scope="module")
def served(ollama_stub) -> OllamaChat:
    model = get_chat_model(f"ollama:{OLLAMA_MODEL}", ollama_host=ollama_stub.url)
    assert isinstance(model, OllamaChat)
    return model


@pytest.fixture(scope="module")
def answer(served):
    return served.chat(QUESTION, options=GREEDY)


def test_chat_through_the_ollama_client(served, answer, ollama_stub):
    assert isinstance(served, ChatModel)
    assert JAPANESE.search(answer.text) and "東京" in answer.text
    assert answer.usage.prompt_tokens > 10 and 0 < answer.usage.completion_tokens <= 16
    sent = ollama_stub.requests[-1]
    assert sent["stream"] is False
    assert sent["options"]["num_predict"] == 16 and sent["options"]["temperature"] == 0.0
    assert sent["options"]["num_ctx"] == 1024  # a short prompt + 16 tokens, rounded up


def test_ndjson_stream_joins_to_the_same_text(served, answer, ollama_stub):
    stream = served.stream(QUESTION, options=GREEDY)
    deltas = list(stream)
    assert len(deltas) > 1
    assert "".join(d.text for d in deltas) == answer.text
    result = stream.final()
    assert result.text == answer.text and result.finish_reason == answer.finish_reason
    assert ollama_stub.requests[-1]["stream"] is True
    assert 0 < result.timings.ttft < result.timings.total


def test_context_window_from_api_show(served):
    assert served.context_window == 32768  # qwen2.context_length in the GGUF


@pytest.mark.parametrize(
    ("chars", "max_tokens", "expected"),
    [
        (10, 16, 1024),
        (10, None, 2048),  # default reserve 1024 tokens for the answer
        (3000, 512, 4096),  # 3000 kanji ≈ 3000 tokens + 8 + 512 → 3520 → 4096
        (5000, 1000, 6144),
        (40000, 1000, 32768),  # capped at the model's context length
    ],
)
def test_num_ctx_follows_the_prompt_size(served, chars, max_tokens, expected):
    messages = [Message("user", "東" * chars)]
    assert served.num_ctx_for(messages, max_tokens) == expected


def test_missing_model_says_ollama_pull(ollama_stub):
    model = get_chat_model("ollama:llama3.1-swallow:8b", ollama_host=ollama_stub.url)
    for call in (model.chat, lambda m: list(model.stream(m))):
        with pytest.raises(ModelError) as err:
            call(QUESTION)
        assert "ollama pull llama3.1-swallow:8b" in str(err.value)


def test_stub_tags_show_and_embed_follow_ollamas_api(ollama_stub):
    client = ollama.Client(host=ollama_stub.url)
    assert [m.model for m in client.list().models] == [OLLAMA_MODEL]
    info = client.show(OLLAMA_MODEL).modelinfo
    assert info["general.architecture"] == "qwen2" and info["qwen2.context_length"] == 32768
    vectors = client.embed(
        model=OLLAMA_MODEL, input=["東京都に住んでいます。", "大阪は雨です。"]
    ).embeddings
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 100
    assert math.isclose(math.fsum(x * x for x in vectors[0]), 1.0, rel_tol=1e-3)
    assert vectors[0] != vectors[1]
