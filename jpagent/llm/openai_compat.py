"""``openai:URL#MODEL`` — any OpenAI-compatible chat server over HTTP (httpx).

vLLM, ``llama.cpp`` / ``llama_cpp.server``, LM Studio, Ollama's ``/v1`` and others:
``POST {base}/chat/completions``, streaming as server-sent events (``data: {...}`` lines ending
with ``data: [DONE]``). Tool schemas are passed through and ``tool_calls`` come back whole
(streamed fragments are joined). Reasoning a server sends apart — ``reasoning_content`` (vLLM,
DeepSeek) or ``reasoning`` (gpt-oss on vLLM and Ollama) — becomes reasoning; ``<think>`` tags left
in the content are split off by :mod:`jpagent.llm.reasoning`.

The API key comes from ``api_key`` or the ``OPENAI_API_KEY`` environment variable (local servers
usually need none).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import httpx

from jpagent.errors import ModelError
from jpagent.llm import http
from jpagent.llm.base import (
    ChatOptions,
    ChatResult,
    ToolCall,
    Usage,
    estimate_tokens,
    messages_to_dicts,
)
from jpagent.llm.reasoning import ReasoningSplitter
from jpagent.llm.stream import ChatStream, Event, estimated_usage
from jpagent.types import Message

log = logging.getLogger(__name__)

#: Context window assumed when neither the caller, the server nor a profile says (the default
#: of llama.cpp's server and LM Studio).
DEFAULT_CONTEXT_WINDOW = 4096

START_HINT = (
    "start an OpenAI-compatible server, e.g. `python -m llama_cpp.server --model MODEL.gguf "
    "--port 8000` or `vllm serve MODEL --port 8000`, and check the URL in the openai: spec "
    "(it usually ends in /v1)"
)
WHAT = "OpenAI-compatible server"


class OpenAIChat:
    """A model on an OpenAI-compatible server.

    ``context_window``: the caller's figure, else the server's ``max_model_len`` from
    ``/models`` (vLLM), else ``profile_context_window``, else :data:`DEFAULT_CONTEXT_WINDOW`.
    ``count_tokens`` asks the server's tokenizer (``/tokenize`` on vLLM and llama.cpp,
    ``/extras/tokenize/count`` on llama_cpp.server), else uses
    :func:`~jpagent.llm.base.estimate_tokens`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
        context_window: int | None = None,
        profile_context_window: int | None = None,
        reasoning: str = "auto",
        name: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = name or f"openai:{self.base_url}#{model}"
        self.reasoning = reasoning
        self.timeout = timeout
        self.max_retries = max_retries
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(headers=headers, timeout=http.timeout(timeout))
        self._context_window = context_window
        self._profile_window = profile_context_window
        self._tokenizer: tuple[str, dict[str, Any]] | None | bool = False  # False: not probed

    # ------------------------------------------------------------------ facts

    @property
    def context_window(self) -> int:
        if self._context_window is None:
            self._context_window = (
                self._server_max_len() or self._profile_window or DEFAULT_CONTEXT_WINDOW
            )
        return self._context_window

    def _server_max_len(self) -> int | None:
        try:
            resp = self._client.get(f"{self.base_url}/models", timeout=http.timeout(10.0))
            resp.raise_for_status()
            for entry in resp.json().get("data", []):
                if entry.get("id") == self.model and entry.get("max_model_len"):
                    return int(entry["max_model_len"])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.debug("no max_model_len from %s/models: %s", self.base_url, exc)
        return None

    def count_tokens(self, text: str) -> int:
        """The server's own count where it exposes a tokenizer, else the byte estimate."""
        if self._tokenizer is False:
            self._tokenizer = self._probe_tokenizer()
        if self._tokenizer:
            url, body = self._tokenizer
            try:
                resp = self._client.post(url, json={**body, **_text_fields(text)})
                resp.raise_for_status()
                return _token_count(resp.json())
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("tokenizer at %s failed (%s); estimating", url, exc)
        return estimate_tokens(text)

    def _probe_tokenizer(self) -> tuple[str, dict[str, Any]] | None:
        root = self.base_url.removesuffix("/v1")
        for url in (f"{root}/tokenize", f"{root}/extras/tokenize/count"):
            try:
                resp = self._client.post(
                    url,
                    json={"model": self.model, **_text_fields("日本")},
                    timeout=http.timeout(10.0),
                )
                if resp.status_code == 200:
                    _token_count(resp.json())
                    return url, {"model": self.model}
            except (httpx.HTTPError, ValueError, KeyError):
                continue
        log.info("%s exposes no tokenizer endpoint; counting tokens by estimate", self.base_url)
        return None

    # ------------------------------------------------------------------ chat

    def chat(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatResult:
        """One whole answer (``stream: false``)."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        payload = self._payload(messages, opts, stream=False)
        resp = self._open(payload, opts)
        with closing(resp):
            try:
                body = json.loads(resp.read())
            except httpx.HTTPError as exc:
                raise http.cut_error(self.base_url, WHAT, 0, 0, exc) from exc
            except ValueError as exc:
                raise ModelError(
                    f"{self.base_url}/chat/completions answered with something that is not JSON.",
                    f"{self.base_url} の応答が JSON ではありません。",
                    hint=START_HINT,
                ) from exc
        choice = (body.get("choices") or [{}])[0]
        msg = choice.get("message") or {}
        events = [
            Event("reasoning", _reasoning_of(msg)),
            Event("content", msg.get("content") or ""),
        ]
        events += [Event("tool_call", tool_call=_tool(tc)) for tc in msg.get("tool_calls") or ()]
        events.append(
            Event(
                "end",
                usage=_usage(body.get("usage")),
                finish_reason=choice.get("finish_reason") or "",
            )
        )
        return ChatStream(
            events,
            ReasoningSplitter(opts.reasoning or self.reasoning),
            usage_fallback=lambda raw: estimated_usage(self.count_tokens, messages, raw),
            streaming=False,
            started=t0,
        ).final()

    def stream(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatStream:
        """Stream deltas as server-sent events arrive; ``final()`` gives the result."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        payload = self._payload(messages, opts, stream=True)
        return ChatStream(
            self._sse_events(payload, opts),
            ReasoningSplitter(opts.reasoning or self.reasoning),
            usage_fallback=lambda raw: estimated_usage(self.count_tokens, messages, raw),
            started=t0,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # ------------------------------------------------------------------ internals

    def _payload(
        self, messages: Sequence[Message], opts: ChatOptions, stream: bool
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages_to_dicts(messages),
            "stream": stream,
        }
        for key in ("temperature", "top_p", "top_k", "max_tokens", "seed"):
            value = getattr(opts, key)
            if value is not None:
                payload[key] = value
        if opts.stop:
            payload["stop"] = list(opts.stop)
        if opts.tools:
            payload["tools"] = [dict(t) for t in opts.tools]
        if stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    def _open(self, payload: dict[str, Any], opts: ChatOptions) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        req_timeout = http.timeout(opts.timeout or self.timeout)

        def send() -> httpx.Response:
            req = self._client.build_request("POST", url, json=payload, timeout=req_timeout)
            resp = self._client.send(req, stream=True)
            if resp.status_code == 503:
                resp.close()
                raise http.Retryable(f"503 Service Unavailable from {url}")
            if resp.status_code >= 400:
                with closing(resp):
                    raise self._status_error(resp)
            return resp

        return http.with_retries(
            send, url=self.base_url, max_retries=self.max_retries, start_hint=START_HINT, what=WHAT
        )

    def _status_error(self, resp: httpx.Response) -> ModelError:
        try:
            raw = resp.read().decode("utf-8", "replace")
        except httpx.HTTPError:
            raw = ""
        detail = raw
        try:
            err = json.loads(raw).get("error", raw)
            detail = err.get("message", str(err)) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        detail = detail.strip()[:500]
        if resp.status_code == 404 and ("model" in detail.lower() or not detail):
            return ModelError(
                f"Model {self.model!r} is not served at {self.base_url} (404: {detail or 'not found'}).",
                f"モデル {self.model!r} は {self.base_url} にありません。",
                hint=f"list the served models with GET {self.base_url}/models and fix the name after "
                "'#' in the openai: spec, or start the server with that model",
            )
        return ModelError(
            f"{self.base_url}/chat/completions refused the request: HTTP {resp.status_code}: {detail}",
            f"{self.base_url} がリクエストを拒否しました（HTTP {resp.status_code}）。",
            hint="check the URL (it usually ends in /v1), the model name and the options",
        )

    def _sse_events(self, payload: dict[str, Any], opts: ChatOptions) -> Iterator[Event]:
        resp = self._open(payload, opts)
        chunks = chars = 0
        finish = ""
        usage: Usage | None = None
        calls: dict[int, dict[str, str]] = {}
        done = False
        with closing(resp):
            try:
                for line in resp.iter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, ": ping" comments, "event:" lines
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    obj = json.loads(data)
                    if "error" in obj:
                        raise ModelError(
                            f"{self.base_url} reported an error mid-stream: {obj['error']}",
                            f"{self.base_url} がストリーム中にエラーを返しました。",
                        )
                    chunks += 1
                    usage = _usage(obj.get("usage")) or usage
                    for choice in obj.get("choices") or ():
                        delta = choice.get("delta") or {}
                        if reasoning := _reasoning_of(delta):
                            chars += len(reasoning)
                            yield Event("reasoning", reasoning)
                        if content := delta.get("content"):
                            chars += len(content)
                            yield Event("content", content)
                        for frag in delta.get("tool_calls") or ():
                            _merge_tool_fragment(calls, frag)
                        finish = choice.get("finish_reason") or finish
            except (httpx.TransportError, ValueError) as exc:
                if isinstance(exc, httpx.ReadTimeout) and chunks == 0:
                    raise http.hung_error(self.base_url, WHAT, exc) from exc
                raise http.cut_error(self.base_url, WHAT, chunks, chars, exc) from exc
        if not done and not finish:
            raise http.cut_error(self.base_url, WHAT, chunks, chars, None)
        for i in sorted(calls):
            c = calls[i]
            yield Event("tool_call", tool_call=ToolCall(c["id"], c["name"], c["arguments"]))
        yield Event("end", usage=usage, finish_reason=finish)


def _text_fields(text: str) -> dict[str, str]:
    # vLLM reads "prompt", llama.cpp's server "content", llama_cpp.server "input".
    return {"prompt": text, "content": text, "input": text}


def _token_count(body: dict[str, Any]) -> int:
    if "count" in body:
        return int(body["count"])
    return len(body["tokens"])


def _reasoning_of(msg: dict[str, Any]) -> str:
    return msg.get("reasoning_content") or msg.get("reasoning") or ""


def _usage(u: dict[str, Any] | None) -> Usage | None:
    if not u:
        return None
    return Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))


def _tool(tc: dict[str, Any]) -> ToolCall:
    fn = tc.get("function") or {}
    args = fn.get("arguments") or ""
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return ToolCall(tc.get("id") or "", fn.get("name") or "", args)


def _merge_tool_fragment(calls: dict[int, dict[str, str]], frag: dict[str, Any]) -> None:
    """Streamed tool calls arrive in pieces keyed by ``index``: join names and arguments."""
    slot = calls.setdefault(
        int(frag.get("index", len(calls))), {"id": "", "name": "", "arguments": ""}
    )
    if frag.get("id"):
        slot["id"] = frag["id"]
    fn = frag.get("function") or {}
    slot["name"] += fn.get("name") or ""
    args = fn.get("arguments") or ""
    slot["arguments"] += args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
