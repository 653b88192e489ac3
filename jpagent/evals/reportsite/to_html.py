"""The report as one self-contained HTML page.

No external CSS, scripts, fonts or images: the style is inline, charts are PNG ``data:`` URIs,
and a Content-Security-Policy forbids loading anything else, so the page reads the same on a
closed network or from an e-mail attachment. Every string from a result file is escaped; the
Markdown notes recorded beside a result are rendered with raw HTML, images and links disabled.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from html import escape

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

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP",Meiryo,
sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#1d1d1f;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1f5fbf;padding-bottom:.2rem;
margin-top:2.5rem}.meta{color:#555;font-size:.9rem;margin:.2rem 0}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f5f5f7;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.cmd{background:#f5f5f7;padding:.15rem .35rem;border-radius:3px;word-break:break-all}
.tablewrap{overflow-x:auto;margin:.8rem 0}
table{border-collapse:collapse;font-size:.85rem}caption{text-align:left;font-weight:600;
padding:.3rem 0}th,td{border:1px solid #d0d0d5;padding:.25rem .5rem;vertical-align:top}
th{background:#eef2fa;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}tr:nth-child(even) td{background:#fafafc}
.tnote{color:#555;font-size:.85rem;margin:.2rem 0 .8rem}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e5e5ea}
figcaption{color:#555;font-size:.85rem}
.warn{background:#fff4e5;border-left:4px solid #e07b00;padding:.5rem .8rem}
.notice{background:#eef2fa;border-left:4px solid #1f5fbf;padding:.5rem .8rem}
details{margin:.6rem 0}summary{cursor:pointer;color:#1f5fbf}
.notes{border-left:3px solid #d0d0d5;padding-left:1rem}
nav ol{columns:2;font-size:.9rem}
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?\s*(%|×|s|ms)?$", re.IGNORECASE)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _notes_html(text: str) -> str:
    from markdown_it import MarkdownIt

    md = (
        MarkdownIt("commonmark", {"html": False})
        .enable("table")
        .disable(["image", "link", "autolink"])
    )
    return md.render(text)


def _table(t: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(c)}</td>' if _NUMERIC.match(c.strip()) else f"<td>{_e(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in t.rows
    )
    note = f'<p class="tnote">{_e(t.note)}</p>' if t.note else ""
    return (
        f'<div class="tablewrap"><table><caption>{_e(t.title)}</caption><thead><tr>{head}'
        f"</tr></thead><tbody>{body}</tbody></table></div>{note}"
    )


def _figure(title: str, png: bytes | None, missing: str) -> str:
    if png is None:
        return f'<p class="notice">{_e(title)}: {_e(missing)}</p>'
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(title)}">'
        f"<figcaption>{_e(title)}</figcaption></figure>"
    )


def _block(block: Block, pngs: Mapping[Block, bytes | None]) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, BarChart):
        return _figure(block.title, pngs.get(block), MISSING_HINT)
    if isinstance(block, Image):
        missing = f"chart file {block.path.name} is missing or not a PNG"
        return _figure(block.title, pngs.get(block), missing)
    if isinstance(block, Para):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, Notes):
        return (
            f"<details><summary>Notes recorded with the run ({_e(block.path.name)})</summary>"
            f'<div class="notes">{_notes_html(block.text)}</div></details>'
        )
    if isinstance(block, Settings):
        text = json.dumps(block.data, ensure_ascii=False, indent=2, default=str)
        return f"<details><summary>{_e(block.title)}</summary><pre>{_e(text)}</pre></details>"
    raise TypeError(f"unknown block {type(block).__name__}")


def _anchor(i: int) -> str:
    return f"s{i + 1}"


def _section(i: int, s: Section, pngs: Mapping[Block, bytes | None]) -> str:
    parts = [
        f'<section id="{_anchor(i)}"><h2>{_e(s.title)}</h2>',
        f'<p class="meta">file <code>{_e(s.source.name)}</code> · date {_e(s.date or "unknown")}'
        f" · kind {_e(s.kind)}</p>",
        f'<p class="meta">command: <code class="cmd">{_e(s.command)}</code></p>'
        if s.command
        else '<p class="meta">command: not recorded</p>',
    ]
    if s.warning:
        parts.append(f'<p class="warn">{_e(s.warning)}</p>')
    parts += [_block(b, pngs) for b in s.blocks]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, pngs: Mapping[Block, bytes | None], charts_ok: bool) -> str:
    """The whole page. ``pngs`` maps each chart block to its PNG (None: not drawn)."""
    toc = "".join(
        f'<li><a href="#{_anchor(i)}">{_e(s.title)}</a> '
        f'<span class="meta">({_e(s.source.name)}, {_e(s.date or "no date")})</span></li>'
        for i, s in enumerate(report.sections)
    )
    if report.skipped:
        toc += '<li><a href="#skipped">Skipped files</a></li>'
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(report.title)}</h1>",
        f'<p class="meta">Results folder <code>{_e(report.folder)}</code> · '
        f"{len(report.sections)} results, {len(report.skipped)} skipped · generated "
        f"{_e(report.generated)} by <code>jpagent eval report</code></p></header>",
    ]
    if not charts_ok:
        head.append(f'<p class="notice">{_e(MISSING_HINT)}</p>')
    head.append(f"<nav><ol>{toc}</ol></nav>")
    body = [_section(i, s, pngs) for i, s in enumerate(report.sections)]
    if report.skipped:
        rows = "".join(
            f"<tr><td><code>{_e(k.source.name)}</code></td><td>{_e(k.reason)}</td></tr>"
            for k in report.skipped
        )
        body.append(
            '<section id="skipped"><h2>Skipped files</h2><div class="tablewrap"><table>'
            f"<thead><tr><th>file</th><th>reason</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div></section>"
        )
    return "\n".join([*head, *body, "</body></html>"]) + "\n"
