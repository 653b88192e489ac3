"""``jpagent eval mtbench fetch|answer|judge|show``: Japanese MT-Bench in FastChat's file layout.

``fetch`` downloads the public question, prompt and reference files where a network exists;
``answer`` writes ``OUT/model_answer/MODEL_ID.jsonl``, ``judge`` writes
``OUT/model_judgment/JUDGE_ID_single.jsonl``, ``show`` prints (and with ``--out`` records) the
tables. Inputs default to ``<data.dir>/ja_mt_bench/`` (``JPAGENT_DATA_DIR``).
"""

from __future__ import annotations

import logging
import shlex
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from jpagent.cli.common import JsonFlag, err, get_config, out, print_json
from jpagent.cli.evals import eval_app
from jpagent.errors import ConfigError

mtbench_app = typer.Typer(
    help="Japanese MT-Bench: fetch, answer, judge, show (FastChat-compatible files).",
    no_args_is_help=True,
)
eval_app.add_typer(mtbench_app, name="mtbench")

log = logging.getLogger(__name__)

QuestionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--questions", help="questions JSONL (default: <data.dir>/ja_mt_bench/question_full.jsonl)"
    ),
]
OutDirOpt = Annotated[Path, typer.Option("--out", help="run folder (FastChat's data/<bench>/)")]
ParallelOpt = Annotated[int, typer.Option("--parallel", min=1, help="concurrent requests")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help="seconds per request (default: llm.timeout)")
]
IdsOpt = Annotated[
    str | None, typer.Option("--question-ids", help="comma-separated question ids, e.g. 1,31,81")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="only the first N questions")]


def _command(ctx: typer.Context) -> str:
    """The command line that reproduces this run; a repeatable option appears once per value."""
    words = ["jpagent", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False, (), []) or value == param.default or not param.opts:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            words.append(param.opts[0])
            if item is not True:
                words.append(str(item))
    return shlex.join(words)


def _data_file(ctx: typer.Context, given: Path | None, flag: str, *parts: str) -> Path:
    if given is not None:
        return given
    base = get_config(ctx).data.dir
    if not base:
        raise ConfigError(
            f"No {flag} file: pass {flag} or set data.dir (JPAGENT_DATA_DIR) to the folder "
            "holding ja_mt_bench/.",
            f"{flag} のファイルが指定されていません（{flag} か data.dir を設定してください）。",
        )
    return Path(base).joinpath("ja_mt_bench", *parts)


def _ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"--question-ids {text!r} is not a comma-separated list of numbers.",
            f"--question-ids {text!r} は数値のカンマ区切りではありません。",
        ) from None


