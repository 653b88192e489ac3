"""``show``: MT-Bench scores per model, turn and category, from a judgment file.

The overall numbers are FastChat's ``show_result.py --mode single``: the mean ``score`` over
the records with ``score != -1``, per model for turn 1, turn 2, and over both turns together
(:func:`fastchat_means` is that computation alone). Per-category means are the same restricted
to a category (a FastChat file has no category: it comes from the questions file). With several
samples, ``std`` is the sample standard deviation (n-1) of the per-sample overall means. A key
``(question, model, turn, sample)`` counts as ``failed`` when none of its records has a score.

:func:`write_report` records ``mtbench-<date>.md``, ``mtbench-<date>.json`` and a radar chart
PNG (categories as axes, one line per model; matplotlib from ``jpagent[evals]``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError
from jpagent.evals.mtbench.data import CATEGORIES, Judgment
from jpagent.evals.results import write_results

TURNS = ("turn1", "turn2", "both")


@dataclass(frozen=True)
class TurnScores:
    """Mean scores of one model for one turn (or both)."""

    overall: float | None
    categories: dict[str, float] = field(default_factory=dict)
    count: int = 0
    """Scored records the mean is over."""


@dataclass(frozen=True)
class ModelScores:
    """One model's results."""

    model: str
    samples: int
    turn1: TurnScores
    turn2: TurnScores
    both: TurnScores
    std: dict[str, float | None]
    """Per turn label: sample std (n-1) of per-sample overall means; ``None`` below 2 samples."""
    failed: int

    def turn(self, label: str) -> TurnScores:
        return {"turn1": self.turn1, "turn2": self.turn2, "both": self.both}[label]


@dataclass(frozen=True)
class MTBenchReport:
    """Everything ``show`` prints and records."""

    judgments: str
    judge: str
    prompts: tuple[str, ...]
    models: tuple[ModelScores, ...]


def _in_turn(j: Judgment, label: str) -> bool:
    return label == "both" or j.turn == int(label[-1])


