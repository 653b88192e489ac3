"""Japanese MT-Bench files: questions, judge prompts, reference answers, FastChat JSONL records.

Everything here reads and writes the formats of FastChat's ``llm_judge`` so that files move both
ways between the two tools:

* questions — ``{"question_id", "category", "turns": [t1, t2]}`` per line;
* judge prompts — ``{"name", "type", "category", "output_format", "system_prompt",
  "prompt_template", "description"}`` per line (``judge_ja_prompts.jsonl``);
* answers (``model_answer/MODEL.jsonl``) and reference answers — ``{"question_id", "answer_id",
  "model_id", "choices": [{"index", "turns": [a1, a2]}], "tstamp"}``;
* judgments (``model_judgment/JUDGE_single.jsonl``) — ``{"question_id", "model", "judge":
  [judge_name, prompt_name], "user_prompt", "judgment", "score", "turn", "tstamp"}``.

Samples: FastChat writes ``--num-choices N`` as one record with N choices. jpagent writes one
record per sample, whose single choice has ``index`` = sample number, plus the extra fields
``sample`` and ``seed``; both forms are read (:func:`load_answers`). FastChat's own loader keys
answers by ``question_id`` and grades ``choices[0]``, so it reads a jpagent file with samples as
the last sample of each question, and a file with one sample exactly.

Every write is appended, flushed and fsynced (:class:`JsonlAppender`); a line torn by a kill in
the middle of a write is the only damage an append can leave, and it is found at the end of the
file, dropped with a warning, and truncated away before the next append.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError
from jpagent.specs import parse_spec

log = logging.getLogger(__name__)

#: FastChat ``llm_judge/common.py`` ``temperature_config``: answer sampling temperature per category.
TEMPERATURE_CONFIG: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
}
#: The eight categories, in the order of FastChat's radar chart.
CATEGORIES: tuple[str, ...] = (
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
)
#: FastChat ``NEED_REF_CATS``: categories judged against a reference answer.
NEED_REF_CATS: tuple[str, ...] = ("math", "reasoning", "coding")


class MTBenchDataError(ConfigError):
    """An MT-Bench input file is missing, malformed or inconsistent (names the file and line)."""


@dataclass(frozen=True)
class Question:
    """One MT-Bench question."""

    question_id: int
    category: str
    turns: tuple[str, ...]


@dataclass(frozen=True)
class JudgePrompt:
    """One judge prompt in FastChat's schema."""

    name: str
    type: str
    category: str
    output_format: str
    system_prompt: str
    prompt_template: str
    description: str = ""


@dataclass(frozen=True)
class AnswerSample:
    """One sample of one model's answer to one question (both turns)."""

    question_id: int
    model: str
    sample: int
    turns: tuple[str, ...]
    failed: bool = False
    error: str = ""


# ---------------------------------------------------------------------------- JSONL reading


def _bad(path: Path, line: int, problem: str, problem_ja: str, hint: str = "") -> MTBenchDataError:
    return MTBenchDataError(
        f"{path}, line {line}: {problem}",
        f"{path} の {line} 行目: {problem_ja}",
        hint=hint,
    )


