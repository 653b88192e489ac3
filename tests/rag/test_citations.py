"""Citation markers: parsing (half/full width, lists, ranges), mapping to sources, no-answer."""

from __future__ import annotations

import pytest

from jpagent.rag.citations import (
    NO_ANSWER,
    cited_numbers,
    infer_citations,
    is_no_answer,
    parse_citations,
    resolve_citations,
)
from jpagent.rag.packing import Source
from jpagent.types import Citation


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("有給休暇は10日です[1]。", [1]),
        ("申請は3日前までです[1][3]。", [1, 3]),
        ("両方に書かれています[1,2]。", [1, 2]),
        ("両方に書かれています[1, 2]。", [1, 2]),
        ("読点で区切る例です[2、1]。", [2, 1]),
        ("隅付き括弧の例です【1】。", [1]),
        ("全角の角括弧と数字です［１］。", [1]),
        ("全角の二桁です［１２］。", [12]),
        ("全角のカンマです［１，３］。", [1, 3]),
        ("範囲の例です[2-4]。", [2, 3, 4]),
        ("ラベル付きの例です[資料2]。", [2]),
        ("同じ番号は一度だけ[1]。また[1]。", [1]),
        ("引用がない答えです。", []),
        ("[SEP] や [注] は引用ではありません。", []),
        ("配列 a[i] も引用ではありません。", []),
        ("大きすぎる範囲は広げません[1-999]。", [1, 999]),
        ("逆向きの範囲[3-1]。", [3, 1]),
    ],
)
def test_cited_numbers(text: str, numbers: list[int]) -> None:
    assert cited_numbers(text) == numbers


def test_parse_citations_spans_point_at_the_markers() -> None:
    text = "勤務時間は9時から18時まで[1][3]、休憩は1時間です【２】。"
    marks = parse_citations(text)
    assert [text[m.start : m.end] for m in marks] == ["[1]", "[3]", "【２】"]
    assert [m.numbers for m in marks] == [(1,), (3,), (2,)]


SOURCES = (
    Source(
        number=1,
        text="有給休暇は入社6か月後に10日付与する。",
        source="corpora/規程/就業規則.md",
        doc_id="corpora/規程/就業規則.md",
        start=120,
        end=140,
        page=None,
        heading_path=("第3章 休暇", "第12条 年次有給休暇"),
        chunk_id="corpora/規程/就業規則.md:abc:120",
    ),
    Source(
        number=2,
        text="申請は取得日の3日前までに行う。",
        source="corpora/手引き.pdf",
        doc_id="corpora/手引き.pdf",
        start=2048,
        end=2064,
        page=4,
        chunk_id="corpora/手引き.pdf:def:2048",
    ),
)


def test_resolve_maps_numbers_to_source_path_page_offsets() -> None:
    resolved = resolve_citations("10日です[1]。申請は3日前まで［２］。", SOURCES)
    assert resolved.citations == (
        Citation(1, "corpora/規程/就業規則.md", 120, 140, None, "corpora/規程/就業規則.md:abc:120"),
        Citation(2, "corpora/手引き.pdf", 2048, 2064, 4, "corpora/手引き.pdf:def:2048"),
    )
    assert resolved.unknown == ()
    assert resolved.no_answer is False


@pytest.mark.parametrize(
    ("text", "kept", "unknown"),
    [
        ("10日です[1][7]。", (1,), (7,)),
        ("[0]と[3]は資料にない番号です。", (), (0, 3)),
        ("3日前まで[2,5]。", (2,), (5,)),
    ],
)
def test_numbers_naming_no_source_are_dropped(text: str, kept: tuple, unknown: tuple) -> None:
    resolved = resolve_citations(text, SOURCES)
    assert tuple(c.number for c in resolved.citations) == kept
    assert resolved.unknown == unknown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NO_ANSWER, True),
        ("資料からはわかりません。", True),
        ("資料から分かりません", True),
        ("申し訳ありませんが、資料からは分かりません。[1]", True),
        ("有給休暇は10日です[1]。", False),
        ("分かりません。", False),
    ],
)
def test_no_answer_detection(text: str, expected: bool) -> None:
    assert is_no_answer(text) is expected


def test_no_answer_has_no_citations_even_with_markers() -> None:
    resolved = resolve_citations("資料からは分かりません。[1][2]", SOURCES)
    assert resolved.citations == ()
    assert resolved.no_answer is True


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # The model answered from source 1 but wrote no marker (small models often do).
        ("入社6か月後に10日付与されます。", (1,)),
        # Full-width digits and other punctuation do not hide the match.
        ("有給休暇は入社６か月後に１０日です", (1,)),
        # One sentence from each source: both, in prompt order.
        ("申請は取得日の3日前までです。有給休暇は入社6か月後に10日付与。", (1, 2)),
        # Words the sources do not hold: nothing is attributed.
        ("社員食堂は11時から営業しています。", ()),
        ("はい。", ()),  # too short to match anything
        ("資料からは分かりません。", ()),
    ],
)
def test_infer_citations_for_answers_without_markers(text: str, numbers: tuple) -> None:
    inferred = infer_citations(text, SOURCES)
    assert tuple(c.number for c in inferred) == numbers
    assert all(c.inferred for c in inferred)
    for c in inferred:
        (src,) = [s for s in SOURCES if s.number == c.number]
        assert (c.source, c.start, c.end, c.page) == (src.source, src.start, src.end, src.page)
