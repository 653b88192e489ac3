"""``sentence-transformers:PATH_OR_NAME`` — any local sentence-transformers model.

Nothing is ever downloaded: the model must be a local folder or already be in the Hugging Face
cache, and a missing one is reported with how to provide it. Query/document prefixes come from
the ``prefixes`` setting, else the model name (``e5``, ``ruri``), else the prompts saved with the
model, else none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jpagent.embed.base import check_vectors, embed_in_batches, empty, require_str_list
from jpagent.embed.prefixes import Prefixes, detect_prefix_style, resolve_prefixes
from jpagent.errors import SpecError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentenceTransformersConfig:
    """Settings of a local sentence-transformers embedder."""

    #: Prefix style: ``e5``, ``ruri``, ``none``; None detects it from the model name, then from
    #: the prompts saved with the model. An explicit style becomes part of the embedder's name.
    prefixes: str | None = None
    #: Torch device (``cpu``, ``cuda``, ``mps``); None lets sentence-transformers choose.
    device: str | None = None
    #: Texts per forward pass.
    batch_size: int = 32
    #: Show a progress bar: True, False, or None for "only for large inputs in a terminal".
    progress: bool | None = None
    #: Allow model code from the model folder (some Japanese models need it). Off by default.
    trust_remote_code: bool = False


def _missing_model_error(model: str, cause: BaseException) -> SpecError:
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return SpecError(
        f"sentence-transformers model {model!r} is not a local folder and is not in the "
        f"Hugging Face cache ({type(cause).__name__}: {first_line}). "
        "jpagent never downloads models.",
        message_ja=f"sentence-transformers のモデル {model!r} がローカルにありません。"
        "jpagent はモデルをダウンロードしません。",
        hint=(
            "On a machine with network access run "
            f"`python -c \"from sentence_transformers import SentenceTransformer as S; S('{model}').save('DIR')\"`, "
            "copy DIR here and use 'sentence-transformers:/path/to/DIR' "
            "(or fill the Hugging Face cache with `hf download`)."
        ),
    )


def _load_model(model: str, config: SentenceTransformersConfig) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise SpecError(
            f"Spec 'sentence-transformers:{model}' needs the sentence-transformers package.",
            message_ja="sentence-transformers パッケージがインストールされていません。",
            hint="pip install 'jpagent[st]'",
        ) from exc
    looks_like_path = Path(model).expanduser().exists() or model.startswith((".", "/", "~"))
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise SpecError(
            f"sentence-transformers model folder {model!r} does not exist.",
            message_ja=f"sentence-transformers のモデルフォルダ {model!r} がありません。",
            hint="Give the folder that holds modules.json / config.json of the model.",
        )
    target = str(Path(model).expanduser()) if looks_like_path else model
    try:
        return SentenceTransformer(
            target,
            device=config.device,
            local_files_only=True,
            trust_remote_code=config.trust_remote_code,
        )
    except (OSError, ValueError) as exc:  # huggingface_hub raises OSError subclasses offline
        raise _missing_model_error(model, exc) from exc


def _saved_prefixes(st_model: Any) -> Prefixes | None:
    prompts = getattr(st_model, "prompts", None) or {}
    query = prompts.get("query")
    document = next((prompts[k] for k in ("document", "passage", "corpus") if k in prompts), None)
    if not query and not document:  # sentence-transformers fills in "" for unset prompts
        return None
    return Prefixes(query or "", document or "")


class SentenceTransformersEmbedder:
    """A sentence-transformers model; ``target`` is a local folder or a cached hub name."""

    def __init__(
        self, target: str, config: SentenceTransformersConfig = SentenceTransformersConfig()
    ) -> None:
        if not target:
            raise SpecError(
                "Spec 'sentence-transformers:' needs a model path or name, "
                "e.g. 'sentence-transformers:/models/ruri-v3-30m'.",
                message_ja="sentence-transformers: の後にモデルのパスか名前を指定してください。",
            )
        self.config = config
        self.model = target
        self._lock = threading.Lock()
        self._st = _load_model(target, config)
        self.style, self.prefixes = self._choose_prefixes(target, config.prefixes)
        suffix = f";prefixes={config.prefixes}" if config.prefixes is not None else ""
        self.name = f"sentence-transformers:{target}{suffix}"
        dim = self._dimension()
        self.dim: int = dim if dim else int(self.embed_query("dim").shape[0])

    def _choose_prefixes(self, target: str, style: str | None) -> tuple[str, Prefixes]:
        if style is None and detect_prefix_style(target) == "none":
            saved = _saved_prefixes(self._st)
            if saved is not None:
                return "saved", saved
        return resolve_prefixes(target, style)

    def _dimension(self) -> int | None:
        for attr in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
            method = getattr(self._st, attr, None)
            if callable(method):
                return method()
        return None

    def _encode(self, batch: list[str], prefix: str, role: str) -> np.ndarray:
        method = getattr(self._st, f"encode_{role}", None) or self._st.encode
        with self._lock:
            raw = method(
                batch,
                prompt=prefix,  # "" also stops a saved default prompt from being added
                batch_size=self.config.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return check_vectors(raw, len(batch), self.name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the document prefix of this model's style."""
        items = require_str_list(texts, self.name)
        if not items:
            return empty(self.dim)
        return embed_in_batches(
            items,
            lambda batch: self._encode(batch, self.prefixes.document, "document"),
            batch_size=self.config.batch_size,
            progress=self.config.progress,
            label=self.name,
        )

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query with the query prefix of this model's style."""
        return self._encode([text], self.prefixes.query, "query")[0]
