"""Plain data of the eval report: what each result file becomes before it is written out.

A renderer (one per kind of result file) turns a JSON file into a :class:`Section` made of
blocks — :class:`Table`, :class:`BarChart` (numbers to draw), :class:`Image` (a PNG beside
the JSON), :class:`Para`, :class:`Notes` (the Markdown recorded beside the JSON) and
:class:`Settings`. Nothing here knows HTML, Markdown or matplotlib; the writers do.
Every string may come from a file: the writers escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells (one tuple of strings per row)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class BarChart:
    """Grouped bars: one group per category, one bar per series in each group.

    ``series`` pairs a name with one value per category (``None``: no bar). Series whose name
    is in ``highlight`` (jpagent's own rows) are drawn in the accent colours, the others
    (anchors) in greys, so that jpagent and the anchors read side by side.
    """

    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    ylabel: str = ""
    highlight: frozenset[str] = frozenset()
    log_scale: bool = False
    horizontal: bool = False


@dataclass(frozen=True)
class Image:
    """A PNG chart written by the eval itself, next to its JSON."""

    title: str
    path: Path


@dataclass(frozen=True)
class Para:
    """One paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Notes:
    """The Markdown file recorded beside the JSON (shown folded, rendered without raw HTML)."""

    path: Path
    text: str


@dataclass(frozen=True)
class Settings:
    """The configuration a run recorded (shown as JSON)."""

    title: str
    data: Any


Block = Table | BarChart | Image | Para | Notes | Settings


@dataclass(frozen=True)
class Section:
    """One result file, rendered.

    ``kind`` names the renderer that produced it (``generic`` for unknown files);
    ``warning`` says why a known kind fell back to the generic renderer, if it did.
    """

    kind: str
    title: str
    source: Path
    date: str
    command: str
    blocks: tuple[Block, ...]
    warning: str = ""


@dataclass(frozen=True)
class Skipped:
    """A file that could not be rendered at all, and why."""

    source: Path
    reason: str


@dataclass(frozen=True)
class Report:
    """Everything found in one results folder."""

    title: str
    folder: Path
    generated: str
    sections: tuple[Section, ...] = ()
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
