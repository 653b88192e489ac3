"""``jpagent eval report``: every eval result in a folder as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jpagent.cli.common import JsonFlag, out, print_json
from jpagent.cli.evals import eval_app

DEFAULT_RESULTS = Path("evals/results")


@eval_app.command("report")
def eval_report(
    results: Annotated[
        Path,
        typer.Option("--results", help="folder of eval results (*.json, with .md/.png beside)"),
    ] = DEFAULT_RESULTS,
    html_out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: <results>/report.html)"),
    ] = None,
    md_out: Annotated[
        Path | None,
        typer.Option("--md", help="also write this Markdown file (charts in <stem>_charts/)"),
    ] = None,
    title: Annotated[str, typer.Option(help="title of the report")] = "jpagent eval report",
    json_out: JsonFlag = False,
) -> None:
    """One HTML report (and Markdown) of MT-Bench, retrieval, QA, tuning and benchmark results.

    The HTML needs nothing from the network: styles are inline and charts are embedded PNGs.
    Files that cannot be read are listed in a "Skipped files" section, never fatal.
    """
    from jpagent.evals.reportsite import write_report_files

    html_path = html_out if html_out is not None else results / "report.html"
    files = write_report_files(results, html_path, md_out, title=title)
    summary = {
        "html": str(files.html),
        "markdown": str(files.markdown) if files.markdown else None,
        "results": [
            {"file": s.source.name, "kind": s.kind, "date": s.date, "warning": s.warning}
            for s in files.report.sections
        ],
        "skipped": [{"file": k.source.name, "reason": k.reason} for k in files.report.skipped],
        "charts": files.charts,
        "charts_available": files.charts_ok,
    }
    if json_out:
        print_json(summary)
        return
    for s in files.report.sections:
        note = f"  (warning: {s.warning})" if s.warning else ""
        out.print(f"{s.kind:10} {s.source.name}{note}", markup=False, highlight=False)
    for k in files.report.skipped:
        out.print(f"{'skipped':10} {k.source.name}: {k.reason}", markup=False, highlight=False)
    written = ", ".join(str(p) for p in (files.html, files.markdown) if p is not None)
    charts = (
        f"{files.charts} charts" if files.charts_ok else "no bar charts (needs the evals extra)"
    )
    out.print(
        f"wrote {written}: {len(files.report.sections)} results, "
        f"{len(files.report.skipped)} skipped, {charts}",
        markup=False,
        highlight=False,
    )
