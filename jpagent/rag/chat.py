"""Chat over a knowledge base: follow-up questions are rewritten to standalone queries first.

A follow-up such as 「それは何日前までに申請しますか？」 retrieves nothing useful by itself.
:func:`condense_question` asks the model (``condense_system.j2`` / ``condense_user.j2``) to
rewrite it, given the history, into a question that stands alone
(「有給休暇は何日前までに申請しますか？」); :class:`ChatSession` retrieves with that query and
answers with :func:`jpagent.rag.answer.answer`, keeping the history.

Small models sometimes hand the follow-up back unchanged (the default 1.5B model does with
「日当は？」). When the rewrite equals the question, :class:`ChatSession` retrieves with the
previous user question and the follow-up together (:func:`retrieval_query`), and asks the
model the follow-up as it was written, with the history in the prompt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from jpagent.rag.answer import RagConfig, answer
from jpagent.rag.citations import parse_citations
from jpagent.rag.templates import render_template
from jpagent.types import Answer, Message

if TYPE_CHECKING:
    from jpagent.llm.base import ChatModel, ChatOptions
    from jpagent.retrieve.base import Retriever

__all__ = ["ChatSession", "clean_condensed", "condense_question", "retrieval_query"]

CONDENSE_MAX_TOKENS = 96
"""Tokens allowed for a rewritten question (one line)."""

_LABEL = re.compile(
    r"^\s*(?:#+\s*)?(?:書き換えた質問|書き換え後の質問|独立した質問|質問|Question|Standalone question)"
    r"\s*[:：]\s*",
    re.IGNORECASE,
)
_QUOTES = "「」『』\"'“”`"


def clean_condensed(text: str) -> str:
    """The first non-empty line of a rewrite, without labels (``質問：``), quotes or markers."""
    for line in text.splitlines():
        line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
        for mark in reversed(parse_citations(line)):
            line = line[: mark.start] + line[mark.end :]
        line = line.strip()
        if line:
            return line
    return ""


def condense_question(
    question: str,
    history: Sequence[Message],
    chat_model: ChatModel,
    *,
    config: RagConfig = RagConfig(),
    options: ChatOptions | None = None,
) -> str:
    """Rewrite ``question`` into a standalone query using ``history``; unchanged when no history.

    Uses the last ``config.history_messages`` messages (at least two). An empty rewrite falls
    back to the question itself.
    """
    if not history:
        return question
    from jpagent.llm.base import ChatOptions

    keep = max(config.history_messages, 2)
    messages = (
        Message("system", render_template("condense_system.j2", config.prompt_dir)),
        Message(
            "user",
            render_template(
                "condense_user.j2",
                config.prompt_dir,
                history=list(history[-keep:]),
                question=question,
            ),
        ),
    )
    opts = options or ChatOptions(temperature=0.0, max_tokens=CONDENSE_MAX_TOKENS)
    result = chat_model.chat(messages, options=opts)
    return clean_condensed(result.text) or question


def retrieval_query(question: str, standalone: str, history: Sequence[Message]) -> str:
    """The query to retrieve with: the rewrite, or, when the model left the follow-up unchanged,
    the previous user question and the follow-up on two lines."""
    if standalone.strip() != question.strip():
        return standalone
    previous = next((m.content for m in reversed(history) if m.role == "user"), "")
    return f"{previous}\n{question}" if previous else question


class ChatSession:
    """A conversation over a retriever: ``ask`` rewrites follow-ups, retrieves, answers.

    ``history`` holds the user's questions as asked and the answers' text. ``Answer.timings``
    gains ``condense`` (seconds spent rewriting; 0 for the first question).
    """

    def __init__(
        self,
        retriever: Retriever,
        chat_model: ChatModel,
        *,
        config: RagConfig = RagConfig(),
        options: ChatOptions | None = None,
    ) -> None:
        self.retriever = retriever
        self.chat_model = chat_model
        self.config = config
        self.options = options
        self._history: list[Message] = []
        self.last_query = ""
        """The query the last question was retrieved with (see :func:`retrieval_query`)."""

    @property
    def history(self) -> tuple[Message, ...]:
        """The conversation so far (user and assistant messages)."""
        return tuple(self._history)

    def reset(self) -> None:
        """Forget the conversation."""
        self._history.clear()
        self.last_query = ""

    def ask(self, question: str, stream_callback: Callable[[str], None] | None = None) -> Answer:
        """Answer ``question`` in the context of the conversation and remember the turn."""
        t0 = time.perf_counter()
        standalone, condense = question, 0.0
        if self._history:
            standalone = condense_question(
                question, self._history, self.chat_model, config=self.config
            )
            condense = time.perf_counter() - t0
        query = retrieval_query(question, standalone, self._history)
        self.last_query = query
        result = answer(
            standalone,
            self.retriever,
            self.chat_model,
            history=self._history,
            options=self.options,
            stream_callback=stream_callback,
            config=self.config,
            query=query,
        )
        self._history += [Message("user", question), Message("assistant", result.text)]
        timings = dict(result.timings, condense=condense)
        timings["total"] = time.perf_counter() - t0
        return replace(result, timings=timings)
