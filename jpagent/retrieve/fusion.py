"""Fusion of ranked lists: reciprocal rank fusion and normalised score fusion.

Plain functions over plain data. A *ranking* is a sequence of ids, best first; a *scored list*
is a sequence of ``(id, score)`` pairs, best first. Both functions return ``(id, fused_score)``
pairs, best first; ties are broken by the best rank the id reached in any input list, then by
the id itself, so results are deterministic.

- :func:`rrf` — reciprocal rank fusion (Cormack et al. 2009): ``sum_i w_i / (k + rank_i)``.
- :func:`score_fusion` — each list's scores normalised (min-max or z-score) then summed with
  weights; an id absent from a list gets that list's floor (see :func:`normalize_scores`).

The defaults a :class:`~jpagent.retrieve.retrievers.HybridRetriever` uses live in
:class:`~jpagent.retrieve.retrievers.HybridConfig`, with the numbers that chose them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

NORMALIZERS = ("minmax", "zscore")


def rrf(
    rankings: Sequence[Sequence[str]],
    k: float = 60,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ``rankings`` (each a sequence of ids, best first).

    ``score(id) = sum over lists of weight_i / (k + rank_i(id))`` with ranks starting at 1; a
    list that does not contain the id adds nothing. ``weights`` default to 1 for every list.
    Returns ``(id, score)`` pairs, best first.
    """
    weights = _weights(weights, len(rankings))
    if k < 0:
        raise ValueError(f"rrf: k must be >= 0, got {k}")
    fused: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:  # a duplicate later in one list does not count twice
                continue
            seen.add(doc_id)
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + rank)
            if rank < best_rank.get(doc_id, rank + 1):
                best_rank[doc_id] = rank
    return _sorted(fused, best_rank)


def normalize_scores(scores: Sequence[float], method: str = "minmax") -> list[float]:
    """Normalise one list's scores.

    ``minmax`` maps to [0, 1] (all-equal scores map to 1.0); ``zscore`` subtracts the mean and
    divides by the population standard deviation (all-equal scores map to 0.0).
    """
    if method not in NORMALIZERS:
        raise ValueError(f"unknown normaliser {method!r}; valid: {', '.join(NORMALIZERS)}")
    values = [float(s) for s in scores]
    if not values:
        return []
    if method == "minmax":
        lo, hi = min(values), max(values)
        if hi - lo <= 1e-12:
            return [1.0] * len(values)
        return [(v - lo) / (hi - lo) for v in values]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if std <= 1e-12:
        return [0.0] * len(values)
    return [(v - mean) / std for v in values]


def score_fusion(
    scored_lists: Sequence[Sequence[tuple[str, float]]],
    weights: Sequence[float] | None = None,
    method: str = "zscore",
) -> list[tuple[str, float]]:
    """Weighted sum of normalised scores from several ``(id, score)`` lists.

    Each list is normalised on its own with :func:`normalize_scores` (``method``). An id missing
    from a list receives that list's lowest normalised value (0 for min-max, the minimum z for
    z-score): it ranked below everything the list returned. For two lists, weights
    ``(1 - alpha, alpha)`` give the usual ``alpha``-weighted hybrid. Returns ``(id, score)``
    pairs, best first.
    """
    weights = _weights(weights, len(scored_lists))
    lists: list[tuple[list[str], list[float], float]] = []
    for scored in scored_lists:
        ids: list[str] = []
        raw: list[float] = []
        seen: set[str] = set()
        for doc_id, score in scored:
            if doc_id in seen:  # a duplicate later in one list does not count twice
                continue
            seen.add(doc_id)
            ids.append(doc_id)
            raw.append(float(score))
        norm = normalize_scores(raw, method)
        lists.append((ids, norm, min(norm) if norm else 0.0))
    # Every id starts from the sum of all floors; a list that holds it replaces its floor.
    base = sum(w * floor for (_, _, floor), w in zip(lists, weights, strict=True))
    fused: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    for (ids, norm, floor), w in zip(lists, weights, strict=True):
        for rank, (doc_id, value) in enumerate(zip(ids, norm, strict=True), start=1):
            fused[doc_id] = fused.get(doc_id, base) + w * (value - floor)
            if rank < best_rank.get(doc_id, rank + 1):
                best_rank[doc_id] = rank
    return _sorted(fused, best_rank)


def rank_map(ids: Sequence[str]) -> dict[str, int]:
    """``{id: rank}`` with ranks starting at 1 (first occurrence wins)."""
    out: dict[str, int] = {}
    for rank, doc_id in enumerate(ids, start=1):
        out.setdefault(doc_id, rank)
    return out


def _weights(weights: Sequence[float] | None, n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise ValueError(f"got {len(weights)} weights for {n} lists")
    return [float(w) for w in weights]


def _sorted(fused: Mapping[str, float], best_rank: Mapping[str, int]) -> list[tuple[str, float]]:
    return sorted(fused.items(), key=lambda kv: (-kv[1], best_rank[kv[0]], kv[0]))
