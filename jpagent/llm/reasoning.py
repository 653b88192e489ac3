"""Separate a model's reasoning from its answer while the text streams in.

:class:`ReasoningSplitter` is a small state machine: ``feed(chunk)`` returns the deltas that are
certain so far, ``close()`` the rest. A marker split across chunks (``<thi`` + ``nk>``) is held
back until it can be decided, so every chunking of the same text gives the same output.

Modes (the ``reasoning`` field of a model profile, or :attr:`ChatOptions.reasoning`):

``none``
    everything is answer text.
``think_tags``
    Qwen3 / DeepSeek style: a reply that starts with ``<think>`` is reasoning up to ``</think>``.
``think_tags_implied_open``
    DeepSeek-R1 distills, whose chat template already opens ``<think>``: the reply starts inside
    the reasoning and only ``</think>`` appears. Everything before it is reasoning (a reply cut
    off before ``</think>`` is all reasoning). A leading ``<think>`` is accepted too.
``harmony``
    gpt-oss: ``<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final
    <|message|>…``. Only the ``final`` channel is answer text; ``analysis`` and commentary are
    reasoning; a message addressed ``to=functions.NAME`` becomes a tool call. When a server drops
    the special tokens (``analysis…assistantfinal…``), that plain form is split too.
``auto``
    ``<think>`` or a harmony token at the start of the reply picks ``think_tags`` or
    ``harmony``; anything else is plain text. An implied opening tag cannot be detected in
    advance: name the mode (profile or option) for DeepSeek-R1 distills.

The answer text also loses its leading whitespace (the newlines after ``</think>``).
"""

from __future__ import annotations

import re

from jpagent.llm.base import REASONING_MODES, ChatDelta, ToolCall

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
H_START = "<|start|>"
H_CHANNEL = "<|channel|>"
H_MESSAGE = "<|message|>"
H_ENDS = ("<|end|>", "<|return|>", "<|call|>")
PLAIN_ANALYSIS = "analysis"
PLAIN_FINAL = "assistantfinal"

_CHANNEL_RE = re.compile(r"<\|channel\|>\s*([A-Za-z_]+)")
_RECIPIENT_RE = re.compile(r"\bto=([^\s<]+)")


def _held_suffix(buf: str, markers: tuple[str, ...]) -> int:
    """Length of the longest end of ``buf`` that could begin one of ``markers``."""
    best = 0
    for marker in markers:
        for k in range(min(len(buf), len(marker) - 1), best, -1):
            if buf.endswith(marker[:k]):
                best = k
                break
    return best


