"""The BM25 store: versioned folders, atomic pointer swap, filters, empty indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.index import keyword
from jpagent.text.morph import Analyzer

TEXTS = {
    "a": "東京都に住んでいます。",
    "b": "大阪府の天気は晴れです。",
    "c": "ニャーニャーと鳴く猫が東京の事務所にいる。",
    "d": "",
}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def build(root: Path, analyzer: Analyzer, generation: int = 1) -> keyword.KeywordIndex:
    ids = list(TEXTS)
    keyword.build(root, ids, analyzer.analyze_many(TEXTS.values()), generation)
    return keyword.load(root)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("東京に住む", ["a", "c"]),  # a sentence is many terms, not one token
        ("大阪", ["b"]),
        ("ニャーニャーと鳴く", ["c"]),
        ("猫", ["c"]),
        ("存在しない語彙", []),
        ("", []),
    ],
)
def test_query_ranks_by_japanese_terms(
    tmp_path: Path, analyzer: Analyzer, query: str, expected: list[str]
) -> None:
    index = build(tmp_path, analyzer)
    hits = index.query(analyzer(query), k=10)
    assert [i for i, _ in hits] == expected
    assert all(score > 0 for _, score in hits)


def test_allowed_ids_restrict_candidates(tmp_path: Path, analyzer: Analyzer) -> None:
    index = build(tmp_path, analyzer)
    assert [i for i, _ in index.query(analyzer("東京"), 10, allowed_ids={"c"})] == ["c"]
    assert index.query(analyzer("東京"), 10, allowed_ids={"b"}) == []
    assert index.query(analyzer("東京"), 10, allowed_ids=set()) == []


def test_rebuild_swaps_and_cleans_up(tmp_path: Path, analyzer: Analyzer) -> None:
    first = build(tmp_path, analyzer, generation=1)
    (tmp_path / "tmp-deadbeef").mkdir()  # left by a build killed before its rename
    keyword.build(tmp_path, ["x"], [analyzer("京都の寺")], 2)
    assert keyword.stored_generation(tmp_path) == 2
    second = keyword.load(tmp_path)
    assert [i for i, _ in second.query(analyzer("京都"), 5)] == ["x"]
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [
        keyword.current_dir(tmp_path).name
    ]
    # the old index object keeps answering (memory-mapped files stay readable)
    assert [i for i, _ in first.query(analyzer("大阪"), 5)] == ["b"]


def test_empty_and_missing(tmp_path: Path) -> None:
    assert keyword.load(tmp_path / "none") is keyword.EMPTY
    assert keyword.stored_generation(tmp_path / "none") is None
    keyword.build(tmp_path, [], [], 7)
    index = keyword.load(tmp_path)
    assert (index.generation, index.query(["東京"], 5)) == (7, [])
