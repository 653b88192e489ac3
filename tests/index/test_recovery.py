"""An ingest killed (SIGKILL) at any point leaves a knowledge base that opens, answers from what
was committed, and finishes on the next run without duplicates."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from jpagent.index import KnowledgeBase, keyword
from jpagent.index.docstore import DocStore
from jpagent.index.vectors import VectorStore
from jpagent.loaders import load_many
from jpagent.text.chunk import chunk_document


def expected_ids(kb: KnowledgeBase, corpus: Path) -> set[str]:
    docs = load_many([corpus.absolute()]).documents
    return {c.id for doc in docs for c in chunk_document(doc, kb.chunk_config)}


def crash_state(kb_dir: Path) -> dict[str, object]:
    """What the killed ingest left, read without opening (and so repairing) the knowledge base."""
    store = DocStore(kb_dir / "docs.sqlite")
    vectors = VectorStore(kb_dir / "chroma")
    try:
        return {
            "pending": store.count_documents("pending"),
            "orphan_vectors": bool(vectors.all_ids() - store.indexed_chunk_ids()),
            "bm25_stale": keyword.stored_generation(kb_dir / "bm25") != store.generation(),
        }
    finally:
        store.close()
        vectors.close()


def check_recovered(kbt: SimpleNamespace, e5: object, kb_dir: Path, corpus: Path) -> None:
    # 1. it opens (reconciling), and what is indexed is consistent everywhere
    kb = KnowledgeBase.open(kb_dir, embedder=e5)
    indexed = kbt.assert_consistent(kb, complete=False)
    done = {c.source for c in kb.get_chunks(sorted(indexed))}
    # 2. searches answer from what was committed, and only from it
    for term, name in kbt.DISTINCT.items():
        hits = kb.bm25_query(kb.analyzer(term), k=3)
        sources = {c.source for c in kb.get_chunks([h[0] for h in hits])}
        if str(corpus / name) in done:
            assert str(corpus / name) in sources, term
        assert sources <= done
    vector = kb.embedder.embed_query("有給休暇は何日もらえますか")
    assert {i for i, _ in kb.dense_query(vector, k=10)} <= indexed
    # 3. the next ingest finishes the job, with every chunk exactly once
    report = kb.ingest([corpus], progress=False)
    assert report.failed == ()
    final = kbt.assert_consistent(kb)
    assert final == expected_ids(kb, corpus)
    assert report.documents_total == len(kbt.CORPUS)
    again = kb.ingest([corpus], progress=False)
    assert (again.chunks_added, again.unchanged) == (0, len(kbt.CORPUS))
    kb.close()


@pytest.mark.parametrize(
    ("event", "at", "left"),
    [
        # rows pending, no vectors yet
        ("batch_pending", 1, {"pending": 2, "orphan_vectors": False, "bm25_stale": True}),
        # batch 2's vectors written, its rows still pending
        ("batch_vectors", 2, {"pending": 2, "orphan_vectors": True, "bm25_stale": True}),
        # one batch committed, BM25 not rebuilt
        ("batch_indexed", 1, {"pending": 0, "orphan_vectors": False, "bm25_stale": True}),
        # new BM25 folder complete, pointer not switched
        ("bm25_written", 1, {"pending": 0, "orphan_vectors": False, "bm25_stale": True}),
        # everything but the manifest update
        ("bm25_swapped", 1, {"pending": 0, "orphan_vectors": False, "bm25_stale": False}),
    ],
)
def test_kill_at_each_step_then_recover(
    kbt: SimpleNamespace,
    e5: object,
    e5_cache: Path,
    tmp_path: Path,
    corpus: Path,
    event: str,
    at: int,
    left: dict[str, object],
) -> None:
    kb_dir = tmp_path / "kb"
    result = kbt.run_worker("ingest", str(kb_dir), str(corpus), str(e5_cache), event, str(at))
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert crash_state(kb_dir) == left  # the kill really left work for the recovery
    check_recovered(kbt, e5, kb_dir, corpus)


def test_kill_a_changing_reingest_then_recover(
    kbt: SimpleNamespace, e5: object, e5_cache: Path, tmp_path: Path, corpus: Path
) -> None:
    """Killed while replacing chunks of changed files: old chunks must not survive twice."""
    kb_dir = tmp_path / "kb"
    assert kbt.run_worker("ingest", str(kb_dir), str(corpus), str(e5_cache)).returncode == 0
    for name in ("猫.txt", "有給休暇.txt", "sub/パスワード.txt"):
        path = corpus / name
        path.write_text(path.read_text(encoding="utf-8") + "この項目は改定された。\n", "utf-8")
    result = kbt.run_worker("ingest", str(kb_dir), str(corpus), str(e5_cache), "batch_vectors", "1")
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    # two changed files pending: old chunks gone from docs.sqlite, new vectors not yet indexed
    assert crash_state(kb_dir) == {"pending": 2, "orphan_vectors": True, "bm25_stale": True}
    check_recovered(kbt, e5, kb_dir, corpus)


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_at_a_random_moment_then_recover(
    kbt: SimpleNamespace, e5: object, e5_cache: Path, tmp_path: Path, corpus: Path, seed: int
) -> None:
    kb_dir = tmp_path / "kb"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(kbt.HERE / "worker.py"),
            "ingest",
            str(kb_dir),
            str(corpus),
            str(e5_cache),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(random.Random(seed).uniform(0.0, 1.0))  # a cached ingest takes about 1 s
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    check_recovered(kbt, e5, kb_dir, corpus)
