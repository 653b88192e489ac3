"""JSQuAD (JGLUE) in SQuAD v1 JSON: articles, paragraphs and questions with article offsets.

The file is read in place (``--data FILE`` or ``$JPAGENT_DATA_DIR/jsquad/valid-v1.3.json``).
Each paragraph's ``context`` is ``"title [SEP] text"``; an article's text is its paragraphs'
contexts joined with ``"\\n\\n"``, so every answer has a position in the paragraph and one in the
article. A question's gold answer is its first listed answer.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from jpagent.errors import ConfigError

DEFAULT_FILE = Path("jsquad") / "valid-v1.3.json"
PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Paragraph:
    """One context paragraph; ``start`` is its offset in the article text."""

    id: str
    article: int
    text: str
    start: int


@dataclass(frozen=True)
class Article:
    """One Wikipedia article: title and the paragraphs joined with a blank line."""

    index: int
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    """A question, its gold paragraph and the gold answer span in paragraph and article."""

    id: str
    text: str
    paragraph_id: str
    article: int
    answer: str
    answer_start: int
    article_start: int

    @property
    def article_end(self) -> int:
        """End (exclusive) of the answer span in the article text."""
        return self.article_start + len(self.answer)


@dataclass(frozen=True)
class JSQuAD:
    """The loaded split."""

    path: str
    articles: tuple[Article, ...]
    paragraphs: tuple[Paragraph, ...]
    questions: tuple[Question, ...]


def resolve_data_path(data_path: str | Path | None) -> Path:
    """``data_path`` if given, else ``$JPAGENT_DATA_DIR/jsquad/valid-v1.3.json``; must exist."""
    if data_path is None:
        base = os.environ.get("JPAGENT_DATA_DIR")
        if not base:
            raise ConfigError(
                "No JSQuAD file given and JPAGENT_DATA_DIR is not set.",
                message_ja="JSQuAD のファイルが指定されておらず、JPAGENT_DATA_DIR も未設定です。",
                hint="Pass --data path/to/valid-v1.3.json or set JPAGENT_DATA_DIR to the folder "
                "holding jsquad/.",
            )
        data_path = Path(base) / DEFAULT_FILE
    path = Path(data_path)
    if path.is_dir():
        path = path / DEFAULT_FILE if (path / DEFAULT_FILE).is_file() else path / DEFAULT_FILE.name
    if not path.is_file():
        raise ConfigError(
            f"JSQuAD file not found: {path}.",
            message_ja=f"JSQuAD のファイルが見つかりません: {path}",
            hint="JGLUE's JSQuAD valid-v1.3.json (SQuAD v1 JSON) is expected.",
        )
    return path


def load_jsquad(data_path: str | Path | None = None) -> JSQuAD:
    """Load JSQuAD; every answer span is checked against its paragraph."""
    path = resolve_data_path(data_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        data = raw["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a SQuAD-format JSON file ({exc}).",
            message_ja=f"{path} は SQuAD 形式の JSON ではありません（{exc}）。",
            hint='Expected {"data": [{"title", "paragraphs": [{"context", "qas"}]}]}.',
        ) from exc
    articles: list[Article] = []
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    for a, item in enumerate(data):
        offset = 0
        texts: list[str] = []
        for p, para in enumerate(item["paragraphs"]):
            pid = f"a{a}p{p}"
            context = para["context"]
            paragraphs.append(Paragraph(pid, a, context, offset))
            for qa in para["qas"]:
                if not qa.get("answers"):
                    continue
                ans = qa["answers"][0]
                start = int(ans["answer_start"])
                if context[start : start + len(ans["text"])] != ans["text"]:
                    raise ConfigError(
                        f"{path}: answer of question {qa['id']} is not at answer_start {start}.",
                        message_ja=f"{path}: 質問 {qa['id']} の答えが answer_start の位置にありません。",
                    )
                questions.append(
                    Question(qa["id"], qa["question"], pid, a, ans["text"], start, offset + start)
                )
            texts.append(context)
            offset += len(context) + len(PARAGRAPH_SEPARATOR)
        articles.append(Article(a, item.get("title", ""), PARAGRAPH_SEPARATOR.join(texts)))
    return JSQuAD(str(path), tuple(articles), tuple(paragraphs), tuple(questions))


def seeded_subset(questions: tuple[Question, ...], n: int | None, seed: int) -> list[Question]:
    """``n`` questions drawn without replacement with ``random.Random(seed)``, in data order."""
    if n is None or n >= len(questions):
        return list(questions)
    picked = sorted(random.Random(seed).sample(range(len(questions)), n))
    return [questions[i] for i in picked]


def seeded_halves(
    questions: tuple[Question, ...] | list[Question], seed: int
) -> tuple[list[Question], list[Question]]:
    """Split questions in two halves at random (``random.Random(seed)``): (tune, held-out)."""
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    tune = sorted(order[:half])
    held = sorted(order[half:])
    return [questions[i] for i in tune], [questions[i] for i in held]
