"""Tables, JSON and Markdown for a :class:`~jpagent.evals.retrieval.RetrievalReport`.

:func:`report_rows` gives one dict per table row (the CLI prints them), :func:`report_json` a
JSON-ready dict (``--json``), :func:`report_markdown` the recorded file, and
:func:`write_report` saves ``retrieval-<mode>-<YYYY-MM-DD>.md`` and ``.json`` with the command
and the date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jpagent.evals.results import write_results
from jpagent.evals.retrieval import RetrievalReport

LABELS = {
    "jpagent-bm25": "jpagent BM25 (fugashi terms, bm25s)",
    "jpagent-dense": "jpagent dense (same embedder)",
    "jpagent-rrf": "jpagent plain RRF k=60",
    "jpagent-hybrid": "jpagent hybrid (tuned defaults)",
    "jpagent-hybrid-sections": "jpagent hybrid, paragraph starts given as headings",
    "jpagent-hybrid+rerank": "jpagent hybrid + LLM rerank",
    "llamaindex-bm25": "LlamaIndex BM25Retriever defaults",
    "langchain-bm25": "LangChain BM25Retriever defaults",
    "llamaindex-vector": "LlamaIndex VectorStoreIndex defaults",
    "langchain-vector": "LangChain InMemoryVectorStore",
}


def report_rows(report: RetrievalReport) -> list[dict[str, Any]]:
    """One row per result: system, questions, each metric (rounded to 3), chunks, seconds, note."""
    rows = []
    for r in report.results:
        row: dict[str, Any] = {"system": r.name, "questions": r.questions}
        for m in report.metric_names():
            row[m] = round(r.metrics.get(m, 0.0), 3)
        row["chunks"] = r.chunks
        row["chunk_chars"] = round(r.chunk_chars)
        row["seconds"] = round(r.seconds, 1)
        row["note"] = r.note
        rows.append(row)
    return rows


def report_json(
    report: RetrievalReport, command: str = "", date: str | None = None
) -> dict[str, Any]:
    """The report as a JSON-ready dict (full-precision metrics), with command and date."""
    out = asdict(report)
    out["metric_names"] = report.metric_names()
    out["command"] = command
    out["date"] = date or dt.date.today().isoformat()
    return out


def render_table(report: RetrievalReport) -> str:
    """A plain-text table of :func:`report_rows` (fixed-width columns)."""
    rows = report_rows(report)
    columns = ["system", "questions", *report.metric_names(), "chunks", "chunk_chars", "note"]
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [
        max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def report_markdown(report: RetrievalReport, command: str = "", date: str | None = None) -> str:
    """The recorded Markdown: what was run, the table, the settings."""
    date = date or dt.date.today().isoformat()
    names = report.metric_names()
    head = ["system", "questions", *names, "chunks", "mean chunk chars", "seconds"]
    lines = [
        f"# Retrieval eval — JSQuAD, {report.mode} mode ({date})",
        "",
        f"- command: `{command}`" if command else "- command: (SDK call)",
        f"- data: `{report.data}` — {report.questions} questions, {report.documents} documents",
        f"- embedder: `{report.settings.get('embedder')}` for every dense row (jpagent and anchors)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for r in report.results:
        label = LABELS.get(r.name, r.name) + (f" — *{r.note}*" if r.note else "")
        cells = [label, str(r.questions), *(f"{r.metrics.get(m, 0.0):.3f}" for m in names)]
        cells += [str(r.chunks), f"{r.chunk_chars:.0f}", f"{r.seconds:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Settings:",
        "",
        "```json",
        json.dumps(report.settings, ensure_ascii=False, indent=2),
        "```",
        "",
    ]
    if report.mode == "article":
        lines.insert(
            5,
            "- hit@Nch: a chunk covering the gold answer span is among the ranked chunks that fit "
            "in N characters (best first, stopping at the first that does not fit)",
        )
    return "\n".join(lines)


def write_report(
    report: RetrievalReport, out_dir: str | Path, command: str = "", date: str | None = None
) -> tuple[Path, Path]:
    """Write ``retrieval-<mode>-<date>.md`` and ``.json`` into ``out_dir``; returns both paths."""
    date = date or dt.date.today().isoformat()
    return write_results(
        out_dir,
        f"retrieval-{report.mode}-{date}",
        report_markdown(report, command, date),
        report_json(report, command, date),
    )