def _split_lines(path: Path) -> tuple[list[tuple[int, bytes]], int | None]:
    """Complete lines as ``(line_number, bytes)`` and the byte offset where a torn last line
    starts (``None`` if the file ends cleanly). A last line without a newline that still parses
    as JSON is kept (written by a tool that omits the final newline)."""
    data = path.read_bytes()
    lines: list[tuple[int, bytes]] = []
    pos = 0
    number = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        number += 1
        if end == -1:
            tail = data[pos:]
            try:
                json.loads(tail)
            except ValueError:
                log.warning(
                    "%s: line %d is incomplete (%d bytes, a write cut off by a kill); ignoring it",
                    path,
                    number,
                    len(tail),
                )
                return lines, pos
            lines.append((number, tail))
            return lines, None
        lines.append((number, data[pos:end]))
        pos = end + 1
    return lines, None


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each JSON line of ``path``; blank lines are skipped, a torn
    last line is dropped with a warning, any other bad line raises :class:`MTBenchDataError`."""
    path = Path(path)
    if not path.is_file():
        raise MTBenchDataError(
            f"File not found: {path}",
            f"ファイルが見つかりません: {path}",
            hint="check the path, or set data.dir (JPAGENT_DATA_DIR) to the folder holding ja_mt_bench/",
        )
    lines, _ = _split_lines(path)
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad(path, number, f"not valid JSON ({exc})", "JSON として読めません") from None
        if not isinstance(obj, dict):
            raise _bad(path, number, "expected a JSON object", "JSON オブジェクトではありません")
        yield number, obj


def _field(path: Path, line: int, obj: dict[str, Any], key: str, kind: type | tuple) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _bad(
            path,
            line,
            f"field {key!r} is missing or not {getattr(kind, '__name__', kind)}",
            f"フィールド {key!r} がないか型が違います",
        )
    return value


def load_questions(path: str | Path) -> list[Question]:
    """Questions of ``path`` in file order; unknown categories and duplicate ids are errors."""
    path = Path(path)
    questions: list[Question] = []
    seen: set[int] = set()
    for line, obj in read_jsonl(path):
        qid = _field(path, line, obj, "question_id", int)
        category = _field(path, line, obj, "category", str)
        turns = _field(path, line, obj, "turns", list)
        if category not in TEMPERATURE_CONFIG:
            raise _bad(
                path,
                line,
                f"unknown category {category!r}; MT-Bench has {', '.join(CATEGORIES)}",
                f"カテゴリ {category!r} は MT-Bench にありません",
            )
        if not turns or not all(isinstance(t, str) for t in turns):
            raise _bad(
                path,
                line,
                "'turns' must be a list of strings",
                "turns が文字列の配列ではありません",
            )
        if qid in seen:
            raise _bad(
                path,
                line,
                f"question_id {qid} appears twice",
                f"question_id {qid} が重複しています",
            )
        seen.add(qid)
        questions.append(Question(qid, category, tuple(turns)))
    if not questions:
        raise MTBenchDataError(f"No questions in {path}", f"{path} に質問がありません")
    return questions


def select_questions(
    questions: list[Question], ids: Iterable[int] | None = None, limit: int | None = None
) -> list[Question]:
    """The questions whose ids are in ``ids`` (all when ``None``; unknown ids are an error),
    then the first ``limit`` of them."""
    if ids is not None:
        wanted = list(ids)
        known = {q.question_id for q in questions}
        missing = [i for i in wanted if i not in known]
        if missing:
            raise MTBenchDataError(
                f"Question ids not in the questions file: {missing}",
                f"質問ファイルにない question_id です: {missing}",
            )
        chosen = set(wanted)
        questions = [q for q in questions if q.question_id in chosen]
    return questions[:limit] if limit is not None else questions


def load_judge_prompts(*paths: str | Path) -> dict[str, JudgePrompt]:
    """Judge prompts by name; a prompt in a later file replaces one of the same name."""
    prompts: dict[str, JudgePrompt] = {}
    for p in paths:
        path = Path(p)
        for line, obj in read_jsonl(path):
            values = {
                k: _field(path, line, obj, k, str)
                for k in ("name", "type", "system_prompt", "prompt_template", "output_format")
            }
            prompts[values["name"]] = JudgePrompt(
                category=str(obj.get("category", "")),
                description=str(obj.get("description", "")),
                **values,
            )
    return prompts


def load_references(path: str | Path) -> dict[int, tuple[str, ...]]:
    """Reference answers by question id (``choices[0].turns``), from a FastChat answer file."""
    path = Path(path)
    refs: dict[int, tuple[str, ...]] = {}
    for line, obj in read_jsonl(path):
        qid = _field(path, line, obj, "question_id", int)
        choices = _field(path, line, obj, "choices", list)
        if not choices or not isinstance(choices[0], dict):
            raise _bad(path, line, "'choices' is empty", "choices が空です")
        turns = choices[0].get("turns")
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise _bad(
                path, line, "'choices[0].turns' is not a list of strings", "turns が不正です"
            )
        refs[qid] = tuple(turns)
    return refs


def load_answers(path: str | Path, model: str | None = None) -> dict[tuple[int, int], AnswerSample]:
    """Answers of one model file by ``(question_id, sample)``.

    ``model`` defaults to the file name without ``.jsonl`` (FastChat names models that way). A
    jpagent record carries ``sample``; a FastChat record with several choices gives one sample
    per choice ``index``. When a key appears twice the last successful record wins (a rerun
    appends), else the last failed one.
    """
    path = Path(path)
    model = model or path.name.removesuffix(".jsonl")
    found: dict[tuple[int, int], AnswerSample] = {}
    for line, obj in read_jsonl(path):
        qid = _field(path, line, obj, "question_id", int)
        choices = _field(path, line, obj, "choices", list)
        failed = bool(obj.get("failed", False))
        for pos, choice in enumerate(choices):
            if not isinstance(choice, dict) or not isinstance(choice.get("turns"), list):
                raise _bad(
                    path, line, f"choice {pos} has no 'turns' list", "choices の turns がありません"
                )
            sample = (
                obj["sample"] if isinstance(obj.get("sample"), int) else choice.get("index", pos)
            )
            turns = tuple(str(t) for t in choice["turns"])
            item = AnswerSample(qid, model, int(sample), turns, failed, str(obj.get("error", "")))
            old = found.get((qid, item.sample))
            if old is None or old.failed or not failed:
                found[(qid, item.sample)] = item
    return found


# ---------------------------------------------------------------------------- writing


class JsonlAppender:
    """Appends JSON records to a file, each flushed and fsynced before :meth:`append` returns.

    Opening repairs a torn last line (truncating it, with a warning) and adds a missing final
    newline, so a killed run can always be continued. Not thread-safe: call it from one thread.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _, torn_at = _split_lines(self.path)
            if torn_at is not None:
                with self.path.open("r+b") as fh:
                    fh.truncate(torn_at)
                    fh.flush()
                    os.fsync(fh.fileno())
                log.warning("%s: truncated an incomplete last line at byte %d", self.path, torn_at)
        self._fh = self.path.open("ab")
        if self._fh.tell() > 0:
            with self.path.open("rb") as check:
                check.seek(-1, os.SEEK_END)
                if check.read(1) != b"\n":
                    self._fh.write(b"\n")

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line and make it durable."""
        self._fh.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------- names

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]+")


def safe_name(name: str, what: str = "--model-id") -> str:
    """``name`` if it can be a file name (letters, digits, ``._-``), else an error saying so."""
    if not name or _UNSAFE.search(name) or name.startswith("."):
        raise MTBenchDataError(
            f"{what} {name!r} cannot be used as a file name; use letters, digits, '.', '_', '-'.",
            f"{what} {name!r} はファイル名に使えません（英数字と . _ - のみ）。",
        )
    return name


def id_from_spec(spec: str) -> str:
    """A file-safe model id for a chat spec: ``llamacpp:default`` → ``llamacpp-default``, a GGUF
    path → its stem, ``openai:URL#org/model`` → ``model``, ``ollama:qwen2.5:7b`` → ``qwen2.5_7b``."""
    parsed = parse_spec(spec, "chat")
    if parsed.kind == "llamacpp":
        name = "llamacpp-default" if parsed.name == "default" else Path(parsed.name).stem
    else:
        name = parsed.name.rstrip("/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", unicodedata.normalize("NFKC", name)).strip("._") or parsed.kind
    return name


