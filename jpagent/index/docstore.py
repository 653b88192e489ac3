"""``docs.sqlite``: the knowledge base's source of truth.

Two tables. ``documents`` has one row per loaded Document with the facts of the file it came
from (content hash, mtime, size), the fingerprint of the chunk settings it was chunked with and
a ``status``: ``pending`` while its chunks are being written to Chroma, ``indexed`` once they
all are. ``chunks`` holds each chunk's text, offsets, metadata and analyzer terms (so the BM25
index can be rebuilt without running MeCab again).

Every change happens in one SQLite transaction (WAL journal), and the ``generation`` counter in
``meta`` goes up with every change to the set of indexed chunks; the BM25 index records the
generation it was built from, which is how a stale BM25 index is recognised.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from jpagent.types import Chunk, Document

SCHEMA_VERSION = 1

PENDING = "pending"
INDEXED = "indexed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id     TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    file_hash  TEXT NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    chunk_fp   TEXT NOT NULL,
    status     TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    updated    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_status ON documents(status);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id     TEXT PRIMARY KEY,
    doc_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    start_char   INTEGER NOT NULL,
    end_char     INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    terms        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, seq);
"""


class FileRecord(NamedTuple):
    """What the store knows about one source file (all its documents together)."""

    source: str
    file_hash: str
    mtime_ns: int
    size: int
    chunk_fp: str
    indexed: bool  # every document of the file has status ``indexed``


class NewDocument(NamedTuple):
    """A document to write, with its chunks and each chunk's analyzer terms."""

    document: Document
    chunks: Sequence[Chunk]
    terms: Sequence[Sequence[str]]


