"""From a spec string to a chat model: prefix → lazily imported backend class.

=============  ================================================  =====================
prefix         backend                                           needs
=============  ================================================  =====================
``llamacpp:``  :class:`jpagent.llm.llamacpp.LlamaCppChat`        ``jpagent[llamacpp]``
``openai:``    :class:`jpagent.llm.openai_compat.OpenAIChat`     httpx (core)
``ollama:``    :class:`jpagent.llm.ollama.OllamaChat`            ollama (core)
=============  ================================================  =====================

The reasoning format and, for ``openai:``, a fallback context window come from the model's
profile (:func:`jpagent.llm.profiles.profile_for_spec`) when one matches.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from jpagent.errors import SpecError
from jpagent.llm.base import REASONING_MODES, ChatModel
from jpagent.specs import parse_spec

if TYPE_CHECKING:
    from jpagent.config import Config

log = logging.getLogger(__name__)

#: spec prefix → (module, class); modules are imported only when their prefix is used.
BACKENDS: dict[str, tuple[str, str]] = {
    "llamacpp": ("jpagent.llm.llamacpp", "LlamaCppChat"),
    "openai": ("jpagent.llm.openai_compat", "OpenAIChat"),
    "ollama": ("jpagent.llm.ollama", "OllamaChat"),
}


def _profile(spec: str):
    try:
        from jpagent.llm.profiles import profile_for_spec
    except ImportError:  # profiles are optional to the backends
        return None
    try:
        return profile_for_spec(spec)
    except Exception as exc:  # a broken profile registry must not stop a chat
        log.warning("no model profile for %s: %s", spec, exc)
        return None


def reasoning_mode_for(spec: str) -> str:
    """The reasoning format of ``spec``'s profile; ``"auto"`` when none matches or it says
    ``"none"`` (auto-detection costs nothing for a model that never reasons)."""
    profile = _profile(spec)
    mode = getattr(profile, "reasoning", None) or "auto"
    return mode if mode in REASONING_MODES and mode != "none" else "auto"


def get_chat_model(
    spec: str,
    *,
    timeout: float = 120.0,
    max_retries: int = 2,
    ollama_host: str | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    context_window: int | None = None,
    reasoning: str | None = None,
    setting: str = "",
) -> ChatModel:
    """The chat model named by ``spec`` (``llamacpp:default``, ``ollama:NAME``,
    ``openai:URL#MODEL``).

    ``timeout`` and ``max_retries`` apply to HTTP backends; ``ollama_host`` to ``ollama:``;
    ``n_ctx`` and ``n_threads`` to ``llamacpp:``; ``context_window`` overrides what the
    backend would find; ``reasoning`` overrides the profile's format. ``setting`` names where
    the spec came from for error messages. Raises :class:`SpecError` for an unknown prefix
    (listing the valid ones) and :class:`~jpagent.errors.ModelError` when a model is missing.
    """
    parsed = parse_spec(spec, "chat", setting)
    if parsed.kind not in BACKENDS:
        raise SpecError(
            f"No chat backend for {parsed.kind!r} in {spec!r}. Valid: {', '.join(BACKENDS)}.",
            f"{spec!r} のチャットバックエンドがありません。",
        )
    if parsed.options:
        raise SpecError(
            f"Chat model spec {spec!r} takes no ';key=value' options; "
            "use the llm.* settings (timeout, n_ctx, n_threads…) instead.",
            f"チャットモデル指定 {spec!r} にはオプションを付けられません（llm.* の設定を使ってください）。",
        )
    if reasoning is not None and reasoning not in REASONING_MODES:
        raise SpecError(
            f"Unknown reasoning format {reasoning!r}. Valid: {', '.join(REASONING_MODES)}.",
            f"推論形式 {reasoning!r} は不明です。",
        )
    mode = reasoning or reasoning_mode_for(spec)
    module, cls_name = BACKENDS[parsed.kind]
    cls = getattr(importlib.import_module(module), cls_name)
    name = str(parsed)
    if parsed.kind == "llamacpp":
        model = cls(parsed.name, n_ctx=n_ctx, n_threads=n_threads, reasoning=mode, name=name)
        if context_window is not None:
            log.info("%s: context_window is the loaded n_ctx; pass n_ctx instead", name)
        return model
    if parsed.kind == "openai":
        profile = _profile(spec)
        return cls(
            parsed.base_url,
            parsed.name,
            timeout=timeout,
            max_retries=max_retries,
            context_window=context_window,
            profile_context_window=getattr(profile, "context_window", None),
            reasoning=mode,
            name=name,
        )
    return cls(
        parsed.name,
        host=ollama_host,
        timeout=timeout,
        max_retries=max_retries,
        context_window=context_window,
        reasoning=mode,
        name=name,
    )


def chat_model_from_config(config: Config, spec: str | None = None) -> ChatModel:
    """The chat model of ``config`` (``models.chat`` unless ``spec`` is given), with the
    ``llm.*`` settings (timeout, retries, Ollama host, llama.cpp context and threads)."""
    llm = config.llm
    return get_chat_model(
        spec or config.models.chat,
        timeout=llm.timeout,
        max_retries=llm.max_retries,
        ollama_host=llm.ollama_host,
        n_ctx=llm.n_ctx or None,
        n_threads=llm.n_threads or None,
        setting="--model"
        if spec
        else f"models.chat ({config.sources.get('models.chat', 'default')})",
    )
