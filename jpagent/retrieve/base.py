"""The retrieval seams: what a retriever, a reranker and a searchable index look like.

Implementations inherit nothing; these ``typing.Protocol``s only name the methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from jpagent.types import Chunk, Hit

if TYPE_CHECKING:
    from jpagent.retrieve.filters import Filters


@runtime_checkable
class Retriever(Protocol):
    """Query in, hits out (best first, at most ``k``)."""

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Return up to ``k`` hits for ``query`` that pass ``filters``, best first."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Re-orders candidate hits for a query and keeps the best ``k``."""

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return up to ``k`` of ``hits`` in a new order; each keeps its component scores."""
        ...


class SearchIndex(Protocol):
    """What retrievers need from a store: the knowledge base satisfies it as it is.

    ``analyzer`` turns text into BM25 terms (``jpagent.text.morph.Analyzer``); ``embedder`` is
    the ``jpagent.embed.Embedder`` the vectors were made with.
    """

    analyzer: Callable[[str], list[str]]
    embedder: Any

    def dense_query(
        self,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        allowed_ids: set[str] | None = None,
    ) -> list[tuple[str, float]]:
        """``(chunk_id, cosine)`` pairs of the ``k`` nearest chunks (among ``allowed_ids``)."""
        ...

    def bm25_query(
        self, terms: Sequence[str], k: int, allowed_ids: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """``(chunk_id, bm25_score)`` pairs of the ``k`` best chunks (among ``allowed_ids``)."""
        ...

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids (ids not found are left out)."""
        ...

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk (used to resolve a narrow filter into allowed ids)."""
        ...