def answer_path(out_dir: str | Path, model_id: str) -> Path:
    """``OUT/model_answer/MODEL_ID.jsonl`` (FastChat's layout)."""
    return Path(out_dir) / "model_answer" / f"{safe_name(model_id)}.jsonl"


def judgment_path(out_dir: str | Path, judge_id: str) -> Path:
    """``OUT/model_judgment/JUDGE_single.jsonl`` (FastChat's layout)."""
    return Path(out_dir) / "model_judgment" / f"{safe_name(judge_id, '--judge-id')}_single.jsonl"


# ---------------------------------------------------------------------------- judgments


@dataclass(frozen=True)
class Judgment:
    """One single-answer grade as read back from a judgment file (jpagent's or FastChat's)."""

    question_id: int
    model: str
    judge: tuple[str, ...]
    """``(judge_name, prompt_name)``."""
    turn: int
    score: float
    """1–10, or -1 when the judge gave no usable score (FastChat's convention)."""
    sample: int = 0
    category: str = ""
    """Only in jpagent files; for FastChat files it comes from the questions file."""
    failed: bool = False


def load_judgments(path: str | Path) -> list[Judgment]:
    """Every single-answer judgment record of ``path`` in file order."""
    path = Path(path)
    records: list[Judgment] = []
    for line, obj in read_jsonl(path):
        qid = _field(path, line, obj, "question_id", int)
        model = _field(path, line, obj, "model", str)
        turn = _field(path, line, obj, "turn", int)
        score = _field(path, line, obj, "score", (int, float))
        judge = obj.get("judge") or ()
        sample = obj.get("sample", 0)
        records.append(
            Judgment(
                qid,
                model,
                tuple(str(j) for j in judge),
                turn,
                float(score),
                sample if isinstance(sample, int) else 0,
                str(obj.get("category", "")),
                bool(obj.get("failed", False)) or score == -1,
            )
        )
    return records
