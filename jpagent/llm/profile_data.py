"""Model profile data: the types and the validating reader of ``profiles.toml``.

:mod:`jpagent.llm.profiles` is the public entry point (loading, lookup by spec, recommendations);
this module turns TOML text into a validated :class:`Registry` and explains every bad field with
a :class:`~jpagent.errors.ConfigError` that names the file, the entry and the field.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

from jpagent.errors import ConfigError

REASONING_FORMATS = ("none", "think_tags", "think_tags_implied_open", "harmony")
#: Japanese capability levels, best first; the number orders recommendations.
JAPANESE_LEVELS: Mapping[str, int] = MappingProxyType({"native": 3, "strong": 2, "basic": 1})
QUANTS = ("Q4_K_M", "Q8_0", "F16", "MXFP4")
_GIB = 2**30
#: A quantization as it appears in GGUF file names and Ollama tags (lower case).
QUANT_PATTERN = (
    r"(?:i?q[1-8](?:_[a-z0-9]+)*|f16|fp16|bf16|f32|mxfp4|awq"
    r"|gptq(?:[-_]int[48])?|fp8(?:[-_]dynamic)?)"
)


@dataclass(frozen=True)
class Sampling:
    """Recommended decoding settings; ``None`` means the card says nothing about it."""

    temperature: float
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    presence_penalty: float | None = None


@dataclass(frozen=True)
class Arch:
    """The attention shape that sizes the KV cache."""

    layers: int
    kv_heads: int
    head_dim: int


@dataclass(frozen=True)
class MemoryModel:
    """How the memory figures in the TOML are derived (see the file's header)."""

    context_tokens: int  # context length the KV-cache allowance is sized for
    kv_bytes_per_value: int  # 2 = F16 KV cache
    overhead_gib: float  # compute buffers and runtime
    bits_per_weight: Mapping[str, float] = field(hash=False)  # average bpw per quantization

    def estimate_gib(self, params_total_b: float, arch: Arch, quant: str) -> float:
        """Weights + KV cache + overhead in GiB, unrounded."""
        weights = params_total_b * 1e9 * self.bits_per_weight[quant] / 8
        kv = 2 * arch.layers * arch.kv_heads * arch.head_dim * self.kv_bytes_per_value
        return (weights + kv * self.context_tokens) / _GIB + self.overhead_gib


@dataclass(frozen=True)
class ModelProfile:
    """One model as its publisher describes it. Field meanings: see profiles.toml."""

    id: str
    family: str
    display_name: str
    publisher: str
    hf_repo: str
    source: str  # the publisher's model card URL
    license: str
    params_total_b: float  # billions; all experts for MoE
    params_active_b: float  # billions active per token (== total for dense models)
    context_window: int  # native context in tokens
    context_window_max: int | None  # with rope scaling (YaRN), when the card gives it
    reasoning: str  # one of REASONING_FORMATS
    japanese: str  # one of JAPANESE_LEVELS
    japanese_reason: str
    sampling: Sampling  # the card's default recommendation
    sampling_presets: Mapping[str, Sampling] = field(hash=False)  # e.g. {"non_thinking": ...}
    memory_gib: Mapping[str, float] = field(hash=False)  # quant -> GiB at MemoryModel context
    memory_published: Mapping[str, str] = field(hash=False)  # quant -> publisher's statement
    arch: Arch | None
    ollama: tuple[str, ...]
    aliases: tuple[str, ...]
    extra_sources: tuple[str, ...]
    verified: bool  # every figure checked against the publisher
    unverified: tuple[str, ...]  # field names whose values are estimates
    notes: str

    @property
    def is_moe(self) -> bool:
        return self.params_active_b < self.params_total_b

    @property
    def japanese_rank(self) -> int:
        return JAPANESE_LEVELS[self.japanese]


@dataclass(frozen=True)
class Registry:
    """Validated profiles, the memory model, the embedded default and the name indexes."""

    profiles: tuple[ModelProfile, ...]
    memory_model: MemoryModel
    default_id: str
    default_quant: str
    names: Mapping[str, str] = field(hash=False)  # normalised name -> profile id
    ollama: Mapping[str, str] = field(hash=False)  # normalised Ollama tag -> profile id

    def get(self, profile_id: str) -> ModelProfile:
        return next(p for p in self.profiles if p.id == profile_id)


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------

_PROFILE_KEYS = frozenset(
    {
        "id", "family", "display_name", "publisher", "hf_repo", "source", "extra_sources",
        "license", "params_total_b", "params_active_b", "context_window", "context_window_max",
        "reasoning", "japanese", "japanese_reason", "ollama", "aliases", "verified",
        "unverified", "notes", "arch", "sampling", "sampling_presets", "memory_gib",
        "memory_published",
    }
)  # fmt: skip
_SAMPLING_KEYS = frozenset(Sampling.__dataclass_fields__)


class _Fields:
    """Typed access to one TOML table; every failure names the file, the entry and the key."""

    def __init__(self, data: Any, where: str, origin: str) -> None:
        self.where, self.origin = where, origin
        if not isinstance(data, dict):
            self.fail("", "must be a table")
        self.data: dict[str, Any] = data

    def fail(self, key: str, problem: str) -> NoReturn:
        what = f"{self.where}, field '{key}'" if key else self.where
        what_ja = f"{self.where} のフィールド '{key}'" if key else self.where
        raise ConfigError(
            f"Model profiles {self.origin}: {what} {problem}.",
            f"モデルプロファイル {self.origin} の {what_ja} が不正です（{problem}）。",
            hint="Fix that entry; the header of jpagent/llm/profiles.toml describes every field.",
        )

    def only(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            self.fail(unknown[0], f"is not a known key (allowed: {', '.join(sorted(allowed))})")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            self.fail(key, "is missing")
        if not isinstance(value, str) or (default is None and not value.strip()):
            self.fail(key, "must be a non-empty string")
        return value

    def number(self, key: str, default: float | None = None, *, lo: float = 0.0,
               hi: float = math.inf, lo_open: bool = True) -> float:  # fmt: skip
        value = self.data.get(key, default)
        if value is None:
            self.fail(key, "is missing")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number, not {value!r}")
        if not math.isfinite(value) or value > hi or value < lo or (lo_open and value == lo):
            self.fail(key, f"is out of range: {value!r}")
        return float(value)

    def integer(self, key: str, *, optional: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(key, "must be a positive integer" if value is not None else "is missing")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def table(self, key: str, *, optional: bool = False) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            self.fail(key, "must be a table" if value is not None else "is missing")
        return value


def _sampling(data: Any, where: str, origin: str) -> Sampling:
    f = _Fields(data, where, origin)
    f.only(_SAMPLING_KEYS)
    opt = f.data.get
    return Sampling(
        temperature=f.number("temperature", lo=0.0, hi=2.0, lo_open=False),
        top_p=f.number("top_p", hi=1.0) if opt("top_p") is not None else None,
        top_k=_count(f, "top_k"),
        min_p=f.number("min_p", hi=1.0, lo_open=False) if opt("min_p") is not None else None,
        repetition_penalty=(
            f.number("repetition_penalty", hi=2.0)
            if opt("repetition_penalty") is not None
            else None
        ),
        presence_penalty=(
            f.number("presence_penalty", lo=-2.0, hi=2.0, lo_open=False)
            if opt("presence_penalty") is not None
            else None
        ),
    )


def _count(f: _Fields, key: str) -> int | None:
    value = f.data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        f.fail(key, f"must be a whole number, zero or more, not {value!r}")
    return value


def _memory_model(data: Any, origin: str) -> MemoryModel:
    f = _Fields(data, "[memory_model]", origin)
    f.only({"context_tokens", "kv_bytes_per_value", "overhead_gib", "bits_per_weight"})
    bpw = f.table("bits_per_weight")
    for quant in bpw:
        if quant not in QUANTS:
            f.fail("bits_per_weight", f"names an unknown quantization '{quant}'")
        _Fields(bpw, "[memory_model] bits_per_weight", origin).number(quant, hi=32.0)
    return MemoryModel(
        context_tokens=f.integer("context_tokens"),
        kv_bytes_per_value=f.integer("kv_bytes_per_value"),
        overhead_gib=f.number("overhead_gib", lo_open=False),
        bits_per_weight=MappingProxyType({k: float(v) for k, v in bpw.items()}),
    )


def _profile(data: Any, index: int, origin: str, mm: MemoryModel) -> ModelProfile:
    label = data.get("id") if isinstance(data, dict) else None
    f = _Fields(data, f"profile #{index} ('{label}')" if label else f"profile #{index}", origin)
    f.only(_PROFILE_KEYS)
    pid = f.text("id")
    if pid != pid.strip().lower() or " " in pid:
        f.fail("id", "must be lower case without spaces")
    source = f.text("source")
    if not source.startswith("https://"):
        f.fail("source", "must be the https:// URL of the publisher's model card")
    total = f.number("params_total_b")
    active = f.number("params_active_b", default=total, hi=total)
    context = f.integer("context_window")
    context_max = f.integer("context_window_max", optional=True)
    if context_max is not None and context_max < context:
        f.fail("context_window_max", "is smaller than context_window")
    reasoning, japanese = f.text("reasoning"), f.text("japanese")
    if reasoning not in REASONING_FORMATS:
        f.fail("reasoning", f"must be one of {', '.join(REASONING_FORMATS)}")
    if japanese not in JAPANESE_LEVELS:
        f.fail("japanese", f"must be one of {', '.join(JAPANESE_LEVELS)}")
    verified = f.data.get("verified")
    if not isinstance(verified, bool):
        f.fail("verified", "must be true or false")
    unverified = f.strings("unverified")
    if verified == bool(unverified):
        f.fail("unverified", "must list the unchecked fields exactly when verified = false")
    for name in unverified:
        if name not in _PROFILE_KEYS:
            f.fail("unverified", f"names an unknown field '{name}'")
    arch_data = f.table("arch", optional=True)
    arch = None
    if arch_data is not None:
        af = _Fields(arch_data, f"{f.where} arch", origin)
        af.only({"layers", "kv_heads", "head_dim"})
        arch = Arch(af.integer("layers"), af.integer("kv_heads"), af.integer("head_dim"))
    memory_data = f.table("memory_gib")
    published_data = f.table("memory_published", optional=True) or {}
    if not memory_data:
        f.fail("memory_gib", "must give at least one quantization")
    mf = _Fields(memory_data, f"{f.where} memory_gib", origin)
    memory = {}
    for quant in memory_data:
        if quant not in QUANTS:
            f.fail(
                "memory_gib",
                f"names an unknown quantization '{quant}' (known: {', '.join(QUANTS)})",
            )
        memory[quant] = mf.number(quant, hi=10_000.0)
        if quant not in published_data and (arch is None or quant not in mm.bits_per_weight):
            f.fail("memory_gib", f"{quant} needs arch and a bits_per_weight, or memory_published")
    for quant, statement in published_data.items():
        if quant not in memory or not isinstance(statement, str) or not statement.strip():
            f.fail("memory_published", f"'{quant}' must be a memory_gib quant with a statement")
    presets = f.table("sampling_presets", optional=True) or {}
    return ModelProfile(
        id=pid,
        family=f.text("family"),
        display_name=f.text("display_name"),
        publisher=f.text("publisher"),
        hf_repo=f.text("hf_repo"),
        source=source,
        license=f.text("license"),
        params_total_b=total,
        params_active_b=active,
        context_window=context,
        context_window_max=context_max,
        reasoning=reasoning,
        japanese=japanese,
        japanese_reason=f.text("japanese_reason"),
        sampling=_sampling(f.table("sampling"), f"{f.where} sampling", origin),
        sampling_presets=MappingProxyType(
            {k: _sampling(v, f"{f.where} sampling_presets.{k}", origin) for k, v in presets.items()}
        ),
        memory_gib=MappingProxyType(memory),
        memory_published=MappingProxyType(dict(published_data)),
        arch=arch,
        ollama=f.strings("ollama"),
        aliases=f.strings("aliases"),
        extra_sources=f.strings("extra_sources"),
        verified=verified,
        unverified=unverified,
        notes=f.text("notes", default=""),
    )


def parse_registry(text: str, origin: str) -> Registry:
    """Validate profiles TOML text; ``origin`` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Model profiles {origin} are not valid TOML: {exc}.",
            f"モデルプロファイル {origin} が TOML として読めません: {exc}",
            hint="Check the quoting and brackets near the line named above.",
        ) from exc
    top = _Fields(data, "top level", origin)
    top.only({"memory_model", "defaults", "profile"})
    mm = _memory_model(top.table("memory_model"), origin)
    entries = data.get("profile")
    if not isinstance(entries, list) or not entries:
        top.fail("profile", "must be one or more [[profile]] tables")
    profiles = tuple(_profile(e, i, origin, mm) for i, e in enumerate(entries, start=1))
    names: dict[str, int] = {}  # normalised name -> index of the profile that has it
    ollama: dict[str, int] = {}
    for index, p in enumerate(profiles):
        where = _Fields({}, f"profile #{index + 1} ('{p.id}')", origin)
        for key in name_keys(p):
            if names.setdefault(key, index) != index:
                other = profiles[names[key]].id
                where.fail("id/aliases", f"name '{key}' is already used by '{other}'")
        for tag in p.ollama:
            key = ollama_key(tag)
            if ollama.setdefault(key, index) != index:
                where.fail("ollama", f"tag '{tag}' is already used by '{profiles[ollama[key]].id}'")
    defaults = _Fields(top.table("defaults"), "[defaults]", origin)
    defaults.only({"llamacpp_default", "llamacpp_default_quant"})
    default_id = defaults.text("llamacpp_default")
    default_quant = defaults.text("llamacpp_default_quant")
    match = [p for p in profiles if p.id == default_id]
    if not match or default_quant not in match[0].memory_gib:
        defaults.fail("llamacpp_default", f"'{default_id}' {default_quant} is not a profile")
    return Registry(
        profiles,
        mm,
        default_id,
        default_quant,
        MappingProxyType({k: profiles[i].id for k, i in names.items()}),
        MappingProxyType({k: profiles[i].id for k, i in ollama.items()}),
    )


def name_keys(p: ModelProfile) -> set[str]:
    """Lower-case names a profile answers to: id, hub repo, aliases and their basenames."""
    keys = set()
    for name in (p.id, p.hf_repo, *p.aliases):
        keys.add(name.lower())
        keys.add(name.lower().rsplit("/", 1)[-1])
    return keys


def ollama_key(tag: str) -> str:
    """``qwen2.5:7b-instruct-q4_K_M`` -> ``qwen2.5:7b-instruct``; ``:latest`` and quants dropped."""
    tag = tag.strip().lower().removeprefix("registry.ollama.ai/").removeprefix("library/")
    name, _, variant = tag.partition(":")
    if variant == "latest" or re.fullmatch(QUANT_PATTERN, variant):
        variant = ""
    variant = re.sub(rf"-{QUANT_PATTERN}$", "", variant)
    return f"{name}:{variant}" if variant else name
