"""``judge``: single-answer grading (1–10) of MT-Bench answers by a judge model, both turns.

Prompts (FastChat's names, FastChat's ``str.format`` fields):

=====  ==========================  ===============================================
turn   math / reasoning / coding   other categories
=====  ==========================  ===============================================
1      ``single-math-v1``          ``single-v1``
2      ``single-math-v1-multi-turn``  ``single-v1-multi-turn``
=====  ==========================  ===============================================

Turn 1 uses ``judge_ja_prompts.jsonl``; it has no multi-turn prompts, so turn 2 uses the
Japanese prompts written for jpagent (``prompts/judge_ja_multi_turn.jsonl``, package data), unless
the given prompts file has prompts of those names. Reference answers are looked up by question
id in the references file given (FastChat looks them up by the judge model's name).

Score: :func:`parse_score` reads FastChat's ``[[8]]`` (then its ``[8]`` fallback) after NFKC
normalisation, so ``評価：[[8]]``, ``［［８］］`` and ``[[7.5]]`` all work. A judgment without a
score in 1–10 is followed up in the same conversation by a request for the score alone
(``prompts/score_retry_ja.txt``); a request that fails (timeout, server error, prompt too long)
is sent again as it was. Both kinds of retry count toward ``max_retries``. When no attempt gives
a score the record gets FastChat's ``score: -1`` with ``"failed": true`` and the reason: never
an invented number.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from jpagent.evals.mtbench.data import (
    NEED_REF_CATS,
    AnswerSample,
    JsonlAppender,
    JudgePrompt,
    MTBenchDataError,
    Question,
    load_judge_prompts,
    load_judgments,
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

#: ``(needs reference, turn)`` → prompt name, as FastChat's ``make_judge_single``.
PROMPT_NAMES: dict[tuple[bool, int], str] = {
    (False, 1): "single-v1",
    (True, 1): "single-math-v1",
    (False, 2): "single-v1-multi-turn",
    (True, 2): "single-math-v1-multi-turn",
}
# FastChat's one_score_pattern and one_score_pattern_backup, tolerant of spaces inside.
_SCORE = re.compile(r"\[\[\s*(\d+\.?\d*)\s*\]\]")
_SCORE_BACKUP = re.compile(r"\[\s*(\d+\.?\d*)\s*\]")


def multi_turn_prompts_path() -> Path:
    """The packaged Japanese multi-turn judge prompts (FastChat's schema)."""
    return Path(str(resources.files("jpagent.evals.mtbench.prompts") / "judge_ja_multi_turn.jsonl"))


def score_retry_prompt() -> str:
    """The follow-up asking a judge for its score alone (Japanese, package data)."""
    ref = resources.files("jpagent.evals.mtbench.prompts") / "score_retry_ja.txt"
    return ref.read_text(encoding="utf-8").strip()


class ParsedScore(NamedTuple):
    """A score read from a judgment: ``score`` is ``None`` when there is no usable one, and
    ``problem`` then says why."""

    score: int | float | None
    problem: str


def parse_score(judgment: str) -> ParsedScore:
    """The first ``[[n]]`` of ``judgment`` (else the first ``[n]``), as FastChat reads it, after
    NFKC (full-width digits and brackets). Integers stay ``int``; outside 1–10 is no score."""
    text = unicodedata.normalize("NFKC", judgment)
    match = _SCORE.search(text) or _SCORE_BACKUP.search(text)
    if not match:
        return ParsedScore(None, "no [[score]] in the judgment")
    raw = match.group(1)
    value: int | float = float(raw) if "." in raw else int(raw)
    if not 1 <= value <= 10:
        return ParsedScore(None, f"score {raw} is outside 1-10")
    return ParsedScore(value, "")


@dataclass(frozen=True)
class JudgeConfig:
    """Settings of a ``judge`` run."""

    max_tokens: int = 2048
    """Upper bound on the judge's tokens per request (FastChat: 2048 for OpenAI judges)."""
    timeout: float | None = None
    """Seconds per request (``ChatOptions.timeout``); ``None`` keeps the backend's default."""
    parallel: int = 1
    """Concurrent requests (threads)."""
    max_retries: int = 2
    """Extra attempts when a judgment has no score or a request fails."""
    temperature: float = 0.0
    """Judge sampling temperature (FastChat: 0)."""
    retry_failed: bool = False
    """Judge again what an earlier run recorded as failed (default: skip it, it is done)."""


class JudgeTask(NamedTuple):
    """One grading: a sample of a model's answer, a turn, the prompt and the reference."""

    question: Question
    answer: AnswerSample
    turn: int
    prompt: JudgePrompt
    reference: tuple[str, ...] | None


def user_prompt(task: JudgeTask) -> str:
    """The judge prompt's template filled as FastChat's ``run_judge_single`` fills it."""
    kwargs: dict[str, str] = {}
    if task.reference is not None:
        kwargs["ref_answer_1"] = task.reference[0]
        kwargs["ref_answer_2"] = task.reference[1] if len(task.reference) > 1 else ""
    q, a = task.question.turns, task.answer.turns
    if task.turn == 2:
        return task.prompt.prompt_template.format(
            question_1=q[0], question_2=q[1], answer_1=a[0], answer_2=a[1], **kwargs
        )
    return task.prompt.prompt_template.format(question=q[0], answer=a[0], **kwargs)


def judge_one(
    model: ChatModel, judge_id: str, task: JudgeTask, config: JudgeConfig, retry_prompt: str
) -> Record:
    """Grade one task; a FastChat judgment record (``score: -1`` and ``failed`` if no score)."""
    prompt_text = user_prompt(task)
    messages = [Message("user", prompt_text)]
    if task.prompt.system_prompt:
        messages.insert(0, Message("system", task.prompt.system_prompt))
    options = ChatOptions(
        temperature=config.temperature, max_tokens=config.max_tokens, timeout=config.timeout
    )
    texts: list[str] = []
    problem = ""
    score: int | float | None = None
    attempts = 0
    for _ in range(config.max_retries + 1):
        attempts += 1
        try:
            result = model.chat(messages, options=options)
        except Exception as exc:  # recorded; the run goes on
            problem = describe_error(exc)
            continue
        texts.append(result.text)
        parsed = parse_score(result.text)
        if parsed.score is not None:
            score, problem = parsed.score, ""
            break
        problem = parsed.problem
        messages = [*messages, Message("assistant", result.text), Message("user", retry_prompt)]
    record: Record = {
        "question_id": task.question.question_id,
        "model": task.answer.model,
        "judge": [judge_id, task.prompt.name],
        "user_prompt": prompt_text,
        "judgment": "\n\n".join(texts),
        "score": score if score is not None else -1,
        "turn": task.turn,
        "tstamp": time.time(),
        "sample": task.answer.sample,
        "category": task.question.category,
        "attempts": attempts,
    }
    if score is None:
        record["failed"] = True
        record["error"] = problem
        log.warning(
            "question %d model %s turn %d: no score after %d attempts (%s)",
            task.question.question_id,
            task.answer.model,
            task.turn,
            attempts,
            problem,
        )
    return record


def check_prompts(prompts: Mapping[str, JudgePrompt], sources: Sequence[str | Path]) -> None:
    """Every prompt the judge needs is there, single-answer, with the ``[[評価]]``/``[[rating]]``
    output format."""
    for name in PROMPT_NAMES.values():
        prompt = prompts.get(name)
        where = ", ".join(str(s) for s in sources)
        if prompt is None:
            raise MTBenchDataError(
                f"No judge prompt named {name!r} in {where}.",
                f"審査プロンプト {name!r} が {where} にありません。",
                hint="use judge_ja_prompts.jsonl (turn 1) with the packaged multi-turn prompts",
            )
        if prompt.type != "single":
            raise MTBenchDataError(
                f"Judge prompt {name!r} in {where} has type {prompt.type!r}; only 'single' grading is supported.",
                f"審査プロンプト {name!r} の type {prompt.type!r} には対応していません（single のみ）。",
            )


def check_references(
    questions: Sequence[Question],
    references: Mapping[int, tuple[str, ...]],
    source: str | Path,
) -> None:
    """Every math/reasoning/coding question has a reference with as many turns as it has."""
    for q in questions:
        if q.category not in NEED_REF_CATS:
            continue
        ref = references.get(q.question_id)
        if ref is None or len(ref) < min(len(q.turns), 2):
            raise MTBenchDataError(
                f"No reference answer for {q.category} question {q.question_id} "
                f"({len(q.turns)} turns) in {source}.",
                f"{source} に {q.category} の質問 {q.question_id} の参考回答がありません。",
                hint="pass --references with a FastChat answer file covering every math, "
                "reasoning and coding question (e.g. reference_answer/gpt-4.jsonl)",
            )


def judge_tasks(
    questions: Sequence[Question],
    answers: Mapping[str, Mapping[tuple[int, int], AnswerSample]],
    prompts: Mapping[str, JudgePrompt],
    references: Mapping[int, tuple[str, ...]],
) -> list[JudgeTask]:
    """Every (question, model, sample, turn) with an answer to grade, in question order.
    Failed answers and answers missing a turn are skipped with a warning."""
    tasks: list[JudgeTask] = []
    for q in questions:
        ref_based = q.category in NEED_REF_CATS
        for model, by_key in answers.items():
            samples = sorted(s for (qid, s) in by_key if qid == q.question_id)
            for s in samples:
                answer = by_key[(q.question_id, s)]
                if answer.failed:
                    log.warning(
                        "skip %s question %d sample %d: answer failed", model, q.question_id, s
                    )
                    continue
                for turn in range(1, min(len(q.turns), 2) + 1):
                    if len(answer.turns) < turn:
                        log.warning(
                            "skip %s question %d: no turn %d answer", model, q.question_id, turn
                        )
                        continue
                    prompt = prompts[PROMPT_NAMES[(ref_based, turn)]]
                    ref = references.get(q.question_id) if ref_based else None
                    tasks.append(JudgeTask(q, answer, turn, prompt, ref))
    return tasks


def done_keys(path: Path, retry_failed: bool) -> set[tuple[int, str, int, int]]:
    """``(question_id, model, turn, sample)`` already graded in ``path`` (failed ones too,
    unless ``retry_failed``)."""
    if not path.exists():
        return set()
    return {
        (j.question_id, j.model, j.turn, j.sample)
        for j in load_judgments(path)
        if not (retry_failed and j.failed)
    }


def run_judgments(
    model: ChatModel,
    judge_id: str,
    questions: Sequence[Question],
    answers: Mapping[str, Mapping[tuple[int, int], AnswerSample]],
    prompts: Mapping[str, JudgePrompt],
    references: Mapping[int, tuple[str, ...]],
    path: str | Path,
    *,
    config: JudgeConfig | None = None,
    progress: ProgressFn | None = None,
    check_server: bool = True,
    prompt_sources: Sequence[str | Path] = (),
    reference_source: str | Path = "the references",
) -> RunSummary:
    """Grade every answer turn not yet graded in ``path``, appending one record each.

    ``answers`` maps model name → answers by ``(question_id, sample)`` (:func:`load_answers`).
    Raises :class:`MTBenchDataError` before any request when a prompt or a reference is missing.
    """
    config = config or JudgeConfig()
    t0 = time.perf_counter()
    path = Path(path)
    check_prompts(prompts, prompt_sources)
    answered = {qid for by_key in answers.values() for (qid, _) in by_key}
    scope = [q for q in questions if q.question_id in answered]
    unknown = answered - {q.question_id for q in questions}
    if unknown:
        log.warning(
            "answers to questions not selected or not in the questions file: %s", sorted(unknown)
        )
    check_references(scope, references, reference_source)
    tasks = judge_tasks(scope, answers, prompts, references)
    done = done_keys(path, config.retry_failed)
    todo = [
        t
        for t in tasks
        if (t.question.question_id, t.answer.model, t.turn, t.answer.sample) not in done
    ]
    skipped = len(tasks) - len(todo)
    if skipped:
        log.info("%s: %d judgments already done, %d to go", path, skipped, len(todo))
    if not todo:
        return RunSummary(str(path), 0, 0, skipped, time.perf_counter() - t0)
    if check_server:
        preflight(model, "judge", config.timeout)
    retry = score_retry_prompt()
    with JsonlAppender(path) as out:
        written, failed = run_parallel(
            todo,
            lambda task: judge_one(model, judge_id, task, config, retry),
            out.append,
            parallel=config.parallel,
            progress=progress,
        )
    return RunSummary(str(path), written, failed, skipped, time.perf_counter() - t0)


def load_prompts_with_multi_turn(judge_prompts: str | Path) -> dict[str, JudgePrompt]:
    """The packaged multi-turn prompts, overridden by the prompts of ``judge_prompts``."""
    return load_judge_prompts(multi_turn_prompts_path(), judge_prompts)
