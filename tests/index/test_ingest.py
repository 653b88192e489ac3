"""Incremental ingest: idempotency, replacement of changed files, sync, failures."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from jpagent.index import KnowledgeBase
from jpagent.loaders import load_many
from jpagent.text.chunk import chunk_document

ROOT = Path(__file__).resolve().parents[2]


def top_source(kb: KnowledgeBase, term: str) -> str | None:
    hits = kb.bm25_query(kb.analyzer(term), k=1)
    if not hits:
        return None
    return kb.get_chunks([hits[0][0]])[0].source


def test_ingest_then_reingest_adds_nothing(
    kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb")
    first = kb.ingest([corpus], progress=False)
    assert (first.added, first.updated, first.failed) == (len(kbt.CORPUS), 0, ())
    assert first.chunks_added == first.chunks_total > 0
    ids = kbt.assert_consistent(kb)
    for term, name in kbt.DISTINCT.items():
        assert top_source(kb, term) == str(corpus / name), term
    kb.close()

    # A new process-like open: nothing is loaded, embedded or rewritten the second time.
    kb = KnowledgeBase.open(tmp_path / "kb")
    second = kb.ingest([corpus], progress=False)
    assert (second.added, second.updated, second.unchanged) == (0, 0, len(kbt.CORPUS))
    assert (second.chunks_added, second.chunks_removed, second.chunks_embedded) == (0, 0, 0)
    assert not kb.embedder_loaded
    assert second.timings["total"] * 5 < first.timings["total"]
    assert kbt.assert_consistent(kb) == ids
    kb.close()


def test_chunk_ids_match_the_chunker(e5: object, tmp_path: Path, corpus: Path) -> None:
    """Chunk ids in the index are the chunker's content-hash ids (so they are reproducible)."""
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    expected = {
        c.id
        for doc in load_many([corpus.absolute()]).documents
        for c in chunk_document(doc, kb.chunk_config)
    }
    assert kb.store.indexed_chunk_ids() == expected
    chunks = kb.get_chunks(sorted(expected))
    assert [c.id for c in chunks] == sorted(expected)
    for c in chunks:
        assert Path(c.source).read_bytes()  # sources are real absolute paths
        assert Path(c.source).is_absolute()
    kb.close()


