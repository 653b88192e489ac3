"""Reasoning separation while streaming: every chunking of a reply gives the same split.

Each case is fed whole, one character at a time, and split in two at every position (and in
three at every pair of positions for the short ones): the joined reasoning, answer and tool
calls must always be the expected ones, and the answer must never hold reasoning or tags.
"""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from jpagent.llm.base import ChatDelta
from jpagent.llm.reasoning import ReasoningSplitter

HARMONY = (
    "<|channel|>analysis<|message|>利用者は東京の天気を尋ねている。簡潔に答える。<|end|>"
    "<|start|>assistant<|channel|>final<|message|>東京は晴れです。<|return|>"
)
HARMONY_TOOL = (
    "<|channel|>analysis<|message|>天気ツールを呼ぶ。<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city": "東京"}<|call|>'
)

# (mode, raw reply, expected reasoning, expected answer, expected tool calls as (name, args))
CASES = [
    (
        "think_tags",
        "<think>\n富士山の高さを思い出す。3776mだ。\n</think>\n\n富士山の高さは3776メートルです。",
        "富士山の高さを思い出す。3776mだ。",
        "富士山の高さは3776メートルです。",
        [],
    ),
    (
        "auto",
        "<think>ニャーと鳴くのは猫。</think>猫はニャーニャーと鳴きます。",
        "ニャーと鳴くのは猫。",
        "猫はニャーニャーと鳴きます。",
        [],
    ),
    (
        "think_tags_implied_open",
        "ユーザーは首都を聞いている。日本の首都は東京。\n</think>\n\n日本の首都は東京です。",
        "ユーザーは首都を聞いている。日本の首都は東京。",
        "日本の首都は東京です。",
        [],
    ),
    (
        "think_tags_implied_open",
        "<think>\n考える: 1 < 2 は真。</think>はい、1は2より小さいです。",
        "考える: 1 < 2 は真。",
        "はい、1は2より小さいです。",
        [],
    ),
    ("think_tags_implied_open", "まだ考え中で</thi", "まだ考え中で</thi", "", []),
    (
        "auto",
        "東京都に住んでいます。<think>は使いません",
        "",
        "東京都に住んでいます。<think>は使いません",
        [],
    ),
    ("none", "<think>そのまま</think>表示", "", "<think>そのまま</think>表示", []),
    ("think_tags", "答えは 2 < 3 です。", "", "答えは 2 < 3 です。", []),
    (
        "harmony",
        HARMONY,
        "利用者は東京の天気を尋ねている。簡潔に答える。",
        "東京は晴れです。",
        [],
    ),
    (
        "auto",
        HARMONY,
        "利用者は東京の天気を尋ねている。簡潔に答える。",
        "東京は晴れです。",
        [],
    ),
    ("harmony", HARMONY_TOOL, "天気ツールを呼ぶ。", "", [("get_weather", '{"city": "東京"}')]),
    (
        "harmony",
        "analysis質問は挨拶。丁寧に返す。assistantfinalこんにちは、お元気ですか。",
        "質問は挨拶。丁寧に返す。",
        "こんにちは、お元気ですか。",
        [],
    ),
    ("harmony", "ただの答えです。", "", "ただの答えです。", []),
]


def _run(mode: str, chunks: list[str]) -> tuple[str, str, list[tuple[str, str]], list[ChatDelta]]:
    splitter = ReasoningSplitter(mode)
    deltas: list[ChatDelta] = []
    for chunk in chunks:
        deltas.extend(splitter.feed(chunk))
    deltas.extend(splitter.close())
    reasoning = "".join(d.text for d in deltas if d.kind == "reasoning").strip()
    text = "".join(d.text for d in deltas if d.kind == "text")
    tools = [(d.tool_call.name, d.tool_call.arguments) for d in deltas if d.tool_call]
    return reasoning, text, tools, deltas


def _chunkings(raw: str):
    yield [raw]
    yield list(raw)
    for i in range(len(raw) + 1):
        yield [raw[:i], raw[i:]]
    if len(raw) <= 80:
        for i, j in combinations(range(len(raw) + 1), 2):
            yield [raw[:i], raw[i:j], raw[j:]]


@pytest.mark.parametrize(("mode", "raw", "reasoning", "text", "tools"), CASES)
def test_every_chunking_separates_the_same(mode, raw, reasoning, text, tools):
    n = 0
    for chunks in _chunkings(raw):
        got = _run(mode, chunks)
        assert got[:3] == (reasoning, text, tools), f"chunks={chunks!r}"
        n += 1
    assert n > len(raw)


@pytest.mark.parametrize(("mode", "raw", "reasoning", "text", "tools"), CASES)
def test_answer_never_holds_reasoning(mode, raw, reasoning, text, tools):
    _, got_text, _, deltas = _run(mode, [raw])
    if reasoning:
        assert reasoning not in got_text
        assert "</think>" not in got_text and "<|" not in got_text
    for d in deltas:
        if d.kind == "tool_call":
            assert json.loads(d.text) == {
                "name": d.tool_call.name,
                "arguments": d.tool_call.arguments,
            }


def test_split_tag_is_held_back_until_decided():
    s = ReasoningSplitter("think_tags")
    assert s.feed("<thi") == []  # could still become <think>
    assert s.feed("nk>推論") == [ChatDelta("reasoning", "推論")]
    assert s.feed("です</th") == [ChatDelta("reasoning", "です")]  # '</th' held back
    assert s.feed("ink>答え") == [ChatDelta("text", "答え")]
    assert s.close() == []


def test_text_streams_without_waiting_for_the_end():
    s = ReasoningSplitter("auto")
    assert s.feed("東京") == [ChatDelta("text", "東京")]
    assert s.feed("です。") == [ChatDelta("text", "です。")]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="think_tags"):
        ReasoningSplitter("thinking")