@contextmanager
def _progress_bar(label: str):
    """A rich progress bar on stderr; yields the ``progress(done, total, failed)`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(label, total=None, failed=0)

    def update(done: int, total: int, failed: int) -> None:
        bar.update(task, completed=done, total=total, failed=failed)

    with bar:
        yield update


def _report(summary, what: str, json_out: bool, command: str) -> None:
    if json_out:
        print_json({**summary._asdict(), "command": command})
        return
    out.print(
        f"{what}: wrote {summary.written} ({summary.failed} failed), skipped {summary.skipped} "
        f"already done, in {summary.seconds:.1f}s → {summary.path}",
        markup=False,
        highlight=False,
    )
    if summary.failed:
        err.print(
            f"[yellow]{summary.failed} failed; rerun the same command to retry answers "
            "(judge: add --retry-failed)[/]"
        )


def _load_model(ctx: typer.Context, spec: str | None, flag: str, parallel: int):
    from jpagent.llm.registry import chat_model_from_config

    cfg = get_config(ctx, models__chat=(spec, f"flag:{flag}"))
    model = chat_model_from_config(cfg, spec)
    if cfg.models.chat.startswith("llamacpp:") and parallel > 1:
        err.print(
            "[yellow]an in-process llamacpp: model serves one request at a time; "
            "--parallel helps with servers (openai:, ollama:)[/]"
        )
    return model


@mtbench_app.command("answer")
def mtbench_answer(
    ctx: typer.Context,
    out_dir: OutDirOpt,
    model: Annotated[
        str | None, typer.Option("--model", help="chat model spec (models.chat)")
    ] = None,
    questions: QuestionsOpt = None,
    samples: Annotated[int, typer.Option("--samples", min=1, help="samples (seeds 0..N-1)")] = 1,
    parallel: ParallelOpt = 1,
    timeout: TimeoutOpt = None,
    question_ids: IdsOpt = None,
    limit: LimitOpt = None,
    model_id: Annotated[
        str | None,
        typer.Option("--model-id", help="name of the answer file (default: from the spec)"),
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="tokens per turn")] = 1024,
    json_out: JsonFlag = False,
) -> None:
    """Answer both turns of every question (category temperatures as FastChat)."""
    from jpagent.evals.mtbench import answer, data

    qfile = _data_file(ctx, questions, "--questions", "question_full.jsonl")
    chosen = data.select_questions(data.load_questions(qfile), _ids(question_ids), limit)
    chat = _load_model(ctx, model, "--model", parallel)
    mid = data.safe_name(model_id) if model_id else data.id_from_spec(chat.name)
    config = answer.AnswerConfig(
        samples=samples, max_tokens=max_tokens, timeout=timeout, parallel=parallel
    )
    with _progress_bar(f"answer {mid}") as progress:
        summary = answer.run_answers(
            chat,
            chosen,
            data.answer_path(out_dir, mid),
            model_id=mid,
            config=config,
            progress=progress,
        )
    _report(summary, "answers", json_out, _command(ctx))


@mtbench_app.command("judge")
def mtbench_judge(
    ctx: typer.Context,
    out_dir: OutDirOpt,
    judge: Annotated[
        str | None, typer.Option("--judge", help="judge model spec (models.chat)")
    ] = None,
    answers: Annotated[
        list[Path] | None,
        typer.Option("--answers", help="answer file(s) to grade (repeatable; model = file name)"),
    ] = None,
    model_list: Annotated[
        str | None, typer.Option("--model-list", help="comma-separated models in OUT/model_answer/")
    ] = None,
    questions: QuestionsOpt = None,
    judge_prompts: Annotated[
        Path | None,
        typer.Option(
            "--judge-prompts", help="default: <data.dir>/ja_mt_bench/judge_ja_prompts.jsonl"
        ),
    ] = None,
    references: Annotated[
        Path | None,
        typer.Option(
            "--references", help="default: <data.dir>/ja_mt_bench/reference_answer/gpt-4.jsonl"
        ),
    ] = None,
    judge_id: Annotated[
        str | None, typer.Option("--judge-id", help="judge name in records and file name")
    ] = None,
    parallel: ParallelOpt = 1,
    timeout: TimeoutOpt = None,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0)] = 2,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1)] = 2048,
    question_ids: IdsOpt = None,
    limit: LimitOpt = None,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="grade again what earlier runs recorded as failed"),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Grade answers 1–10, turn 1 and turn 2 (Japanese multi-turn prompts), with references."""
    from jpagent.evals.mtbench import data
    from jpagent.evals.mtbench import judge as judging

    qfile = _data_file(ctx, questions, "--questions", "question_full.jsonl")
    pfile = _data_file(ctx, judge_prompts, "--judge-prompts", "judge_ja_prompts.jsonl")
    rfile = _data_file(ctx, references, "--references", "reference_answer", "gpt-4.jsonl")
    chosen = data.select_questions(data.load_questions(qfile), _ids(question_ids), limit)
    files = _answer_files(out_dir, answers, model_list)
    answer_sets = {f.name.removesuffix(".jsonl"): data.load_answers(f) for f in files}
    prompts = judging.load_prompts_with_multi_turn(pfile)
    refs = data.load_references(rfile)
    chat = _load_model(ctx, judge, "--judge", parallel)
    jid = data.safe_name(judge_id, "--judge-id") if judge_id else data.id_from_spec(chat.name)
    config = judging.JudgeConfig(
        max_tokens=max_tokens,
        timeout=timeout,
        parallel=parallel,
        max_retries=max_retries,
        retry_failed=retry_failed,
    )
    with _progress_bar(f"judge ({jid})") as progress:
        summary = judging.run_judgments(
            chat,
            jid,
            chosen,
            answer_sets,
            prompts,
            refs,
            data.judgment_path(out_dir, jid),
            config=config,
            progress=progress,
            prompt_sources=(judging.multi_turn_prompts_path(), pfile),
            reference_source=rfile,
        )
    _report(summary, "judgments", json_out, _command(ctx))


