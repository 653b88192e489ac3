"""Incremental, crash-safe ingest into a :class:`~jpagent.index.kb.KnowledgeBase`.

Steps, under the folder's writer lock:

1. **Plan.** Walk the given files and folders. A file whose size and mtime match what
   ``docs.sqlite`` recorded (and whose chunk settings did not change) is skipped unread; one
   whose stat changed is hashed, and skipped if its content hash did not change. Files left
   ``pending`` by a killed ingest are redone.
2. **In batches:** load (``jpagent.loaders.load_many``; failures are collected with their
   reasons), chunk (``jpagent.text.chunk.chunk_document``) and analyze (BM25 terms) a few
   files at a time; once enough chunks are ready, embed them (through the knowledge base's
   embedder and its on-disk cache) and write them in this order:
   ``docs.sqlite`` transaction (the file's old documents and chunks replaced by the new ones,
   status ``pending``) → Chroma (old vectors deleted, new ones upserted) → ``docs.sqlite``
   transaction (status ``indexed``).
3. With ``sync=True``, documents of files that are gone (or no longer matched under a given
   folder) are removed: ``docs.sqlite`` first, then Chroma.
4. The BM25 index is rebuilt from the stored terms and swapped in atomically.

A kill at any point leaves ``docs.sqlite`` consistent; Chroma may hold extra vectors or
documents may be ``pending``; opening the knowledge base (or the next ingest) reconciles both,
so nothing is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from jpagent.index.docstore import FileRecord, NewDocument, PendingFile
from jpagent.index.manifest import config_to_json
from jpagent.loaders import DEFAULT_MAX_BYTES, Skipped, load_many, walk
from jpagent.text.chunk import chunk_document
from jpagent.types import Chunk, Document

if TYPE_CHECKING:
    from jpagent.index.kb import KnowledgeBase

logger = logging.getLogger(__name__)

EventHook = Callable[[str, dict[str, Any]], None]
"""``on_event(name, info)``: called after each durable step (``batch_pending``,
``batch_vectors``, ``batch_indexed``, ``removed``, ``bm25_written``, ``bm25_swapped``)."""

STAGES = ("load", "analyze", "embed", "write")


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did. File counts: one file gives one document for every format today.

    ``timings`` holds seconds per stage — ``load`` (walk, stat, hash, read and parse),
    ``analyze`` (chunking and BM25 terms), ``embed`` (loading the embedder and embedding),
    ``write`` (docs.sqlite, Chroma, BM25 rebuild) — and ``total`` (wall clock).
    """

    kb: str
    files: int
    added: int
    updated: int
    unchanged: int
    removed: int
    failed: tuple[Skipped, ...]
    chunks_added: int
    chunks_removed: int
    chunks_embedded: int
    documents_total: int
    chunks_total: int
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One English line for logs and the CLI."""
        t = self.timings
        return (
            f"{self.files} files: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed, {len(self.failed)} failed; "
            f"chunks +{self.chunks_added} -{self.chunks_removed} (total {self.chunks_total}); "
            f"{t.get('total', 0):.2f}s (load {t.get('load', 0):.2f}, analyze "
            f"{t.get('analyze', 0):.2f}, embed {t.get('embed', 0):.2f}, write "
            f"{t.get('write', 0):.2f})"
        )

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["failed"] = [f._asdict() for f in self.failed]
        return data


class _Todo(NamedTuple):
    source: str
    path: Path
    mtime_ns: int
    size: int
    record: FileRecord | None


class _Work(NamedTuple):
    """A loaded, chunked and analyzed file waiting to be embedded and written."""

    file: PendingFile
    new: bool  # the knowledge base did not know the file
    n_chunks: int


class _Counts:
    def __init__(self) -> None:
        self.added = self.updated = self.unchanged = self.removed = 0
        self.chunks_added = self.chunks_removed = self.chunks_embedded = 0
        self.failed: list[Skipped] = []
        self.timings = dict.fromkeys(STAGES, 0.0)


def chunk_fingerprint(kb: KnowledgeBase, tags: Sequence[str] = ()) -> str:
    """Fingerprint of the chunk settings and tags (a change re-chunks the document)."""
    counter = getattr(kb.token_counter, "name", None)
    raw = json.dumps(
        [config_to_json(kb.chunk_config), counter, sorted(tags)], sort_keys=True, default=str
    )
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def ingest(
    kb: KnowledgeBase,
    paths: str | Path | Sequence[str | Path],
    *,
    include: Sequence[str] = ("**/*",),
    exclude: Sequence[str] = (),
    sync: bool = False,
    progress: bool = True,
    tags: Sequence[str] = (),
    batch_files: int = 64,
    batch_chunks: int = 512,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_timeout: float = 1.0,
    on_event: EventHook | None = None,
) -> IngestReport:
    """Index ``paths`` (files and folders) into ``kb``; see the module docstring.

    ``include``/``exclude`` are glob patterns for folders (``jpagent.loaders.walk``);
    ``sync`` removes documents whose files are gone; ``tags`` are stored on every chunk of
    these files (``metadata["tags"]``, filterable in Chroma and by the retrievers; ingesting
    a file again with other tags re-tags it). Files are loaded and analyzed ``batch_files``
    at a time; once ``batch_chunks`` chunks (or the last files) are ready they are embedded
    and written as one batch — each Chroma write has a fixed cost of ~0.2 s, so batches are
    large; a crash loses at most one batch, and its embeddings are cached.
    ``lock_timeout`` is how long to wait for another process's writer before raising
    :class:`~jpagent.index.lock.KBLockedError` (another thread's ingest through the same
    object is waited for). ``on_event`` sees each durable step.
    """
    started = time.perf_counter()
    emit: EventHook = on_event or (lambda name, info: None)
    counts = _Counts()
    if isinstance(paths, str | Path):
        paths = [paths]
    roots = [Path(os.path.abspath(p)) for p in paths]
    tags = tuple(sorted({str(t) for t in tags}))
    with kb.writer(lock_timeout):
        t = time.perf_counter()
        kb._reconcile_locked()
        counts.timings["write"] += time.perf_counter() - t

        t = time.perf_counter()
        files = _walk(roots, include, exclude, counts.failed, skip=kb.path)
        todo = _plan(kb, files, counts, tags)
        counts.timings["load"] += time.perf_counter() - t

        step = max(1, batch_files)
        ready: list[_Work] = []
        with _progress_bar(progress, len(todo)) as advance:
            for start in range(0, len(todo), step):
                batch = todo[start : start + step]
                ready.extend(_prepare(kb, batch, counts, max_bytes, tags))
                if sum(w.n_chunks for w in ready) >= batch_chunks:
                    _write(kb, ready, counts, emit)
                    ready = []
                advance(len(batch))
            if ready:
                _write(kb, ready, counts, emit)

        t = time.perf_counter()
        if sync:
            _sync(kb, roots, set(files), counts, emit)
        if kb.rebuild_bm25_if_stale(before_swap=lambda: emit("bm25_written", {})):
            emit("bm25_swapped", {})
        _update_manifest(kb)
        counts.timings["write"] += time.perf_counter() - t

    counts.timings["total"] = time.perf_counter() - started
    report = IngestReport(
        kb=str(kb.path),
        files=len(files),
        added=counts.added,
        updated=counts.updated,
        unchanged=counts.unchanged,
        removed=counts.removed,
        failed=tuple(counts.failed),
        chunks_added=counts.chunks_added,
        chunks_removed=counts.chunks_removed,
        chunks_embedded=counts.chunks_embedded,
        documents_total=kb.store.count_documents("indexed"),
        chunks_total=kb.store.count_chunks(),
        timings={k: round(v, 4) for k, v in counts.timings.items()},
    )
    logger.info("ingest into %s: %s", kb.path, report.summary())
    return report


def _walk(
    roots: Iterable[Path],
    include: Sequence[str],
    exclude: Sequence[str],
    failed: list[Skipped],
    skip: Path,
) -> dict[str, Path]:
    """Source string → path of every file under ``roots``, in walk order, without repeats.

    Files inside the knowledge base folder ``skip`` itself are never ingested.
    """
    from jpagent.errors import LoaderError

    skip = Path(os.path.abspath(skip))
    files: dict[str, Path] = {}
    for root in roots:
        try:
            for path in walk(root, include, exclude):
                if not path.is_relative_to(skip):
                    files.setdefault(str(path), path)
        except LoaderError as exc:
            failed.append(Skipped(str(root), exc.message, exc.message_ja))
    return files


def _plan(
    kb: KnowledgeBase, files: dict[str, Path], counts: _Counts, tags: tuple[str, ...]
) -> list[_Todo]:
    """Files to (re)process; files unchanged by size and mtime are counted and left out."""
    known = kb.store.files()
    fingerprint = chunk_fingerprint(kb, tags)
    todo: list[_Todo] = []
    for source, path in files.items():
        try:
            st = path.stat()
        except OSError as exc:
            counts.failed.append(Skipped(source, f"{source}: cannot read ({exc.strerror})."))
            continue
        rec = known.get(source)
        if (
            rec is not None
            and rec.indexed
            and rec.chunk_fp == fingerprint
            and rec.mtime_ns == st.st_mtime_ns
            and rec.size == st.st_size
        ):
            counts.unchanged += 1
            continue
        todo.append(_Todo(source, path, st.st_mtime_ns, st.st_size, rec))
    # Files a killed ingest left pending are redone even when not named this time.
    for source in kb.store.sources_with_status("pending"):
        path = Path(source)
        if source not in files and path.is_file():
            st = path.stat()
            todo.append(_Todo(source, path, st.st_mtime_ns, st.st_size, known.get(source)))
    return todo


def _prepare(
    kb: KnowledgeBase,
    batch: Sequence[_Todo],
    counts: _Counts,
    max_bytes: int,
    tags: tuple[str, ...],
) -> list[_Work]:
    """Load (skipping files whose content hash did not change), chunk and analyze ``batch``."""
    timings = counts.timings
    fingerprint = chunk_fingerprint(kb, tags)

    t = time.perf_counter()
    to_load: list[tuple[_Todo, str]] = []
    for item in batch:
        try:
            digest = _file_hash(item.path)
        except OSError as exc:
            counts.failed.append(Skipped(item.source, f"{item.source}: cannot read ({exc})."))
            continue
        rec = item.record
        if rec and rec.indexed and rec.file_hash == digest and rec.chunk_fp == fingerprint:
            kb.store.touch(item.source, item.mtime_ns, item.size)
            counts.unchanged += 1
            continue
        to_load.append((item, digest))
    if not to_load:
        timings["load"] += time.perf_counter() - t
        return []
    loaded = load_many([item.path for item, _ in to_load], max_bytes=max_bytes)
    counts.failed.extend(loaded.skipped)
    skipped = {s.path for s in loaded.skipped}
    by_source: dict[str, list[Document]] = {}
    for doc in loaded.documents:
        by_source.setdefault(doc.source, []).append(doc)
    timings["load"] += time.perf_counter() - t

    t = time.perf_counter()
    work: list[_Work] = []
    for item, digest in to_load:
        if item.source in skipped:
            continue
        new_docs = []
        for doc in by_source.get(item.source, []):
            chunks = chunk_document(doc, kb.chunk_config, kb.token_counter)
            if tags:
                chunks = [replace(c, metadata={**c.metadata, "tags": list(tags)}) for c in chunks]
            terms = kb.analyzer.analyze_many([c.text for c in chunks])
            new_docs.append(NewDocument(doc, chunks, terms))
        file = PendingFile(item.source, digest, item.mtime_ns, item.size, fingerprint, new_docs)
        work.append(_Work(file, item.record is None, sum(len(d.chunks) for d in new_docs)))
    timings["analyze"] += time.perf_counter() - t
    return work


def _write(
    kb: KnowledgeBase,
    work: Sequence[_Work],
    counts: _Counts,
    emit: EventHook,
) -> None:
    """Embed the chunks of ``work``, then write: pending rows → vectors → indexed."""
    timings = counts.timings
    t = time.perf_counter()
    new_chunks: list[Chunk] = [c for w in work for d in w.file.documents for c in d.chunks]
    vectors = (
        kb.embedder.embed_documents([c.text for c in new_chunks])
        if new_chunks
        else np.zeros((0, 1), dtype=np.float32)
    )
    counts.chunks_embedded += len(new_chunks)
    timings["embed"] += time.perf_counter() - t

    t = time.perf_counter()
    sources = [w.file.source for w in work]
    old_ids = set(kb.store.chunk_ids_of_sources(sources))
    new_ids = {c.id for c in new_chunks}
    kb.store.write_pending([w.file for w in work])
    emit("batch_pending", {"files": sources})
    kb.vectors.delete(sorted(old_ids - new_ids))
    kb.vectors.upsert(new_chunks, vectors)
    emit("batch_vectors", {"files": sources})
    kb.store.mark_indexed(sources)
    emit("batch_indexed", {"files": sources})
    counts.added += sum(1 for w in work if w.new)
    counts.updated += sum(1 for w in work if not w.new)
    counts.chunks_added += len(new_ids - old_ids)
    counts.chunks_removed += len(old_ids - new_ids)
    timings["write"] += time.perf_counter() - t


def _sync(
    kb: KnowledgeBase, roots: Sequence[Path], seen: set[str], counts: _Counts, emit: EventHook
) -> None:
    """Remove documents whose file is gone, or that lie under a walked folder but were not
    found by this walk (deleted, or now excluded)."""
    folders = [r for r in roots if r.is_dir()]
    gone = []
    for source in kb.store.files():
        if source in seen:
            continue
        path = Path(source)
        if not path.exists() or any(path.is_relative_to(f) for f in folders):
            gone.append(source)
    if not gone:
        return
    old_ids = kb.store.chunk_ids_of_sources(gone)
    kb.store.delete_sources(gone)
    emit("removed", {"files": gone})
    kb.vectors.delete(old_ids)
    counts.removed += len(gone)
    counts.chunks_removed += len(old_ids)


def _update_manifest(kb: KnowledgeBase) -> None:
    manifest = kb.manifest
    embedder = dict(manifest.get("embedder") or {})
    chunk = config_to_json(kb.chunk_config)
    changes: dict[str, Any] = {}
    if kb.embedder_loaded and embedder.get("dim") is None:
        embedder.update(dim=int(kb.embedder.dim), name=str(kb.embedder.name))
        changes["embedder"] = embedder
    if manifest.get("chunk") != chunk:
        changes["chunk"] = chunk
    kb.save_manifest(**changes)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """A transient rich progress bar over files on stderr; yields ``advance(n)``."""
    if not enabled or total <= 0:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("Ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("files"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=total)
        yield lambda n: bar.advance(task, n)
