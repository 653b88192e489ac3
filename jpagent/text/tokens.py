"""Token counting for budgets: exact where the model's vocabulary is at hand, else an estimate.

A :class:`TokenCounter` has a ``name`` and ``count(text) -> int``. :func:`get_token_counter`
builds one from a spec string:

==========================  ==============================================================
spec                        counter
==========================  ==============================================================
``estimate``                :class:`EstimateCounter`, a character-class rule (no model)
``gguf:PATH``               a GGUF's vocabulary through llama.cpp (``vocab_only=True``)
``llamacpp:default``        the embedded Qwen2.5-Coder-1.5B GGUF's vocabulary
``llamacpp:PATH``           same as ``gguf:PATH``
``hf:PATH``                 a Hugging Face ``tokenizer.json`` (or a folder holding one)
``sp:PATH``                 a sentencepiece ``.model``
==========================  ==============================================================

Exact counters count the tokens of the text alone: no BOS/EOS or other special tokens.
:func:`chars_per_token` compares tokenizers on a corpus (``jpagent tokens FILE --models ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from jpagent.errors import ConfigError, SpecError
from jpagent.llm.closing import close_at_exit

__all__ = [
    "EstimateCounter",
    "GGUFCounter",
    "HFCounter",
    "SentencePieceCounter",
    "TokenCounter",
    "TokenStats",
    "chars_per_token",
    "get_token_counter",
]

SPEC_KINDS = ("estimate", "gguf", "llamacpp", "hf", "sp")


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens a model would see for a text."""

    name: str

    def count(self, text: str) -> int: ...


# ---------------------------------------------------------------------------- estimate
# Character classes of the estimate: code -> weight (tokens per character).
_WEIGHTS = {
    "K": 0.95,  # kanji (CJK ideographs, 々 〆)
    "H": 0.45,  # hiragana
    "T": 0.75,  # katakana (full and half width, ー)
    "P": 1.0,  # Japanese and full-width punctuation/symbols
    "D": 1.0,  # ASCII digit (Qwen-style vocabularies split numbers into digits)
    "S": 0.45,  # ASCII symbol
    "N": 1.0,  # line break
    "W": 0.1,  # other whitespace
    "L": 0.06,  # ASCII letter (plus 0.8 per run of letters, i.e. per word)
    "O": 1.2,  # anything else (Hangul, accented Latin, emoji...)
}
_WORD_WEIGHT = 0.8
_LETTER_RUN = re.compile("L+")


def _char_class(o: int) -> str:
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "K"
    if 0x20000 <= o <= 0x3134F or o in (0x3005, 0x3006):
        return "K"
    if 0x3041 <= o <= 0x309F:
        return "H"
    if 0x30A0 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
        return "T"
    if 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF65:
        return "P"
    if 0x30 <= o <= 0x39:
        return "D"
    if 0x41 <= o <= 0x5A or 0x61 <= o <= 0x7A:
        return "L"
    if o == 0x0A:
        return "N"
    if o in (0x20, 0x09, 0x0D, 0x0B, 0x0C):
        return "W"
    if 0x21 <= o <= 0x7E:
        return "S"
    return "O"


class _ClassTable(dict):  # type: ignore[type-arg]
    """``str.translate`` table mapping code points to class codes, filled on demand."""

    def __missing__(self, o: int) -> str:
        code = self[o] = _char_class(o)
        return code


_TABLE = _ClassTable()


class EstimateCounter:
    """Estimated token count from character classes, for when no tokenizer is at hand.

    Rule: tokens = round(0.95 per kanji + 0.45 per hiragana + 0.75 per katakana + 1.0 per
    Japanese/full-width punctuation + 0.8 per ASCII word + 0.06 per ASCII letter + 1.0 per
    digit + 0.45 per ASCII symbol + 1.0 per line break + 0.1 per other whitespace + 1.2 per
    any other character), and at least 1 for non-empty text (0 for empty text).

    Calibrated against the Qwen2.5 tokenizer (the embedded GGUF's vocabulary): weights fitted
    by non-negative least squares on half of the JSQuAD v1.3 validation paragraphs (Japanese)
    and on English/Python text for the ASCII classes, then rounded. On the other half of
    JSQuAD (572 paragraphs) the estimate's total is 0.995× Qwen's, a paragraph is off by 5.6%
    on average and by under 14% in 95% of cases (evals/results/chunking-*.md). Other tokenizers differ: measure with
    ``jpagent tokens FILE --models ...`` and use an exact counter when budgets are tight.
    """

    name = "estimate"

    def count(self, text: str) -> int:
        if not text:
            return 0
        codes = text.translate(_TABLE)
        total = sum(codes.count(code) * weight for code, weight in _WEIGHTS.items())
        if "L" in codes:
            total += len(_LETTER_RUN.findall(codes)) * _WORD_WEIGHT
        return max(1, round(total))


