"""``jpagent ingest``, ``search``, ``kb stats``, ``ask`` and ``chat``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from jpagent.cli.common import JsonFlag, app, err, get_config, out, print_json, table
from jpagent.types import Answer, Hit

kb_app = typer.Typer(help="Knowledge base folders.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

KbOpt = Annotated[str | None, typer.Option("--kb", help="knowledge base folder (setting kb.path)")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="chat model spec (setting models.chat)")
]
EmbedderOpt = Annotated[
    str | None, typer.Option("--embedder", help="embedder spec (setting models.embedder)")
]


def open_kb(
    ctx: typer.Context,
    kb: str | None,
    *,
    model: str | None = None,
    embedder: str | None = None,
    reindex: bool = False,
    create: bool = False,
):
    """Open the knowledge base named by ``--kb`` / ``kb.path`` with flags applied."""
    from jpagent.sdk import open as open_sdk

    cfg = get_config(
        ctx,
        kb__path=(kb, "flag:--kb"),
        models__chat=(model, "flag:--model"),
        models__embedder=(embedder, "flag:--embedder"),
    )
    return open_sdk(cfg.kb.path, config=cfg, reindex=reindex, create=create)


def hit_row(rank: int, hit: Hit) -> dict[str, Any]:
    """The JSON form of a hit (a stable contract: fields are only added)."""
    c = hit.chunk
    return {
        "rank": rank,
        "score": hit.score,
        "scores": hit.scores,
        "source": c.source,
        "start": c.start,
        "end": c.end,
        "page": c.metadata.get("page"),
        "heading_path": c.metadata.get("heading_path"),
        "chunk_id": c.id,
        "text": c.text,
    }


def answer_json(answer: Answer, question: str) -> dict[str, Any]:
    """The JSON form of an answer."""
    return {
        "question": question,
        "answer": answer.text,
        "citations": [asdict(c) for c in answer.citations],
        "reasoning": answer.reasoning,
        "timings": answer.timings,
        "looped": answer.looped,
    }


def print_footer(answer: Answer) -> None:
    """What follows a streamed answer: a note if a loop stopped the model, then the sources."""
    if answer.looped:
        out.print(
            "[yellow]※ モデルが同じ語句を繰り返し始めたため、生成を止めました"
            "（最初の繰り返しまでを回答とします）。"
            " / The model fell into a loop and was stopped; the answer keeps its first copy.[/]",
            highlight=False,
        )
    if not answer.citations:
        out.print("[dim]（出典なし / no sources cited）[/]")
        return
    out.print("\n[bold]出典 / Sources[/]")
    for c in answer.citations:
        page = f" p.{c.page}" if c.page else ""
        how = "  ※本文から推定 / matched by text, not marked" if c.inferred else ""
        out.print(
            f"  [{c.number}] {c.source}{page}  (chars {c.start}–{c.end}){how}",
            highlight=False,
            markup=False,
        )


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="files and folders to index")],
    kb: KbOpt = None,
    embedder: EmbedderOpt = None,
    include: Annotated[list[str] | None, typer.Option(help="glob to include (repeatable)")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="glob to exclude (repeatable)")] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="remove chunks of files that are gone")
    ] = False,
    tag: Annotated[list[str] | None, typer.Option(help="tag stored on these files' chunks")] = None,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="empty the KB and index again (new embedder/analyzer)")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Index files and folders into a knowledge base (unchanged files are skipped)."""
    with open_kb(ctx, kb, embedder=embedder, reindex=reindex, create=True) as base:
        report = base.ingest(
            paths,
            include=tuple(include or ("**/*",)),
            exclude=tuple(exclude or ()),
            sync=sync,
            tags=tuple(tag or ()),
            progress=not json_out,
        )
    failed = [{"path": str(f.path), "reason": f.reason} for f in report.failed]
    if json_out:
        data = asdict(report)
        data["failed"] = failed
        print_json(data)
        return
    out.print(report.summary(), highlight=False)
    if failed:
        err.print(f"\n{len(failed)} file(s) not indexed / 取り込めなかったファイル:")
        for f in failed:
            err.print(f"  {f['path']}: {f['reason']}", markup=False, highlight=False)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="質問 / query")],
    kb: KbOpt = None,
    k: Annotated[int, typer.Option("-k", help="number of hits")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense")] = "hybrid",
    source: Annotated[str | None, typer.Option(help="only sources matching this glob")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="only chunks with this tag")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Search a knowledge base; hits best first with source, offsets and scores."""
    with open_kb(ctx, kb) as base:
        hits = base.search(query, k=k, mode=mode, source_glob=source, tags=tag)
    rows = [hit_row(i, h) for i, h in enumerate(hits, start=1)]
    if json_out:
        print_json({"query": query, "mode": mode, "hits": rows})
        return
    if not rows:
        out.print("No hits. / 該当なし。")
        return
    for r in rows:
        r["where"] = f"{r['source']}" + (f" p.{r['page']}" if r["page"] else "")
        r["offsets"] = f"{r['start']}–{r['end']}"
        r["score"] = f"{r['score']:.3f}"
        r["text"] = r["text"].replace("\n", " ")[:80]
    table(rows, ["rank", "score", "where", "offsets", "text"], f"search: {query}")


@kb_app.command("stats")
def kb_stats(ctx: typer.Context, kb: KbOpt = None, json_out: JsonFlag = False) -> None:
    """Documents, chunks and sizes of a knowledge base."""
    with open_kb(ctx, kb) as base:
        stats = base.stats()
    if json_out:
        print_json(stats)
        return
    rows = [{"key": k, "value": v} for k, v in _flatten(stats)]
    table(rows, ["key", "value"], "knowledge base")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flatten(value, name + "."))
        else:
            items.append((name, value))
    return items


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="質問 / question")],
    kb: KbOpt = None,
    model: ModelOpt = None,
    k: Annotated[
        int | None, typer.Option("-k", help="chunks for the answer (setting rag.k)")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Answer a question from a knowledge base, streaming, then list the sources."""
    with open_kb(ctx, kb, model=model) as base:
        if json_out:
            answer = base.ask(question, k=k)
            print_json(answer_json(answer, question))
            return
        answer = base.ask(question, k=k, stream=write_stream)
    sys.stdout.write("\n")
    print_footer(answer)


def write_stream(text: str) -> None:
    """Print streamed answer text as it arrives."""
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def chat(ctx: typer.Context, kb: KbOpt = None, model: ModelOpt = None) -> None:
    """A chat over a knowledge base (follow-ups are understood). Empty line or Ctrl-D to quit."""
    with open_kb(ctx, kb, model=model) as base:
        session = base.chat()
        out.print("質問をどうぞ（空行で終了）/ Ask a question (empty line to quit)")
        while True:
            try:
                question = input("> ").strip()
            except EOFError:
                break
            if not question:
                break
            answer = session.ask(question, stream_callback=write_stream)
            sys.stdout.write("\n")
            print_footer(answer)