class ReasoningSplitter:
    """Streaming separator of reasoning and answer text; one instance per response."""

    def __init__(self, mode: str = "auto") -> None:
        if mode not in REASONING_MODES:
            raise ValueError(f"unknown reasoning mode {mode!r}; expected one of {REASONING_MODES}")
        self.mode = mode
        self._buf = ""
        self._state = {
            "auto": "detect",
            "none": "text_lead",
            "think_tags": "detect",
            "think_tags_implied_open": "detect_implied",
            "harmony": "h_detect",
        }[mode]
        self._msg_kind = "reasoning"  # kind of the current harmony message
        self._tool_name = ""
        self._tool_args: list[str] = []
        self._n_tools = 0
        self._out: list[ChatDelta] = []

    def feed(self, chunk: str) -> list[ChatDelta]:
        """Add streamed text; return the deltas that no later chunk can change."""
        self._buf += chunk
        return self._drain(final=False)

    def close(self) -> list[ChatDelta]:
        """The stream has ended: return whatever was held back."""
        return self._drain(final=True)

    # ------------------------------------------------------------------ machinery

    def _drain(self, final: bool) -> list[ChatDelta]:
        while getattr(self, "_st_" + self._state)(final):
            pass
        out, self._out = self._out, []
        merged: list[ChatDelta] = []
        for d in out:
            if not d.text and d.kind != "tool_call":
                continue
            if merged and d.kind == merged[-1].kind and d.kind != "tool_call":
                merged[-1] = ChatDelta(d.kind, merged[-1].text + d.text)
            else:
                merged.append(d)
        return merged

    def _emit(self, kind: str, text: str) -> None:
        if kind == "tool":
            self._tool_args.append(text)
        elif text:
            self._out.append(ChatDelta(kind, text))  # type: ignore[arg-type]

    def _emit_until(self, kind: str, markers: tuple[str, ...], final: bool) -> tuple[int, str]:
        """Emit up to the first marker; return (its index, the marker) or (-1, "") after
        emitting all that cannot start a marker."""
        hits = [(i, m) for m in markers if (i := self._buf.find(m)) >= 0]
        if hits:
            i, marker = min(hits)
            self._emit(kind, self._buf[:i])
            self._buf = self._buf[i:]
            return i, marker
        keep = 0 if final else _held_suffix(self._buf, markers)
        cut = len(self._buf) - keep
        self._emit(kind, self._buf[:cut])
        self._buf = self._buf[cut:]
        return -1, ""

    def _undecided(self, final: bool, stripped: str, candidates: tuple[str, ...]) -> bool:
        return not final and (not stripped or any(c.startswith(stripped) for c in candidates))

    # ------------------------------------------------------------------ think tags

    def _st_detect(self, final: bool) -> bool:
        s = self._buf.lstrip()
        harmony = (H_START, H_CHANNEL) if self.mode == "auto" else ()
        if s.startswith(THINK_OPEN):
            self._buf, self._state = s[len(THINK_OPEN) :], "reason_lead"
        elif harmony and s.startswith(harmony):
            self._buf, self._state = s, "h_header"
        elif self._undecided(final, s, (THINK_OPEN, *harmony)):
            return False
        else:
            self._state = "text_lead"
        return True

    def _st_detect_implied(self, final: bool) -> bool:
        s = self._buf.lstrip()
        if s.startswith(THINK_OPEN):
            self._buf = s[len(THINK_OPEN) :]
        elif self._undecided(final, s, (THINK_OPEN,)):
            return False
        self._state = "reason_lead"
        return True

    def _st_reason_lead(self, final: bool) -> bool:
        self._buf = self._buf.lstrip()
        if not self._buf:
            return False
        self._state = "reason"
        return True

    def _st_reason(self, final: bool) -> bool:
        i, _ = self._emit_until("reasoning", (THINK_CLOSE,), final)
        if i < 0:
            return False
        self._buf, self._state = self._buf[len(THINK_CLOSE) :], "text_lead"
        return True

    def _st_text_lead(self, final: bool) -> bool:
        self._buf = self._buf.lstrip()
        if not self._buf:
            return False
        self._state = "text"
        return True

    def _st_text(self, final: bool) -> bool:
        self._emit("text", self._buf)
        self._buf = ""
        return False

    # ------------------------------------------------------------------ gpt-oss harmony

    def _st_h_detect(self, final: bool) -> bool:
        s = self._buf.lstrip()
        if s.startswith("<|"):
            self._buf, self._state = s, "h_header"
        elif s.startswith(PLAIN_ANALYSIS):
            self._buf, self._state = s[len(PLAIN_ANALYSIS) :], "hp_analysis"
        elif self._undecided(final, s, ("<|", PLAIN_ANALYSIS)):
            return False
        else:
            self._state = "text_lead"
        return True

    def _st_h_header(self, final: bool) -> bool:
        i = self._buf.find(H_MESSAGE)
        if i < 0:
            if final and "<|" not in self._buf:  # trailing text outside any message
                self._emit("text", self._buf.strip())
                self._buf = ""
            elif final:
                self._buf = ""  # a header cut off before its message: nothing to show
            return False
        header, self._buf = self._buf[:i], self._buf[i + len(H_MESSAGE) :]
        channel = _CHANNEL_RE.search(header)
        recipient = _RECIPIENT_RE.search(header)
        if recipient:
            self._msg_kind = "tool"
            self._tool_name = recipient.group(1).removeprefix("functions.")
            self._tool_args = []
        elif channel and channel.group(1) == "final":
            self._msg_kind = "text"
        else:
            self._msg_kind = "reasoning"
        self._state = "h_msg"
        return True

    def _st_h_msg(self, final: bool) -> bool:
        i, marker = self._emit_until(self._msg_kind, (*H_ENDS, H_START, H_CHANNEL), final)
        if i < 0 and not final:
            return False
        if marker in H_ENDS:
            self._buf = self._buf[len(marker) :]
        if self._msg_kind == "tool":
            self._n_tools += 1
            args = "".join(self._tool_args).strip()
            call = ToolCall(f"call_{self._n_tools}", self._tool_name, args)
            self._out.append(ChatDelta.for_tool(call))
            self._tool_args = []
        self._state = "h_header"
        return i >= 0

    def _st_hp_analysis(self, final: bool) -> bool:
        i, _ = self._emit_until("reasoning", (PLAIN_FINAL,), final)
        if i < 0:
            return False
        self._buf, self._state = self._buf[len(PLAIN_FINAL) :], "text_lead"
        return True
