"""Renderers for the quality evals: retrieval, hybrid tuning, QA, ask and Japanese MT-Bench.

Each takes the file's path and its parsed JSON and returns a
:class:`~jpagent.evals.reportsite.model.Section`; a missing field raises (KeyError,
TypeError…), and the caller then falls back to the generic renderer and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jpagent.evals.reportsite.generic import (
    dict_rows_table,
    fmt,
    kv_table,
    make_section,
    num,
    pct,
)
from jpagent.evals.reportsite.model import BarChart, Block, Image, Para, Section, Settings, Table

#: Sample answers shown per QA setting.
QA_SAMPLES = 3
_TUNING_METRICS = ("R@1", "R@5", "MRR@10", "nDCG@10")


def _jpagent_names(names: list[str]) -> frozenset[str]:
    return frozenset(n for n in names if n.lower().startswith("jpagent"))


def render_retrieval(path: Path, data: Mapping[str, Any]) -> Section:
    """``retrieval-<mode>-<date>.json`` (:func:`jpagent.evals.report.report_json`)."""
    from jpagent.evals.report import LABELS

    metrics = [str(m) for m in data["metric_names"]]
    results = list(data["results"])
    names = [str(r["name"]) for r in results]
    head = ("system", "questions", *metrics, "chunks", "mean chunk chars", "seconds", "note")
    rows = tuple(
        (
            LABELS.get(r["name"], str(r["name"])),
            fmt(r.get("questions")),
            *(fmt(r["metrics"].get(m)) for m in metrics),
            fmt(r.get("chunks")),
            fmt(round(float(r.get("chunk_chars", 0.0)))),
            fmt(r.get("seconds"), 1),
            str(r.get("note", "")),
        )
        for r in results
    )
    series = tuple(
        (name, tuple(num(r["metrics"].get(m)) for m in metrics))
        for name, r in zip(names, results, strict=True)
    )
    mode = str(data.get("mode", "?"))
    blocks: list[Block] = [
        Para(
            f"Data: {data.get('data', '')} — {fmt(data.get('questions'))} questions, "
            f"{fmt(data.get('documents'))} documents. Rows marked subset ran on a seeded "
            "subset of the questions (see note)."
        ),
        Table("Results", head, rows),
        BarChart(
            f"Retrieval, {mode} mode: jpagent vs anchors",
            tuple(metrics),
            series,
            ylabel="score",
            highlight=_jpagent_names(names),
        ),
        Settings("Settings", data.get("settings", {})),
    ]
    return make_section("retrieval", f"Retrieval — JSQuAD, {mode} mode", path, data, blocks)


def render_tuning(path: Path, data: Mapping[str, Any]) -> Section:
    """``retrieval-tuning-<date>.json`` (:mod:`jpagent.evals.fusion_tuning`)."""
    rows = list(data["rows"])
    split = ("held", "full", "tune")
    columns = [
        c for s in split for m in _TUNING_METRICS if f"{s} {m}" in rows[0] for c in [f"{s} {m}"]
    ]
    table = Table(
        "Systems (chosen on the tune half; held-out half and full set shown)",
        ("system", *columns),
        tuple((str(r["system"]), *(fmt(r.get(c), 4) for c in columns)) for r in rows),
    )
    held = [m for m in _TUNING_METRICS if f"held {m}" in rows[0]]
    names = [str(r["system"]) for r in rows]
    chart = BarChart(
        "Held-out half: BM25, dense and fusion configurations",
        tuple(held),
        tuple(
            (n, tuple(num(r.get(f"held {m}")) for m in held))
            for n, r in zip(names, rows, strict=True)
        ),
        ylabel="score",
        highlight=frozenset(n for n in names if "chosen" in n),
    )
    blocks: list[Block] = [
        Para(
            f"Data: {data.get('data', '')}; seed {fmt(data.get('seed'))}: "
            f"{fmt(data.get('tune_questions'))} questions to tune, "
            f"{fmt(data.get('held_questions'))} held out."
        ),
        table,
        chart,
    ]
    if data.get("bm25_rows"):
        blocks.append(dict_rows_table("Stage 1: BM25 parameters (tune half)", data["bm25_rows"]))
    if data.get("top"):
        blocks.append(
            dict_rows_table("Stage 2: top fusion configurations (tune half)", data["top"])
        )
    blocks.append(
        Settings("Chosen settings", {"bm25": data.get("bm25"), "fusion": data.get("best")})
    )
    return make_section("tuning", "Hybrid retrieval tuning — JSQuAD", path, data, blocks)


def render_qa(path: Path, data: Mapping[str, Any]) -> Section:
    """``qa-<date>.json`` (:meth:`jpagent.evals.qa.QAReport.to_json`)."""
    scores: Mapping[str, Mapping[str, Any]] = data["scores"]
    head = (
        "setting", "n", "EM", "char-F1", "gold in context", "TTFT s", "decode tok/s",
        "outside model", "prompt tokens",
    )  # fmt: skip
    rows = []
    for setting, s in scores.items():
        gold = s.get("gold_in_context")
        rows.append(
            (
                str(setting),
                fmt(int(s["n"])),
                fmt(s["em"]),
                fmt(s["f1"]),
                "" if gold is None or gold < 0 else fmt(gold),
                fmt(s.get("ttft"), 2),
                fmt(s.get("decode_tps"), 1),
                pct(s.get("outside_share")),
                fmt(s.get("prompt_tokens"), 0),
            )
        )
    chart_settings = [k for k in scores if k != "ask"]
    blocks: list[Block] = [
        Para(
            f"Model: {data.get('model', '')}; data: {data.get('dataset', '')}; "
            f"{fmt(data.get('n'))} questions sampled with seed {fmt(data.get('seed'))}. "
            "EM and character F1 after JSQuAD normalisation (max over the gold answers)."
        ),
        Table("Scores", head, tuple(rows)),
        BarChart(
            "QA: closed-book vs RAG vs oracle",
            ("EM", "char-F1"),
            tuple((k, (num(scores[k]["em"]), num(scores[k]["f1"]))) for k in chart_settings),
            ylabel="score",
            highlight=frozenset({"rag"}),
        ),
    ]
    ratio = scores.get("rag", {}).get("f1_vs_oracle")
    if isinstance(ratio, int | float):
        verdict = "meets" if ratio >= 0.95 else "misses"
        blocks.append(Para(f"RAG F1 / oracle F1 = {ratio:.3f} ({verdict} the 0.95 target)."))
    items = data.get("items") or []
    if items:
        sample = []
        for setting in scores:
            sample += [i for i in items if i.get("setting") == setting][:QA_SAMPLES]
        blocks.append(
            Table(
                f"Sample answers (first {QA_SAMPLES} per setting of {len(items)})",
                ("setting", "question", "gold", "prediction", "EM", "F1"),
                tuple(
                    (
                        str(i.get("setting", "")),
                        str(i.get("question", "")),
                        " / ".join(str(g) for g in i.get("golds", ())),
                        str(i.get("prediction", "")),
                        fmt(i.get("em"), 0),
                        fmt(i.get("f1"), 2),
                    )
                    for i in sample
                ),
            )
        )
    if data.get("setup_seconds"):
        blocks.append(kv_table("Setup (seconds)", data["setup_seconds"].items()))
    blocks.append(Settings("Config", data.get("config", {})))
    return make_section("qa", f"QA — JSQuAD, {data.get('model', '')}", path, data, blocks)


def render_mtbench(path: Path, data: Mapping[str, Any]) -> Section:
    """``mtbench-<date>.json`` written by ``jpagent eval mtbench show --out``."""
    models: Mapping[str, Mapping[str, Any]] = data["models"]
    turns = ("turn1", "turn2", "both")
    overall = Table(
        "Overall score (1–10)",
        (
            "model",
            "samples",
            "turn 1",
            "turn 2",
            "both",
            "std turn 1",
            "std turn 2",
            "std both",
            "failed",
        ),  # fmt: skip
        tuple(
            (
                str(name),
                fmt(m.get("samples")),
                *(fmt(m[t]["overall"], 2) if m.get(t) else "" for t in turns),
                *(fmt((m.get("std") or {}).get(t), 2) for t in turns),
                fmt(m.get("failed")),
            )
            for name, m in models.items()
        ),
        note="std: sample standard deviation over the samples (blank with one sample).",
    )
    categories: dict[str, None] = {}
    for m in models.values():
        for t in turns:
            categories.update(dict.fromkeys((m.get(t) or {}).get("categories", {})))
    cols = [(name, t) for name in models for t in turns]
    per_category = Table(
        "Per category",
        ("category", *(f"{name} {t}" for name, t in cols)),
        tuple(
            (
                str(c),
                *(
                    fmt(((models[n].get(t) or {}).get("categories") or {}).get(c), 2)
                    for n, t in cols
                ),
            )
            for c in categories
        ),
    )

    def both(m: Mapping[str, Any], c: str) -> float | None:
        return num(((m.get("both") or {}).get("categories") or {}).get(c))

    blocks: list[Block] = [
        Para(f"Judge: {data.get('judge', '')}; judgments: {data.get('judgments', '')}."),
        overall,
        per_category,
        BarChart(
            "MT-Bench per category (both turns)",
            tuple(str(c) for c in categories),
            tuple((str(n), tuple(both(m, c) for c in categories)) for n, m in models.items()),
            ylabel="score (1–10)",
            highlight=frozenset(str(n) for n in models),
        ),
    ]
    for chart in data.get("charts") or []:
        blocks.append(Image(str(chart), path.parent / str(chart)))
    blocks.append(Settings("Settings", data.get("settings", {})))
    return make_section("mtbench", "Japanese MT-Bench", path, data, blocks)


def render_ask(path: Path, data: Mapping[str, Any]) -> Section:
    """``ask-<date>.json`` (:meth:`jpagent.evals.ask.AskReport.to_json`)."""
    scores: Mapping[str, Mapping[str, Any]] = data["scores"]
    head = (
        "setting", "n", "char-F1", "gold in answer", "gold file cited", "no answer", "loops",
        "TTFT s", "total s",
    )  # fmt: skip
    rows = tuple(
        (
            str(setting),
            fmt(int(s["n"])),
            fmt(s["f1"]),
            pct(s["gold_in_answer"]),
            pct(s["gold_file_cited"]),
            pct(s["no_answer"]),
            fmt(s.get("looped"), 0),  # absent in files written before loops were counted
            fmt(s["ttft"], 1),
            fmt(s.get("total"), 1),
        )
        for setting, s in scores.items()
    )
    blocks: list[Block] = [
        Para(
            f"Model: {data.get('model', '')}; corpus: {data.get('corpus', '')}. The fact "
            "questions of the corpus README through the jpagent ask pipeline, each RAG "
            "setting on the same questions."
        ),
        Table("Scores", head, rows),
        BarChart(
            "ask: quality per setting",
            ("char-F1", "gold in answer"),
            tuple((k, (num(s["f1"]), num(s["gold_in_answer"]))) for k, s in scores.items()),
            ylabel="score",
        ),
    ]
    if data.get("setup_seconds"):
        blocks.append(kv_table("Setup", data["setup_seconds"].items()))
    blocks.append(Settings("Settings", data.get("settings", {})))
    title = f"ask — sample corpus, {data.get('model', '')}"
    return make_section("ask", title, path, data, blocks)
