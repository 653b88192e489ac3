"""Reasoning and tool calls as servers send them, end to end through each backend.

The small embedded model never reasons, so these replies are scripted wire bytes served on a
real local socket; the backends (httpx SSE parsing, the official ``ollama`` client) read them
exactly as they would read vLLM, llama.cpp or Ollama serving DeepSeek-R1 or gpt-oss.
"""

from __future__ import annotations

import json

import pytest

from jpagent.llm.ollama import OllamaChat
from jpagent.llm.openai_compat import OpenAIChat
from jpagent.types import Message
from tests.llm.fault_servers import RawServer, http_response

QUESTION = [Message("user", "日本の首都は？")]
THINKING = "首都を聞かれている。東京だ。"
ANSWER = "日本の首都は東京です。"


def _sse(deltas: list[dict], finish: str = "stop") -> bytes:
    events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    body = (
        "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events)
        + "data: [DONE]\n\n"
    )
    return http_response("200 OK", "text/event-stream", body.encode(), chunked=False)


def _ndjson(messages: list[dict]) -> bytes:
    lines = [{"model": "m", "message": {"role": "assistant", **m}, "done": False} for m in messages]
    lines.append(
        {
            "model": "m",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 12,
            "eval_count": 20,
        }
    )
    body = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    return http_response("200 OK", "application/x-ndjson", body.encode(), chunked=False)


def _pieces(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _openai_stream(payload: bytes, mode: str):
    with RawServer("full", payload) as server:
        model = OpenAIChat(f"{server.url}/v1", "m", context_window=4096, reasoning=mode)
        stream = model.stream(QUESTION)
        deltas = list(stream)
    return deltas, stream.final()


def _ollama_stream(payload: bytes, mode: str):
    with RawServer("full", payload) as server:
        model = OllamaChat("m", host=server.url, context_window=4096, reasoning=mode)
        stream = model.stream(QUESTION)
        deltas = list(stream)
    return deltas, stream.final()


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_deepseek_implied_open_over_sse(size):
    raw = f"{THINKING}\n</think>\n\n{ANSWER}"
    deltas, result = _openai_stream(
        _sse([{"content": p} for p in _pieces(raw, size)]), "think_tags_implied_open"
    )
    assert (result.reasoning, result.text) == (THINKING, ANSWER)
    assert "".join(d.text for d in deltas if d.kind == "text") == ANSWER


def test_server_separated_reasoning_keeps_the_answer_whole():
    """vLLM's reasoning parser sends reasoning_content; the content is then all answer even
    though the profile's format (implied <think>) would read it as reasoning."""
    deltas = [{"reasoning_content": p} for p in _pieces(THINKING)] + [
        {"content": p} for p in _pieces(ANSWER)
    ]
    _, result = _openai_stream(_sse(deltas), "think_tags_implied_open")
    assert (result.reasoning, result.text) == (THINKING, ANSWER)


def test_gpt_oss_harmony_tokens_over_sse():
    raw = (
        f"<|channel|>analysis<|message|>{THINKING}<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{ANSWER}<|return|>"
    )
    _, result = _openai_stream(_sse([{"content": p} for p in _pieces(raw, 4)]), "harmony")
    assert (result.reasoning, result.text) == (THINKING, ANSWER)


@pytest.mark.parametrize("mode", ["think_tags_implied_open", "harmony", "auto"])
def test_ollama_thinking_field(mode):
    messages = [{"content": "", "thinking": p} for p in _pieces(THINKING)]
    messages += [{"content": p} for p in _pieces("analysisの結果、" + ANSWER)]
    _, result = _ollama_stream(_ndjson(messages), mode)
    assert result.reasoning == THINKING
    assert result.text == "analysisの結果、" + ANSWER  # server-separated: content is all answer
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 20)


def test_ollama_think_tags_in_content():
    raw = f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"
    _, result = _ollama_stream(
        _ndjson([{"content": p} for p in _pieces(raw, 2)]), "think_tags_implied_open"
    )
    assert (result.reasoning, result.text) == (THINKING, ANSWER)


def test_ollama_tool_calls_non_streaming():
    body = {
        "model": "m",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "東京"}}}],
        },
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 30,
        "eval_count": 12,
    }
    payload = http_response("200 OK", "application/json", json.dumps(body).encode(), chunked=False)
    with RawServer("full", payload) as server:
        result = OllamaChat("m", host=server.url, context_window=4096).chat(QUESTION)
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("get_weather", {"city": "東京"})
    ]
    assert result.finish_reason == "tool_calls"
