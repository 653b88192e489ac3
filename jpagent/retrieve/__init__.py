"""Retrieval: dense, BM25 (Japanese terms) and hybrid retrievers, filters, fusion, rerankers.

::

    from jpagent.retrieve import HybridRetriever, Filters
    hits = HybridRetriever(kb).retrieve("有給休暇は何日？", k=5, filters=Filters(tags={"人事"}))

Any object with ``analyzer``, ``embedder``, ``dense_query``, ``bm25_query`` and ``get_chunks``
(:class:`SearchIndex`; the knowledge base is one) can be searched. The LLM reranker's llama.cpp
backend lives in :mod:`jpagent.retrieve.llm_rerank` and is imported only when used.
"""

from jpagent.retrieve.base import Reranker, Retriever, SearchIndex
from jpagent.retrieve.filters import Filters, glob_match
from jpagent.retrieve.fusion import normalize_scores, rrf, score_fusion
from jpagent.retrieve.rerank import (
    CrossEncoderConfig,
    CrossEncoderReranker,
    LLMRerankConfig,
    LLMReranker,
    YesNoScorer,
    combine_scores,
)
from jpagent.retrieve.retrievers import (
    BM25Retriever,
    DenseRetriever,
    HybridConfig,
    HybridRetriever,
    fuse,
)

__all__ = [
    "BM25Retriever",
    "CrossEncoderConfig",
    "CrossEncoderReranker",
    "DenseRetriever",
    "Filters",
    "HybridConfig",
    "HybridRetriever",
    "LLMRerankConfig",
    "LLMReranker",
    "Reranker",
    "Retriever",
    "SearchIndex",
    "YesNoScorer",
    "combine_scores",
    "fuse",
    "glob_match",
    "normalize_scores",
    "rrf",
    "score_fusion",
]
