"""The small data types that travel through the pipeline.

files ─► loaders ─► Document ─► text.chunk ─► Chunk ─► index ─► Hit ─► rag ─► Answer

All are frozen dataclasses: plain data, no behaviour beyond trivial helpers. ``metadata`` holds
JSON-serialisable values only (str, int, float, bool, lists of those), so that every type can
be written to an index or printed with ``--json``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    """Stable content hash used for chunk ids and caches: sha256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    """One loaded document: decoded text plus where it came from.

    ``source`` is the path (or URL) the text was read from; ``metadata`` carries loader facts such
    as ``encoding``, ``page_spans`` for PDFs, ``headings`` for Markdown/HTML, ``row`` for CSV.
    """

    id: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, with character offsets into ``Document.text``.

    ``text == document.text[start:end]`` always holds, so citations can point at the source.
    ``id`` is derived from the document id and ``content_hash``, so re-chunking unchanged text
    gives the same ids.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    source: str
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its final score and each component score (``bm25``, ``dense``…)."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """A chat message. ``role`` is ``system``, ``user``, ``assistant`` or ``tool``."""

    role: str
    content: str


@dataclass(frozen=True)
class Citation:
    """A numbered source that an answer cites as ``[n]``."""

    number: int
    source: str
    start: int
    end: int
    page: int | None = None
    chunk_id: str = ""
    inferred: bool = False
    """The model wrote no marker: the source was matched to the answer by its text."""


@dataclass(frozen=True)
class Answer:
    """An answer: text without any reasoning, the citations it uses, reasoning kept apart."""

    text: str
    citations: tuple[Citation, ...] = ()
    reasoning: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    looped: bool = False
    """The model fell into a runaway loop and was stopped; ``text`` (or ``reasoning``, where
    the loop was) keeps what came before it and one copy of the repeated piece."""
