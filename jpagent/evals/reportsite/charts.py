"""PNG bytes for the report's charts: bar charts drawn with matplotlib, PNGs read from disk.

matplotlib is optional (the ``evals`` extra) and imported only when a chart is drawn, with the
Agg backend through :class:`matplotlib.figure.Figure` (no pyplot, no global figure state).
:func:`charts_available` tells the writers whether to draw or to say how to get charts.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import math
import warnings
from pathlib import Path

from jpagent.evals.reportsite.model import BarChart

log = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: What the report says in place of a chart when matplotlib is missing.
MISSING_HINT = (
    "Charts need matplotlib: pip install 'jpagent[evals]' (the evals extra), then run "
    "jpagent eval report again."
)
#: Accent colours for jpagent's own series; anchors get the greys.
ACCENTS = ("#1f5fbf", "#e07b00", "#2e9d4a", "#c0392b", "#7d3cbf", "#00838f", "#b8860b")
GREYS = ("#6b6b6b", "#9a9a9a", "#bdbdbd", "#4a4a4a", "#d6d6d6", "#808080")
HATCHES = ("", "//", "..", "xx", "\\\\", "--")
#: Fonts with Japanese glyphs, used for labels when one is installed (else matplotlib's default).
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic")


def charts_available() -> bool:
    """True when matplotlib can be imported (the ``evals`` extra is installed)."""
    return importlib.util.find_spec("matplotlib") is not None


def read_png(path: Path) -> bytes | None:
    """The bytes of a PNG file, or None (logged) when it is missing or not a PNG."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("chart %s cannot be read: %s", path, exc)
        return None
    if not data.startswith(PNG_MAGIC):
        log.warning("chart %s is not a PNG file", path)
        return None
    return data


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _colours(chart: BarChart) -> list[tuple[str, str]]:
    """(colour, hatch) per series: accents for highlighted series, hatched greys for the rest."""
    out: list[tuple[str, str]] = []
    accent = grey = 0
    for name, _ in chart.series:
        if name in chart.highlight or not chart.highlight:
            out.append((ACCENTS[accent % len(ACCENTS)], ""))
            accent += 1
        else:
            out.append((GREYS[grey % len(GREYS)], HATCHES[grey % len(HATCHES)]))
            grey += 1
    return out


def draw_bar_chart(chart: BarChart) -> bytes:
    """The chart as PNG bytes. Raises ImportError when matplotlib is not installed."""
    import matplotlib
    from matplotlib.figure import Figure

    n_cat, n_ser = len(chart.categories), max(len(chart.series), 1)
    bars = n_cat * n_ser
    length = min(max(6.0, 0.28 * bars + 1.5 * n_cat), 16.0)
    legend_rows = math.ceil(n_ser / 2)
    if chart.horizontal:
        size = (9.0, min(max(3.0, 0.22 * bars + 1.2), 16.0) + 0.25 * legend_rows)
    else:
        size = (length, 4.2 + 0.25 * legend_rows)
    font = _cjk_font()
    rc: dict[str, object] = {"font.size": 9}
    if font:
        rc["font.family"] = font
    with warnings.catch_warnings(), matplotlib.rc_context(rc):
        warnings.simplefilter("ignore")  # missing glyphs when no CJK font is installed
        fig = Figure(figsize=size, dpi=100)
        ax = fig.subplots()
        width = 0.8 / n_ser
        positions = list(range(n_cat))
        for i, ((name, values), (colour, hatch)) in enumerate(
            zip(chart.series, _colours(chart), strict=True)
        ):
            heights = [math.nan if v is None or (chart.log_scale and v <= 0) else v for v in values]
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            draw = ax.barh if chart.horizontal else ax.bar
            container = draw(
                offsets, heights, width, label=name, color=colour, hatch=hatch, edgecolor="white"
            )
            if bars <= 30:
                labels = ["" if math.isnan(h) else f"{h:.3g}" for h in heights]
                ax.bar_label(container, labels=labels, fontsize=7, padding=1)
        if chart.log_scale:
            (ax.set_xscale if chart.horizontal else ax.set_yscale)("log")
        if chart.horizontal:
            ax.set_yticks(positions, chart.categories)
            ax.invert_yaxis()
            ax.set_xlabel(chart.ylabel)
        else:
            long = max((len(c) for c in chart.categories), default=0) > 12 or n_cat > 6
            ax.set_xticks(
                positions,
                chart.categories,
                rotation=30 if long else 0,
                ha="right" if long else "center",
            )
            ax.set_ylabel(chart.ylabel)
        ax.set_title(chart.title)
        ax.grid(axis="x" if chart.horizontal else "y", alpha=0.3)
        ax.set_axisbelow(True)
        if len(chart.series) > 1 or chart.series and chart.series[0][0] != chart.ylabel:
            fig.legend(loc="lower center", ncols=min(n_ser, 2), fontsize=8, frameon=False)
        legend_share = min((0.2 * legend_rows + 0.15) / size[1], 0.45)
        fig.tight_layout(rect=(0, legend_share, 1, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
