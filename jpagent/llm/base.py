"""The chat-model seam: one small Protocol and the plain data that crosses it.

Every backend (``llamacpp:``, ``openai:``, ``ollama:``) satisfies :class:`ChatModel` without
inheriting anything. ``chat`` returns a whole :class:`ChatResult`; ``stream`` returns an
iterator of :class:`ChatDelta` (answer text, reasoning, or a complete tool call) whose
``final()`` gives the same :class:`ChatResult` once the stream is consumed (see
:class:`jpagent.llm.stream.ChatStream`). Reasoning is always kept apart from the answer: the
``text`` of a result or a ``"text"`` delta never contains ``<think>`` blocks or gpt-oss analysis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from jpagent.types import Message

#: How a backend separates reasoning from the answer (see :mod:`jpagent.llm.reasoning`).
REASONING_MODES = ("auto", "none", "think_tags", "think_tags_implied_open", "harmony")

DeltaKind = Literal["text", "reasoning", "tool_call"]


@dataclass(frozen=True)
class ChatOptions:
    """Per-request generation settings; ``None`` leaves the backend's or server's default."""

    temperature: float | None = None
    """Sampling temperature; 0 is greedy decoding."""
    top_p: float | None = None
    """Nucleus sampling threshold."""
    top_k: int | None = None
    """Sample among the k most likely tokens (sent as ``top_k`` to OpenAI-compatible servers,
    which vLLM and llama.cpp accept; OpenAI itself ignores or rejects it)."""
    max_tokens: int | None = None
    """Upper bound on generated tokens (Ollama: ``num_predict``)."""
    seed: int | None = None
    """Random seed for reproducible sampling."""
    stop: tuple[str, ...] = ()
    """Strings that end generation; they are not included in the output."""
    tools: tuple[Mapping[str, Any], ...] = ()
    """OpenAI-style tool schemas (``{"type": "function", "function": {...}}``), passed through
    to the server or chat template where it supports them."""
    timeout: float | None = None
    """Seconds for this request (HTTP read timeout; in-process: wall-clock limit)."""
    reasoning: str | None = None
    """Reasoning format override (one of :data:`REASONING_MODES`); ``None`` uses the model's,
    taken from its profile, else ``"auto"``."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call requested by the model. ``arguments`` is the JSON text the model produced."""

    id: str
    name: str
    arguments: str

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI wire form ``{"id", "type": "function", "function": {name, arguments}}``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Usage:
    """Token counts of one request. ``estimated`` is true when the server reported none and
    jpagent counted them itself (re-tokenising, or by the byte estimate)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds. ``ttft`` (time to the first delta of any kind) is ``None`` for a
    non-streaming request, where nothing arrives before the whole answer."""

    ttft: float | None
    total: float

    def decode_tokens_per_s(self, usage: Usage) -> float | None:
        """Generated tokens per second after the first token, when it can be known."""
        if self.ttft is None or usage.completion_tokens < 2 or self.total <= self.ttft:
            return None
        return (usage.completion_tokens - 1) / (self.total - self.ttft)


@dataclass(frozen=True)
class ChatResult:
    """A whole answer: ``text`` without reasoning, the ``reasoning`` kept apart, tool calls."""

    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    timings: Timings
    finish_reason: str


@dataclass(frozen=True)
class ChatDelta:
    """A piece of a streamed answer.

    ``kind`` is ``"text"`` (answer), ``"reasoning"`` or ``"tool_call"``; for a tool call
    ``text`` is ``{"name": ..., "arguments": ...}`` as JSON and ``tool_call`` holds it parsed.
    Tool calls arrive whole, never as fragments.
    """

    kind: DeltaKind
    text: str
    tool_call: ToolCall | None = None

    @classmethod
    def for_tool(cls, call: ToolCall) -> ChatDelta:
        """The delta announcing a complete tool call."""
        body = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        return cls("tool_call", body, call)


@runtime_checkable
class ChatModel(Protocol):
    """A chat model. ``name`` is its spec string; ``context_window`` its usable tokens."""

    name: str

    @property
    def context_window(self) -> int: ...

    def chat(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatResult: ...

    def stream(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> Iterator[ChatDelta]: ...

    def count_tokens(self, text: str) -> int: ...


def estimate_tokens(text: str) -> int:
    """A conservative token count when no tokenizer is reachable: one per three UTF-8 bytes.

    Japanese kana and kanji are three bytes each and current tokenizers (Qwen, Llama 3) need
    about 0.7-1 token per character, so this over-counts slightly, which is the safe side for
    packing a context window. English (about four characters a token) is over-counted too.
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def messages_to_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The ``[{"role", "content"}]`` wire form shared by every backend."""
    return [{"role": m.role, "content": m.content} for m in messages]
