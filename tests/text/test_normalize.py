"""Normalisation rules and the offset map back to the original text."""

from __future__ import annotations

import random
import time
import unicodedata

import pytest

from jpagent.text.normalize import NormalizeConfig, normalize, normalize_text

ONLY_NFKC = NormalizeConfig(
    nfkc=True, fold_width=False, unify_dashes=False, unify_tildes=False, fold_whitespace=False
)
NOTHING = NormalizeConfig(
    nfkc=False, fold_width=False, unify_dashes=False, unify_tildes=False, fold_whitespace=False
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),  # full-width ASCII -> half
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width kana -> full
        ("ｶﾞｷﾞｸﾞ", "ガギグ"),  # half-width dakuten composes
        ("ﾊﾟﾋﾟﾌﾟ", "パピプ"),
        ("㈱サンプル", "(株)サンプル"),
        ("①②③", "123"),
        ("か゛き゛", "がぎ"),  # spacing dakuten after a kana composes
        ("゛だけ", "゛だけ"),  # ...and stays as it is when it cannot (NFKC would add a space)
        ("ﾞ", "゛"),  # a stray half-width dakuten becomes the spacing mark
        ("ｻｰﾊﾞｰ", "サーバー"),  # half-width long-vowel mark stays a long-vowel mark
        ("コンピューター", "コンピューター"),  # ー in katakana is kept
        ("すごーーい", "すごーーい"),  # ー after hiragana is kept
        ("サーバ－", "サーバー"),  # full-width minus after katakana = mistyped ー
        ("コンピュ−タ", "コンピュータ"),  # minus sign after katakana = mistyped ー
        ("03ー1234ー5678", "03-1234-5678"),  # ー between digits is a hyphen
        ("A—B", "A-B"),
        ("2020–2024", "2020-2024"),
        ("ISO‐2022‐JP", "ISO-2022-JP"),
        ("カタカナ-英語", "カタカナ-英語"),  # an ASCII hyphen is never turned into ー
        ("10〜20", "10~20"),
        ("10～20", "10~20"),
        ("東京\u3000タワー", "東京 タワー"),  # ideographic space -> space
        ("a  \t b", "a b"),
        ("  前後の空白  ", "前後の空白"),
        ("行1\r\n行2\r行3", "行1\n行2\n行3"),
        ("段落1\n\n\n\n段落2", "段落1\n\n段落2"),
        ("行末の空白   \n次", "行末の空白\n次"),
        ("ゼロ\u200b幅", "ゼロ幅"),
        ("\ufeffBOM付き", "BOM付き"),
        ("", ""),
    ],
)
def test_default_rules(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected_offsets"),
    [
        ("ｶﾞ", [0]),  # 2 chars -> 1
        ("aｶﾞb", [0, 1, 3]),
        ("㈱x", [0, 0, 0, 1]),  # 1 char -> 3
        ("①と②", [0, 1, 2]),
        ("  a", [2]),
        ("a \u3000 b", [0, 1, 4]),
    ],
)
def test_offsets_where_length_changes(raw: str, expected_offsets: list[int]) -> None:
    n = normalize(raw)
    assert list(n.offsets) == expected_offsets
    assert len(n.offsets) == len(n.text)


def test_span_maps_back_to_the_source() -> None:
    raw = "株式会社は㈱と書く。ｶﾞｲﾄﾞは①を参照。"
    n = normalize(raw)
    assert n.text == "株式会社は(株)と書く。ガイドは1を参照。"
    i = n.text.index("(株)")
    assert raw[slice(*n.to_original_span(i, i + 3))] == "㈱"
    i = n.text.index("ガイド")
    assert raw[slice(*n.to_original_span(i, i + 3))] == "ｶﾞｲﾄﾞ"
    i = n.text.index("1を参照")
    assert raw[slice(*n.to_original_span(i, i + 4))] == "①を参照"
    # Part of an expanded piece maps to the whole piece.
    i = n.text.index("株)")
    assert n.to_original_span(i, i + 1) == (raw.index("㈱"), raw.index("㈱") + 1)
    assert n.to_original(len(n.text)) == len(raw)
    assert n.to_original_span(3, 3) == (3, 3)


