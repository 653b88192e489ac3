"""Failures of the HTTP backends on real local sockets, and the messages people get.

Server down (a closed port), a server that hangs up mid-stream, one that accepts and never
answers (short timeout), one that drops the first connection (retried), and a missing model.
Ollama's failures go through the official ``ollama`` client library.
"""

from __future__ import annotations

import json
import time

import pytest

from jpagent.errors import ModelError
from jpagent.llm import http
from jpagent.llm.base import ChatOptions
from jpagent.llm.ollama import OllamaChat
from jpagent.llm.openai_compat import OpenAIChat
from jpagent.types import Message
from tests.llm.fault_servers import RawServer, closed_port, http_response

QUESTION = [Message("user", "富士山の高さは？")]


def _openai(url: str, **kw) -> OpenAIChat:
    return OpenAIChat(f"{url}/v1", "qwen", context_window=4096, **kw)


def _ollama(url: str, **kw) -> OllamaChat:
    # context_window given: no /api/show request before the chat.
    return OllamaChat("qwen2.5:7b-instruct", host=url, context_window=4096, **kw)


def _sse_lines(*contents: str) -> bytes:
    return "".join(
        f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': c}}]}, ensure_ascii=False)}\n\n"
        for c in contents
    ).encode()


def _ndjson_lines(*contents: str) -> bytes:
    return "".join(
        json.dumps(
            {"model": "m", "message": {"role": "assistant", "content": c}, "done": False},
            ensure_ascii=False,
        )
        + "\n"
        for c in contents
    ).encode()


BACKENDS = {
    "openai": (_openai, _sse_lines, "text/event-stream", "llama_cpp.server"),
    "ollama": (_ollama, _ndjson_lines, "application/x-ndjson", "ollama serve"),
}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(http, "BACKOFF_BASE", 0.1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("streaming", [False, True])
def test_server_down_is_retried_then_named(backend, streaming):
    make, _, _, start_hint = BACKENDS[backend]
    url = f"http://127.0.0.1:{closed_port()}"
    model = make(url, max_retries=2)
    t0 = time.perf_counter()
    with pytest.raises(ModelError) as err:
        model.chat(QUESTION) if not streaming else list(model.stream(QUESTION))
    elapsed = time.perf_counter() - t0
    msg = str(err.value)
    assert url in msg and "tried 3 time(s)" in msg
    assert start_hint in msg and "接続できません" in msg
    assert elapsed >= 0.1 + 0.2  # backoff before the two retries


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("chunked", [True, False], ids=["cut-chunked", "closed-without-end"])
def test_hang_up_mid_stream_says_how_much_arrived(backend, chunked):
    make, lines, ctype, _ = BACKENDS[backend]
    body = lines("東京は", "日本の首都")
    payload = http_response("200 OK", ctype, body, chunked=chunked)
    with RawServer("half", payload) as server:
        model = make(server.url, max_retries=2)
        received = []
        with pytest.raises(ModelError) as err:
            for delta in model.stream(QUESTION):
                received.append(delta.text)
        assert server.connections == 1, "a stream cut after it began is not retried"
    assert "".join(received) == "東京は日本の首都"
    msg = str(err.value)
    assert "mid-stream" in msg and "2 chunk(s)" in msg and "8 characters" in msg
    assert server.url in msg and "途中で接続を切りました" in msg


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("streaming", [False, True])
def test_server_that_never_answers_times_out(backend, streaming):
    make, *_ = BACKENDS[backend]
    with RawServer("hang") as server:
        model = make(server.url, timeout=0.5, max_retries=2)
        t0 = time.perf_counter()
        with pytest.raises(ModelError) as err:
            model.chat(QUESTION) if not streaming else list(model.stream(QUESTION))
        elapsed = time.perf_counter() - t0
        assert server.connections == 1, "a read timeout is not retried"
    assert "no answer in time" in str(err.value) and server.url in str(err.value)
    assert 0.4 < elapsed < 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropped_connection_is_retried(backend):
    make, lines, ctype, _ = BACKENDS[backend]
    if backend == "openai":
        body = lines("こんにちは") + b"data: [DONE]\n\n"
    else:
        end = {
            "model": "m",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 1,
        }
        body = lines("こんにちは") + json.dumps(end).encode() + b"\n"
    payload = http_response("200 OK", ctype, body, chunked=False)
    with RawServer("drop_first", payload) as server:
        result = make(server.url, max_retries=2).stream(QUESTION).final()
        chats = [p for p in server.paths if p.endswith(("/chat/completions", "/api/chat"))]
        assert len(chats) == 2, server.paths
    assert result.text == "こんにちは"


def test_openai_missing_model_is_not_retried():
    body = json.dumps(
        {
            "object": "error",
            "message": "The model `qwen` does not exist.",
            "type": "NotFoundError",
            "code": 404,
        }
    )
    payload = http_response("404 Not Found", "application/json", body.encode(), chunked=False)
    with RawServer("full", payload) as server:
        with pytest.raises(ModelError) as err:
            _openai(server.url, max_retries=2).chat(QUESTION, options=ChatOptions(max_tokens=8))
        assert server.connections == 1
    msg = str(err.value)
    assert "'qwen' is not served" in msg and "does not exist" in msg and "/models" in msg


def test_ollama_missing_model_says_pull():
    payload = http_response(
        "404 Not Found",
        "application/json",
        b'{"error": "model \'qwen2.5:7b-instruct\' not found"}',
        chunked=False,
    )
    with RawServer("full", payload) as server:
        with pytest.raises(ModelError) as err:
            list(_ollama(server.url).stream(QUESTION))
        assert server.connections == 1
    assert "ollama pull qwen2.5:7b-instruct" in str(err.value)
