"""Encoding detection and strict decoding (jpagent.text.encoding)."""

from __future__ import annotations

import codecs

import pytest

from jpagent.errors import DecodeError
from jpagent.text.encoding import (
    Decoded,
    canonical_encoding,
    decode_bytes,
    japanese_score,
    read_text,
)

# Japanese strings that every legacy encoding below can hold (JIS X 0208 only).
SENTENCES = [
    "吾輩は猫である。名前はまだ無い。",
    "東京都に住んでいます。",
    "ニャーニャーと鳴いていた事だけは記憶している。",
    "始業時刻は午前9時00分、終業時刻は午後6時00分とする。",
    "パスワードは12文字以上とし、英大文字・英小文字・数字を含める。",
    "「スマート勤怠Pro」で打刻してください（在宅勤務の日も同様）。",
    "ＡＢＣ１２３と全角英数字、〒100-0001 東京都千代田区。",
    "鬱蒼とした森の奥で、薔薇と檸檬の香りがした。",  # JIS level-2 kanji
    "改行を含む文章です。\n二行目です。\r\n三行目です。",
]

# Vendor (NEC/IBM) characters only CP932 holds; shift_jis rejects them.
VENDOR = "①②③ ㈱さくらテック 髙橋部長と山﨑さん 12月28日～1月5日 Ⅲ期 №5 ∵"

LEGACY = ["cp932", "euc-jp", "iso-2022-jp"]
BOMS = [("utf-8-sig", "utf-8"), ("utf-16", "utf-16-le"), ("utf-16-be", "utf-16-be")]


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize("encoding", ["utf-8", *LEGACY])
def test_round_trip_without_bom(text: str, encoding: str) -> None:
    decoded = decode_bytes(text.encode(encoding))
    assert decoded == Decoded(text, encoding, False)


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize(("codec", "expected"), BOMS)
def test_round_trip_with_bom(text: str, codec: str, expected: str) -> None:
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    decoded = decode_bytes(data)
    assert decoded == Decoded(text, expected, True)
    assert not decoded.text.startswith("\ufeff")


def test_utf16_le_bom_explicit() -> None:
    data = codecs.BOM_UTF16_LE + "髙橋です。".encode("utf-16-le")
    assert decode_bytes(data) == Decoded("髙橋です。", "utf-16-le", True)


def test_utf32_bom_is_not_read_as_utf16() -> None:
    data = codecs.BOM_UTF32_LE + "日本語".encode("utf-32-le")
    assert decode_bytes(data) == Decoded("日本語", "utf-32-le", True)


@pytest.mark.parametrize("char", list("①㈱髙﨑～"))
def test_each_vendor_char_round_trips_as_cp932(char: str) -> None:
    text = f"お知らせ：{char}です。"
    assert decode_bytes(text.encode("cp932")) == Decoded(text, "cp932", False)


def test_vendor_text_decodes_as_cp932_not_shift_jis() -> None:
    data = VENDOR.encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")  # what a naive detector would pick
    decoded = decode_bytes(data)
    assert decoded.encoding == "cp932"
    assert decoded.text == VENDOR
    # ～ stays FULLWIDTH TILDE as Windows wrote it, not WAVE DASH
    assert "\uff5e" in decoded.text and "\u301c" not in decoded.text


def test_euc_jp_nec_symbols_fall_back_to_euc_jis_2004() -> None:
    text = "①番の会議室、㈱さくらテックの打ち合わせ"
    data = text.encode("euc_jis_2004")
    with pytest.raises(UnicodeDecodeError):
        data.decode("euc-jp")
    assert decode_bytes(data) == Decoded(text, "euc-jis-2004", False)


def test_iso2022jp_detected_before_utf8() -> None:
    data = "健康診断のご案内".encode("iso-2022-jp")
    assert data.isascii()  # would "decode" as ASCII with the escapes left in
    assert b"\x1b$B" in data
    assert decode_bytes(data) == Decoded("健康診断のご案内", "iso-2022-jp", False)


def test_iso2022jp_halfwidth_katakana_uses_ext() -> None:
    data = "ｶﾀｶﾅとかな".encode("iso2022_jp_ext")
    decoded = decode_bytes(data)
    assert decoded.text == "ｶﾀｶﾅとかな"
    assert decoded.encoding == "iso-2022-jp-ext"


def test_terminal_escapes_are_not_iso2022() -> None:
    data = b"\x1b[31mERROR\x1b(B\x1b[m done"
    decoded = decode_bytes(data)
    assert decoded.encoding == "ascii"
    assert decoded.text == data.decode("ascii")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        # EUC-JP bytes that are also valid UTF-8: 年 = C7 AF = "ǯ" in UTF-8.
        ("年", "euc-jp"),
        ("2017年", "euc-jp"),
        ("労働", "euc-jp"),
        ("4 労働", "euc-jp"),
        ("5年3", "euc-jp"),
        ("ächter", "euc-jp"),  # JIS X 0212 ä (8F AB A3) is also valid CP932
        # Short UTF-8 strings with accents must stay UTF-8 (é = C3 A9 is an EUC-JP kanji too).
        ("café", "utf-8"),
        ("naïve", "utf-8"),
        ("Ærø", "utf-8"),
        # Two-byte kana/kanji in CP932 and EUC-JP.
        ("あ", "cp932"),
        ("あ", "euc-jp"),
        ("漢字", "cp932"),
        ("漢字", "euc-jp"),
        ("日本", "utf-8"),
    ],
)
def test_short_ambiguous_inputs(text: str, encoding: str) -> None:
    decoded = decode_bytes(text.encode(encoding))
    assert decoded.text == text
    assert decoded.encoding == encoding


