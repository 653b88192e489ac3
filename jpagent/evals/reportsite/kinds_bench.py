"""Renderers for the benchmarks in ``evals/``: loaders, chunking, ingest, query latency.

Each takes the file's path and its parsed JSON and returns a
:class:`~jpagent.evals.reportsite.model.Section`; a missing field raises, and the caller then
falls back to the generic renderer and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jpagent.evals.reportsite.generic import fmt, kv_table, make_section, num, pct
from jpagent.evals.reportsite.model import BarChart, Block, Para, Section, Settings, Table


def _jpagent(names: list[str]) -> frozenset[str]:
    return frozenset(n for n in names if n.lower().startswith("jpagent"))


def _systems(row: Mapping[str, Any]) -> list[str]:
    """Keys of a row whose value is one system's outcome (an object with ``outcome``)."""
    return [k for k, v in row.items() if isinstance(v, Mapping) and "outcome" in v]


def _outcome(cell: Mapping[str, Any]) -> str:
    error = str(cell.get("error") or "").split(":")[0]
    return f"{cell['outcome']} ({error})" if error else str(cell["outcome"])


def render_loaders(path: Path, data: Mapping[str, Any]) -> Section:
    """``loaders-<date>.json`` (``evals/bench_loaders.py``)."""
    files = list(data["files"])
    systems = _systems(files[0])
    right = {
        s: sum(
            1
            for f in files
            if (f[s]["outcome"] == "correct") == (f.get("expected") != "error")
            and f[s]["outcome"] in ("correct", "error")
        )
        for s in systems
    }
    blocks: list[Block] = [
        Table(
            "Legacy-encoded files: outcome per loader",
            ("file", "expected", *systems),
            tuple(
                (str(f["file"]), str(f.get("expected", "")), *(_outcome(f[s]) for s in systems))
                for f in files
            ),
            note="Right outcome: "
            + ", ".join(f"{s} {right[s]}/{len(files)}" for s in systems)
            + ". (The expected outcome of a file marked error is a clear error.)",
        ),
        BarChart(
            f"Files decoded right (of {len(files)})",
            ("right outcome",),
            tuple((s, (float(right[s]),)) for s in systems),
            ylabel="files",
            highlight=_jpagent(systems),
        ),
    ]
    pdf = list(data.get("pdf") or [])
    if pdf:
        engines = _systems(pdf[0])
        blocks.append(
            Table(
                "PDF text extraction (CID fonts)",
                ("font", *engines),
                tuple(
                    (str(p.get("font", "")), *(str(p[e]["outcome"]) for e in engines)) for p in pdf
                ),
                note=f"Expected line: {pdf[0].get('expected', '')}",
            )
        )
    detection: Mapping[str, Mapping[str, Any]] = data.get("detection") or {}
    if detection:
        first = next(iter(detection.values()))
        detectors = [k for k in first if k != "n" and not k.endswith("_seconds")]
        labels = list(detection)
        blocks += [
            Table(
                "Encoding detection accuracy on JSQuAD text (share decoded exactly)",
                ("text / encoding", "n", *detectors),
                tuple(
                    (str(k), fmt(v.get("n")), *(fmt(v.get(d)) for d in detectors))
                    for k, v in detection.items()
                ),
            ),
            BarChart(
                "Encoding detection accuracy",
                tuple(labels),
                tuple((d, tuple(num(detection[k].get(d)) for k in labels)) for d in detectors),
                ylabel="share decoded exactly",
                highlight=_jpagent(detectors),
            ),
        ]
    if data.get("versions"):
        blocks.append(kv_table("Versions", data["versions"].items()))
    return make_section("loaders", "Loader decoding benchmark", path, data, blocks)


_CHUNK_COLUMNS = (
    ("system", "system", fmt),
    ("budget", "budget", fmt),
    ("chunks", "chunks", fmt),
    ("mean_chars", "chars/chunk", fmt),
    ("mean_qwen_tokens", "Qwen tok/chunk", fmt),
    ("max_qwen_tokens", "max Qwen tok", fmt),
    ("sentence_boundary", "ends at sentence", pct),
    ("answer_not_in_any_chunk", "answer in no chunk", pct),
    ("answer_edge_inside", "edge inside answer", pct),
    ("answer_sentence_in_no_chunk", "answer sentence in no chunk", pct),
    ("chars_per_s", "chars/s", fmt),
)
_CHUNK_ERRORS = (
    ("answer_edge_inside", "edge inside answer"),
    ("answer_sentence_in_no_chunk", "answer sentence in no chunk"),
    ("answer_not_in_any_chunk", "answer in no chunk"),
)


def render_chunking(path: Path, data: Mapping[str, Any]) -> Section:
    """``chunking-<date>.json`` (``evals/bench_chunking.py``)."""
    rows = list(data["rows"])
    columns = [c for c in _CHUNK_COLUMNS if c[0] in rows[0]]
    blocks: list[Block] = [
        Para(
            f"Data: {data.get('data', '')} — {fmt(data.get('articles'))} articles, "
            f"{fmt(data.get('chars'))} characters, {fmt(data.get('answers'))} answer spans "
            f"({fmt(data.get('answers_skipped'))} left out); "
            f"{fmt(data.get('qwen_chars_per_token'))} characters per Qwen token."
        ),
        Table(
            "Chunkers",
            tuple(c[1] for c in columns),
            tuple(tuple(f(r.get(key)) for key, _, f in columns) for r in rows),
        ),
    ]
    for budget in dict.fromkeys(r.get("budget") for r in rows):
        group = [r for r in rows if r.get("budget") == budget and budget]
        if not group:
            continue
        names = [str(r["system"]) for r in group]
        blocks.append(
            BarChart(
                f"Chunk boundaries against answers, budget {budget} (lower is better)",
                tuple(label for _, label in _CHUNK_ERRORS),
                tuple(
                    (n, tuple(_times100(r.get(k)) for k, _ in _CHUNK_ERRORS))
                    for n, r in zip(names, group, strict=True)
                ),
                ylabel="% of answers",
                highlight=_jpagent(names),
            )
        )
    for key, title in (
        ("analyzer", "BM25 analyzer vs bare fugashi"),
        ("estimate_calibration", "Estimate token counter vs Qwen2.5"),
        ("tokenizers", "Budget units"),
        ("versions", "Versions"),
    ):
        if isinstance(data.get(key), Mapping):
            blocks.append(kv_table(title, data[key].items()))
    return make_section("chunking", "Chunking benchmark", path, data, blocks)


