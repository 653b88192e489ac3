"""Files to :class:`~jpagent.types.Document`: txt, md, html, pdf, docx, csv.

``load(path)`` reads one file, choosing the reader by content and extension
(:mod:`jpagent.loaders.detect`); ``walk(root, include, exclude)`` lists a folder in a fixed
order; ``load_many(...)`` loads files and folders and reports, instead of indexing, every file
that is binary, unsupported, empty, too large or broken.

Every Document has ``id == source == str(path)`` and ``metadata["format"]`` and ``["title"]``;
text formats add ``["encoding"]``, Markdown/HTML/DOCX ``["headings"]`` (``[[level, start,
title], ...]``), PDF ``["page_spans"]`` (``[[page_no, start, end], ...]``), CSV ``["rows"]``
and ``["columns"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from jpagent.errors import JpagentError, LoaderError
from jpagent.loaders.detect import FORMATS, sniff_format
from jpagent.loaders.walk import walk
from jpagent.types import Document

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "LoadReport",
    "Skipped",
    "load",
    "load_many",
    "walk",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Files larger than this (50 MiB) are refused; raise it with ``max_bytes=``."""


class Skipped(NamedTuple):
    """A file that was not loaded, and why (English; ``reason_ja`` in Japanese)."""

    path: str
    reason: str
    reason_ja: str = ""


class LoadReport(NamedTuple):
    """What :func:`load_many` loaded and what it skipped, both in walk order."""

    documents: list[Document]
    skipped: list[Skipped]


def load(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """Load one file as a list of Documents (one per file for every format today).

    Raises :class:`~jpagent.errors.LoaderError` for a missing, empty, too large, binary,
    unsupported or broken file, and :class:`~jpagent.errors.DecodeError` for text in no
    known encoding. Each message names the file and what to do.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LoaderError(f"{path}: no such file.", f"{path}: ファイルが見つかりません。") from None
    if path.is_dir():
        raise LoaderError(
            f"{path}: is a folder; use load_many() to load a folder.",
            f"{path}: フォルダです。フォルダは load_many() で読み込んでください。",
        )
    if size > max_bytes:
        raise LoaderError(
            f"{path}: {size:,} bytes is over the size limit of {max_bytes:,} bytes.",
            f"{path}: {size:,} バイトで、上限 {max_bytes:,} バイトを超えています。",
            hint="raise the limit with the max_bytes setting (load(..., max_bytes=N), "
            "setting `text.max_file_mb`, env JPAGENT_TEXT_MAX_FILE_MB) or split the file",
        )
    if size == 0:
        raise LoaderError(
            f"{path}: empty file (0 bytes).", f"{path}: 空のファイルです（0バイト）。"
        )
    data = path.read_bytes()
    fmt = sniff_format(path, data)
    documents = _reader(fmt)(path, data)
    logger.debug("loaded %s as %s: %d document(s)", path, fmt, len(documents))
    return documents


def load_many(
    paths_or_dirs: str | Path | Iterable[str | Path],
    include: Iterable[str] = ("**/*",),
    exclude: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadReport:
    """Load files and folders (folders through :func:`walk` with ``include``/``exclude``).

    A file that cannot be loaded (any :class:`~jpagent.errors.JpagentError` or ``OSError``)
    is listed in ``skipped`` with the reason and logged; loading goes on. Files named
    directly are loaded whatever the patterns; a file reached twice is loaded once.
    """
    if isinstance(paths_or_dirs, str | Path):
        paths_or_dirs = [paths_or_dirs]
    includes, excludes = tuple(include), tuple(exclude)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for item in paths_or_dirs:
        try:
            files = list(walk(item, includes, excludes))
        except LoaderError as exc:
            skipped.append(Skipped(str(item), exc.message, exc.message_ja))
            logger.warning("skipped %s: %s", item, exc.message)
            continue
        for path in files:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            try:
                documents.extend(load(path, max_bytes=max_bytes))
            except JpagentError as exc:
                skipped.append(Skipped(str(path), exc.message, exc.message_ja))
                logger.info("skipped %s: %s", path, exc.message)
            except OSError as exc:
                skipped.append(Skipped(str(path), f"{path}: cannot read ({exc.strerror})."))
                logger.info("skipped %s: %s", path, exc)
    return LoadReport(documents, skipped)


def _reader(fmt: str) -> Callable[[Path, bytes], list[Document]]:
    """The loader function for a format; parsers are imported only when needed."""
    if fmt == "txt":
        from jpagent.loaders.text import load_txt

        return load_txt
    if fmt == "md":
        from jpagent.loaders.text import load_markdown

        return load_markdown
    if fmt == "html":
        from jpagent.loaders.html import load_html

        return load_html
    if fmt == "pdf":
        from jpagent.loaders.pdf import load_pdf

        return load_pdf
    if fmt == "docx":
        from jpagent.loaders.docx import load_docx

        return load_docx
    if fmt == "csv":
        from jpagent.loaders.csv import load_csv

        return load_csv
    raise ValueError(f"unknown format {fmt!r}")  # sniff_format returns only FORMATS
