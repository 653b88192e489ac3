"""Answer a question from retrieved sources, with citations: retrieve → pack → prompt → stream.

:func:`answer` is the whole RAG step for one question:

1. ``retriever.retrieve(question, k)`` gives the hits, best first;
2. :func:`build_prompt` packs them into numbered sources that fit the model's context window
   (minus the prompt, the history and the answer budget), counted with the model's own token
   counter, and renders the Japanese templates (``answer_system.j2``, ``answer_user.j2``);
3. the model streams its answer; text deltas go to ``stream_callback`` as they arrive, reasoning
   is kept apart; a runaway loop (one piece repeated back to back) stops the model, and the
   answer keeps its text up to the loop's first copy (``Answer.looped``);
4. the citation markers in the answer text (never in the reasoning) are resolved to
   :class:`~jpagent.types.Citation` s; numbers naming no source are dropped (and logged).

When nothing is retrieved the answer is 「資料からは分かりません。」 without calling the model.
``Answer.timings`` holds seconds: ``retrieve``, ``prompt`` (packing and rendering), ``ttft``
(first delta of any kind), ``generate`` (the model's whole stream, ``ttft`` included),
``total``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from jpagent.rag.citations import NO_ANSWER, infer_citations, resolve_citations
from jpagent.rag.packing import PackedContext, Source, close_to_best, pack_sources
from jpagent.rag.templates import render_template
from jpagent.types import Answer, Hit, Message

if TYPE_CHECKING:
    from jpagent.llm.base import ChatModel, ChatOptions
    from jpagent.retrieve.base import Retriever

__all__ = ["Prompt", "RagConfig", "answer", "build_prompt", "generate", "token_counter_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RagConfig:
    """How a question is turned into a prompt and an answer."""

    k: int = 1
    """Hits asked of the retriever (before packing drops what does not fit). One: the
    embedded 1.5B model answers best from the best chunk alone (jpagent/rag/README.md);
    larger models may use more."""
    min_relative_score: float = 0.0
    """Keep only hits scoring at least this share of the best hit's score (0: keep all; see
    :func:`jpagent.rag.packing.close_to_best`)."""
    answer_tokens: int = 512
    """Tokens reserved for the answer when the options set no ``max_tokens``; also the
    ``max_tokens`` sent to the model in that case."""
    max_context_tokens: int | None = None
    """Upper bound on the tokens of packed sources, below what the window allows (prompt
    processing costs time on a CPU: ~100 tokens/s for the default model on 2 cores)."""
    message_overhead_tokens: int = 8
    """Tokens the chat template adds per message (role markers), reserved when packing."""
    history_messages: int = 4
    """How many of the latest history messages go into the answer prompt (0: none)."""
    temperature: float = 0.0
    """Sampling temperature when the options set none (0: greedy, reproducible)."""
    stop_loops: bool = True
    """Stop the model when its answer (or reasoning) falls into a runaway loop, one piece
    repeated back to back (:mod:`jpagent.llm.loops`), and keep the text up to the first copy;
    :attr:`~jpagent.types.Answer.looped` tells. Off: the loop runs to ``max_tokens``."""
    system_template: str = "answer_system.j2"
    """Template of the system prompt (rules: sources only, cite [n], no-answer phrase)."""
    user_template: str = "answer_user.j2"
    """Template of the user prompt (numbered sources, then the question)."""
    source_template: str = "source.j2"
    """Template of one source block (number, file name, page, heading path, text)."""
    prompt_dir: Path | None = None
    """A folder of templates that take precedence over the shipped ones (same names)."""


class Prompt(NamedTuple):
    """The messages for the model and the sources they number."""

    messages: tuple[Message, ...]
    packed: PackedContext


def token_counter_for(chat_model: object) -> Callable[[str], int]:
    """The model's ``count_tokens``, else the text layer's estimate counter."""
    count = getattr(chat_model, "count_tokens", None)
    if callable(count):
        return count
    from jpagent.text.tokens import get_token_counter

    return get_token_counter("estimate").count


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    *,
    context_window: int,
    count_tokens: Callable[[str], int],
    history: Sequence[Message] = (),
    answer_tokens: int = 512,
    config: RagConfig = RagConfig(),
) -> Prompt:
    """Pack ``hits`` into the room the window leaves and render the messages.

    Room for sources = ``context_window`` − system prompt − user prompt without sources −
    history − ``answer_tokens`` − per-message overhead (capped by
    ``config.max_context_tokens``).
    """
    system = render_template(config.system_template, config.prompt_dir, no_answer=NO_ANSWER)
    kept = tuple(history[-config.history_messages :]) if config.history_messages > 0 else ()
    bare_user = _render_user(question, (), config)
    fixed = count_tokens(system) + count_tokens(bare_user)
    fixed += sum(count_tokens(m.content) for m in kept)
    fixed += config.message_overhead_tokens * (len(kept) + 3)  # + system, user, reply header
    budget = context_window - fixed - answer_tokens
    if config.max_context_tokens is not None:
        budget = min(budget, config.max_context_tokens)
    packed = pack_sources(
        close_to_best(hits, config.min_relative_score),
        max(budget, 0),
        count_tokens,
        lambda s: render_template(config.source_template, config.prompt_dir, source=s),
    )
    if packed.skipped:
        log.info("context budget %d tokens: left out %d hit(s)", budget, len(packed.skipped))
    user = _render_user(question, packed.sources, config)
    messages = (Message("system", system), *kept, Message("user", user))
    return Prompt(messages, packed)


def _render_user(question: str, sources: Sequence[Source], config: RagConfig) -> str:
    return render_template(
        config.user_template,
        config.prompt_dir,
        sources=list(sources),
        question=question,
        no_answer=NO_ANSWER,
    )


class Generation(NamedTuple):
    """What :func:`generate` read from the stream: answer text, reasoning, two timings, and
    whether a runaway loop stopped it."""

    text: str
    reasoning: str
    ttft: float
    seconds: float
    looped: bool = False


def generate(
    chat_model: ChatModel,
    messages: Sequence[Message],
    *,
    options: ChatOptions | None,
    stream_callback: Callable[[str], None] | None = None,
    stop_loops: bool = False,
) -> Generation:
    """Stream the model's answer; pass text deltas to ``stream_callback``; keep reasoning apart.

    ``stop_loops``: when the text or the reasoning falls into a runaway loop
    (:class:`~jpagent.llm.loops.LoopGuard`), close the stream at once (which stops the model)
    and keep that part up to the end of the loop's first copy. The copies already passed to
    ``stream_callback`` stay passed: the returned text is the one to keep.
    """
    from jpagent.llm.loops import LoopGuard

    parts: dict[str, list[str]] = {"text": [], "reasoning": []}
    guards = {"text": LoopGuard(), "reasoning": LoopGuard()} if stop_loops else {}
    t0 = time.perf_counter()
    ttft = -1.0
    stream = chat_model.stream(messages, options=options)
    looped = ""
    try:
        for delta in stream:
            if ttft < 0:
                ttft = time.perf_counter() - t0
            if delta.kind not in parts:
                continue
            parts[delta.kind].append(delta.text)
            if delta.kind == "text" and stream_callback is not None and delta.text:
                stream_callback(delta.text)
            guard = guards.get(delta.kind)
            if guard is not None and guard.feed(delta.text) is not None:
                looped = delta.kind
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    seconds = time.perf_counter() - t0
    text, reasoning = "".join(parts["text"]), "".join(parts["reasoning"])
    if looped:
        loop = guards[looped].loop
        assert loop is not None
        log.warning(
            "the model repeated %r %d times; stopped it and kept the %s up to the first copy",
            loop.unit,
            loop.repeats,
            looped,
        )
        if looped == "text":
            text = text[: loop.cut]
        else:
            reasoning = reasoning[: loop.cut]
    return Generation(text.strip(), reasoning.strip(), max(ttft, 0.0), seconds, bool(looped))


def _options(options: ChatOptions | None, config: RagConfig) -> ChatOptions:
    from jpagent.llm.base import ChatOptions

    if options is None:
        return ChatOptions(temperature=config.temperature, max_tokens=config.answer_tokens)
    changes: dict[str, float | int] = {}
    if options.max_tokens is None:
        changes["max_tokens"] = config.answer_tokens
    if options.temperature is None:
        changes["temperature"] = config.temperature
    return replace(options, **changes) if changes else options


def answer(
    question: str,
    retriever: Retriever,
    chat_model: ChatModel,
    *,
    k: int | None = None,
    history: Sequence[Message] = (),
    options: ChatOptions | None = None,
    stream_callback: Callable[[str], None] | None = None,
    config: RagConfig = RagConfig(),
    query: str | None = None,
) -> Answer:
    """Answer ``question`` from what ``retriever`` finds, citing the sources as [1], [2]…

    ``k`` overrides ``config.k``. ``history`` (earlier messages of a chat) goes into the prompt
    as context. The retrieval query is ``query`` when given, else ``question`` (a chat rewrites
    follow-ups first, see :class:`jpagent.rag.chat.ChatSession`). ``stream_callback(text)``
    receives the answer text as it is generated.
    """
    t0 = time.perf_counter()
    hits = retriever.retrieve(query or question, k=k if k is not None else config.k)
    t_retrieved = time.perf_counter()
    opts = _options(options, config)
    prompt = build_prompt(
        question,
        hits,
        context_window=chat_model.context_window,
        count_tokens=token_counter_for(chat_model),
        history=history,
        answer_tokens=opts.max_tokens or config.answer_tokens,
        config=config,
    )
    t_prompt = time.perf_counter()
    timings = {"retrieve": t_retrieved - t0, "prompt": t_prompt - t_retrieved}
    if not prompt.packed.sources:
        if stream_callback is not None:
            stream_callback(NO_ANSWER)
        timings.update(ttft=0.0, generate=0.0, total=time.perf_counter() - t0)
        return Answer(text=NO_ANSWER, timings=timings)
    gen = generate(
        chat_model,
        prompt.messages,
        options=opts,
        stream_callback=stream_callback,
        stop_loops=config.stop_loops,
    )
    resolved = resolve_citations(gen.text, prompt.packed.sources)
    if resolved.unknown:
        log.warning(
            "answer cites %s, which name no source (%d sources given); dropped",
            ", ".join(f"[{n}]" for n in resolved.unknown),
            len(prompt.packed.sources),
        )
    citations = resolved.citations
    if not citations and not resolved.unknown:  # the model wrote no marker at all
        citations = infer_citations(gen.text, prompt.packed.sources)
    timings.update(ttft=gen.ttft, generate=gen.seconds, total=time.perf_counter() - t0)
    return Answer(
        text=gen.text,
        citations=citations,
        reasoning=gen.reasoning,
        timings=timings,
        looped=gen.looped,
    )
