"""``jpagent eval retrieval`` and ``jpagent eval qa`` (JSQuAD), anchors side by side."""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from jpagent.cli.common import JsonFlag, app, get_config, out, print_json
from jpagent.errors import ConfigError

eval_app = typer.Typer(help="Evaluations: retrieval and QA on JSQuAD.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

DATASETS = ("jsquad",)
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="JSQuAD JSON (default: <data.dir>/jsquad/valid-v1.3.json)"),
]
DatasetOpt = Annotated[str, typer.Option("--dataset", help="dataset name (jsquad)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="folder to record .md/.json results in")]


def _data_path(ctx: typer.Context, dataset: str, data: Path | None) -> Path:
    if dataset not in DATASETS:
        raise ConfigError(
            f"Unknown dataset {dataset!r}; available: {', '.join(DATASETS)}.",
            f"データセット {dataset!r} は未対応です。",
        )
    if data is not None:
        return data
    base = get_config(ctx).data.dir
    if not base:
        raise ConfigError(
            "No JSQuAD file: pass --data FILE or set data.dir (JPAGENT_DATA_DIR).",
            "JSQuAD のファイルが指定されていません（--data か data.dir を設定してください）。",
        )
    return Path(base) / "jsquad" / "valid-v1.3.json"


def _progress_logging() -> None:
    """Long evals report progress on stderr (stdout stays the table or the JSON)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")


def _command(ctx: typer.Context) -> str:
    """The command line that reproduces this run (recorded with the results)."""
    words = ["jpagent", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False) or value == param.default or not param.opts:
            continue
        words.append(param.opts[0])
        if value is not True:
            words.append(str(value))
    return shlex.join(words)


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    dataset: DatasetOpt = "jsquad",
    data: DataOpt = None,
    mode: Annotated[str, typer.Option(help="paragraph or article")] = "paragraph",
    systems: Annotated[
        str | None, typer.Option(help="comma-separated systems (default: all)")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="seeded question subset for the LLM-rerank row")
    ] = None,
    seed: int = 0,
    out_dir: OutOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """R@1, R@5, MRR@10, nDCG@10 (and answer-hit within context budgets in article mode)."""
    from jpagent.evals.report import render_table, report_json, write_report
    from jpagent.evals.retrieval import run_retrieval_eval

    path = _data_path(ctx, dataset, data)
    _progress_logging()
    report = run_retrieval_eval(
        path, mode=mode, systems=systems.split(",") if systems else None, limit=limit, seed=seed
    )
    command = _command(ctx)
    if out_dir is not None:
        write_report(report, out_dir, command=command)
    if json_out:
        print_json(report_json(report, command))
    else:
        out.print(render_table(report), markup=False, highlight=False)


@eval_app.command("qa")
def eval_qa(
    ctx: typer.Context,
    dataset: DatasetOpt = "jsquad",
    data: DataOpt = None,
    model: Annotated[str | None, typer.Option(help="chat model spec (models.chat)")] = None,
    limit: Annotated[int, typer.Option(help="seeded question sample size")] = 40,
    seed: int = 0,
    settings: Annotated[
        str, typer.Option(help="comma-separated: closed_book, rag, oracle")
    ] = "closed_book,rag,oracle",
    ask_limit: Annotated[
        int | None,
        typer.Option(help="questions also timed through the full `jpagent ask` pipeline [5]"),
    ] = None,
    out_dir: OutOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Exact match and character F1: closed-book, RAG over all paragraphs, and oracle."""
    from jpagent.evals.qa import QAConfig, run_qa_eval, write_report

    path = _data_path(ctx, dataset, data)
    cfg = get_config(ctx, models__chat=(model, "flag:--model"))
    _progress_logging()
    qa_config = QAConfig(n_threads=cfg.llm.n_threads or None)  # llm.n_threads applies
    if ask_limit is not None:
        qa_config = replace(qa_config, ask_limit=ask_limit)
    report = run_qa_eval(
        path,
        model_spec=cfg.models.chat,
        limit=limit,
        seed=seed,
        settings=tuple(s for s in settings.split(",") if s),
        config=qa_config,
        command=_command(ctx),
    )
    if out_dir is not None:
        write_report(report, out_dir)
    if json_out:
        print_json(report.to_json())
    else:
        out.print(report.to_markdown(), markup=False, highlight=False)
