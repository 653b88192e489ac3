"""The anchors: LlamaIndex and LangChain retrievers at their defaults, on our data and embedder.

Each builder returns an :class:`EvalSystem`. Only the retrieval depth is set (10 results:
LlamaIndex's ``similarity_top_k`` default is 2, LangChain's BM25 ``k`` is 4); tokenisation,
splitting and scoring are the frameworks' own defaults:

- ``llamaindex-bm25``: ``llama_index.retrievers.bm25.BM25Retriever.from_defaults`` over the nodes of
  LlamaIndex's default ``SentenceSplitter`` (English stemmer and stopwords, ``\\w\\w+`` tokens);
- ``langchain-bm25``: ``langchain_community.retrievers.BM25Retriever.from_documents`` (rank_bm25,
  whitespace ``split()`` preprocessing);
- ``llamaindex-vector``: ``VectorStoreIndex.from_documents`` with the default ``SentenceSplitter``
  (1024 tokens, overlap 200) and our embedder wrapped as a LlamaIndex ``BaseEmbedding``;
- ``langchain-vector``: LangChain ``InMemoryVectorStore`` with our embedder wrapped as LangChain
  ``Embeddings``.

In paragraph mode each paragraph is a document (LangChain does not split; LlamaIndex applies its
default splitter, which keeps JSQuAD paragraphs whole). In article mode each article is a
document split by the framework's splitter: LlamaIndex's default ``SentenceSplitter``; LangChain's
``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``. Chunk offsets come from
LlamaIndex ``start_char_idx`` / LangChain ``start_index``, falling back to searching the chunk
text in the document from the previous chunk's start. Nothing reaches the network: the embedder
is passed explicitly and no LLM is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

ANCHORS = ("llamaindex-bm25", "langchain-bm25", "llamaindex-vector", "langchain-vector")


class Span(NamedTuple):
    """A retrieved piece: its document id and character offsets in that document's text."""

    doc: str
    start: int
    end: int


@dataclass(frozen=True)
class EvalSystem:
    """A named retriever for the eval: ``search(question, k) -> [Span]`` best first.

    ``spans`` lists every indexed chunk's span per document (to count relevant chunks).
    """

    name: str
    search: Callable[[str, int], list[Span]]
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    note: str = ""


def locate(text: str, pieces: Sequence[str], starts: Sequence[int | None]) -> list[int]:
    """Offsets of ``pieces`` in ``text``: the given start when it matches, else a forward search.

    The search starts at the previous piece's start, so overlapping chunks are found in order.
    """
    out: list[int] = []
    cursor = 0
    for piece, given in zip(pieces, starts, strict=True):
        if given is not None and given >= 0 and text[given : given + len(piece)] == piece:
            pos = given
        else:
            pos = text.find(piece, cursor)
            if pos < 0:
                pos = text.find(piece)
            if pos < 0:
                raise ValueError(f"chunk not found in its document: {piece[:40]!r}")
        out.append(pos)
        cursor = pos
    return out


def _llamaindex_embedding(embedder: Any) -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class JpagentLlamaIndexEmbedding(BaseEmbedding):
        """Our Embedder seen as a LlamaIndex BaseEmbedding (query/passage roles kept)."""

        _inner: Any = PrivateAttr()

        def __init__(self, inner: Any) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=32)
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_documents(texts).tolist()

    return JpagentLlamaIndexEmbedding(embedder)


