"""Plain text and Markdown loading (jpagent.loaders.text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.errors import DecodeError, LoaderError
from jpagent.loaders import load
from jpagent.loaders.text import markdown_headings

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "sample"

NOTICE = "㈱さくらテック 総務部\n① 休業期間：12月28日～1月5日\n③ 連絡先：髙橋部長、山﨑さん\n"


PLAIN = "株式会社さくらテック 総務部\n休業期間：12月28日〜1月5日\n連絡先：高橋部長\n"


@pytest.mark.parametrize(
    ("encoding", "newline", "text"),
    [
        ("cp932", "\r\n", NOTICE),
        ("utf-8", "\n", NOTICE),
        ("utf-8-sig", "\r\n", NOTICE),
        ("utf-16", "\r\n", NOTICE),
        ("euc_jis_2004", "\n", NOTICE.replace("髙", "高")),  # has ①㈱﨑, not the IBM kanji 髙
        ("euc-jp", "\r", PLAIN),
        ("iso-2022-jp", "\r\n", PLAIN),
    ],
)
def test_txt_decodes_and_unifies_newlines(
    tmp_path: Path, encoding: str, newline: str, text: str
) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    [doc] = load(path)
    assert doc.text == text
    assert doc.id == doc.source == str(path)
    assert doc.metadata["format"] == "txt"
    assert doc.metadata["title"] == "notice"


def test_corpus_cp932_notice_keeps_vendor_chars() -> None:
    [doc] = load(CORPUS / "notice_2019_cp932.txt")
    assert doc.metadata["encoding"] == "cp932"
    for fact in [
        "㈱さくらテック",
        "① 休業期間：2019年12月28日（土）～2020年1月5日（日）",
        "髙橋部長",
        "山﨑さん",
    ]:
        assert fact in doc.text
    assert "\r" not in doc.text


@pytest.mark.parametrize(
    ("name", "encoding", "fact"),
    [
        ("server_memo_eucjp.txt", "euc-jp", "毎月第2土曜日の22時から翌2時まで"),
        ("health_check_mail_iso2022jp.txt", "iso-2022-jp", "会場: 本社5階 大会議室"),
    ],
)
def test_corpus_legacy_files(name: str, encoding: str, fact: str) -> None:
    [doc] = load(CORPUS / name)
    assert doc.metadata["encoding"] == encoding
    assert fact in doc.text


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(LoaderError, match=r"empty\.txt: empty file \(0 bytes\)"):
        load(path)


def test_whitespace_only_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text("\n\u3000 \n\t\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="no text to index"):
        load(path)


def test_undecodable_text_raises_decode_error_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes("途中まで正しい".encode() + b"\x80\xff\x80")
    with pytest.raises(DecodeError) as info:
        load(path)
    assert str(path) in info.value.message
    assert "utf-8" in info.value.message and "cp932" in info.value.message


def test_binary_without_nul_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(1, 9)) * 50)
    with pytest.raises(LoaderError, match="looks binary"):
        load(path)


MD = """\
---
title: front matter
---
# 就業規則

前文です。

## 第1章 総則 ##

### 第1条（目的）

本文。
```
# コードの中は見出しではない
```
第2章 勤務
----------

- リスト項目
---

    # インデントされたコード
#見出しではない
####### 7個は見出しではない
"""


def test_markdown_headings() -> None:
    headings = markdown_headings(MD)
    assert [(level, title) for level, _, title in headings] == [
        (1, "就業規則"),
        (2, "第1章 総則"),
        (3, "第1条（目的）"),
        (2, "第2章 勤務"),
    ]
    for _, start, title in headings:
        assert MD[start:].split("\n", 1)[0].lstrip("# ").startswith(title)


def test_corpus_work_rules_headings_point_into_text() -> None:
    [doc] = load(CORPUS / "work_rules.md")
    assert doc.metadata["format"] == "md"
    assert doc.metadata["title"] == "株式会社さくらテック 就業規則"
    headings = doc.metadata["headings"]
    titles = [title for _, _, title in headings]
    assert "第3章 勤務時間および休憩" in titles
    assert "第7条（始業・終業時刻および休憩時間）" in titles
    for level, start, title in headings:
        assert doc.text[start:].startswith("#" * level + " " + title)
    # the fact sits after its heading and before the next one
    starts = {title: start for _, start, title in headings}
    fact = doc.text.index("始業時刻は午前9時00分")
    assert (
        starts["第7条（始業・終業時刻および休憩時間）"]
        < fact
        < starts["第8条（フレックスタイム制）"]
    )
