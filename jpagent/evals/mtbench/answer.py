"""``answer``: a chat model's answers to both turns of every MT-Bench question.

Turn 2 is asked in the same conversation, after turn 1 and the model's own answer to it (as
FastChat does). The sampling temperature is the category's (:data:`TEMPERATURE_CONFIG`: writing
and roleplay 0.7, stem and humanities 0.1, the rest 0.0); ``samples`` runs each question that
many times with seeds ``0..samples-1`` (at temperature 0 the samples are identical on a
deterministic backend: greedy decoding ignores the seed).

Each sample is one record in ``OUT/model_answer/MODEL_ID.jsonl`` (see :mod:`.data` for the
format). The recorded turns are the answers without reasoning; a reasoning model's ``<think>``
text is kept in the choice's extra ``reasoning`` list. A request that fails is recorded with
``"failed": true`` and its error, and is asked again by the next run; a finished sample is
skipped by the next run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jpagent.evals.mtbench.data import (
    TEMPERATURE_CONFIG,
    JsonlAppender,
    MTBenchDataError,
    Question,
    load_answers,
)
from jpagent.evals.mtbench.runner import (
    ProgressFn,
    Record,
    RunSummary,
    describe_error,
    preflight,
    run_parallel,
)
from jpagent.llm.base import ChatModel, ChatOptions
from jpagent.types import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerConfig:
    """Settings of an ``answer`` run (all recorded in each answer record)."""

    samples: int = 1
    """Samples per question; sample ``i`` is generated with seed ``i``."""
    max_tokens: int = 1024
    """Upper bound on generated tokens per turn (FastChat's ``--max-new-token`` default)."""
    timeout: float | None = None
    """Seconds per request (``ChatOptions.timeout``); ``None`` keeps the backend's default."""
    parallel: int = 1
    """Concurrent requests (threads). An in-process ``llamacpp:`` model serves one at a time."""
    temperature: float | None = None
    """Force one temperature for every category (FastChat ``--force-temperature``); ``None``
    uses the category's."""


def temperature_for(question: Question, config: AnswerConfig) -> float:
    """The sampling temperature of ``question`` under ``config``."""
    if config.temperature is not None:
        return config.temperature
    return TEMPERATURE_CONFIG[question.category]


def answer_one(
    model: ChatModel, model_id: str, question: Question, sample: int, config: AnswerConfig
) -> Record:
    """Both turns of one sample, as a FastChat answer record (``failed`` on any error)."""
    temperature = temperature_for(question, config)
    options = ChatOptions(
        temperature=temperature,
        max_tokens=config.max_tokens,
        seed=sample,
        timeout=config.timeout,
    )
    messages: list[Message] = []
    turns: list[str] = []
    reasoning: list[str] = []
    error = ""
    for text in question.turns:
        messages.append(Message("user", text))
        try:
            result = model.chat(messages, options=options)
        except Exception as exc:  # one failed request is recorded, the run goes on
            error = describe_error(exc)
            log.warning(
                "question %d sample %d turn %d failed: %s",
                question.question_id,
                sample,
                len(turns) + 1,
                error,
            )
            break
        messages.append(Message("assistant", result.text))
        turns.append(result.text)
        reasoning.append(result.reasoning)
    record: Record = {
        "question_id": question.question_id,
        "answer_id": uuid.uuid4().hex[:22],
        "model_id": model_id,
        "choices": [{"index": sample, "turns": turns, "reasoning": reasoning}],
        "tstamp": time.time(),
        "sample": sample,
        "seed": sample,
        "category": question.category,
        "temperature": temperature,
        "max_tokens": config.max_tokens,
    }
    if error:
        record["failed"] = True
        record["error"] = f"turn {len(turns) + 1}: {error}"
    return record


def pending_answers(
    questions: Sequence[Question], path: str | Path, samples: int
) -> tuple[list[tuple[Question, int]], int]:
    """``(question, sample)`` pairs not yet answered successfully in ``path``, and how many
    were skipped because they were."""
    path = Path(path)
    done = {k for k, a in load_answers(path).items() if not a.failed} if path.exists() else set()
    todo = [(q, s) for q in questions for s in range(samples) if (q.question_id, s) not in done]
    return todo, len(questions) * samples - len(todo)


def run_answers(
    model: ChatModel,
    questions: Sequence[Question],
    path: str | Path,
    *,
    model_id: str,
    config: AnswerConfig | None = None,
    progress: ProgressFn | None = None,
    check_server: bool = True,
) -> RunSummary:
    """Answer every ``(question, sample)`` not yet in ``path``, appending one record each.

    ``check_server`` sends one tiny request first, so that a server that is down raises one
    :class:`~jpagent.errors.ModelError` instead of recording every request as failed.
    """
    config = config or AnswerConfig()
    if config.samples < 1:
        raise MTBenchDataError(
            "--samples must be at least 1.", "--samples は 1 以上にしてください。"
        )
    t0 = time.perf_counter()
    path = Path(path)
    todo, skipped = pending_answers(questions, path, config.samples)
    if skipped:
        log.info("%s: %d samples already answered, %d to go", path, skipped, len(todo))
    if not todo:
        return RunSummary(str(path), 0, 0, skipped, time.perf_counter() - t0)
    if check_server:
        preflight(model, "answer", config.timeout)
    with JsonlAppender(path) as out:
        written, failed = run_parallel(
            todo,
            lambda item: answer_one(model, model_id, item[0], item[1], config),
            out.append,
            parallel=config.parallel,
            progress=progress,
        )
    return RunSummary(str(path), written, failed, skipped, time.perf_counter() - t0)
