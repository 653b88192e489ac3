"""Rerankers: a sentence-transformers cross-encoder and an LLM yes/no judge.

Both take the hits a retriever returned, score each ``(query, chunk text)`` pair, and return the
hits in a new order with every earlier component score kept and their own added:

- :class:`CrossEncoderReranker` adds ``scores["rerank"]`` (the model's raw score);
- :class:`LLMReranker` adds ``scores["llm_yes"]`` — P(はい/Yes) / (P(はい/Yes) + P(いいえ/No)) on
  the model's first answer token.

``Hit.score`` becomes :func:`combine_scores` of the incoming score and the reranker's score.

Cost: the cross-encoder runs one forward pass per candidate (batched). The LLM reranker runs
one prompt per candidate (about 150–400 prompt tokens for a JSQuAD paragraph, one position of
logits, no decoding); with the embedded Qwen2.5-Coder-1.5B on 2 CPU cores that is roughly 1–3 s
per candidate, so reranking the top 10 costs 10–30 s per query — use it on small ``depth`` or
behind a faster server. The prompt puts the question before the passage so a backend with a
prefix cache (llama.cpp keeps its KV cache) reuses the shared part across one query's candidates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from jpagent.errors import ConfigError
from jpagent.retrieve.fusion import normalize_scores
from jpagent.types import Hit, Message

logger = logging.getLogger(__name__)


def combine_scores(prior: Sequence[float], new: Sequence[float], weight: float) -> list[float]:
    """``(1 - weight) * minmax(prior) + weight * minmax(new)``; ``weight=1`` keeps ``new`` raw.

    Min-max over the candidates puts a fused score (any scale) and a reranker score on [0, 1].
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"rerank weight must be in [0, 1], got {weight}")
    if weight == 1.0:
        return [float(s) for s in new]
    p = normalize_scores(prior, "minmax")
    n = normalize_scores(new, "minmax")
    return [(1.0 - weight) * a + weight * b for a, b in zip(p, n, strict=True)]


def reorder(
    hits: Sequence[Hit], key: str, new: Sequence[float], final: Sequence[float]
) -> list[Hit]:
    """Hits with ``scores[key] = new[i]`` and ``score = final[i]``, sorted best first (stable)."""
    updated = [
        replace(h, score=float(f), scores={**h.scores, key: float(n)})
        for h, n, f in zip(hits, new, final, strict=True)
    ]
    order = sorted(range(len(updated)), key=lambda i: -updated[i].score)
    return [updated[i] for i in order]


@dataclass(frozen=True)
class CrossEncoderConfig:
    """Settings of :class:`CrossEncoderReranker`."""

    #: Pairs per forward pass.
    batch_size: int = 16
    #: Tokens per (query, passage) pair; longer pairs are truncated by the model's tokenizer.
    max_length: int = 512
    #: torch device for the model.
    device: str = "cpu"
    #: Weight of the cross-encoder score against the incoming (fused) score; 1.0 = its order alone.
    weight: float = 1.0


class CrossEncoderReranker:
    """Rerank with a sentence-transformers ``CrossEncoder`` (e.g. a Japanese reranker).

    ``model`` is a local model folder (loaded with ``CrossEncoder(path, num_labels=1)``) or an
    already built object with a ``predict(pairs, batch_size=...)`` method. Nothing is downloaded:
    the folder must exist.
    """

    def __init__(self, model: str | Path | Any, config: CrossEncoderConfig = CrossEncoderConfig()):
        self.config = config
        if isinstance(model, str | Path):
            self.model = _load_cross_encoder(Path(model), config)
            self.name = str(model)
        else:
            self.model = model
            self.name = type(model).__name__

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Score every hit against ``query``; return the best ``k`` by the combined score."""
        if not hits or k <= 0:
            return []
        pairs = [(query, h.chunk.text) for h in hits]
        raw = self.model.predict(pairs, batch_size=self.config.batch_size, show_progress_bar=False)
        new = [float(x) for x in raw]
        final = combine_scores([h.score for h in hits], new, self.config.weight)
        return reorder(hits, "rerank", new, final)[:k]


def _load_cross_encoder(path: Path, config: CrossEncoderConfig) -> Any:
    if not path.is_dir():
        raise ConfigError(
            f"Cross-encoder model folder not found: {path}.",
            message_ja=f"クロスエンコーダーのモデルフォルダが見つかりません: {path}",
            hint="Give the path of a local sentence-transformers CrossEncoder (for example a "
            "Japanese reranker you downloaded); nothing is fetched from the network.",
        )
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:
        raise ConfigError(
            "The cross-encoder reranker needs sentence-transformers.",
            message_ja="クロスエンコーダーには sentence-transformers が必要です。",
            hint="pip install 'jpagent[st]'",
        ) from exc
    return CrossEncoder(str(path), num_labels=1, max_length=config.max_length, device=config.device)


@runtime_checkable
class YesNoScorer(Protocol):
    """A chat model that judges a yes/no prompt: returns P(yes) / (P(yes) + P(no)) in [0, 1]."""

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """Probability mass of a "yes" first answer token relative to yes + no."""
        ...


@dataclass(frozen=True)
class LLMRerankConfig:
    """Settings of :class:`LLMReranker`."""

    #: Weight of P(yes) against the min-max normalised incoming (fused) score.
    weight: float = 0.5
    #: Passages longer than this many characters are cut (the prompt must fit a small context).
    max_passage_chars: int = 1200
    #: Prompt template name under ``jpagent/retrieve/prompts`` (``NAME.system.txt`` + ``NAME.user.j2``).
    template: str = "rerank_yesno_ja"
    #: Judge only the first ``depth`` hits (``None``: all); the rest follow in their old order.
    depth: int | None = None


class LLMReranker:
    """Ask a chat model, per candidate, whether the passage answers the question (はい/いいえ)."""

    def __init__(self, scorer: YesNoScorer, config: LLMRerankConfig = LLMRerankConfig()) -> None:
        self.scorer = scorer
        self.config = config

    def messages(self, query: str, passage: str) -> list[Message]:
        """The chat messages for one candidate, rendered from the template files."""
        system, user = load_prompt(self.config.template)
        text = passage[: self.config.max_passage_chars]
        return [
            Message("system", system),
            Message("user", user.render(question=query, passage=text)),
        ]

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Judge the first ``depth`` hits, combine with their score, return the best ``k``."""
        if not hits or k <= 0:
            return []
        depth = len(hits) if self.config.depth is None else min(self.config.depth, len(hits))
        head, tail = list(hits[:depth]), list(hits[depth:])
        yes = [self.scorer.yes_probability(self.messages(query, h.chunk.text)) for h in head]
        final = combine_scores([h.score for h in head], yes, self.config.weight)
        ranked = reorder(head, "llm_yes", yes, final)
        return (ranked + tail)[:k]


@lru_cache(maxsize=8)
def load_prompt(name: str) -> tuple[str, Any]:
    """``(system text, user Jinja2 template)`` of prompt ``name`` in ``jpagent/retrieve/prompts``."""
    import jinja2

    folder = resources.files("jpagent.retrieve.prompts")
    try:
        system = (folder / f"{name}.system.txt").read_text(encoding="utf-8").strip()
        user_src = (folder / f"{name}.user.j2").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"Rerank prompt {name!r} not found in jpagent/retrieve/prompts.",
            message_ja=f"リランク用プロンプト {name!r} が jpagent/retrieve/prompts にありません。",
            hint="Use the default 'rerank_yesno_ja' or add NAME.system.txt and NAME.user.j2.",
        ) from exc
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    return system, env.from_string(user_src.strip())
