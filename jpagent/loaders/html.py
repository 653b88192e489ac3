"""HTML files: the readable text of the page, one block per line.

Dropped: ``script``, ``style``, ``nav``, ``aside``, ``noscript``, ``template``, ``svg``,
``iframe``, elements marked ``hidden``, and the page's own ``header``/``footer`` (those inside an
``article``, ``section`` or ``main`` introduce that content and are kept). Headings ``h1``–``h6``
are lines of their own, recorded in ``metadata["headings"]`` as ``[level, start, title]``.
Table rows become lines, cells named by a header row (``<th>`` cells, or one that looks like a
header) as ``列名: 値、列名: 値``, else joined by ``" | "`` (:mod:`jpagent.loaders.tables`).
Whitespace is collapsed as a browser would, except that a line break between two Japanese
characters disappears instead of turning into a space (CSS Text 3's rule for East Asian text).

The bytes are decoded with the charset the page declares (``<meta charset>``, the
``http-equiv`` form, or an XML declaration) when it is valid, else by detection.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from jpagent.errors import LoaderError
from jpagent.loaders.common import decode_text, make_document
from jpagent.loaders.tables import table_lines
from jpagent.types import Document

DROP_TAGS = frozenset(
    {"script", "style", "nav", "aside", "noscript", "template", "svg", "iframe", "head"}
)
_PAGE_CHROME = frozenset({"header", "footer"})
_CONTENT_SECTIONS = frozenset({"article", "section", "main"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "blockquote", "body", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "legend", "li",
        "main", "ol", "p", "section", "summary", "ul", "caption",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}

_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_SPACES = re.compile(r"\s+")


def load_html(path: Path, data: bytes) -> list[Document]:
    """One Document with the page text, its headings and ``title`` (``<title>`` or first h1)."""
    declared = declared_charset(data)
    text, encoding = decode_text(path, data, declared=declared)
    soup = BeautifulSoup(text, "lxml")
    renderer = _Renderer()
    try:
        renderer.render(soup)
    except RecursionError:
        raise LoaderError(
            f"{path}: HTML nested too deeply to read.",
            f"{path}: HTML の入れ子が深すぎて読み込めません。",
        ) from None
    body, headings = renderer.result()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if not title:
        title = next((h[2] for h in headings if h[0] == 1), "")
    return [
        make_document(
            path,
            body,
            "html",
            encoding=encoding,
            declared_charset=declared,
            headings=headings,
            title=title or None,
        )
    ]


def declared_charset(data: bytes) -> str | None:
    """The charset named by a ``<meta>`` tag or XML declaration in the first 4 KB, if any."""
    head = data[:4096]
    match = _XML_ENCODING.match(head) or _CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


class _Renderer:
    """Walks the parsed tree, collecting lines of text and heading positions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headings: list[list] = []
        self.inline: list[str] = []
        self.length = 0  # length of "\n".join(self.lines) + "\n" so far

    def result(self) -> tuple[str, list[list]]:
        self.flush()
        return "\n".join(self.lines), self.headings

    def add_line(self, line: str) -> int:
        """Append a finished line; return its start offset."""
        start = self.length
        self.lines.append(line)
        self.length += len(line) + 1
        return start

    def flush(self) -> None:
        line = collapse("".join(self.inline))
        self.inline = []
        if line:
            self.add_line(line)

    def render(self, node: Tag, in_content: bool = False) -> None:
        for child in node.children:
            if isinstance(child, Comment | Declaration | Doctype | ProcessingInstruction):
                continue
            if isinstance(child, NavigableString):
                self.inline.append(str(child))
            elif isinstance(child, Tag):
                self.element(child, in_content)

    def element(self, tag: Tag, in_content: bool) -> None:
        name = tag.name.lower()
        if name in DROP_TAGS or tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
            return
        if name in _PAGE_CHROME and not in_content:
            return
        in_content = in_content or name in _CONTENT_SECTIONS
        if name in _HEADINGS:
            self.flush()
            title = collapse(tag.get_text())
            if title:
                self.headings.append([_HEADINGS[name], self.add_line(title), title])
        elif name == "br":
            self.flush()
        elif name == "pre":
            self.flush()
            for line in tag.get_text().strip("\n").split("\n"):
                if line.strip():
                    self.add_line(line.rstrip())
        elif name == "table":
            self.flush()
            self.table(tag)
        elif name == "li":
            self.flush()
            self.inline.append(_list_marker(tag))
            self.render(tag, in_content)
            self.flush()
        elif name in _BLOCK_TAGS:
            self.flush()
            self.render(tag, in_content)
            self.flush()
        else:
            self.render(tag, in_content)

    def table(self, table: Tag) -> None:
        caption = table.find("caption")
        if isinstance(caption, Tag) and collapse(caption.get_text()):
            self.add_line(collapse(caption.get_text()))
        rows: list[list[str]] = []
        header: bool | None = None
        spans = False
        for row in table.find_all("tr"):
            if row.find_parent("table") is not table:
                continue  # rows of nested tables are read as cell text
            tags = row.find_all(["th", "td"], recursive=False)
            spans = spans or any(_span(t, "colspan") > 1 or _span(t, "rowspan") > 1 for t in tags)
            if not rows and tags and all(t.name == "th" for t in tags):
                header = True
            rows.append([collapse(cell.get_text(" ")) for cell in tags])
        for line in table_lines(rows, header=False if spans else header):
            self.add_line(line)


def _span(cell: Tag, name: str) -> int:
    value = cell.get(name)
    try:
        return int(str(value)) if value is not None else 1
    except ValueError:
        return 1


def _list_marker(item: Tag) -> str:
    parent = item.parent
    if isinstance(parent, Tag) and parent.name == "ol":
        siblings = [li for li in parent.find_all("li", recursive=False)]
        return f"{siblings.index(item) + 1}. "
    return "- "


def collapse(text: str) -> str:
    """Collapse whitespace like a browser, dropping line breaks between Japanese characters."""

    def replace(match: re.Match[str]) -> str:
        run = match.group()
        before = text[match.start() - 1] if match.start() > 0 else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if "\n" in run and _is_wide(before) and _is_wide(after):
            return ""
        return " "

    return _SPACES.sub(replace, text).strip()


def _is_wide(ch: str) -> bool:
    return bool(ch) and unicodedata.east_asian_width(ch) in {"W", "F"}
