"""Metadata filters applied to every retrieval leg: a source glob and required tags.

``Filters(source_glob="規程/**/*.md", tags={"人事"})`` keeps chunks whose ``source`` matches
the glob and whose ``metadata["tags"]`` carries every listed tag. The glob follows the usual
path rules: ``*`` and ``?`` stay within one path segment, ``**`` spans segments, ``[abc]`` is a
character class. A relative glob matches the end of the path at a segment boundary (sources
are usually absolute paths): ``*.md`` finds Markdown files in any folder and ``規程/**`` anything
under a folder named 規程; a glob starting with ``/`` must match the whole path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jpagent.types import Chunk


@dataclass(frozen=True)
class Filters:
    """Which chunks a retrieval may return. ``None`` means "no constraint"."""

    #: Glob over ``Chunk.source`` (POSIX path). ``None``: any source.
    source_glob: str | None = None
    #: Tags every returned chunk must carry (in ``Chunk.metadata["tags"]``). ``None`` or empty: any.
    tags: frozenset[str] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.tags is not None and not isinstance(self.tags, frozenset):
            tags = [self.tags] if isinstance(self.tags, str) else self.tags
            object.__setattr__(self, "tags", frozenset(tags))

    @property
    def active(self) -> bool:
        """True when the filter can reject a chunk."""
        return bool(self.source_glob) or bool(self.tags)

    def matches(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` passes both constraints."""
        if self.source_glob and not glob_match(self.source_glob, chunk.source):
            return False
        if self.tags and not self.tags <= chunk_tags(chunk.metadata):
            return False
        return True


def chunk_tags(metadata: dict[str, Any]) -> frozenset[str]:
    """The tags in a chunk's metadata: a list of strings or one comma-separated string."""
    raw = metadata.get("tags")
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        return frozenset(t.strip() for t in raw.split(",") if t.strip())
    if isinstance(raw, Iterable):
        return frozenset(str(t) for t in raw)
    return frozenset({str(raw)})


def glob_match(pattern: str, path: str) -> bool:
    """Whether POSIX ``path`` matches ``pattern`` (rules in the module docstring)."""
    path = path.replace("\\", "/")
    if not pattern.startswith("/"):
        pattern = "**/" + pattern  # relative: any trailing run of whole segments
    return _compile(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)
