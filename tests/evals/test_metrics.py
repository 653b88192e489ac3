"""Ranking metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from jpagent.evals.metrics import (
    budget_hit,
    fit_budget,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)

RANKED = ["p3", "p1", "p7", "p2"]


@pytest.mark.parametrize(
    ("relevant", "k", "hit", "recall", "mrr", "ndcg"),
    [
        ({"p3"}, 10, 1.0, 1.0, 1.0, 1.0),
        ({"p1"}, 10, 1.0, 1.0, 0.5, 1 / math.log2(3)),
        ({"p1"}, 1, 0.0, 0.0, 0.0, 0.0),
        ({"p2"}, 10, 1.0, 1.0, 0.25, 1 / math.log2(5)),
        ({"p9"}, 10, 0.0, 0.0, 0.0, 0.0),
        # two relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
        (
            {"p1", "p2"},
            10,
            1.0,
            1.0,
            0.5,
            (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)),
        ),
        ({"p1", "p2"}, 2, 1.0, 0.5, 0.5, (1 / math.log2(3)) / (1 + 1 / math.log2(3))),
    ],
)
def test_rank_metrics(relevant, k, hit, recall, mrr, ndcg) -> None:
    assert hit_at_k(RANKED, relevant, k) == hit
    assert recall_at_k(RANKED, relevant, k) == pytest.approx(recall)
    assert mrr_at_k(RANKED, relevant, k) == pytest.approx(mrr)
    assert ndcg_at_k(RANKED, relevant, k) == pytest.approx(ndcg)


def test_ndcg_counts_relevant_items_not_retrieved() -> None:
    # One relevant retrieved at rank 1, but three exist: IDCG = 1 + 1/log2(3) + 1/2.
    want = 1.0 / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(["a", "x"], {"a"}, 10, n_relevant=3) == pytest.approx(want)


@pytest.mark.parametrize(
    ("lengths", "budget", "fits"),
    [
        ([400, 400, 400], 1000, 2),
        ([400, 600, 100], 1000, 2),  # exactly full
        ([1200, 100], 1000, 0),  # the first chunk alone overflows: nothing fits
        ([300, 900, 100], 1000, 1),  # stops at the first overflow, no skipping ahead
        ([], 1000, 0),
    ],
)
def test_fit_budget(lengths, budget, fits) -> None:
    assert fit_budget(lengths, budget) == fits


def test_budget_hit() -> None:
    assert budget_hit([False, True], [500, 500], 1000) == 1.0
    assert budget_hit([False, True], [500, 501], 1000) == 0.0
    assert budget_hit([True], [2500], 2000) == 0.0
