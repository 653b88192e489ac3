"""``ollama:NAME`` — a model served by Ollama, through the official ``ollama`` client library.

Ollama's default context (2048 or 4096 tokens, depending on the version) silently drops the
start of a longer prompt, so every request sets ``num_ctx`` from its size:
:meth:`OllamaChat.num_ctx_for` counts the prompt, adds ``max_tokens`` (or
:data:`DEFAULT_RESERVE`), rounds up to a multiple of 1024 and caps the result at the model's
context length from ``/api/show`` (``model_info["<arch>.context_length"]``).

Ollama exposes no tokenizer, so ``count_tokens`` is :func:`~jpagent.llm.base.estimate_tokens`
(one token per three UTF-8 bytes: over-counts, the safe side). Reasoning arrives as
``message.thinking`` when a model thinks separately, else as ``<think>`` tags in the content
(so a DeepSeek-R1 profile's implied-open format is read as explicit ``think_tags`` here).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
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

DEFAULT_HOST = "http://127.0.0.1:11434"
#: Tokens kept free for the answer when a request sets no ``max_tokens``.
DEFAULT_RESERVE = 1024
#: Tokens of chat-template overhead counted per message (role markers, separators).
PER_MESSAGE = 8
WHAT = "Ollama server"


def _start_hint(host: str) -> str:
    return f"start Ollama with `ollama serve` (or set llm.ollama_host / JPAGENT_LLM_OLLAMA_HOST; now {host})"


class OllamaChat:
    """A model on an Ollama server. ``context_window``: the caller's figure, else the model's
    context length from ``/api/show``."""

    def __init__(
        self,
        model: str,
        *,
        host: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
        context_window: int | None = None,
        reasoning: str = "auto",
        name: str = "",
    ) -> None:
        try:
            import ollama
        except ImportError:
            raise ModelError(
                "The ollama client library is not installed.",
                "ollama クライアントライブラリがインストールされていません。",
                hint="pip install ollama",
            ) from None
        self._ollama = ollama
        self.model = model
        self.host = (host or DEFAULT_HOST).rstrip("/")
        self.name = name or f"ollama:{model}"
        # Ollama's templates do not pre-open <think>: a reply holds explicit tags or, when
        # Ollama parses thinking itself, none (then ChatStream switches to auto anyway).
        self.reasoning = "think_tags" if reasoning == "think_tags_implied_open" else reasoning
        self.timeout = timeout
        self.max_retries = max_retries
        self._client = ollama.Client(host=self.host, timeout=http.timeout(timeout))
        self._context_window = context_window
        self._model_length: int | None = None

    # ------------------------------------------------------------------ facts

    @property
    def context_window(self) -> int:
        if self._context_window is None:
            self._context_window = self._model_context_length()
        return self._context_window

    def _model_context_length(self) -> int:
        if self._model_length is None:
            show = self._call(lambda: self._client.show(self.model))
            info = dict(show.modelinfo or {})
            arch = info.get("general.architecture", "")
            length = info.get(f"{arch}.context_length") or next(
                (v for k, v in info.items() if k.endswith(".context_length")), None
            )
            if not length:
                log.warning("%s: /api/show gives no context length; assuming 2048", self.name)
            self._model_length = int(length or 2048)
        return self._model_length

    def count_tokens(self, text: str) -> int:
        """Estimated (Ollama has no tokenizer endpoint): one token per three UTF-8 bytes."""
        return estimate_tokens(text)

    def num_ctx_for(self, messages: Sequence[Message], max_tokens: int | None) -> int:
        """The ``num_ctx`` a request needs: prompt + answer, rounded up to 1024, capped."""
        prompt = sum(self.count_tokens(m.content) + PER_MESSAGE for m in messages)
        need = prompt + (max_tokens if max_tokens is not None else DEFAULT_RESERVE)
        limit = self.context_window
        if need > limit:
            log.warning(
                "%s: prompt (~%d tokens) + answer exceed the context length %d; "
                "Ollama will drop the start of the prompt",
                self.name,
                prompt,
                limit,
            )
        return min(math.ceil(need / 1024) * 1024, limit)

    # ------------------------------------------------------------------ chat

    def chat(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatResult:
        """One whole answer (``stream: false``)."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        kwargs = self._kwargs(messages, opts)
        try:
            resp = self._call(lambda: self._client.chat(stream=False, **kwargs))
        except ModelError:
            raise
        except (httpx.TransportError, ValueError) as exc:
            raise http.cut_error(self.host, WHAT, 0, 0, exc) from exc
        msg = resp.message
        events = [Event("reasoning", msg.thinking or ""), Event("content", msg.content or "")]
        events += [
            Event("tool_call", tool_call=_tool(i, tc)) for i, tc in enumerate(msg.tool_calls or ())
        ]
        events.append(Event("end", usage=_usage(resp), finish_reason=resp.done_reason or ""))
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
        """Stream deltas as NDJSON lines arrive; ``final()`` gives the result."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        return ChatStream(
            self._events(messages, opts),
            ReasoningSplitter(opts.reasoning or self.reasoning),
            usage_fallback=lambda raw: estimated_usage(self.count_tokens, messages, raw),
            started=t0,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # ------------------------------------------------------------------ internals

    def _kwargs(self, messages: Sequence[Message], opts: ChatOptions) -> dict[str, Any]:
        options: dict[str, Any] = {"num_ctx": self.num_ctx_for(messages, opts.max_tokens)}
        for ours, theirs in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("top_k", "top_k"),
            ("max_tokens", "num_predict"),
            ("seed", "seed"),
        ):
            value = getattr(opts, ours)
            if value is not None:
                options[theirs] = value
        if opts.stop:
            options["stop"] = list(opts.stop)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages_to_dicts(messages),
            "options": options,
        }
        if opts.tools:
            kwargs["tools"] = [dict(t) for t in opts.tools]
        if opts.timeout is not None:
            log.debug(
                "per-request timeout is not supported by the ollama client; using %s", self.timeout
            )
        return kwargs

    def _call(self, fn):
        """Run a client call with retries, turning Ollama's errors into ModelError."""
        try:
            return http.with_retries(
                fn,
                url=self.host,
                max_retries=self.max_retries,
                start_hint=_start_hint(self.host),
                what=WHAT,
            )
        except self._ollama.ResponseError as exc:
            raise self._response_error(exc) from exc

    def _response_error(self, exc: Any) -> ModelError:
        text = str(exc.error)
        if exc.status_code == 404 or "not found" in text.lower():
            return ModelError(
                f"Ollama at {self.host} has no model {self.model!r} ({text}).",
                f"Ollama（{self.host}）にモデル {self.model!r} がありません。`ollama pull {self.model}` を実行してください。",
                hint=f"ollama pull {self.model}",
            )
        return ModelError(
            f"Ollama at {self.host} refused the request (HTTP {exc.status_code}): {text}",
            f"Ollama（{self.host}）がリクエストを拒否しました: {text}",
            hint="check the model name and options; see the Ollama server log",
        )

    def _events(self, messages: Sequence[Message], opts: ChatOptions) -> Iterator[Event]:
        kwargs = self._kwargs(messages, opts)

        def open_stream() -> tuple[Iterator[Any], Any]:
            # The client sends the request on the first next(): retry that whole step.
            gen = self._client.chat(stream=True, **kwargs)
            return gen, next(gen, None)

        parts, first = self._call(open_stream)
        chunks = chars = 0
        done = None
        try:
            for part in _chain(first, parts):
                chunks += 1
                msg = part.message
                if msg.thinking:
                    chars += len(msg.thinking)
                    yield Event("reasoning", msg.thinking)
                if msg.content:
                    chars += len(msg.content)
                    yield Event("content", msg.content)
                for i, tc in enumerate(msg.tool_calls or ()):
                    yield Event("tool_call", tool_call=_tool(i, tc))
                if part.done:
                    done = part
                    break
        except self._ollama.ResponseError as exc:
            raise self._response_error(exc) from exc
        except (httpx.TransportError, ValueError) as exc:
            raise http.cut_error(self.host, WHAT, chunks, chars, exc) from exc
        finally:
            parts.close()
        if done is None:
            raise http.cut_error(self.host, WHAT, chunks, chars, None)
        yield Event("end", usage=_usage(done), finish_reason=done.done_reason or "")


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
    yield from rest


def _usage(resp: Any) -> Usage | None:
    if resp.prompt_eval_count is None and resp.eval_count is None:
        return None
    return Usage(int(resp.prompt_eval_count or 0), int(resp.eval_count or 0))


def _tool(i: int, tc: Any) -> ToolCall:
    args = tc.function.arguments
    text = args if isinstance(args, str) else json.dumps(dict(args or {}), ensure_ascii=False)
    return ToolCall(f"call_{i}", tc.function.name, text)