def _times100(value: Any) -> float | None:
    v = num(value)
    return None if v is None else v * 100


_STAGES = ("load", "analyze", "embed", "write")


def render_ingest(path: Path, data: Mapping[str, Any]) -> Section:
    """``ingest-<date>.json`` (``evals/bench_ingest.py``)."""
    runs: Mapping[str, Mapping[str, Any]] = data["runs"]
    rows = []
    for name, run in runs.items():
        report = run["report"]
        t = report["timings"]
        rows.append(
            (
                str(name),
                *(fmt(t.get(s), 2) for s in _STAGES),
                fmt(t.get("total"), 2),
                fmt(run.get("open_seconds"), 1),
                f"{report.get('added')}/{report.get('updated')}/{report.get('unchanged')}",
                fmt(report.get("chunks_embedded")),
                fmt(run.get("peak_rss_mb"), 0),
            )
        )
    names = list(runs)
    targets = data.get("targets") or {}
    met = data.get("met") or {}
    blocks: list[Block] = [
        Table(
            "Runs (seconds of kb.ingest(); open = opening the knowledge base)",
            (
                "run",
                *(f"{s} s" for s in _STAGES),
                "total s",
                "open s",
                "added/updated/unchanged",
                "chunks embedded",
                "peak RSS MiB",
            ),  # fmt: skip
            tuple(rows),
        ),
        BarChart(
            "Ingest time per stage (log scale)",
            tuple(names),
            tuple(
                (s, tuple(num(runs[n]["report"]["timings"].get(s)) for n in names))
                for s in (*_STAGES, "total")
            ),
            ylabel="seconds",
            highlight=frozenset({"total"}),
            log_scale=True,
        ),
        kv_table(
            "Targets",
            [
                ("framework seconds (all but embedding)", data.get("framework_seconds")),
                ("framework overhead share", pct(data.get("framework_overhead_share"))),
                ("target: overhead share below", pct(targets.get("framework_overhead_share_max"))),
                ("re-ingest speed-up", f"{fmt(data.get('reingest_speedup'), 1)}×"),
                ("target: speed-up at least", f"{fmt(targets.get('reingest_speedup_min'))}×"),
                ("embedding rate (chunks/s)", data.get("embedding_rate_chunks_per_s")),
                *((f"met: {k}", v) for k, v in met.items()),
            ],
        ),
        Settings(
            "Corpus and machine", {"corpus": data.get("corpus"), "machine": data.get("machine")}
        ),
    ]
    return make_section("ingest", "Ingest benchmark", path, data, blocks)


def render_latency(path: Path, data: Mapping[str, Any]) -> Section:
    """``latency-<date>.json`` (``evals/bench_latency.py``)."""
    query = data["query"]
    latency: Mapping[str, Mapping[str, Any]] = query["latency"]
    ops = list(latency)
    stats = ("p50_ms", "p95_ms", "mean_ms", "max_ms")
    blocks: list[Block] = [
        Para(
            f"{fmt(query.get('queries'))} queries over {fmt(query.get('chunks'))} chunks "
            f"(opening the knowledge base: {fmt(query.get('open_seconds'), 1)} s; "
            f"search process peak RSS {fmt(query.get('peak_rss_mb'), 0)} MiB)."
        ),
        Table(
            "Query latency",
            ("operation", "p50 ms", "p95 ms", "mean ms", "max ms"),
            tuple((op, *(fmt(latency[op].get(s), 2) for s in stats)) for op in ops),
        ),
        BarChart(
            "Query latency per operation (log scale)",
            tuple(ops),
            tuple(
                (s.removesuffix("_ms"), tuple(num(latency[o].get(s)) for o in ops))
                for s in stats[:2]
            ),
            ylabel="milliseconds",
            log_scale=True,
            horizontal=True,
        ),
        kv_table(
            "Target",
            [
                (
                    "worst p95 ms without the query embedding",
                    data.get("worst_p95_ms_without_query_embedding"),
                ),
                ("target p95 ms", data.get("target_p95_ms")),
                ("met", data.get("met")),
            ],
        ),
    ]
    build = data.get("build")
    if isinstance(build, Mapping) and isinstance(build.get("report"), Mapping):
        timings = build["report"].get("timings") or {}
        blocks.append(
            kv_table(
                "Build of the scaled corpus (seconds)",
                [*timings.items(), ("peak RSS MiB", build.get("peak_rss_mb"))],
            )
        )
    blocks.append(
        Settings(
            "Corpus, vectors and machine",
            {
                "corpus": data.get("corpus"),
                "vectors": data.get("vectors"),
                "hybrid": query.get("hybrid_config"),
                "machine": data.get("machine"),
            },
        )
    )
    return make_section("latency", "Query latency benchmark", path, data, blocks)
