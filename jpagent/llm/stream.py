"""The one path from a backend's raw output to deltas and a :class:`ChatResult`.

A backend turns its wire format into :class:`Event` s (content still holding any ``<think>``
tags, reasoning the server already separated, complete tool calls, and one ``end`` event with
usage and finish reason). :class:`ChatStream` runs content through a
:class:`~jpagent.llm.reasoning.ReasoningSplitter`, yields :class:`ChatDelta` s, times them, and
builds the :class:`ChatResult`. Non-streaming requests go through the same class, so both give
the same separation.

A server that separates reasoning itself (``reasoning_content``, Ollama's ``thinking``) leaves
plain answer text in the content: once such reasoning arrives before any content, the content
is split in ``auto`` mode instead of the model's format, so an implied ``<think>`` or a harmony
parse cannot swallow the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from jpagent.llm.base import ChatDelta, ChatResult, Timings, ToolCall, Usage
from jpagent.llm.reasoning import ReasoningSplitter
from jpagent.types import Message


@dataclass(frozen=True)
class Event:
    """One thing a backend read from the model.

    ``content``: raw answer text (may hold reasoning tags); ``reasoning``: reasoning the server
    sent apart (``reasoning_content``, ``thinking``); ``tool_call``: a complete call; ``end``:
    the response finished, with ``usage`` (``None`` if the server sent none) and
    ``finish_reason``.
    """

    kind: Literal["content", "reasoning", "tool_call", "end"]
    text: str = ""
    tool_call: ToolCall | None = None
    usage: Usage | None = None
    finish_reason: str = ""


def estimated_usage(
    count_tokens: Callable[[str], int], messages: Sequence[Message], raw: str
) -> Usage:
    """Usage counted with ``count_tokens`` when a server reported none (``estimated=True``)."""
    prompt = sum(count_tokens(m.content) for m in messages)
    return Usage(prompt, count_tokens(raw) if raw else 0, estimated=True)


class ChatStream:
    """An iterator of :class:`ChatDelta` whose :meth:`final` gives the :class:`ChatResult`.

    ``usage_fallback(raw_text)`` supplies usage when the backend's ``end`` event has none;
    ``streaming=False`` marks a non-streaming request (``Timings.ttft`` is then ``None``).
    Closing the stream early (``close()``, or leaving a ``for`` loop and dropping it) closes the
    backend's connection or releases the in-process model.
    """

    def __init__(
        self,
        events: Iterable[Event],
        splitter: ReasoningSplitter,
        *,
        usage_fallback: Callable[[str], Usage],
        streaming: bool = True,
        started: float | None = None,
    ) -> None:
        self._events = iter(events)
        self._splitter = splitter
        self._usage_fallback = usage_fallback
        self._streaming = streaming
        self._t0 = time.perf_counter() if started is None else started
        self._ttft: float | None = None
        self._parts: dict[str, list[str]] = {"text": [], "reasoning": []}
        self._raw: list[str] = []
        self._tools: list[ToolCall] = []
        self._result: ChatResult | None = None
        self._gen = self._run()

    def __iter__(self) -> Iterator[ChatDelta]:
        return self

    def __next__(self) -> ChatDelta:
        return next(self._gen)

    def close(self) -> None:
        """Stop early and release the connection or the model."""
        self._gen.close()
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def final(self) -> ChatResult:
        """Consume what is left of the stream and return the whole result."""
        for _ in self._gen:
            pass
        if self._result is None:
            raise RuntimeError("the stream was closed before it finished")
        return self._result

    def _record(self, delta: ChatDelta) -> ChatDelta:
        if self._ttft is None:
            self._ttft = time.perf_counter() - self._t0
        if delta.tool_call is not None:
            self._tools.append(delta.tool_call)
        else:
            self._parts[delta.kind].append(delta.text)
        return delta

    def _run(self) -> Iterator[ChatDelta]:
        usage: Usage | None = None
        finish = ""
        fed = False
        try:
            for ev in self._events:
                if ev.kind == "content":
                    fed = True
                    self._raw.append(ev.text)
                    for d in self._splitter.feed(ev.text):
                        yield self._record(d)
                elif ev.kind == "reasoning" and ev.text:
                    if not fed and self._splitter.mode not in ("auto", "none"):
                        self._splitter = ReasoningSplitter("auto")
                    self._raw.append(ev.text)
                    yield self._record(ChatDelta("reasoning", ev.text))
                elif ev.kind == "tool_call" and ev.tool_call is not None:
                    yield self._record(ChatDelta.for_tool(ev.tool_call))
                elif ev.kind == "end":
                    usage, finish = ev.usage, ev.finish_reason
            for d in self._splitter.close():
                yield self._record(d)
        finally:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()
        total = time.perf_counter() - self._t0
        if usage is None:
            usage = self._usage_fallback("".join(self._raw))
        if self._tools and finish in ("", "stop"):
            finish = "tool_calls"
        self._result = ChatResult(
            text="".join(self._parts["text"]),
            reasoning="".join(self._parts["reasoning"]).strip(),
            tool_calls=tuple(self._tools),
            usage=usage,
            timings=Timings(self._ttft if self._streaming else None, total),
            finish_reason=finish or "stop",
        )