def test_euc_jp_read_as_cp932_loses_to_euc_jp() -> None:
    # EUC-JP hiragana (A4 xx) is valid CP932 as half-width katakana pairs.
    text = "ありがとうございました。会議は午後から始まります。"
    data = text.encode("euc-jp")
    cp932_reading = data.decode("cp932")
    assert japanese_score(cp932_reading) < japanese_score(text)
    assert decode_bytes(data) == Decoded(text, "euc-jp", False)


def test_empty_bytes() -> None:
    assert decode_bytes(b"") == Decoded("", "utf-8", False)


def test_pure_ascii() -> None:
    assert decode_bytes(b"hello, world\n") == Decoded("hello, world\n", "ascii", False)


@pytest.mark.parametrize(
    ("data", "failures"),
    [
        # 0x80 is invalid in UTF-8 and EUC-JP; CP932 maps it to U+0080, refused as a stray byte.
        (b"abc\x80\xa0xyz", {"utf-8": 3, "cp932": 3, "euc-jp": 3, "euc-jis-2004": 3}),
        (b"\x80\x80", {"utf-8": 0, "cp932": 0, "euc-jp": 0, "euc-jis-2004": 0}),
        # UTF-8 text with a broken tail: each candidate fails at a different place.
        (
            "正しい文字".encode() + b"\xff\xfe\xfd",
            {"utf-8": 15, "cp932": 11, "euc-jp": 4, "euc-jis-2004": 4},
        ),
    ],
)
def test_undecodable_bytes_name_file_candidates_offsets(data: bytes, failures: dict) -> None:
    with pytest.raises(DecodeError) as info:
        decode_bytes(data, source="docs/broken.txt")
    message = info.value.message
    assert "docs/broken.txt" in message
    tried = message.split("Tried ", 1)[1].rstrip(".").split("; ")
    assert [entry.split(": ")[0] for entry in tried] == list(failures)
    for entry, offset in zip(tried, failures.values(), strict=True):
        assert entry.endswith(f"at byte {offset}")
    assert "docs/broken.txt" in info.value.message_ja
    assert "UTF-8" in info.value.hint


def test_broken_bom_raises_with_offset() -> None:
    data = codecs.BOM_UTF8 + b"ok\xff"
    with pytest.raises(DecodeError, match=r"utf-8: .* at byte 5"):
        decode_bytes(data, source="x.txt")


def test_never_drops_or_replaces() -> None:
    # One stray byte in otherwise valid UTF-8 must not be silently ignored.
    data = "日本語のテキスト".encode() + b"\x81"
    try:
        decoded = decode_bytes(data)
    except DecodeError:
        return
    assert "\ufffd" not in decoded.text
    assert decoded.text.encode(decoded.encoding) == data


@pytest.mark.parametrize(
    ("declared", "text", "encoding"),
    [
        ("Shift_JIS", VENDOR, "cp932"),  # label read as CP932, as browsers do
        ("x-sjis", "漢字", "cp932"),
        ("EUC-JP", "ひらがな", "euc-jp"),
        ("utf-8", "かな", "utf-8"),
    ],
)
def test_declared_charset(declared: str, text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), declared=declared) == Decoded(text, encoding, False)


def test_declared_charset_wrong_falls_back_to_detection() -> None:
    data = "こんにちは".encode("cp932")
    assert decode_bytes(data, declared="utf-8") == Decoded("こんにちは", "cp932", False)


def test_stale_latin1_label_on_utf8_is_ignored() -> None:
    data = "日本語".encode()
    assert decode_bytes(data, declared="iso-8859-1") == Decoded("日本語", "utf-8", False)


def test_unknown_declared_label_is_ignored() -> None:
    assert decode_bytes("日本".encode("cp932"), declared="no-such-charset").encoding == "cp932"


@pytest.mark.parametrize(
    ("label", "name"),
    [("Shift_JIS", "cp932"), ("MS932", "cp932"), ("eucJP", "euc-jp"), ("UTF8", "utf-8")],
)
def test_canonical_encoding(label: str, name: str) -> None:
    assert canonical_encoding(label) == name
    assert codecs.lookup(name)  # usable to write the file back


def test_read_text(tmp_path) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes(VENDOR.encode("cp932"))
    assert read_text(path) == Decoded(VENDOR, "cp932", False)
    path.write_bytes(b"\x80\x80")
    with pytest.raises(DecodeError, match="notice.txt"):
        read_text(path)


def test_large_utf8_is_fast() -> None:
    import time

    data = ("吾輩は猫である。名前はまだ無い。" * 200_000).encode()  # ~9.6 MB
    started = time.perf_counter()
    decoded = decode_bytes(data)
    assert decoded.encoding == "utf-8"
    assert time.perf_counter() - started < 2.0
