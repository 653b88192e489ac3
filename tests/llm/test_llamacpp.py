"""``llamacpp:`` in-process: the real embedded Qwen2.5-Coder-1.5B GGUF through llama-cpp-python."""

from __future__ import annotations

import re

import pytest

from jpagent.errors import ModelError
from jpagent.llm.base import ChatModel, ChatOptions
from jpagent.llm.llamacpp import LlamaCppChat
from jpagent.types import Message

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
QUESTION = [Message("user", "日本の首都はどこですか？一文で答えてください。")]
GREEDY = ChatOptions(temperature=0.0, seed=42, max_tokens=16)


@pytest.fixture(scope="module")
def answer(local_llm):
    return local_llm.chat(QUESTION, options=GREEDY)


def test_chat_answers_in_japanese_with_usage(local_llm, answer):
    assert isinstance(local_llm, ChatModel)
    assert JAPANESE.search(answer.text), answer.text
    assert "東京" in answer.text
    assert answer.reasoning == ""
    assert answer.usage.prompt_tokens > 10 and not answer.usage.estimated
    assert 0 < answer.usage.completion_tokens <= 16
    assert answer.finish_reason in ("stop", "length")
    assert answer.timings.ttft is None and answer.timings.total > 0


def test_stream_joins_to_the_same_text(local_llm, answer):
    stream = local_llm.stream(QUESTION, options=GREEDY)
    deltas = list(stream)
    assert len(deltas) > 1, "a stream arrives in pieces"
    assert {d.kind for d in deltas} == {"text"}
    assert "".join(d.text for d in deltas) == answer.text
    result = stream.final()
    assert result.text == answer.text
    # Streamed usage is counted by jpagent (template + tokenizer): it must match llama.cpp's.
    assert result.usage.prompt_tokens == answer.usage.prompt_tokens
    assert result.usage.completion_tokens == answer.usage.completion_tokens
    assert 0 < result.timings.ttft < result.timings.total


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("東京都に住んでいます。", 3, 12), ("ニャーニャー", 1, 6), ("", 0, 0)],
)
def test_count_tokens_uses_the_model_tokenizer(local_llm, text, low, high):
    assert low <= local_llm.count_tokens(text) <= high


def test_context_window_is_the_loaded_n_ctx(local_llm):
    assert local_llm.context_window == 2048


def test_decode_threads_default_to_the_physical_cores(local_llm):
    from jpagent.llm.cpus import default_threads

    assert local_llm._loaded.n_threads == default_threads()
    assert local_llm._loaded.llm.n_threads == default_threads()  # what llama.cpp was given


def test_model_loads_once_per_process(local_llm):
    again = LlamaCppChat("default", n_ctx=2048)
    assert again._loaded is local_llm._loaded


def test_missing_gguf_names_the_path(tmp_path):
    missing = tmp_path / "モデル" / "missing.gguf"
    with pytest.raises(ModelError, match="missing.gguf") as err:
        LlamaCppChat(str(missing))
    assert str(missing) in str(err.value)
    assert err.value.message_ja


def test_time_limit_stops_generation(local_llm):
    with pytest.raises(ModelError, match="time limit"):
        local_llm.chat(QUESTION, options=ChatOptions(temperature=0.0, max_tokens=64, timeout=0.001))


def test_half_read_stream_is_refused_not_deadlocked(local_llm):
    stream = local_llm.stream(QUESTION, options=GREEDY)
    first = next(stream)
    assert first.kind == "text"
    with pytest.raises(ModelError, match="unfinished stream"):
        local_llm.chat(QUESTION, options=ChatOptions(max_tokens=1))
    stream.close()
    assert local_llm.chat(QUESTION, options=ChatOptions(temperature=0.0, max_tokens=1)).text
