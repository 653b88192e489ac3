"""``jpagent eval report``: one self-contained HTML page (and a Markdown twin) of every eval
result in a folder — MT-Bench, retrieval, QA, tuning and the benchmarks — each with its charts,
its settings, the command that produced it and its date.

>>> files = write_report_files("evals/results", "evals/results/report.html")  # doctest: +SKIP

:func:`collect_report` reads the folder (:mod:`.collect`: one renderer per known kind, a
generic one for the rest, a skipped list for what cannot be read); :func:`draw_charts` draws
the bar charts (matplotlib, optional) and reads the PNGs the evals wrote;
:func:`render_html` / :func:`render_markdown` write the two forms.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from jpagent.evals.reportsite.charts import charts_available, draw_bar_chart, read_png
from jpagent.evals.reportsite.collect import KINDS, collect_report, detect_kind, render_file
from jpagent.evals.reportsite.model import (
    BarChart,
    Block,
    Image,
    Notes,
    Para,
    Report,
    Section,
    Settings,
    Skipped,
    Table,
)
from jpagent.evals.reportsite.to_html import render_html
from jpagent.evals.reportsite.to_markdown import chart_name, render_markdown

__all__ = [
    "KINDS",
    "BarChart",
    "Block",
    "Image",
    "Notes",
    "Para",
    "Report",
    "ReportFiles",
    "Section",
    "Settings",
    "Skipped",
    "Table",
    "charts_available",
    "collect_report",
    "detect_kind",
    "draw_charts",
    "render_file",
    "render_html",
    "render_markdown",
    "write_report_files",
]

log = logging.getLogger(__name__)


class ReportFiles(NamedTuple):
    """What :func:`write_report_files` wrote and what went into it."""

    html: Path
    markdown: Path | None
    report: Report
    charts: int
    """Charts embedded (drawn bar charts plus PNGs read from disk)."""
    charts_ok: bool
    """False when matplotlib is missing and the bar charts were left out."""


def draw_charts(report: Report, charts_ok: bool | None = None) -> dict[Block, bytes | None]:
    """PNG bytes for every chart block (None where it could not be drawn or read).

    Bar charts are drawn only when ``charts_ok`` (default: matplotlib is importable); a chart
    that fails to draw is logged and left out, never fatal.
    """
    ok = charts_available() if charts_ok is None else charts_ok
    pngs: dict[Block, bytes | None] = {}
    for section in report.sections:
        for block in section.blocks:
            if not isinstance(block, BarChart | Image) or block in pngs:
                continue
            if isinstance(block, Image):
                pngs[block] = read_png(block.path)
            else:
                png = None
                if ok:
                    try:
                        png = draw_bar_chart(block)
                    except Exception as exc:
                        log.warning("%s: chart %r not drawn: %s", section.source, block.title, exc)
                pngs[block] = png
    return pngs


def _relative(target: Path, start: Path) -> str:
    rel = os.path.relpath(target.resolve(), start.resolve())
    return "" if rel == "." else Path(rel).as_posix()


def _write_markdown(
    report: Report, pngs: Mapping[Block, bytes | None], charts_ok: bool, md_path: Path
) -> None:
    charts_dir = md_path.parent / f"{md_path.stem}_charts"
    written: set[str] = set()
    for i, section in enumerate(report.sections):
        for j, block in enumerate(section.blocks):
            png = pngs.get(block) if isinstance(block, BarChart | Image) else None
            if png is not None:
                charts_dir.mkdir(parents=True, exist_ok=True)
                (charts_dir / chart_name(i, j)).write_bytes(png)
                written.add(chart_name(i, j))
    if charts_dir.is_dir():  # charts of an earlier report that this one no longer has
        for old in charts_dir.glob("s[0-9][0-9]-[0-9][0-9].png"):
            if old.name not in written:
                old.unlink()
    text = render_markdown(
        report,
        pngs,
        charts_ok,
        charts_dir=charts_dir.name,
        notes_dir=_relative(report.folder, md_path.parent),
    )
    md_path.write_text(text, encoding="utf-8")


def write_report_files(
    results: str | Path,
    html_path: str | Path,
    md_path: str | Path | None = None,
    title: str = "jpagent eval report",
) -> ReportFiles:
    """Render every result in ``results`` to ``html_path`` (and ``md_path`` if given).

    The Markdown's charts go to ``<md stem>_charts/`` beside it. Raises
    :class:`~jpagent.errors.ConfigError` when ``results`` is not a folder; bad result files
    never raise (they are listed as skipped in the report).
    """
    report = collect_report(results, title=title)
    charts_ok = charts_available()
    pngs = draw_charts(report, charts_ok)
    html_file = Path(html_path)
    html_file.parent.mkdir(parents=True, exist_ok=True)
    html_file.write_text(render_html(report, pngs, charts_ok), encoding="utf-8")
    md_file = Path(md_path) if md_path is not None else None
    if md_file is not None:
        md_file.parent.mkdir(parents=True, exist_ok=True)
        _write_markdown(report, pngs, charts_ok, md_file)
    drawn = sum(1 for png in pngs.values() if png is not None)
    return ReportFiles(html_file, md_file, report, drawn, charts_ok)