class PendingFile(NamedTuple):
    """A source file's facts and the documents it now gives (possibly none)."""

    source: str
    file_hash: str
    mtime_ns: int
    size: int
    chunk_fp: str
    documents: Sequence[NewDocument]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class DocStore:
    """A connection to ``docs.sqlite``, usable from several threads.

    One connection serves every thread of the process; a lock makes each read, and each
    transaction as a whole, run alone on it (so a reader never sees a transaction half done).
    The statements take well under a millisecond, so readers barely wait, and a web app's
    threads (Streamlit runs each rerun in a new one) open no connection of their own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self.transaction():
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', '0')")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if the block raises. Other threads
        wait for it to end."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one read, run alone on the connection."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of one read."""
        return self._rows(sql, params)[0][0]

    # ------------------------------------------------------------------ meta

    def generation(self) -> int:
        """The counter that changes with every change to the set of indexed chunks."""
        return int(self._value("SELECT value FROM meta WHERE key='generation'"))

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    # ----------------------------------------------------------------- reads

    def files(self) -> dict[str, FileRecord]:
        """Every known source file, keyed by its source path."""
        out: dict[str, FileRecord] = {}
        rows = self._rows(
            "SELECT source, file_hash, mtime_ns, size, chunk_fp, "
            "MIN(status = 'indexed') FROM documents GROUP BY source"
        )
        for source, file_hash, mtime_ns, size, chunk_fp, indexed in rows:
            out[source] = FileRecord(source, file_hash, mtime_ns, size, chunk_fp, bool(indexed))
        return out

    def chunk_ids_of_sources(self, sources: Iterable[str]) -> list[str]:
        """Ids of all chunks (any status) of the documents from ``sources``."""
        out: list[str] = []
        for source in sources:
            rows = self._rows(
                "SELECT c.chunk_id FROM chunks c JOIN documents d ON c.doc_id = d.doc_id "
                "WHERE d.source = ?",
                (source,),
            )
            out.extend(r[0] for r in rows)
        return out

    def indexed_chunk_ids(self) -> set[str]:
        rows = self._rows(
            "SELECT c.chunk_id FROM chunks c JOIN documents d ON c.doc_id = d.doc_id "
            "WHERE d.status = 'indexed'"
        )
        return {r[0] for r in rows}

    def count_documents(self, status: str | None = INDEXED) -> int:
        if status is None:
            return self._value("SELECT COUNT(*) FROM documents")
        return self._value("SELECT COUNT(*) FROM documents WHERE status = ?", (status,))

    def count_chunks(self) -> int:
        """Chunks of indexed documents."""
        return self._value(
            "SELECT COUNT(*) FROM chunks c JOIN documents d ON c.doc_id = d.doc_id "
            "WHERE d.status = 'indexed'"
        )

    def count_sources(self) -> int:
        return self._value("SELECT COUNT(DISTINCT source) FROM documents")

    def sources_of_chunks(self, ids: Iterable[str]) -> list[str]:
        """The distinct source files the chunks with these ids come from."""
        out: set[str] = set()
        items = list(ids)
        for i in range(0, len(items), 500):
            part = items[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._rows(
                "SELECT DISTINCT d.source FROM chunks c JOIN documents d ON c.doc_id = d.doc_id "
                f"WHERE c.chunk_id IN ({marks})",
                part,
            )
            out.update(r[0] for r in rows)
        return sorted(out)

    def sources_with_status(self, status: str) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT source FROM documents WHERE status = ? ORDER BY source", (status,)
        )
        return [r[0] for r in rows]

    def indexed_terms(self) -> tuple[list[str], list[list[str]]]:
        """Ids and analyzer terms of every indexed chunk, in a fixed order (for BM25)."""
        ids: list[str] = []
        terms: list[list[str]] = []
        rows = self._rows(
            "SELECT c.chunk_id, c.terms FROM chunks c JOIN documents d ON c.doc_id = d.doc_id "
            "WHERE d.status = 'indexed' ORDER BY d.source, d.doc_id, c.seq"
        )
        for chunk_id, raw in rows:
            ids.append(chunk_id)
            terms.append(json.loads(raw))
        return ids, terms

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in the given order; unknown ids are left out."""
        found: dict[str, Chunk] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._rows(
                "SELECT c.chunk_id, c.doc_id, c.text, c.start_char, c.end_char, d.source, "
                "c.content_hash, c.metadata FROM chunks c JOIN documents d "
                f"ON c.doc_id = d.doc_id WHERE c.chunk_id IN ({marks})",
                part,
            )
            for row in rows:
                found[row[0]] = _chunk(row)
        return [found[i] for i in ids if i in found]

    def iter_chunks(self, batch: int = 1000) -> Iterator[Chunk]:
        """Every chunk of every indexed document, by source then position."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT c.chunk_id, c.doc_id, c.text, c.start_char, c.end_char, d.source, "
                "c.content_hash, c.metadata FROM chunks c JOIN documents d "
                "ON c.doc_id = d.doc_id "
                "WHERE d.status = 'indexed' ORDER BY d.source, d.doc_id, c.seq"
            )
        while True:
            with self._lock:
                rows = cursor.fetchmany(batch)
            if not rows:
                break
            for row in rows:
                yield _chunk(row)

    # ---------------------------------------------------------------- writes

    def write_pending(self, files: Sequence[PendingFile]) -> None:
        """Replace every document of each file by its new documents, all ``pending``.

        One transaction for all ``files``. Old chunks of the files disappear from the store
        here; their vectors are removed from Chroma afterwards (or by reconciliation after a
        crash).
        """
        now = time.time()
        with self.transaction() as db:
            self._delete_sources(db, [f.source for f in files])
            for f in files:
                for new in f.documents:
                    doc = new.document
                    db.execute(
                        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            doc.id,
                            f.source,
                            f.file_hash,
                            f.mtime_ns,
                            f.size,
                            f.chunk_fp,
                            PENDING,
                            _dumps(_doc_metadata(doc)),
                            now,
                        ),
                    )
                    db.executemany(
                        "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
                        [
                            (
                                c.id,
                                doc.id,
                                seq,
                                c.text,
                                c.start,
                                c.end,
                                c.content_hash,
                                _dumps(c.metadata),
                                _dumps(list(t)),
                            )
                            for seq, (c, t) in enumerate(zip(new.chunks, new.terms, strict=True))
                        ],
                    )
            self._bump(db)

    def mark_indexed(self, sources: Iterable[str]) -> None:
        """Set every document of ``sources`` to ``indexed`` (one transaction)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE documents SET status = 'indexed' WHERE source = ?",
                [(s,) for s in sources],
            )
            self._bump(db)

    def mark_pending(self, sources: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE documents SET status = 'pending' WHERE source = ?",
                [(s,) for s in sources],
            )
            self._bump(db)

    def touch(self, source: str, mtime_ns: int, size: int) -> None:
        """Record a new mtime/size for an unchanged file (its content hash matched)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE documents SET mtime_ns = ?, size = ? WHERE source = ?",
                (mtime_ns, size, source),
            )

    def delete_sources(self, sources: Sequence[str]) -> None:
        """Remove the documents of ``sources`` and their chunks (one transaction)."""
        with self.transaction() as db:
            self._delete_sources(db, sources)
            self._bump(db)

    def clear(self) -> None:
        """Remove every document and chunk."""
        with self.transaction() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM documents")
            self._bump(db)

    @staticmethod
    def _delete_sources(db: sqlite3.Connection, sources: Sequence[str]) -> None:
        for source in sources:
            db.execute(
                "DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM documents WHERE source=?)",
                (source,),
            )
            db.execute("DELETE FROM documents WHERE source = ?", (source,))


def _doc_metadata(doc: Document) -> dict[str, Any]:
    """Document metadata worth keeping (offset tables such as headings are in the chunks)."""
    return {k: v for k, v in doc.metadata.items() if k not in ("headings", "page_spans")}


def _chunk(row: Sequence[Any]) -> Chunk:
    chunk_id, doc_id, text, start, end, source, chash, metadata = row
    return Chunk(
        id=chunk_id,
        doc_id=doc_id,
        text=text,
        start=start,
        end=end,
        source=source,
        content_hash=chash,
        metadata=json.loads(metadata),
    )
