"""Japanese MT-Bench on any jpagent chat backend, in FastChat's file formats.

* :mod:`.data` — questions, judge prompts, references, answer and judgment records, the
  append-and-fsync writer, resume keys;
* :mod:`.answer` — :func:`run_answers` (both turns, category temperatures, samples);
* :mod:`.judge` — :func:`run_judgments` (single-answer grading of both turns, Japanese
  multi-turn prompts, the score parser, bounded retries);
* :mod:`.show` — per-category tables, sample std, radar chart, FastChat's averages;
* :mod:`.runner` — the thread pool shared by answer and judge.

Importing this package imports no model backend and no matplotlib.
"""

from jpagent.evals.mtbench.answer import AnswerConfig, run_answers
from jpagent.evals.mtbench.data import (
    CATEGORIES,
    NEED_REF_CATS,
    TEMPERATURE_CONFIG,
    AnswerSample,
    Judgment,
    MTBenchDataError,
    Question,
    answer_path,
    id_from_spec,
    judgment_path,
    load_answers,
    load_judgments,
    load_questions,
    load_references,
)
from jpagent.evals.mtbench.judge import (
    JudgeConfig,
    load_prompts_with_multi_turn,
    parse_score,
    run_judgments,
)
from jpagent.evals.mtbench.runner import RunSummary
from jpagent.evals.mtbench.show import fastchat_means, summarize, write_report

__all__ = [
    "CATEGORIES",
    "NEED_REF_CATS",
    "TEMPERATURE_CONFIG",
    "AnswerConfig",
    "AnswerSample",
    "JudgeConfig",
    "Judgment",
    "MTBenchDataError",
    "Question",
    "RunSummary",
    "answer_path",
    "fastchat_means",
    "id_from_spec",
    "judgment_path",
    "load_answers",
    "load_judgments",
    "load_prompts_with_multi_turn",
    "load_questions",
    "load_references",
    "parse_score",
    "run_answers",
    "run_judgments",
    "summarize",
    "write_report",
]
