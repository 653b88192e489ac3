"""``jpagent demo``: ingest the sample corpus and answer a Japanese question with citations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from jpagent.cli.common import JsonFlag, app, get_config, out, print_json
from jpagent.cli.kb import answer_json, print_footer, write_stream
from jpagent.errors import JpagentError

#: The answer is in a PDF page of the sample corpus (security_policy.pdf, page 2).
DEFAULT_QUESTION = "業務システムのパスワードは何文字以上にする必要がありますか？"


@app.command()
def demo(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option(help="folder to ingest")] = Path("corpora/sample"),
    kb: Annotated[Path, typer.Option(help="knowledge base folder")] = Path(".jpagent/demo-kb"),
    question: Annotated[str, typer.Option(help="質問 / question")] = DEFAULT_QUESTION,
    json_out: JsonFlag = False,
) -> None:
    """Ingest the sample corpus, then answer a Japanese question with citations (embedded models)."""
    from jpagent.sdk import open as open_sdk

    if not corpus.is_dir():
        raise JpagentError(
            f"Sample corpus folder {corpus} not found; run the demo from the project folder "
            "or pass --corpus.",
            f"サンプル文書のフォルダ {corpus} がありません。",
        )
    cfg = get_config(ctx)
    with open_sdk(kb, config=cfg, create=True) as base:
        if not json_out:
            out.print(f"[bold]1. 取り込み / ingest[/] {corpus} → {kb}")
        report = base.ingest([corpus], sync=True, progress=not json_out)
        if not json_out:
            out.print(report.summary(), highlight=False)
            for f in report.failed:
                out.print(f"  skipped {f.path}: {f.reason}", markup=False)
            out.print(f"\n[bold]2. 質問 / question[/] {question}", highlight=False)
            out.print(f"[dim]model: {cfg.models.chat}[/]\n")
            answer = base.ask(question, stream=write_stream)
            sys.stdout.write("\n")
            print_footer(answer)
            timings = ", ".join(f"{k} {v:.1f}s" for k, v in answer.timings.items())
            out.print(f"\n[dim]{timings}[/]")
        else:
            answer = base.ask(question)
            data = answer_json(answer, question)
            data["ingest"] = report.summary()
            print_json(data)