# ------------------------------------------------------------------------------- exact
class GGUFCounter:
    """Exact counts with a GGUF model's vocabulary, loaded by llama.cpp without weights."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"GGUF file {p} does not exist.",
                f"GGUF ファイル {p} が見つかりません。",
                hint="Give the path of a .gguf model file (spec gguf:PATH).",
            )
        try:
            import llama_cpp
        except ImportError as e:
            raise ConfigError(
                "Counting tokens with a GGUF needs llama-cpp-python.",
                "GGUF でトークン数を数えるには llama-cpp-python が必要です。",
                hint="pip install 'jpagent[llamacpp]'",
            ) from e
        self.name = name or f"gguf:{p.name}"
        self._llm = close_at_exit(
            llama_cpp.Llama(model_path=str(p), vocab_only=True, verbose=False)
        )
        self._tokenize = llama_cpp.llama_tokenize
        self._vocab = getattr(getattr(self._llm, "_model", None), "vocab", None)

    def count(self, text: str) -> int:
        if not text:
            return 0
        data = text.encode("utf-8")
        if self._vocab is not None:
            # Asking for 0 tokens returns minus the count: one pass, no token buffer.
            n = self._tokenize(self._vocab, data, len(data), None, 0, False, False)
            return -n if n < 0 else n
        return len(self._llm.tokenize(data, add_bos=False, special=False))


class HFCounter:
    """Exact counts with a Hugging Face ``tokenizer.json`` (the ``tokenizers`` library)."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise ConfigError(
                f"Tokenizer file {p} does not exist.",
                f"トークナイザーファイル {p} が見つかりません。",
                hint="Give a tokenizer.json or the model folder holding it (spec hf:PATH).",
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ConfigError(
                "Counting tokens with tokenizer.json needs the tokenizers library.",
                "tokenizer.json でトークン数を数えるには tokenizers が必要です。",
                hint="pip install tokenizers",
            ) from e
        self.name = name or f"hf:{p.parent.name or p.name}"
        self._tok = Tokenizer.from_file(str(p))
        # A tokenizer.json may pad or truncate to a fixed length; a count needs neither.
        self._tok.no_padding()
        self._tok.no_truncation()

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._tok.encode(text, add_special_tokens=False).ids)


class SentencePieceCounter:
    """Exact counts with a sentencepiece ``.model``."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"Sentencepiece model {p} does not exist.",
                f"sentencepiece モデル {p} が見つかりません。",
                hint="Give the path of a .model file (spec sp:PATH).",
            )
        import sentencepiece

        self.name = name or f"sp:{p.name}"
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(p))

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._sp.encode(text))


@lru_cache(maxsize=8)
def get_token_counter(spec: str) -> TokenCounter:
    """A counter for ``spec`` (see the module table); loaded once per spec and reused."""
    kind, _, arg = spec.partition(":")
    if kind == "estimate" and not arg:
        return EstimateCounter()
    if kind in ("gguf", "llamacpp") and arg:
        if kind == "llamacpp" and arg == "default":
            from jpagent.assets import DEFAULT_CHAT, asset_path

            return GGUFCounter(asset_path(DEFAULT_CHAT), name="llamacpp:default")
        return GGUFCounter(arg, name=spec)
    if kind == "hf" and arg:
        return HFCounter(arg, name=spec)
    if kind == "sp" and arg:
        return SentencePieceCounter(arg, name=spec)
    raise SpecError(
        f"Unknown token counter spec {spec!r}. Valid: estimate, gguf:PATH, llamacpp:default, "
        "llamacpp:PATH, hf:PATH/tokenizer.json, sp:PATH.model.",
        f"トークン数カウンタの指定 {spec!r} が不正です。",
        hint="e.g. --models estimate llamacpp:default hf:/models/ruri/tokenizer.json",
    )


# ---------------------------------------------------------------------------- compare
class TokenStats(NamedTuple):
    """One row of :func:`chars_per_token`: higher ``chars_per_token`` = cheaper vocabulary."""

    tokenizer: str
    texts: int
    chars: int
    tokens: int
    chars_per_token: float


def chars_per_token(
    texts: Iterable[str], counters: Sequence[TokenCounter | str]
) -> list[TokenStats]:
    """Characters per token of each counter over ``texts`` (specs are resolved first)."""
    resolved: list[Any] = [get_token_counter(c) if isinstance(c, str) else c for c in counters]
    items = list(texts)
    chars = sum(len(t) for t in items)
    rows = []
    for counter in resolved:
        tokens = sum(counter.count(t) for t in items)
        ratio = chars / tokens if tokens else 0.0
        rows.append(TokenStats(counter.name, len(items), chars, tokens, round(ratio, 3)))
    return rows
