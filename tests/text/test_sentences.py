"""Japanese sentence splitting: one table case per rule."""

from __future__ import annotations

import random
import time

import pytest

from jpagent.text.sentences import Sentence, split_sentences


def texts(source: str) -> list[str]:
    return [s.text for s in split_sentences(source)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # terminators
        ("今日は晴れ。明日は雨。", ["今日は晴れ。", "明日は雨。"]),
        ("本当！嘘？はい．", ["本当！", "嘘？", "はい．"]),
        ("やった!次は?終わり", ["やった!", "次は?", "終わり"]),
        ("え！？本当?!うそ。。", ["え！？", "本当?!", "うそ。。"]),
        ("半角｡句点｡", ["半角｡", "句点｡"]),
        # line and paragraph breaks
        ("一行目\n二行目", ["一行目", "二行目"]),
        ("段落1\n\n段落2。", ["段落1", "段落2。"]),
        ("CRLF\r\n改行", ["CRLF", "改行"]),
        # brackets and quotes
        ("「はい。そうです。」と彼は言った。次。", ["「はい。そうです。」と彼は言った。", "次。"]),
        ("『本。』を読む。", ["『本。』を読む。"]),
        ("（注：以下参照。）本文。", ["（注：以下参照。）本文。"]),
        ("【重要。必読！】案内。", ["【重要。必読！】案内。"]),
        ("“引用。です。”と書く。", ["“引用。です。”と書く。"]),
        ("(半角括弧。)も同じ。", ["(半角括弧。)も同じ。"]),
        ("猫が「ニャー。ニャー。」と鳴いた。", ["猫が「ニャー。ニャー。」と鳴いた。"]),
        ("彼は言った。「行こう。」", ["彼は言った。", "「行こう。」"]),
        ("終わりです。」次の文。", ["終わりです。」", "次の文。"]),  # stray closer stays
        ("「閉じない括弧。\n次の行。", ["「閉じない括弧。", "次の行。"]),  # reset at line end
        # ellipsis
        ("そうですね……。わかりません。", ["そうですね……。", "わかりません。"]),
        ("彼は……わからない。", ["彼は……わからない。"]),
        ("待って...本当?", ["待って...本当?"]),
        ("Wait... what?", ["Wait... what?"]),
        # decimals, versions, URLs, e-mail
        ("円周率は3.14です。次。", ["円周率は3.14です。", "次。"]),
        ("全角で３．１４です。", ["全角で３．１４です。"]),
        ("v2.3.1 と file.txt を使う。", ["v2.3.1 と file.txt を使う。"]),
        (
            "https://example.com/a?b=1!c を見て。次。",
            ["https://example.com/a?b=1!c を見て。", "次。"],
        ),
        (
            "詳細はwww.example.co.jp/faq?q=1で。以上。",
            ["詳細はwww.example.co.jp/faq?q=1で。", "以上。"],
        ),
        ("See https://example.com/page. Next one.", ["See https://example.com/page.", "Next one."]),
        (
            "連絡先は taro.yamada@example.co.jp です。",
            ["連絡先は taro.yamada@example.co.jp です。"],
        ),
        # abbreviations and initials
        ("Mr. Tanaka met Dr. Sato. They talked.", ["Mr. Tanaka met Dr. Sato.", "They talked."]),
        ("No. 5 を参照。e.g. これ。", ["No. 5 を参照。", "e.g. これ。"]),
        ("J. K. Rowling wrote it. Then", ["J. K. Rowling wrote it.", "Then"]),
        # list items
        ("1. 概要\n2. 詳細です。続き。", ["1. 概要", "2. 詳細です。", "続き。"]),
        ("・項目A\n・項目B", ["・項目A", "・項目B"]),
        ("- 項目A\n* 項目B\n(1) 項目C", ["- 項目A", "* 項目B", "(1) 項目C"]),
        ("１．全角番号\n２．次", ["１．全角番号", "２．次"]),
        # Markdown headings are one sentence whatever they hold
        ("# 見出し！です。か?\n本文。", ["# 見出し！です。か?", "本文。"]),
        ("## 1. はじめに\n本文。", ["## 1. はじめに", "本文。"]),
        ("#\n本文。次。", ["#", "本文。", "次。"]),
        ("#タグ。本文。", ["#タグ。", "本文。"]),  # a hashtag is not a heading
        # ASCII period before Japanese (NFKC turns ． into .)
        ("これは例である.次に進む.", ["これは例である.", "次に進む."]),
        # nothing to split
        ("", []),
        ("   \n\t\n  ", []),
        ("句読点のない文", ["句読点のない文"]),
    ],
)
def test_rules(source: str, expected: list[str]) -> None:
    assert texts(source) == expected


def _check_cover(source: str, sentences: list[Sentence]) -> None:
    """Offsets round-trip, sentences are trimmed, ordered, and cover every non-blank char."""
    covered = [False] * len(source)
    last_end = 0
    for s in sentences:
        assert source[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert s.start >= last_end
        last_end = s.end
        for i in range(s.start, s.end):
            covered[i] = True
    for i, ch in enumerate(source):
        assert covered[i] or ch.isspace(), (i, ch)


def test_cover_on_random_japanese() -> None:
    rnd = random.Random(2024)
    pool = list("あいう漢字カナABC123。、！？!?.「」『』（）()“”…\n  ") + [
        "https://x.jp/a?b",
        "3.14",
    ]
    for _ in range(500):
        source = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 80)))
        sentences = split_sentences(source)
        _check_cover(source, sentences)
        assert split_sentences(source) == sentences  # deterministic


def test_llamaindex_failure_case_gives_real_sentences() -> None:
    """LlamaIndex marks 。-split pieces as non-sentences; ours are sentences with offsets."""
    source = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    got = split_sentences(source)
    assert [s.text for s in got] == [
        "吾輩は猫である。",
        "名前はまだ無い。",
        "どこで生れたかとんと見当がつかぬ。",
    ]
    assert [(s.start, s.end) for s in got] == [(0, 8), (8, 16), (16, 33)]


def test_one_megabyte_line_without_punctuation_is_linear() -> None:
    line = "あ" * 1_000_000
    t0 = time.perf_counter()
    got = split_sentences(line)
    assert time.perf_counter() - t0 < 5
    assert got == [Sentence(0, 1_000_000, line)]


@pytest.mark.parametrize(
    "line",
    [
        "http://" + "." * 200_000,  # a URL-looking run with no end character
        "a@" * 200_000,
        "「" * 200_000,
        "." * 200_000,
        "# " + "見出し" * 100_000,
    ],
)
def test_pathological_lines_stay_fast(line: str) -> None:
    t0 = time.perf_counter()
    _check_cover(line, split_sentences(line))
    assert time.perf_counter() - t0 < 10
