"""An in-memory :class:`~jpagent.retrieve.base.SearchIndex` for evaluations.

The same parts as a knowledge base, without the folder's durability machinery: BM25 is the
knowledge base's own keyword index (:mod:`jpagent.index.keyword`, bm25s over the analyzer's
terms) built in a temporary folder, and the dense leg is an exact cosine search over a NumPy
matrix of the embedder's vectors (Chroma's HNSW is approximate; at evaluation sizes exact
search is both faster and free of that noise). Retrieval code (legs, fusion, rerank) is the
unchanged :mod:`jpagent.retrieve` code.

``bm25`` (:class:`~jpagent.index.keyword.BM25Params`) sets Okapi BM25's ``k1`` and ``b``;
``None`` uses the knowledge base's defaults (``BM25Params()``, k1=0.3, b=0.75), and
:data:`BM25S_DEFAULTS` is what bm25s itself uses (k1=1.5, b=0.75), the tuning baseline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jpagent.index import keyword
from jpagent.index.keyword import BM25Params
from jpagent.types import Chunk

__all__ = ["BM25S_DEFAULTS", "BM25Params", "MemoryIndex"]

#: bm25s's own defaults (``bm25s.BM25()``), the baseline the tuned parameters are compared with.
BM25S_DEFAULTS = BM25Params(k1=1.5, b=0.75)


class MemoryIndex:
    """Chunks, their BM25 terms and vectors, searchable like a knowledge base.

    ``vectors`` (``(len(chunks), dim)`` float32, unit rows) may be given when already
    computed; otherwise ``embedder.embed_documents`` embeds the chunk texts.
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        analyzer: Callable[[str], list[str]],
        embedder: Any,
        vectors: np.ndarray | None = None,
        bm25: BM25Params | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.embedder = embedder
        self.chunks = list(chunks)
        self._by_id = {c.id: c for c in self.chunks}
        if len(self._by_id) != len(self.chunks):
            raise ValueError("MemoryIndex: chunk ids must be unique")
        ids = [c.id for c in self.chunks]
        if vectors is None:
            vectors = embedder.embed_documents([c.text for c in self.chunks])
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.vectors.shape[0] != len(self.chunks):
            raise ValueError("MemoryIndex: one vector per chunk is required")
        self.bm25_params = bm25
        terms = [analyzer(c.text) for c in self.chunks]
        self._tmp = tempfile.TemporaryDirectory(prefix="jpagent-memindex-")
        root = Path(self._tmp.name)
        keyword.build(root, ids, terms, generation=0, params=bm25 or BM25Params())
        self._bm25 = keyword.load(root)

    def dense_query(
        self,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        allowed_ids: set[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Exact top-``k`` cosine (among ``allowed_ids``); a Chroma ``where`` is not supported."""
        if where:
            raise ValueError("MemoryIndex.dense_query does not take a where clause")
        if k <= 0 or not self.chunks:
            return []
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        if allowed_ids is not None:
            mask = np.array([c.id in allowed_ids for c in self.chunks])
            if not mask.any():
                return []
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i].id, float(scores[i])) for i in top]

    def bm25_query(
        self, terms: Sequence[str], k: int, allowed_ids: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top-``k`` BM25 through the knowledge base's keyword index code."""
        return self._bm25.query(terms, k, allowed_ids)

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order given (unknown ids left out)."""
        return [self._by_id[i] for i in ids if i in self._by_id]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in index order."""
        return iter(self.chunks)

    def close(self) -> None:
        """Remove the temporary BM25 folder."""
        self._bm25 = None  # type: ignore[assignment]
        self._tmp.cleanup()
