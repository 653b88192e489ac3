"""The report as Markdown: the same sections and tables as the HTML page.

Charts are PNG files referenced by relative paths (the caller writes them, see
:func:`chart_name`); the notes recorded beside each result are linked, not copied. Text from
result files is escaped so that a Markdown viewer shows it literally (no raw HTML, no links).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from jpagent.evals.reportsite.charts import MISSING_HINT
from jpagent.evals.reportsite.model import (
    BarChart,
    Block,
    Image,
    Notes,
    Para,
    Report,
    Section,
    Settings,
    Table,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!&])")


def esc(text: object) -> str:
    """Plain text for Markdown: punctuation with a meaning backslash-escaped, one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: object) -> str:
    """An inline code span that holds ``text`` whatever backticks it contains."""
    text = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def chart_name(section_index: int, block_index: int) -> str:
    """File name of a chart of the Markdown report (in the charts folder beside it)."""
    return f"s{section_index + 1:02d}-{block_index + 1:02d}.png"


def _table(t: Table) -> list[str]:
    lines = [f"**{esc(t.title)}**", ""]
    lines.append("| " + " | ".join(esc(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---" for _ in t.columns) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in t.rows]
    if t.note:
        lines += ["", f"*{esc(t.note)}*"]
    return lines


def _block(
    block: Block,
    name: str,
    pngs: Mapping[Block, bytes | None],
    charts_dir: str,
    notes_dir: str,
) -> list[str]:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, BarChart | Image):
        if pngs.get(block) is None:
            missing = (
                MISSING_HINT
                if isinstance(block, BarChart)
                else f"chart file {block.path.name} is missing or not a PNG"
            )
            return [f"*{esc(block.title)}: {esc(missing)}*"]
        return [f"![{esc(block.title)}](<{charts_dir}/{name}>)"]
    if isinstance(block, Para):
        return [esc(block.text)]
    if isinstance(block, Notes):
        target = f"{notes_dir}/{block.path.name}" if notes_dir else block.path.name
        return [f"Notes recorded with the run: [{esc(block.path.name)}](<{target}>)"]
    if isinstance(block, Settings):
        text = json.dumps(block.data, ensure_ascii=False, indent=2, default=str)
        longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
        fence = "`" * (longest + 1)
        return [f"{esc(block.title)}:", "", f"{fence}json", text, fence]
    raise TypeError(f"unknown block {type(block).__name__}")


def _section(
    i: int, s: Section, pngs: Mapping[Block, bytes | None], charts_dir: str, notes_dir: str
) -> list[str]:
    lines = [
        f"## {i + 1}. {esc(s.title)}",
        "",
        f"- file: {code(s.source.name)} · date: {esc(s.date or 'unknown')} · kind: {esc(s.kind)}",
        f"- command: {code(s.command)}" if s.command else "- command: not recorded",
    ]
    if s.warning:
        lines += ["", f"> **Warning:** {esc(s.warning)}"]
    for j, block in enumerate(s.blocks):
        lines += ["", *_block(block, chart_name(i, j), pngs, charts_dir, notes_dir)]
    return [*lines, ""]


def render_markdown(
    report: Report,
    pngs: Mapping[Block, bytes | None],
    charts_ok: bool,
    charts_dir: str,
    notes_dir: str = "",
) -> str:
    """The whole report. ``charts_dir``: the charts folder relative to the Markdown file;
    ``notes_dir``: the results folder relative to it (blank: the same folder)."""
    lines = [
        f"# {esc(report.title)}",
        "",
        f"Results folder {code(report.folder)}: {len(report.sections)} results, "
        f"{len(report.skipped)} skipped; generated {esc(report.generated)} by "
        f"{code('jpagent eval report')}.",
        "",
    ]
    if not charts_ok:
        lines += [f"*{esc(MISSING_HINT)}*", ""]
    lines += [
        f"{i + 1}. {esc(s.title)} ({code(s.source.name)}, {esc(s.date or 'no date')})"
        for i, s in enumerate(report.sections)
    ]
    lines.append("")
    for i, s in enumerate(report.sections):
        lines += _section(i, s, pngs, charts_dir, notes_dir)
    if report.skipped:
        lines += ["## Skipped files", "", "| file | reason |", "|---|---|"]
        lines += [f"| {code(k.source.name)} | {esc(k.reason)} |" for k in report.skipped]
        lines.append("")
    return "\n".join(lines)
