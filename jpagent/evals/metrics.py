"""Ranking metrics with binary relevance: recall/hit@k, MRR@k, nDCG@k, answer-hit in a budget.

``ranked`` is a list of ids, best first; ``relevant`` the set of relevant ids. Ranks start at 1.
With one relevant id per question (paragraph mode), recall@k equals hit@k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def first_rank(ranked: Sequence[str], relevant: set[str] | frozenset[str]) -> int | None:
    """Rank of the first relevant id, or None."""
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            return rank
    return None


def recall_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Share of relevant ids found in the top ``k`` (0.0 when nothing is relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def hit_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """1.0 if any relevant id is in the top ``k``."""
    rank = first_rank(ranked[:k], relevant)
    return 0.0 if rank is None else 1.0


def mrr_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Reciprocal rank of the first relevant id within the top ``k`` (0.0 if none)."""
    rank = first_rank(ranked[:k], relevant)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(
    ranked: Sequence[str],
    relevant: set[str] | frozenset[str],
    k: int,
    n_relevant: int | None = None,
) -> float:
    """Binary nDCG@k: ``sum rel_i / log2(i + 1)`` over the ideal ordering's value.

    ``n_relevant`` is how many relevant items exist in the collection (default
    ``len(relevant)``); the ideal ranking puts ``min(n_relevant, k)`` of them first.
    """
    total = len(relevant) if n_relevant is None else n_relevant
    if total <= 0:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant and doc_id not in seen:
            dcg += 1.0 / math.log2(i + 1)
            seen.add(doc_id)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(total, k) + 1))
    return dcg / ideal


def fit_budget(lengths: Sequence[int], budget: int) -> int:
    """How many of the ranked chunks, taken in order, fit in ``budget`` characters.

    Chunks are taken best first while the running total stays within the budget; the first one
    that would overflow ends the context (a prompt holds a prefix of the ranking).
    """
    total = 0
    for n, length in enumerate(lengths):
        total += length
        if total > budget:
            return n
    return len(lengths)


def budget_hit(hits: Sequence[bool], lengths: Sequence[int], budget: int) -> float:
    """1.0 if a relevant chunk is among those that fit in ``budget`` characters."""
    n = fit_budget(lengths, budget)
    return 1.0 if any(hits[:n]) else 0.0


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (0.0 for no values)."""
    return sum(values) / len(values) if values else 0.0
