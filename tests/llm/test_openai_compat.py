"""``openai:`` against a real ``python -m llama_cpp.server`` serving the embedded GGUF, plus
one scripted SSE stream (real socket) for what that server never sends: separate reasoning
fields and streamed tool-call fragments."""

from __future__ import annotations

import json
import re

import pytest

from jpagent.llm.base import ChatModel, ChatOptions
from jpagent.llm.openai_compat import OpenAIChat
from jpagent.llm.registry import get_chat_model
from jpagent.types import Message
from tests.llm.fault_servers import RawServer, http_response

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
QUESTION = [Message("user", "日本の首都はどこですか？一文で答えてください。")]
GREEDY = ChatOptions(temperature=0.0, seed=42, max_tokens=16)
MODEL = "qwen2.5-coder-1.5b-instruct"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def served(llama_server) -> OpenAIChat:
    model = get_chat_model(f"openai:{llama_server}#{MODEL}", timeout=120.0)
    assert isinstance(model, OpenAIChat)
    return model


@pytest.fixture(scope="module")
def answer(served):
    return served.chat(QUESTION, options=GREEDY)


def test_chat_over_http(served, answer):
    assert isinstance(served, ChatModel)
    assert JAPANESE.search(answer.text) and "東京" in answer.text
    assert answer.usage.prompt_tokens > 10 and not answer.usage.estimated
    assert 0 < answer.usage.completion_tokens <= 16
    assert answer.finish_reason in ("stop", "length")


def test_sse_stream_joins_to_the_same_text(served, answer):
    stream = served.stream(QUESTION, options=GREEDY)
    deltas = list(stream)
    assert len(deltas) > 1
    assert "".join(d.text for d in deltas if d.kind == "text") == answer.text
    result = stream.final()
    assert result.text == answer.text
    assert result.finish_reason == answer.finish_reason
    assert result.usage.completion_tokens > 0  # llama_cpp.server sends no streamed usage
    assert 0 < result.timings.ttft < result.timings.total


def test_count_tokens_asks_the_server_tokenizer(served, local_llm):
    for text in ("東京都に住んでいます。", "吾輩は猫である。名前はまだ無い。"):
        assert served.count_tokens(text) == local_llm.count_tokens(text)


def test_context_window_from_caller_else_profile(llama_server, served):
    assert (
        get_chat_model(f"openai:{llama_server}#{MODEL}", context_window=2048).context_window == 2048
    )
    # llama_cpp.server reports no max_model_len: the profile's native context is used.
    assert served.context_window == 32768


def test_tools_reach_the_chat_template(served):
    """llama_cpp.server renders ``tools`` into Qwen's chat template but does not parse the
    model's reply into ``tool_calls`` (only its chatml-function-calling format does): the
    reply names the tool, which it can only know from the schema we passed through."""
    result = served.chat(
        [Message("user", "東京の今の天気を調べてください。")],
        options=ChatOptions(temperature=0.0, seed=1, max_tokens=20, tools=(WEATHER_TOOL,)),
    )
    calls = [c.name for c in result.tool_calls]
    assert "get_weather" in calls or "get_weather" in result.text, result


def _sse(*events: dict) -> bytes:
    lines = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
    return ("".join(lines) + ": ping\n\ndata: [DONE]\n\n").encode()


def _delta(**delta) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def test_reasoning_fields_think_tags_and_tool_fragments_over_sse():
    body = _sse(
        _delta(role="assistant"),
        _delta(reasoning_content="質問は天気。"),
        _delta(reasoning="ツールを使う。"),
        _delta(content="<thi"),
        _delta(content="nk>東京と確認</th"),
        _delta(content="ink>\n\n調べます。"),
        _delta(
            tool_calls=[{"index": 0, "id": "call_a", "function": {"name": "get_", "arguments": ""}}]
        ),
        _delta(
            tool_calls=[{"index": 0, "function": {"name": "weather", "arguments": '{"city": '}}]
        ),
        _delta(tool_calls=[{"index": 0, "function": {"arguments": '"東京"}'}}]),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 9}},
    )
    payload = http_response("200 OK", "text/event-stream", body, chunked=True) + b"0\r\n\r\n"
    with RawServer("full", payload) as server:
        model = OpenAIChat(f"{server.url}/v1", "m", context_window=4096)
        stream = model.stream(QUESTION)
        deltas = list(stream)
    result = stream.final()
    assert result.reasoning == "質問は天気。ツールを使う。東京と確認"
    assert result.text == "調べます。"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("call_a", "get_weather", {"city": "東京"})
    ]
    assert deltas[-1].kind == "tool_call"
    assert result.finish_reason == "tool_calls"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (21, 9)
