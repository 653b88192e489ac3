"""Metadata filters: source globs and tags."""

from __future__ import annotations

import pytest

from jpagent.retrieve.filters import Filters, chunk_tags, glob_match
from jpagent.types import Chunk, content_hash


def _chunk(source: str, tags=None) -> Chunk:
    meta = {} if tags is None else {"tags": tags}
    text = "就業規則"
    return Chunk(f"{source}:0", source, text, 0, len(text), source, content_hash(text), meta)


@pytest.mark.parametrize(
    ("pattern", "path", "want"),
    [
        ("規程/*.md", "規程/就業規則.md", True),
        ("規程/*.md", "規程/人事/給与.md", False),  # * stays in one segment
        ("規程/**/*.md", "規程/人事/給与.md", True),
        ("規程/**/*.md", "規程/就業規則.md", True),  # **/ may match no folder
        ("*.md", "corpora/社内/手当.md", True),  # a file name in any folder
        ("*.md", "corpora/社内/手当.txt", False),
        ("docs/?.txt", "docs/a.txt", True),
        ("docs/?.txt", "docs/ab.txt", False),
        ("docs/[ab].txt", "docs/b.txt", True),
        ("docs/[!ab].txt", "docs/b.txt", False),
        ("C:/data/*.csv", "C:\\data\\売上.csv", True),  # backslashes read as slashes
        ("報告書(最終).md", "報告書(最終).md", True),  # regex characters are literal
        # Relative globs match the end of an absolute source at a segment boundary.
        ("総務/*", "/srv/docs/総務/通勤手当.txt", True),
        ("務/*", "/srv/docs/総務/通勤手当.txt", False),
        ("規程/**", "/srv/docs/規程/人事/有給休暇.md", True),
        # A glob starting with / must match the whole path.
        ("/srv/docs/*.txt", "/srv/docs/a.txt", True),
        ("/docs/*.txt", "/srv/docs/a.txt", False),
    ],
)
def test_glob_match(pattern: str, path: str, want: bool) -> None:
    assert glob_match(pattern, path) is want


@pytest.mark.parametrize(
    ("filters", "chunk", "want"),
    [
        (Filters(), _chunk("a.md"), True),
        (Filters(source_glob="*.md"), _chunk("規程/a.md"), True),
        (Filters(source_glob="*.pdf"), _chunk("規程/a.md"), False),
        (Filters(tags={"人事"}), _chunk("a.md", ["人事", "規程"]), True),
        (Filters(tags={"人事", "2024"}), _chunk("a.md", ["人事"]), False),  # every tag required
        (Filters(tags={"人事"}), _chunk("a.md"), False),
        (Filters(tags={"人事"}), _chunk("a.md", "人事,規程"), True),  # comma-separated string
        (Filters(source_glob="規程/**", tags={"人事"}), _chunk("規程/x.md", ["人事"]), True),
        (Filters(source_glob="規程/**", tags={"人事"}), _chunk("その他/x.md", ["人事"]), False),
    ],
)
def test_filters_match(filters: Filters, chunk: Chunk, want: bool) -> None:
    assert filters.matches(chunk) is want


def test_filters_normalise_tags_and_activity() -> None:
    assert Filters(tags={"a"}).tags == frozenset({"a"})
    assert Filters(tags="人事").tags == frozenset({"人事"})
    assert not Filters().active
    assert not Filters(tags=set()).active
    assert Filters(source_glob="*.md").active
    assert chunk_tags({"tags": ["x", "y"]}) == {"x", "y"}