def fastchat_means(
    judgments: Iterable[Judgment], models: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """FastChat ``display_result_single``: ``{"turn1"|"turn2"|"both": {model: mean}}`` over the
    records with ``score != -1`` (optionally only ``models``)."""
    sums: dict[str, dict[str, list[float]]] = {t: defaultdict(list) for t in TURNS}
    for j in judgments:
        if j.score == -1 or (models is not None and j.model not in models):
            continue
        for label in TURNS:
            if _in_turn(j, label):
                sums[label][j.model].append(j.score)
    return {t: {m: sum(v) / len(v) for m, v in by.items()} for t, by in sums.items()}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def model_scores(
    model: str, records: Sequence[Judgment], categories: Mapping[int, str]
) -> ModelScores:
    """The scores of ``model`` from its records (category from the record, else ``categories``)."""
    scored = [j for j in records if j.score != -1]
    turns: dict[str, TurnScores] = {}
    std: dict[str, float | None] = {}
    samples = sorted({j.sample for j in records})
    for label in TURNS:
        chosen = [j for j in scored if _in_turn(j, label)]
        by_cat: dict[str, list[float]] = defaultdict(list)
        for j in chosen:
            cat = j.category or categories.get(j.question_id, "")
            if cat:
                by_cat[cat].append(j.score)
        ordered = [c for c in CATEGORIES if c in by_cat] + sorted(set(by_cat) - set(CATEGORIES))
        turns[label] = TurnScores(
            _mean([j.score for j in chosen]),
            {c: sum(by_cat[c]) / len(by_cat[c]) for c in ordered},
            len(chosen),
        )
        per_sample = [
            m
            for s in samples
            if (m := _mean([j.score for j in chosen if j.sample == s])) is not None
        ]
        std[label] = statistics.stdev(per_sample) if len(per_sample) > 1 else None
    keys: dict[tuple[int, int, int], bool] = {}
    for j in records:
        key = (j.question_id, j.turn, j.sample)
        keys[key] = keys.get(key, False) or j.score != -1
    failed = sum(1 for ok in keys.values() if not ok)
    return ModelScores(
        model, len(samples), turns["turn1"], turns["turn2"], turns["both"], std, failed
    )


def summarize(
    judgments: Sequence[Judgment],
    *,
    path: str | Path = "",
    categories: Mapping[int, str] | None = None,
    models: Sequence[str] | None = None,
) -> MTBenchReport:
    """A report of ``judgments`` (only ``models`` if given; unknown names are an error), models
    sorted by their both-turns mean, best first (as FastChat prints them)."""
    present = sorted({j.model for j in judgments})
    if models is not None:
        unknown = [m for m in models if m not in present]
        if unknown:
            raise ConfigError(
                f"No judgments for {', '.join(unknown)} in {path}; it has: {', '.join(present)}.",
                f"{path} に {', '.join(unknown)} の審査結果がありません。",
            )
    names = list(models) if models is not None else present
    by_model: dict[str, list[Judgment]] = defaultdict(list)
    for j in judgments:
        by_model[j.model].append(j)
    scores = [model_scores(m, by_model[m], categories or {}) for m in names]
    scores.sort(key=lambda s: -(s.both.overall if s.both.overall is not None else -1))
    chosen = [j for j in judgments if j.model in set(names)]
    judge = ",".join(sorted({j.judge[0] for j in chosen if j.judge}))
    prompts = tuple(sorted({j.judge[1] for j in chosen if len(j.judge) > 1}))
    return MTBenchReport(str(path), judge, prompts, tuple(scores))


# ---------------------------------------------------------------------------- output


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table_rows(report: MTBenchReport, label: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ``label`` (turn1, turn2, both) table: model, overall, std, n,
    failed, one column per category present."""
    cats = [c for c in CATEGORIES if any(c in m.turn(label).categories for m in report.models)]
    extra = sorted({c for m in report.models for c in m.turn(label).categories} - set(CATEGORIES))
    cats += extra
    header = ["model", "score", "std", "n", "failed", *cats]
    rows = []
    for m in report.models:
        t = m.turn(label)
        rows.append(
            [
                m.model,
                _fmt(t.overall),
                _fmt(m.std[label]),
                str(t.count),
                str(m.failed),
                *(_fmt(t.categories.get(c)) for c in cats),
            ]
        )
    return header, rows


def render_tables(report: MTBenchReport) -> str:
    """Plain-text tables for turn 1, turn 2 and both."""
    blocks = [f"judgments: {report.judgments}  judge: {report.judge or '-'}"]
    for label, title in zip(
        TURNS, ("First turn", "Second turn", "Average (both turns)"), strict=True
    ):
        header, rows = table_rows(report, label)
        widths = [
            max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
            for i, h in enumerate(header)
        ]
        lines = [f"## {title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def report_json(
    report: MTBenchReport,
    *,
    command: str = "",
    date: str | None = None,
    charts: Sequence[str] = (),
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The recorded JSON (schema ``kind: "mtbench"``, read by the report command)."""

    def turn(t: TurnScores) -> dict[str, Any]:
        return {"overall": t.overall, "categories": dict(t.categories), "n": t.count}

    return {
        "kind": "mtbench",
        "command": command,
        "date": date or dt.date.today().isoformat(),
        "judgments": report.judgments,
        "judge": report.judge,
        "models": {
            m.model: {
                "samples": m.samples,
                "turn1": turn(m.turn1),
                "turn2": turn(m.turn2),
                "both": turn(m.both),
                "std": dict(m.std),
                "failed": m.failed,
            }
            for m in report.models
        },
        "charts": list(charts),
        "settings": {"prompts": list(report.prompts), **(settings or {})},
    }


def report_markdown(
    report: MTBenchReport, *, command: str = "", date: str | None = None, charts: Sequence[str] = ()
) -> str:
    """The recorded Markdown: what was run, the three tables, the chart."""
    date = date or dt.date.today().isoformat()
    lines = [
        f"# Japanese MT-Bench ({date})",
        "",
        f"- judgments: `{report.judgments}`",
        f"- judge: `{report.judge or '-'}`; prompts: {', '.join(report.prompts) or '-'}",
        f"- command: `{command}`" if command else "",
        "- score: mean over records with score != -1 (FastChat show_result.py); std: sample "
        "std (n-1) of per-sample means; failed: graded keys without a score",
        "",
    ]
    for label, title in zip(TURNS, ("First turn", "Second turn", "Both turns"), strict=True):
        header, rows = table_rows(report, label)
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    lines += [f"![radar]({c})" for c in charts]
    return "\n".join(line for line in lines if line is not None) + "\n"


def write_radar(report: MTBenchReport, path: str | Path, label: str = "both") -> Path:
    """A radar chart of each model's per-category means (``label`` turn) as a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "The radar chart needs matplotlib, which is not installed.",
            "レーダーチャートには matplotlib が必要です（未インストール）。",
            hint="pip install 'jpagent[evals]'",
        ) from None
    import math

    cats = [c for c in CATEGORIES if any(c in m.turn(label).categories for m in report.models)]
    fig = Figure(figsize=(6, 6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="polar")
    if cats:
        angles = [2 * math.pi * i / len(cats) for i in range(len(cats))]
        for m in report.models:
            values = [m.turn(label).categories.get(c, 0.0) for c in cats]
            ax.plot([*angles, angles[0]], [*values, values[0]], label=m.model)
            ax.fill([*angles, angles[0]], [*values, values[0]], alpha=0.1)
        ax.set_xticks(angles)
        ax.set_xticklabels(cats)
    ax.set_ylim(0, 10)
    ax.set_title(f"Japanese MT-Bench ({label}), judge: {report.judge or '-'}")
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def write_report(
    report: MTBenchReport,
    out_dir: str | Path,
    *,
    command: str = "",
    settings: Mapping[str, Any] | None = None,
    date: str | None = None,
) -> dict[str, Any]:
    """Write ``mtbench-radar-<date>.png``, ``mtbench-<date>.md`` and ``.json`` into
    ``out_dir``; return the JSON written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    date = date or dt.date.today().isoformat()
    chart = write_radar(report, out / f"mtbench-radar-{date}.png")
    charts = [chart.name]
    data = report_json(report, command=command, date=date, charts=charts, settings=settings)
    markdown = report_markdown(report, command=command, date=date, charts=charts)
    write_results(out, f"mtbench-{date}", markdown, data)
    return data