def _answer_files(out_dir: Path, answers: list[Path] | None, model_list: str | None) -> list[Path]:
    if answers:
        return list(answers)
    folder = out_dir / "model_answer"
    if model_list:
        return [folder / f"{m.strip()}.jsonl" for m in model_list.split(",") if m.strip()]
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise ConfigError(
            f"No answer files in {folder}: run `jpagent eval mtbench answer --out {out_dir}` "
            "first, or pass --answers FILE.",
            f"{folder} に回答ファイルがありません。",
        )
    return files


@mtbench_app.command("show")
def mtbench_show(
    ctx: typer.Context,
    judgments: Annotated[Path, typer.Option("--judgments", help="a *_single.jsonl judgment file")],
    models: Annotated[str | None, typer.Option("--models", help="comma-separated models")] = None,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="for categories of FastChat files (default: data.dir's)"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="write mtbench-<date>.md/.json and a radar PNG here"),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Per-category and overall scores for turn 1, turn 2 and both (FastChat's averages)."""
    from jpagent.evals.mtbench import data, show

    categories, qfile = _categories(ctx, questions)
    report = show.summarize(
        data.load_judgments(judgments),
        path=judgments,
        categories=categories,
        models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
    )
    command = _command(ctx)
    settings = {"questions": str(qfile) if qfile else None}
    if out_dir is not None:
        payload = show.write_report(report, out_dir, command=command, settings=settings)
    else:
        payload = show.report_json(report, command=command, settings=settings)
    if json_out:
        print_json(payload)
    else:
        out.print(show.render_tables(report), markup=False, highlight=False)


def _categories(ctx: typer.Context, questions: Path | None) -> tuple[dict[int, str], Path | None]:
    from jpagent.evals.mtbench import data

    if questions is None:
        base = get_config(ctx).data.dir
        candidate = Path(base) / "ja_mt_bench" / "question_full.jsonl" if base else None
        if candidate is None or not candidate.is_file():
            log.info("no questions file: categories only from jpagent judgment records")
            return {}, None
        questions = candidate
    return {q.question_id: q.category for q in data.load_questions(questions)}, questions


@mtbench_app.command("fetch")
def mtbench_fetch(
    ctx: typer.Context,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="data folder; files go to OUT/ja_mt_bench/ (default: data.dir)"),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="where the files are (a mirror)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="download files already present")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Download the public Japanese MT-Bench files (Stability-AI/FastChat jp-stable)."""
    from jpagent.evals.mtbench.fetch import BASE_URL, fetch_mtbench

    cfg = get_config(ctx)
    target = out_dir or (Path(cfg.data.dir) if cfg.data.dir else None)
    if target is None:
        raise ConfigError(
            "No folder to fetch into: pass --out or set data.dir (JPAGENT_DATA_DIR).",
            "保存先がありません（--out か data.dir を指定してください）。",
        )
    rows = fetch_mtbench(
        target, base_url=base_url or BASE_URL, force=force, timeout=cfg.llm.timeout
    )
    if json_out:
        print_json(
            {
                "files": [
                    {"path": str(r.path), "url": r.url, "status": r.status, "records": r.records}
                    for r in rows
                ],
                "command": _command(ctx),
            }
        )
        return
    for r in rows:
        out.print(f"{r.status:8} {r.records:4} records  {r.path}", markup=False, highlight=False)
