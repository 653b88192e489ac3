"""Fusion functions on hand-computed tables."""

from __future__ import annotations

import math

import pytest

from jpagent.retrieve.fusion import normalize_scores, rank_map, rrf, score_fusion
from jpagent.retrieve.retrievers import HybridConfig, fuse


def _close(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [d for d, _ in got] == [d for d, _ in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        assert a == pytest.approx(b)


@pytest.mark.parametrize(
    ("rankings", "k", "weights", "want"),
    [
        # 東京 is 1st and 2nd: 1/61 + 1/62; 大阪 2nd and 1st: same sum -> tie broken by best rank
        # (both 1) then id; 京都 only in list one at rank 3.
        (
            [["東京", "大阪", "京都"], ["大阪", "東京"]],
            60,
            None,
            [("大阪", 1 / 62 + 1 / 61), ("東京", 1 / 61 + 1 / 62), ("京都", 1 / 63)],
        ),
        # k=0: 1/rank; second list weighted 2. a and c tie at 1.0: a reached rank 1, c rank 2.
        (
            [["a", "b"], ["b", "c"]],
            0,
            [1.0, 2.0],
            [("b", 1 / 2 + 2 / 1), ("a", 1.0), ("c", 2 / 2)],
        ),
        # A duplicate inside one list counts once (its first rank).
        ([["x", "x", "y"]], 1, None, [("x", 1 / 2), ("y", 1 / 4)]),
        # An empty list adds nothing.
        ([[], ["q"]], 60, None, [("q", 1 / 61)]),
    ],
)
def test_rrf_table(rankings, k, weights, want) -> None:
    _close(rrf(rankings, k=k, weights=weights), want)


def test_rrf_rejects_wrong_weight_count() -> None:
    with pytest.raises(ValueError, match="weights"):
        rrf([["a"], ["b"]], weights=[1.0])


@pytest.mark.parametrize(
    ("scores", "method", "want"),
    [
        ([3.0, 1.0, 2.0], "minmax", [1.0, 0.0, 0.5]),
        ([5.0, 5.0], "minmax", [1.0, 1.0]),
        ([1.0, 3.0], "zscore", [-1.0, 1.0]),
        ([2.0, 2.0, 2.0], "zscore", [0.0, 0.0, 0.0]),
        ([], "zscore", []),
    ],
)
def test_normalize_scores(scores, method, want) -> None:
    assert normalize_scores(scores, method) == pytest.approx(want)


def test_normalize_unknown_method() -> None:
    with pytest.raises(ValueError, match="minmax"):
        normalize_scores([1.0], "softmax")


def test_score_fusion_minmax_alpha() -> None:
    bm25 = [("就業規則", 12.0), ("有給休暇", 6.0), ("通勤手当", 0.0)]
    dense = [("有給休暇", 0.9), ("育児休業", 0.7), ("就業規則", 0.5)]
    # minmax: bm25 -> 1, .5, 0 ; dense -> 1, .5, 0 ; missing -> 0. alpha (dense) = 0.75.
    got = score_fusion([bm25, dense], weights=[0.25, 0.75], method="minmax")
    want = [
        ("有給休暇", 0.25 * 0.5 + 0.75 * 1.0),
        ("育児休業", 0.75 * 0.5),
        ("就業規則", 0.25 * 1.0),
        ("通勤手当", 0.0),
    ]
    _close(got, want)


def test_score_fusion_zscore_missing_gets_list_minimum() -> None:
    a = [("x", 3.0), ("y", 1.0)]  # z: x=1, y=-1
    b = [("y", 10.0), ("z", 10.0)]  # all equal: z-scores 0
    got = dict(score_fusion([a, b], method="zscore"))
    assert got["x"] == pytest.approx(1.0 + 0.0)  # missing from b -> b's minimum (0)
    assert got["y"] == pytest.approx(-1.0 + 0.0)
    assert got["z"] == pytest.approx(-1.0 + 0.0)  # missing from a -> a's minimum (-1)


def test_fuse_uses_config() -> None:
    bm25 = [("a", 5.0), ("b", 4.0)]
    dense = [("b", 0.9), ("c", 0.8), ("d", 0.1)]
    plain = fuse(bm25, dense, HybridConfig(method="rrf", rrf_k=60, rrf_dense_weight=0.5))
    assert [d for d, _ in plain] == ["b", "a", "c", "d"]
    assert plain[0][1] == pytest.approx(0.5 / 62 + 0.5 / 61)
    dense_only = fuse(bm25, dense, HybridConfig(method="score", normalizer="minmax", alpha=1.0))
    assert [d for d, _ in dense_only][:2] == ["b", "c"]
    bm25_only = fuse(bm25, dense, HybridConfig(method="score", normalizer="minmax", alpha=0.0))
    assert [d for d, _ in bm25_only][:2] == ["a", "b"]


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "max"}, {"normalizer": "l2"}, {"alpha": 1.5}, {"candidates": 0}],
)
def test_hybrid_config_validates(kwargs) -> None:
    with pytest.raises(ValueError):
        HybridConfig(**kwargs)


def test_rank_map_first_occurrence() -> None:
    assert rank_map(["a", "b", "a"]) == {"a": 1, "b": 2}
    assert not math.isnan(sum(rank_map(["x"]).values()))
