"""Walk a folder in a fixed order, with include/exclude glob patterns.

Patterns use ``/`` and are matched against the path relative to the folder walked:
``*`` and ``?`` stay inside one path segment, ``**`` spans any number of segments
(``**/*.md``, ``規程/**``), ``[...]`` is a character class. A pattern without ``/`` is matched
against the file name alone, in any folder (``*.pdf``, ``~$*``), as in ``.gitignore``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from jpagent.errors import LoaderError

SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
"""Folders never entered, besides hidden ones (``.git``, ``.venv``…)."""


def walk(
    root: str | Path, include: Iterable[str] = ("**/*",), exclude: Iterable[str] = ()
) -> Iterator[Path]:
    """Yield the files under ``root`` that match an ``include`` and no ``exclude`` pattern.

    Order is sorted by relative path (segment by segment), so it is the same on every machine.
    Hidden files and folders (name starting with ``.``, e.g. ``.venv``, ``.git``) and
    :data:`SKIP_DIRS` are skipped; a folder matching an ``exclude`` pattern is not entered.
    A ``root`` that is a file is yielded as is. Raises LoaderError if ``root`` does not exist.
    """
    root = Path(root)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise LoaderError(
            f"{root}: no such file or folder.",
            f"{root}: ファイルまたはフォルダが見つかりません。",
        )
    includes = tuple(include)
    excludes = tuple(exclude)
    found: list[tuple[tuple[str, ...], Path]] = []
    for folder, dirnames, filenames in os.walk(root):
        rel_folder = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        dirnames[:] = [
            name
            for name in dirnames
            if not name.startswith(".")
            and name not in SKIP_DIRS
            and not matches_any(prefix + name + "/", excludes)
        ]
        for name in filenames:
            rel = prefix + name
            if name.startswith("."):
                continue
            if matches_any(rel, includes) and not matches_any(rel, excludes):
                found.append((tuple(rel.split("/")), Path(folder) / name))
    found.sort(key=lambda item: item[0])
    for _, path in found:
        yield path


def matches_any(rel_path: str, patterns: tuple[str, ...]) -> bool:
    """Whether POSIX ``rel_path`` matches one of ``patterns`` (see the module docstring).

    A folder is passed with a trailing ``/``. It matches a pattern naming it (``drafts``,
    ``**/drafts``) or one that covers everything under it (``drafts/**``).
    """
    is_dir = rel_path.endswith("/")
    path = rel_path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        body = pattern.rstrip("/") or pattern
        regex = _compile(body)
        if regex.fullmatch(path if "/" in body else name):
            return True
        if is_dir and "/" in body and regex.fullmatch(path + "/"):
            return True
    return False


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate a glob with ``**`` into a regular expression over POSIX paths."""
    out: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_translate_segment(segment))
        if not last:
            out.append("/")
    return re.compile("".join(out))


def _translate_segment(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = segment.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = segment[i + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                escaped = body.replace("\\", "\\\\")
                out.append(("[^" if negate else "[") + escaped + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)
