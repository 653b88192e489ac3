"""Runaway-loop detection in model output (jpagent.llm.loops), on Japanese text."""

from __future__ import annotations

import pytest

from jpagent.llm.loops import LoopGuard, repeated_tail

# The loop the embedded 1.5B model fell into on the sample corpus (evals/results/ask-2026-12-02).
SEEN = "第2条（精算の期限）の"

PROSE = (
    "経費精算の申請期限は、費用が発生した月の翌月10日までです。"
    "スマート勤怠Proの経費精算機能から、領収書の画像を添えて申請してください。"
    "期限を過ぎた申請は、経理部長の承認がなければ受け付けません[1]。"
)


def test_the_loop_seen_in_the_ask_eval_is_found_and_one_copy_kept() -> None:
    text = "[1] " + SEEN * 40
    loop = repeated_tail(text)
    assert loop is not None
    assert loop.unit == SEEN and loop.repeats == 40
    assert text[: loop.cut] == "[1] " + SEEN


def test_a_loop_stopping_mid_copy_is_traced_back_to_its_first_copy() -> None:
    text = "回答：" + SEEN * 8 + SEEN[:4]
    loop = repeated_tail(text)
    assert loop is not None and loop.unit == SEEN and loop.repeats == 8
    assert text[: loop.cut] == "回答：" + SEEN


def test_the_shortest_unit_is_reported() -> None:
    loop = repeated_tail("はいいいえ" * 20)
    assert loop is not None and loop.unit == "はいいいえ"  # not "はいいいえはいいいえ"


@pytest.mark.parametrize(
    "text",
    [
        PROSE,
        PROSE * 2,  # a paragraph said twice is not yet a loop
        "えーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーーー",
        "続きは……" + "…" * 100,
        "# 見出し\n" + "=" * 120,
        "def f():\n" + " " * 80,
        "| 項目 | 金額 |\n| --- | --- |\n| 日当 | 3,000円 |\n| 宿泊 | 12,000円 |\n",
        "はい、" * 5,  # short unit, few copies: 15 characters
        "ありがとうございます。" * 2,
        "",
        "あ",
    ],
)
def test_ordinary_text_is_no_loop(text: str) -> None:
    assert repeated_tail(text) is None


def test_short_units_need_more_copies_than_long_ones() -> None:
    assert repeated_tail("あい" * 31) is None  # 62 characters
    assert repeated_tail("あい" * 32) is not None  # 64
    long_unit = "ありがとうございます。本当に助かりました。"  # 21 characters
    assert repeated_tail(long_unit * 2) is None
    assert repeated_tail(long_unit * 4) is not None  # 4 copies, 84 characters
    assert repeated_tail("ありがとうございます。" * 5) is None  # 11 x 5 = 55 characters
    assert repeated_tail("ありがとうございます。" * 6) is not None


def test_guard_stops_at_the_first_delta_that_completes_a_loop() -> None:
    guard = LoopGuard()
    text = "[1] " + SEEN * 30
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    fed = 0
    for piece in pieces:
        fed += 1
        if guard.feed(piece) is not None:
            break
    assert guard.loop is not None
    assert fed < len(pieces) // 3  # stopped after about six copies, not thirty
    assert text[: guard.loop.cut] == "[1] " + SEEN
    assert guard.feed("その後") is guard.loop  # once found, it stays found


def test_guard_cut_counts_from_the_start_after_a_long_answer() -> None:
    guard = LoopGuard()
    prefix = "".join(f"第{i}条は規程の本文である。" for i in range(600))  # ~9,000 characters
    assert guard.feed(prefix) is None
    for piece in [SEEN[:5], SEEN[5:], SEEN * 3, SEEN * 3]:
        guard.feed(piece)
    assert guard.loop is not None
    assert guard.loop.cut == len(prefix) + len(SEEN)


def test_guard_finds_a_long_loop_delivered_in_one_piece() -> None:
    text = PROSE + SEEN * 300  # a non-streaming reply: the whole loop at once
    guard = LoopGuard()
    loop = guard.feed(text)
    assert loop is not None and text[: loop.cut] == PROSE + SEEN
