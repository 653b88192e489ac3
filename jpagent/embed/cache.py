"""An on-disk embedding cache so that re-embedding unchanged text costs nothing.

``CachedEmbedder(inner, cache_dir)`` wraps any Embedder. Vectors are stored in one SQLite file,
``cache_dir/embeddings.sqlite3`` (WAL mode, float32 little-endian blobs), keyed by the inner
embedder's ``name`` and the sha256 of the role (``query``/``document``) and the text. SQLite's
locking makes it safe for several processes and threads at once; a writer that finds the file
busy waits up to ``busy_timeout`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from jpagent.embed.base import Embedder, embed_in_batches, empty, require_str_list
from jpagent.errors import JpagentError

logger = logging.getLogger(__name__)

CACHE_FILE = "embeddings.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    key BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS models (model TEXT PRIMARY KEY, dim INTEGER NOT NULL);
"""
#: Keys per SELECT ... IN (...) statement (SQLite's variable limit is 999 on old builds).
_LOOKUP_CHUNK = 500


def cache_key(role: str, text: str) -> bytes:
    """The cache key of ``text`` embedded as ``role``: sha256 of ``role``, NUL, UTF-8 text."""
    return hashlib.sha256(f"{role}\0{text}".encode()).digest()


def _open(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Connect, switch to WAL and create the tables, retrying while another process does too.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once, without waiting, when two processes race to do it (seen about once in 800
    four-process starts on a fresh file): retried with backoff for up to ``busy_timeout``.
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.01
    while True:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.5)


def _chunks(items: list[bytes], size: int) -> Iterable[list[bytes]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class CachedEmbedder:
    """Any Embedder plus a persistent vector cache; same ``name`` and ``dim`` as ``inner``.

    Only texts whose vectors are not yet stored reach ``inner``, ``flush_every`` at a time, and
    each slice is committed as soon as it is embedded, so a run killed halfway keeps what it
    did. Duplicates within one call are embedded once. ``progress`` works as in the backends
    (None: a bar for large inputs in a terminal). ``hits`` and ``misses`` count texts served
    from and added to the cache.
    """

    def __init__(
        self,
        inner: Embedder,
        cache_dir: str | Path,
        *,
        progress: bool | None = None,
        flush_every: int = 128,
        busy_timeout: float = 60.0,
    ) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.path = Path(cache_dir) / CACHE_FILE
        self.progress = progress
        self.flush_every = flush_every
        self.busy_timeout = busy_timeout
        self.hits = 0
        self.misses = 0
        self._local = threading.local()
        self._dim: int | None = None

    # -- storage ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _open(self.path, self.busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise JpagentError(
                f"Cannot open the embedding cache {self.path}: {exc}",
                message_ja=f"埋め込みキャッシュ {self.path} を開けません: {exc}",
                hint="Check that the folder is writable, or turn the cache off (cache_dir=None).",
            ) from exc
        self._local.conn = conn
        return conn

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        conn = self._connection()
        found: dict[bytes, np.ndarray] = {}
        for part in _chunks(keys, _LOOKUP_CHUNK):
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                [self.name, *part],
            )
            for key, blob in rows:
                vec = np.frombuffer(blob, dtype="<f4")
                if vec.shape[0] == self._known_dim():  # a stale size counts as a miss
                    found[key] = vec
        return found

    def _store(self, keys: list[bytes], vectors: np.ndarray) -> None:
        conn = self._connection()
        blobs = np.ascontiguousarray(vectors, dtype="<f4")
        rows = [(self.name, key, blobs[i].tobytes()) for i, key in enumerate(keys)]
        with conn:  # one transaction; BEGIN IMMEDIATE waits for other writers
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT OR IGNORE INTO models (model, dim) VALUES (?, ?)",
                (self.name, int(vectors.shape[1])),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)", rows
            )

    # -- Embedder --------------------------------------------------------------------------
    def _known_dim(self) -> int | None:
        """The vector size recorded for this model: from this process or the cache file."""
        if self._dim is None:
            row = (
                self._connection()
                .execute("SELECT dim FROM models WHERE model = ?", (self.name,))
                .fetchone()
            )
            self._dim = int(row[0]) if row else None
        return self._dim

    @property
    def dim(self) -> int:
        """The inner embedder's dimension (read from the cache when it already holds vectors)."""
        known = self._known_dim()
        if known is None:
            known = self._dim = int(self.inner.dim)
        return known

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages, asking ``inner`` only for texts not in the cache."""
        items = require_str_list(texts, self.name)
        if not items:
            return empty(self.dim)
        keys = [cache_key("document", t) for t in items]
        found = self._lookup(list(dict.fromkeys(keys)))
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, items, strict=True):
            if key not in found and key not in missing:
                missing[key] = text
        self.hits += sum(1 for k in keys if k in found)
        if missing:
            vectors = embed_in_batches(
                list(missing.values()),
                self._embed_and_store,
                batch_size=self.flush_every,
                progress=self.progress,
                label=self.name,
            )
            found.update(zip(missing, vectors, strict=True))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _embed_and_store(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.embed_documents(texts)
        self._check_dim(vectors.shape[1])
        self._store([cache_key("document", t) for t in texts], vectors)
        self.misses += len(texts)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query, from the cache when it was embedded before."""
        key = cache_key("query", text)
        found = self._lookup([key])
        if key in found:
            self.hits += 1
            return found[key].astype(np.float32, copy=True)
        vector = self.inner.embed_query(text)
        self._check_dim(vector.shape[0])
        self._store([key], vector[None, :])
        self.misses += 1
        return vector

    def _check_dim(self, dim: int) -> None:
        known = self._known_dim()
        if known is None:
            self._dim = dim
        elif dim != known:
            raise JpagentError(
                f"Embedder {self.name} returned vectors of size {dim}, but the cache "
                f"{self.path} holds size {self._dim} for it.",
                message_ja=f"埋め込みモデル {self.name} の次元 {dim} がキャッシュの次元 "
                f"{self._dim} と一致しません。",
                hint=f"The model behind {self.name} changed: delete {self.path} to reset the cache.",
            )

    def close(self) -> None:
        """Close this thread's database connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
