"""Query and passage prefixes that retrieval embedding models were trained with.

multilingual-e5 expects ``query: `` / ``passage: ``; ruri (v1–v3) expects ``検索クエリ: `` /
``検索文書: ``; most other models take the text as is. The embedder applies the prefix of its
model's style, so callers never write one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from jpagent.errors import SpecError


class Prefixes(NamedTuple):
    """The text put before a query and before a document."""

    query: str
    document: str


#: Known prefix styles, by the name used in specs and configs.
PREFIX_STYLES: dict[str, Prefixes] = {
    "e5": Prefixes("query: ", "passage: "),
    "ruri": Prefixes("検索クエリ: ", "検索文書: "),
    "none": Prefixes("", ""),
}


def detect_prefix_style(model: str) -> str:
    """Guess the prefix style from a model name or path: ``e5``, ``ruri`` or ``none``.

    Only the last path component counts (``/models/e5-cache/minilm`` is not e5), split into
    words at any non-alphanumeric character: ``multilingual-e5-small`` -> e5,
    ``cl-nagoya/ruri-v3-30m`` -> ruri.
    """
    base = model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    words = re.split(r"[^0-9a-z]+", base)
    if any(w.startswith("ruri") for w in words):
        return "ruri"
    if "e5" in words:
        return "e5"
    return "none"


def resolve_prefixes(model: str, style: str | None) -> tuple[str, Prefixes]:
    """Return ``(style, prefixes)`` for ``model``: the explicit ``style`` or the detected one."""
    chosen = style if style is not None else detect_prefix_style(model)
    if chosen not in PREFIX_STYLES:
        raise SpecError(
            f"Unknown prefix style {chosen!r} for model {model!r}; valid: "
            f"{', '.join(sorted(PREFIX_STYLES))}.",
            message_ja=f"プレフィックス方式 {chosen!r} は不明です。使えるのは "
            f"{', '.join(sorted(PREFIX_STYLES))} です。",
            hint="Pass prefixes='e5', 'ruri' or 'none'.",
        )
    return chosen, PREFIX_STYLES[chosen]