def _langchain_embeddings(embedder: Any) -> Any:
    from langchain_core.embeddings import Embeddings

    class JpagentLangChainEmbeddings(Embeddings):
        """Our Embedder seen as LangChain Embeddings."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.inner.embed_documents(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_query(text).tolist()

    return JpagentLangChainEmbeddings(embedder)


def _llamaindex_nodes(docs: dict[str, str]) -> list[Any]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    documents = [Document(text=text, id_=doc_id) for doc_id, text in docs.items()]
    return SentenceSplitter().get_nodes_from_documents(documents)


def _node_spans(nodes: Sequence[Any], docs: dict[str, str]) -> dict[str, Span]:
    """node id -> Span, with offsets checked against the document text."""
    by_doc: dict[str, list[Any]] = {}
    for node in nodes:
        by_doc.setdefault(node.ref_doc_id, []).append(node)
    out: dict[str, Span] = {}
    for doc_id, group in by_doc.items():
        text = docs[doc_id]
        contents = [n.get_content() for n in group]
        starts = locate(text, contents, [n.start_char_idx for n in group])
        for node, content, start in zip(group, contents, starts, strict=True):
            out[node.node_id] = Span(doc_id, start, start + len(content))
    return out


def _all_spans(spans: Sequence[Span]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for s in spans:
        out.setdefault(s.doc, []).append((s.start, s.end))
    return out


def llamaindex_bm25(docs: dict[str, str]) -> EvalSystem:
    """LlamaIndex ``BM25Retriever.from_defaults`` over default ``SentenceSplitter`` nodes."""
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = _llamaindex_nodes(docs)
    spans = _node_spans(nodes, docs)
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10)

    def search(question: str, k: int) -> list[Span]:
        retriever.similarity_top_k = min(k, len(nodes))  # bm25s refuses k > corpus size
        return [spans[r.node.node_id] for r in retriever.retrieve(question)]

    return EvalSystem("llamaindex-bm25", search, _all_spans(list(spans.values())))


def llamaindex_vector(docs: dict[str, str], embedder: Any) -> EvalSystem:
    """LlamaIndex ``VectorStoreIndex`` (default splitter, in-memory store) with our embedder."""
    from llama_index.core import Document, VectorStoreIndex

    documents = [Document(text=text, id_=doc_id) for doc_id, text in docs.items()]
    index = VectorStoreIndex.from_documents(documents, embed_model=_llamaindex_embedding(embedder))
    nodes = list(index.docstore.docs.values())
    spans = _node_spans(nodes, docs)

    def search(question: str, k: int) -> list[Span]:
        retriever = index.as_retriever(similarity_top_k=k)
        return [spans[r.node.node_id] for r in retriever.retrieve(question)]

    return EvalSystem("llamaindex-vector", search, _all_spans(list(spans.values())))


def _langchain_docs(docs: dict[str, str], split: bool) -> tuple[list[Any], list[Span]]:
    from langchain_core.documents import Document

    if not split:
        out = [Document(page_content=t, metadata={"doc": d}) for d, t in docs.items()]
        return out, [Span(d, 0, len(t)) for d, t in docs.items()]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    originals = [Document(page_content=t, metadata={"doc": d}) for d, t in docs.items()]
    pieces = splitter.split_documents(originals)
    spans: list[Span] = []
    by_doc: dict[str, list[Any]] = {}
    for piece in pieces:
        by_doc.setdefault(piece.metadata["doc"], []).append(piece)
    ordered: list[Any] = []
    for doc_id, group in by_doc.items():
        texts = [p.page_content for p in group]
        starts = locate(docs[doc_id], texts, [p.metadata.get("start_index") for p in group])
        for piece, text, start in zip(group, texts, starts, strict=True):
            spans.append(Span(doc_id, start, start + len(text)))
            ordered.append(piece)
    return ordered, spans


def langchain_bm25(docs: dict[str, str], split: bool) -> EvalSystem:
    """LangChain ``BM25Retriever.from_documents`` defaults (rank_bm25, ``str.split``)."""
    from langchain_community.retrievers import BM25Retriever

    documents, spans = _langchain_docs(docs, split)
    for i, d in enumerate(documents):
        d.metadata["span"] = i
    retriever = BM25Retriever.from_documents(documents, k=10)

    def search(question: str, k: int) -> list[Span]:
        retriever.k = k
        return [spans[d.metadata["span"]] for d in retriever.invoke(question)]

    return EvalSystem("langchain-bm25", search, _all_spans(spans))


def langchain_vector(docs: dict[str, str], split: bool, embedder: Any) -> EvalSystem:
    """LangChain ``InMemoryVectorStore`` (cosine) with our embedder."""
    from langchain_core.vectorstores import InMemoryVectorStore

    documents, spans = _langchain_docs(docs, split)
    for i, d in enumerate(documents):
        d.metadata["span"] = i
    store = InMemoryVectorStore(embedding=_langchain_embeddings(embedder))
    store.add_documents(documents)

    def search(question: str, k: int) -> list[Span]:
        return [spans[d.metadata["span"]] for d in store.similarity_search(question, k=k)]

    return EvalSystem("langchain-vector", search, _all_spans(spans))


def build_anchor(name: str, docs: dict[str, str], split: bool, embedder: Any) -> EvalSystem:
    """Build anchor ``name`` (one of :data:`ANCHORS`) over ``docs`` (id -> text)."""
    if name == "llamaindex-bm25":
        return llamaindex_bm25(docs)
    if name == "langchain-bm25":
        return langchain_bm25(docs, split)
    if name == "llamaindex-vector":
        return llamaindex_vector(docs, embedder)
    if name == "langchain-vector":
        return langchain_vector(docs, split, embedder)
    raise ValueError(f"unknown anchor {name!r}; valid: {', '.join(ANCHORS)}")
