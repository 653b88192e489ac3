"""The SDK entry point: one object over a knowledge base folder.

>>> import jpagent
>>> kb = jpagent.open("kb")                               # doctest: +SKIP
>>> kb.ingest(["corpora/sample"])                         # doctest: +SKIP
>>> for hit in kb.search("有給休暇は何日？", k=3):        # doctest: +SKIP
...     print(hit.chunk.source, hit.score)
>>> answer = kb.ask("パスワードは何文字以上必要ですか？")  # doctest: +SKIP
>>> print(answer.text, answer.citations)                  # doctest: +SKIP

:class:`KB` composes the stages and holds no logic of its own: the index
(:mod:`jpagent.index`) stores, the retrievers (:mod:`jpagent.retrieve`) search, the chat model
(:mod:`jpagent.llm`) and :mod:`jpagent.rag` answer. Settings come from a
:class:`~jpagent.config.Config` (``jpagent.toml``, ``JPAGENT_*``), or the defaults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from jpagent.config import Config, load_config
from jpagent.errors import ConfigError
from jpagent.index.kb import KnowledgeBase
from jpagent.index.keyword import BM25Params
from jpagent.retrieve import BM25Retriever, DenseRetriever, Filters, HybridConfig, HybridRetriever
from jpagent.specs import parse_spec
from jpagent.text.chunk import ChunkConfig
from jpagent.text.morph import AnalyzerConfig
from jpagent.types import Answer, Hit

#: Retrieval modes of :meth:`KB.search`.
MODES = ("hybrid", "bm25", "dense")


class KB:
    """A knowledge base opened for ingesting, searching and asking. Build one with :func:`open`.

    One object can serve several threads (a web app's sessions): searches and answers run side
    by side (an in-process llama.cpp model answers one at a time), and an ingest in one thread
    is seen by the others' searches once it is done.
    """

    def __init__(self, index: KnowledgeBase, config: Config, chat_model: Any = None) -> None:
        self.index = index
        self.config = config
        self._chat_model = chat_model
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------------ ingest

    def ingest(
        self,
        paths: str | Path | Sequence[str | Path],
        *,
        include: Sequence[str] = ("**/*",),
        exclude: Sequence[str] = (),
        sync: bool = False,
        tags: Sequence[str] = (),
        progress: bool = False,
    ) -> Any:
        """Index files and folders; returns an :class:`~jpagent.index.ingest.IngestReport`.

        Unchanged files are skipped, changed ones replaced; ``sync=True`` also removes the
        chunks of files that are gone; ``tags`` are stored on every chunk of these files
        (filter with ``search(..., tags=...)``). Files that fail to load are listed in the report.
        """
        max_bytes = int(self.config.text.max_file_mb * 1024 * 1024)
        return self.index.ingest(
            paths,
            include=include,
            exclude=exclude,
            sync=sync,
            tags=tags,
            progress=progress,
            max_bytes=max_bytes,
        )

    # ------------------------------------------------------------------ search

    def retriever(self, mode: str = "hybrid") -> Any:
        """The retriever for ``mode`` (``hybrid``, ``bm25`` or ``dense``) over this knowledge base."""
        if mode == "hybrid":
            r = self.config.retrieve
            fusion = HybridConfig(method=r.fusion, alpha=r.alpha, candidates=r.candidates)
            return HybridRetriever(self.index, fusion)
        if mode == "bm25":
            return BM25Retriever(self.index)
        if mode == "dense":
            return DenseRetriever(self.index)
        raise ConfigError(
            f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.",
            f"検索モード {mode!r} は使えません（{', '.join(MODES)}）。",
        )

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str = "hybrid",
        source_glob: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first, each with its component scores."""
        filters = None
        if source_glob or tags:
            filters = Filters(source_glob=source_glob, tags=set(tags) if tags else None)
        return self.retriever(mode).retrieve(query, k=k, filters=filters)

    # ------------------------------------------------------------------ answer

    @property
    def chat_model(self) -> Any:
        """The chat model named by ``models.chat`` (loaded on first use, then reused)."""
        with self._load_lock:  # threads asking at once load it once
            if self._chat_model is None:
                from jpagent.llm.registry import chat_model_from_config

                self._chat_model = chat_model_from_config(self.config)
        return self._chat_model

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: str = "hybrid",
        stream: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer ``question`` from this knowledge base, citing sources as [1], [2]…

        ``k`` overrides the ``rag.k`` setting. ``stream(text)`` receives the answer as it is
        generated. When the sources do not support an answer, the text says
        資料からは分かりません and there are no citations.
        """
        from jpagent.rag.answer import answer

        return answer(
            question,
            self.retriever(mode),
            self.chat_model,
            k=k,
            stream_callback=stream,
            config=self.rag_config(),
        )

    def chat(self, mode: str = "hybrid") -> Any:
        """A :class:`~jpagent.rag.chat.ChatSession`: follow-up questions are rewritten first."""
        from jpagent.rag.chat import ChatSession

        return ChatSession(self.retriever(mode), self.chat_model, config=self.rag_config())

    def rag_config(self) -> Any:
        """The :class:`~jpagent.rag.answer.RagConfig` of the ``rag.*`` settings."""
        from jpagent.rag.answer import RagConfig

        r = self.config.rag
        return RagConfig(k=r.k, min_relative_score=r.min_relative_score, stop_loops=r.stop_loops)

    # ------------------------------------------------------------------ misc

    def stats(self) -> dict[str, Any]:
        """Documents, chunks and sizes on disk (``jpagent kb stats``)."""
        return self.index.stats()

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> KB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(
    path: str | Path | None = None,
    *,
    config: Config | None = None,
    embedder: str | None = None,
    chat_model: Any = None,
    reindex: bool = False,
    create: bool = True,
) -> KB:
    """Open (or create) the knowledge base in ``path`` (default: the ``kb.path`` setting).

    ``embedder`` overrides ``models.embedder``; ``chat_model`` is a spec string or a ready
    ChatModel. A folder built with another embedder or analyzer is refused with a message
    saying how to re-index (``reindex=True`` empties it and starts over).
    """
    cfg = config or load_config()
    if isinstance(chat_model, str):
        parse_spec(chat_model, "chat", setting="chat_model argument")
        cfg = replace(
            cfg,
            models=replace(cfg.models, chat=chat_model),
            sources={**cfg.sources, "models.chat": "argument chat_model"},
        )
        chat_model = None
    text = cfg.text
    # Settings left at their defaults defer to what the folder was built with.
    analyzer_config = chunk_config = None
    if _explicit(cfg, "text.user_dict"):
        analyzer_config = AnalyzerConfig(user_dict=text.user_dict or None)
    if any(
        _explicit(cfg, k)
        for k in ("text.chunk_tokens", "text.chunk_overlap_sentences", "text.user_dict")
    ):
        chunk_config = ChunkConfig(
            max_tokens=text.chunk_tokens,
            overlap_sentences=text.chunk_overlap_sentences,
            user_dict=text.user_dict or None,
        )
    if embedder is None and _explicit(cfg, "models.embedder"):
        embedder = cfg.models.embedder
    bm25 = None  # the folder's own parameters unless set
    if _explicit(cfg, "retrieve.bm25_k1") or _explicit(cfg, "retrieve.bm25_b"):
        bm25 = BM25Params(k1=cfg.retrieve.bm25_k1, b=cfg.retrieve.bm25_b)
    index = KnowledgeBase.open(
        Path(path) if path is not None else Path(cfg.kb.path),
        embedder_spec=embedder,
        analyzer_config=analyzer_config,
        chunk_config=chunk_config,
        bm25=bm25,
        reindex=reindex,
        create=create,
    )
    return KB(index, cfg, chat_model)


def _explicit(cfg: Config, key: str) -> bool:
    """True when ``key`` was set by a file, env or flag (not left at its default)."""
    return key in cfg.sources