def test_changed_file_replaces_its_chunks(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    target = corpus / "猫.txt"
    old_ids = {c.id for c in kb.iter_chunks() if c.source == str(target)}
    target.write_text("事務所の黒猫はクロという名前で、ワンワンとは鳴かない。\n", encoding="utf-8")
    report = kb.ingest([corpus], progress=False)
    assert (report.added, report.updated, report.unchanged) == (0, 1, len(kbt.CORPUS) - 1)
    new_ids = {c.id for c in kb.iter_chunks() if c.source == str(target)}
    assert new_ids and not (new_ids & old_ids)
    assert report.chunks_removed == len(old_ids)
    indexed = kbt.assert_consistent(kb)
    assert not (old_ids & indexed)
    assert top_source(kb, "三毛") is None
    assert top_source(kb, "クロ") == str(target)
    kb.close()


def test_touched_file_with_same_content_is_not_reembedded(
    kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb")
    kb.ingest([corpus], progress=False)
    target = corpus / "有給休暇.txt"
    later = time.time_ns() + 5_000_000_000
    os.utime(target, ns=(later, later))
    kb.close()
    kb = KnowledgeBase.open(tmp_path / "kb")
    report = kb.ingest([corpus], progress=False)
    assert (report.updated, report.unchanged, report.chunks_embedded) == (0, len(kbt.CORPUS), 0)
    assert not kb.embedder_loaded
    kb.close()


def test_sync_removes_files_that_are_gone(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    (corpus / "sub" / "サーバ.md").unlink()
    kept = kb.ingest([corpus], progress=False)
    assert kept.removed == 0
    assert top_source(kb, "水曜") == str(corpus / "sub/サーバ.md")  # without sync it stays

    synced = kb.ingest([corpus], sync=True, progress=False)
    assert synced.removed == 1 and synced.chunks_removed >= 1
    assert top_source(kb, "水曜") is None
    assert synced.documents_total == len(kbt.CORPUS) - 1
    indexed = kbt.assert_consistent(kb)
    assert all(c.source != str(corpus / "sub/サーバ.md") for c in kb.get_chunks(sorted(indexed)))
    kb.close()


def test_sync_with_exclude_drops_now_excluded_files(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    report = kb.ingest([corpus], exclude=["sub/**"], sync=True, progress=False)
    assert report.removed == 2
    assert {c.source for c in kb.iter_chunks()} == {
        str(corpus / n) for n in kbt.CORPUS if not n.startswith("sub/")
    }
    kbt.assert_consistent(kb)
    kb.close()


def test_failed_files_are_listed_and_the_rest_indexed(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    (corpus / "空.txt").write_bytes(b"")
    (corpus / "画像.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (corpus / "壊れた.pdf").write_bytes(b"%PDF-1.4\n% not really a pdf\n" + b"\x00\xff" * 64)
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    report = kb.ingest([corpus, tmp_path / "存在しない"], progress=False)
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert set(failed) == {"空.txt", "画像.png", "壊れた.pdf", "存在しない"}
    assert all(reason for reason in failed.values())
    assert report.added == len(kbt.CORPUS)
    assert report.documents_total == len(kbt.CORPUS)
    kbt.assert_consistent(kb)
    kb.close()


def test_sample_corpus_all_formats(e5: object, kbt: SimpleNamespace, tmp_path: Path) -> None:
    """The project's sample corpus (txt in four encodings, md, html, csv, pdf, docx)."""
    sample = ROOT / "corpora" / "sample"
    if not sample.is_dir():
        pytest.fail("corpora/sample is missing")
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    report = kb.ingest([sample], progress=False)
    assert report.failed == ()
    assert report.added == len([p for p in sample.iterdir() if p.is_file()])
    kbt.assert_consistent(kb)
    # a CP932 file is searchable by its Japanese words (not mojibake)
    cp932 = str(sample.absolute() / "notice_2019_cp932.txt")
    sources = {c.source for c in kb.iter_chunks()}
    assert cp932 in sources
    again = kb.ingest([sample], progress=False)
    assert (again.unchanged, again.chunks_added) == (report.added, 0)
    kb.close()


def test_second_root_does_not_touch_the_first(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    other = kbt.write_corpus(
        tmp_path / "other", {"追加.txt": ("社内報は毎月発行される。\n", "utf-8")}
    )
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    report = kb.ingest([other], sync=True, progress=False)
    assert (report.added, report.removed) == (1, 0)
    assert report.documents_total == len(kbt.CORPUS) + 1
    kbt.assert_consistent(kb)
    kb.close()


def test_metadata_filters_and_tags(
    e5: object, kbt: SimpleNamespace, tmp_path: Path, corpus: Path
) -> None:
    hr = kbt.write_corpus(
        tmp_path / "hr", {"育児休業.txt": ("育児休業は子が1歳になるまで取得できる。\n", "utf-8")}
    )
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=e5)
    kb.ingest([corpus], progress=False)
    kb.ingest([hr], tags=["人事", "規程"], progress=False)
    vector = kb.embedder.embed_query("休暇や休業の取得条件")

    tagged = kb.dense_query(vector, k=10, where={"tags": {"$contains": "人事"}})
    assert {c.source for c in kb.get_chunks([i for i, _ in tagged])} == {str(hr / "育児休業.txt")}
    (chunk,) = kb.get_chunks([tagged[0][0]])
    assert chunk.metadata["tags"] == ["人事", "規程"]

    rules = str(corpus / "就業規則.md")
    by_source = kb.dense_query(vector, k=10, where={"source": rules})
    chunks = kb.get_chunks([i for i, _ in by_source])
    assert chunks and {c.source for c in chunks} == {rules}
    work_hours = next(c for c in chunks if "始業" in c.text)
    assert work_hours.metadata["heading_path"] == ["第1章 総則", "第2条 勤務時間"]
    assert (
        work_hours.text
        == Path(rules).read_text(encoding="utf-8")[work_hours.start : work_hours.end]
    )
    by_heading = kb.dense_query(vector, k=10, where={"heading_path": "第1章 総則 > 第2条 勤務時間"})
    assert [i for i, _ in by_heading] == [work_hours.id]

    allowed = {work_hours.id}
    assert [i for i, _ in kb.dense_query(vector, k=5, allowed_ids=allowed)] == [work_hours.id]
    assert kb.bm25_query(kb.analyzer("始業の時刻"), k=5, allowed_ids=allowed)[0][0] == work_hours.id
    scores = [s for _, s in kb.dense_query(vector, k=10)]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)

    # re-ingesting with other tags re-tags without re-embedding anything new
    report = kb.ingest([hr], tags=["総務"], progress=False)
    assert report.updated == 1
    (chunk,) = kb.get_chunks([tagged[0][0]])
    assert chunk.metadata["tags"] == ["総務"]
    assert kb.dense_query(vector, k=10, where={"tags": {"$contains": "人事"}}) == []

    stats = kb.stats()
    assert (stats["documents"], stats["files"]) == (len(kbt.CORPUS) + 1, len(kbt.CORPUS) + 1)
    assert stats["chunks"] == stats["vectors"] == stats["bm25_chunks"] > 0
    assert all(stats["sizes_bytes"][k] > 0 for k in ("docs_sqlite", "chroma", "bm25"))
    assert stats["embedder"]["dim"] == 384
    kb.close()
