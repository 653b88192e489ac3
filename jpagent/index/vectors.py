"""``chroma/``: the vector store, one Chroma collection in cosine space.

Chroma stores, per chunk id, the embedding, the chunk text and flat metadata (``doc_id``,
``source``, ``start``, ``end``, ``content_hash``, ``page``, ``heading_path`` joined with
``" > "``, ``tags`` as a list of strings) so that ``where`` filters work on them. It is never
the source of truth: ``docs.sqlite`` is, and :meth:`KnowledgeBase.reconcile` makes Chroma agree
with it after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jpagent.types import Chunk

logger = logging.getLogger(__name__)

COLLECTION = "chunks"
HEADING_SEPARATOR = " > "


def chroma_metadata(chunk: Chunk) -> dict[str, Any]:
    """The flat metadata Chroma stores for ``chunk`` (no ``None`` values, no empty lists)."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "content_hash": chunk.content_hash,
    }
    page = chunk.metadata.get("page")
    if isinstance(page, int) and not isinstance(page, bool):
        meta["page"] = page
    headings = chunk.metadata.get("heading_path")
    if headings:
        meta["heading_path"] = HEADING_SEPARATOR.join(str(h) for h in headings)
    tags = chunk.metadata.get("tags")
    if isinstance(tags, str) and tags:
        meta["tags"] = [tags]
    elif isinstance(tags, list | tuple) and tags:
        meta["tags"] = [str(t) for t in tags]
    return meta


class VectorStore:
    """The Chroma collection of a knowledge base folder."""

    def __init__(self, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        self.path = path
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False)
        )
        # embedding_function=None: we always hand Chroma our own vectors; its default would
        # try to download an ONNX model.
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        self._max_batch = max(1, int(self._client.get_max_batch_size()))

    def close(self) -> None:
        """Release the client (Chroma shares one system per folder within a process)."""
        self._client.close()

    def reset(self) -> None:
        """Drop every vector: delete the collection and create it again, empty."""
        self._client.delete_collection(COLLECTION)
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    def count(self) -> int:
        return self._collection.count()

    def all_ids(self) -> set[str]:
        """Every id in the collection (reconciliation only: costs a full scan)."""
        out: set[str] = set()
        total = self.count()
        step = 10_000
        for offset in range(0, total, step):
            got = self._collection.get(include=[], limit=step, offset=offset)
            out.update(got["ids"])
        return out

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for i in range(0, len(chunks), self._max_batch):
            part = chunks[i : i + self._max_batch]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + len(part)],
                documents=[c.text for c in part],
                metadatas=[chroma_metadata(c) for c in part],
            )

    def delete(self, ids: Iterable[str]) -> None:
        items = list(ids)
        for i in range(0, len(items), self._max_batch):
            self._collection.delete(ids=items[i : i + self._max_batch])

    def query(
        self,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        allowed_ids: set[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest chunks as ``(chunk_id, cosine similarity)``, best first."""
        if k <= 0 or (allowed_ids is not None and not allowed_ids):
            return []
        # No count() first: it costs ~15 ms at 100k vectors, and Chroma already returns
        # fewer results (none for an empty collection) when it has fewer than asked.
        n = k if allowed_ids is None else min(k, len(allowed_ids))
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where or None,
            ids=sorted(allowed_ids) if allowed_ids is not None else None,
            include=["distances"],
        )
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result.get("distances") else []
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
