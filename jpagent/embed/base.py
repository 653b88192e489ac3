"""The ``Embedder`` seam and the helpers every backend shares.

An embedder turns texts into L2-normalised float32 vectors. Documents and queries are embedded by
separate methods because retrieval models such as multilingual-e5 and ruri expect a different
prefix for each role; the embedder applies it, never the caller.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from jpagent.errors import JpagentError

logger = logging.getLogger(__name__)

#: Below this many texts a progress bar is never shown in ``progress=None`` (auto) mode.
AUTO_PROGRESS_MIN_TEXTS = 256


class Embedder(Protocol):
    """Texts in, unit vectors out.

    ``name`` is the spec string that rebuilds an equivalent embedder through ``get_embedder``
    (knowledge-base manifests and the embedding cache key on it); ``dim`` the vector size.
    Not ``runtime_checkable`` on purpose: on Python 3.11 an ``isinstance`` check would read
    ``dim``, which costs an HTTP embedder a request.
    """

    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages: returns an ``(len(texts), dim)`` float32 array, each row norm 1."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query: returns a ``(dim,)`` float32 vector of norm 1."""
        ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` as C-contiguous float32 rows of norm 1 (zero rows stay zero)."""
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    if out.ndim == 1:
        return l2_normalize(out[None, :])[0]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return out / norms


def check_vectors(vectors: np.ndarray, n: int, source: str) -> np.ndarray:
    """Validate a backend's raw output (``n`` finite rows) and return it normalised.

    ``source`` names the model or URL for the error message.
    """
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
        raise JpagentError(
            f"Embedding backend {source} returned an array of shape {arr.shape}, expected ({n}, dim).",
            message_ja=f"埋め込みバックエンド {source} の出力の形 {arr.shape} が不正です（期待値: ({n}, 次元)）。",
            hint="Check that the model is an embedding model and the server is healthy.",
        )
    if not np.isfinite(arr).all():
        raise JpagentError(
            f"Embedding backend {source} returned NaN or infinite values.",
            message_ja=f"埋め込みバックエンド {source} が NaN または無限大を返しました。",
            hint="The model file may be corrupt or the server misconfigured.",
        )
    return l2_normalize(arr)


def empty(dim: int) -> np.ndarray:
    """The result of embedding no texts: a ``(0, dim)`` float32 array."""
    return np.zeros((0, dim), dtype=np.float32)


def want_progress(progress: bool | None, n: int) -> bool:
    """Resolve a ``progress`` setting: ``None`` means on for large inputs in a terminal."""
    if progress is not None:
        return progress
    return n >= AUTO_PROGRESS_MIN_TEXTS and sys.stderr.isatty()


def embed_in_batches(
    texts: Sequence[str],
    embed_batch: Callable[[list[str]], np.ndarray],
    *,
    batch_size: int,
    progress: bool | None,
    label: str,
) -> np.ndarray:
    """Call ``embed_batch`` on consecutive slices of ``texts`` and stack the results.

    ``embed_batch`` returns normalised rows for the slice it gets. A rich progress bar on stderr
    counts texts when ``want_progress(progress, len(texts))``. ``texts`` must not be empty.
    """
    if batch_size < 1:
        raise JpagentError(
            f"batch_size must be at least 1, got {batch_size}.",
            message_ja=f"batch_size は 1 以上にしてください（指定値: {batch_size}）。",
        )
    items = list(texts)
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    if not want_progress(progress, len(items)):
        return np.concatenate([embed_batch(batch) for batch in batches], axis=0)
    bar = _start_bar(label, len(items))
    try:
        parts = []
        for batch in batches:
            parts.append(embed_batch(batch))
            bar.advance(bar.task_ids[0], len(batch))
        return np.concatenate(parts, axis=0)
    finally:
        bar.stop()


def _start_bar(label: str, total: int) -> Any:
    """A started rich Progress on stderr with one task counting ``total`` texts."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.add_task(f"Embedding ({label})", total=total)
    bar.start()
    return bar


def require_str_list(texts: Sequence[str], source: str) -> list[str]:
    """Return ``texts`` as a list, refusing a bare string (a common slip that embeds characters)."""
    if isinstance(texts, str):
        raise TypeError(
            f"{source}.embed_documents expects a sequence of strings, got one str; "
            "wrap it in a list or call embed_query."
        )
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"{source}: texts[{i}] is {type(t).__name__}, expected str.")
    return items