def test_whitespace_run_maps_to_the_whole_run() -> None:
    raw = "前\u3000 \t後"
    n = normalize(raw)
    assert n.text == "前 後"
    assert n.to_original_span(1, 2) == (1, 4)


@pytest.mark.parametrize("bad", [(-1, 0), (0, 99), (3, 2)])
def test_span_out_of_range(bad: tuple[int, int]) -> None:
    with pytest.raises(IndexError):
        normalize("abc").to_original_span(*bad)


_POOL = [
    *"あいうえおカタカナー漢字東京㈱①②ＡＢＣａｂｃ１２３ABCabc123",
    *"、。「」（）！？!?.,-－−—〜～ \u3000\t\n\r\u200b",
    *"ｱｲｰ",
    "ｶﾞ",
    "ｷﾞ",
    "ﾊﾟ",
    "e\u0301",
    "か\u3099",
]
_MARKS = ["゛", "゜", "ﾞ", "ﾟ"]  # stray marks: deliberately not plain NFKC (see the module)


def _random_text(rnd: random.Random, n: int, marks: bool = True) -> str:
    pool = _POOL + (_MARKS if marks else [])
    return "".join(rnd.choice(pool) for _ in range(n))


def test_offsets_are_consistent_on_random_text() -> None:
    rnd = random.Random(1234)
    for _ in range(300):
        raw = _random_text(rnd, rnd.randint(0, 60))
        n = normalize(raw)
        assert len(n.offsets) == len(n.ends) == len(n.text)
        assert list(n.offsets) == sorted(n.offsets)
        for i, ch in enumerate(n.text):
            a, b = n.offsets[i], n.ends[i]
            assert 0 <= a < b <= len(raw)
            # The source piece normalises (alone) to something containing this character,
            # or was folded into a space / line break / dash / tilde / long-vowel mark.
            piece = normalize_text(raw[a:b], ONLY_NFKC)
            assert ch in piece or ch in " \n-~ー゛゜" or ch in raw[a:b]


def test_nfkc_only_equals_unicodedata_on_random_text() -> None:
    rnd = random.Random(99)
    for _ in range(300):
        raw = _random_text(rnd, rnd.randint(0, 60), marks=False)
        assert normalize_text(raw, ONLY_NFKC) == unicodedata.normalize("NFKC", raw)


def test_everything_off_is_identity() -> None:
    rnd = random.Random(7)
    raw = _random_text(rnd, 500)
    n = normalize(raw, NOTHING)
    assert n.text == raw
    # Each character maps to itself or to the cluster it belongs to (ｶﾞ shares one span).
    assert all(n.offsets[i] <= i < n.ends[i] for i in range(len(raw)))
    assert n.to_original_span(0, len(n.text)) == (0, len(raw))


@pytest.mark.parametrize(
    ("config", "raw", "expected"),
    [
        (NormalizeConfig(lowercase=True), "ＨＴＴＰ404とAPI", "http404とapi"),
        (NormalizeConfig(nfkc=False), "ＡＢＣｶﾞ①", "ABCガ①"),  # width only
        (NormalizeConfig(nfkc=False, fold_width=False), "ＡＢＣ", "ＡＢＣ"),
        (NormalizeConfig(unify_dashes=False), "A—B", "A—B"),
        (NormalizeConfig(unify_tildes=False), "10〜20", "10〜20"),
        (NormalizeConfig(fold_whitespace=False), " a  b ", " a  b "),
    ],
)
def test_switches(config: NormalizeConfig, raw: str, expected: str) -> None:
    assert normalize_text(raw, config) == expected


def test_one_megabyte_is_linear() -> None:
    text = ("東京都に住んでいます。ＡＢＣ ｶﾀｶﾅ①\n" * 40000)[:1_000_000]
    t0 = time.perf_counter()
    n = normalize(text)
    elapsed = time.perf_counter() - t0
    assert n.text.startswith("東京都に住んでいます。ABC カタカナ1\n")
    assert elapsed < 15, elapsed
