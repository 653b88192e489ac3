"""HTML loading (jpagent.loaders.html)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.loaders import load
from jpagent.loaders.html import collapse, declared_charset

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "sample"


@pytest.fixture(scope="module")
def faq():
    [doc] = load(CORPUS / "it_faq.html")
    return doc


@pytest.mark.parametrize(
    "dropped",
    [
        "トラッキングコード",  # <script> in <head>
        "ページ末尾のスクリプト",  # <script> in <body>
        "font-family",  # <style>
        "ようこそ、ゲストさん",  # page <header>
        "お知らせ",  # <nav>
        "社内報 春号",  # <aside>
        "Copyright",  # page <footer>
    ],
)
def test_faq_drops_page_chrome(faq, dropped: str) -> None:
    assert dropped not in faq.text


@pytest.mark.parametrize(
    "kept",
    [
        "VPNクライアント「SakuraConnect」を起動し",
        "従業員用のSSIDは「SAKURA-STAFF」",
        "パスワードを5回続けて間違えると、アカウントは30分間ロックされます。",
        # table rows under a <th> header row: one line per row, cells named by their column
        "\n窓口: ITヘルプデスク、連絡先: 内線 2100、受付時間: 平日 9:00〜17:30\n",
        "\n窓口: セキュリティ窓口、連絡先: 内線 4321、受付時間: 平日 9:00〜18:00",
        # source line breaks between Japanese characters vanish instead of becoming spaces
        "問い合わせのうち、多いものをまとめました。解決しない場合は",
    ],
)
def test_faq_keeps_content(faq, kept: str) -> None:
    assert kept in faq.text


def test_faq_headings_are_own_lines(faq) -> None:
    assert faq.metadata["title"] == "ITヘルプデスク よくある質問 | さくらテック社内ポータル"
    assert faq.metadata["declared_charset"] == "utf-8"
    headings = faq.metadata["headings"]
    assert headings[0] == [1, 0, "ITヘルプデスク よくある質問"]
    assert [2, faq.text.index("ネットワーク\n"), "ネットワーク"] in headings
    assert "関連リンク" not in [title for _, _, title in headings]  # inside <aside>
    for _, start, title in headings:
        assert faq.text[start : start + len(title) + 1] == title + "\n"


def test_br_breaks_the_line(faq) -> None:
    assert "代替機を当日中に貸し出します。\n修理の期間は" in faq.text


SJIS_PAGE = """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>旧イントラ</title></head><body>
<h2>お知らせ</h2><p>㈱さくらテック ① 髙橋部長 山﨑 12月28日～1月5日</p>
</body></html>"""


def test_meta_charset_shift_jis_is_read_as_cp932(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes(SJIS_PAGE.encode("cp932"))
    [doc] = load(path)
    assert doc.metadata["declared_charset"] == "Shift_JIS"
    assert doc.metadata["encoding"] == "cp932"
    assert "㈱さくらテック ① 髙橋部長 山﨑 12月28日～1月5日" in doc.text
    assert doc.metadata["headings"] == [[2, 0, "お知らせ"]]


def test_wrong_meta_charset_falls_back_to_detection(tmp_path: Path) -> None:
    page = '<meta charset="utf-8"><p>文字コードの宣言が間違っているページ</p>'
    path = tmp_path / "wrong.html"
    path.write_bytes(page.encode("euc-jp"))
    [doc] = load(path)
    assert doc.metadata["encoding"] == "euc-jp"
    assert doc.text == "文字コードの宣言が間違っているページ"


def test_structure_rendering(tmp_path: Path) -> None:
    page = """<!doctype html><html><body>
    <header><p>サイト名</p></header>
    <article><header><h1>記事の見出し</h1></header>
      <p>本文の<b>太字</b>と<a href="#">リンク</a>。</p>
      <ol><li>一つ目</li><li>二つ目</li></ol>
      <ul><li>箇条書き</li></ul>
      <pre>コード 1
  インデント</pre>
      <div hidden>隠し要素</div>
      <table><tr><th>項目</th><td>値<table><tr><td>入れ子</td></tr></table></td></tr></table>
      <!-- コメント -->
      <footer><p>記事の脚注</p></footer>
    </article>
    <footer>サイトの脚注</footer>
    </body></html>"""
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    [doc] = load(path)
    assert doc.text.split("\n") == [
        "記事の見出し",
        "本文の太字とリンク。",
        "1. 一つ目",
        "2. 二つ目",
        "- 箇条書き",
        "コード 1",
        "  インデント",
        "項目 | 値 入れ子",
        "記事の脚注",
    ]
    assert doc.metadata["title"] == "記事の見出し"
    assert doc.metadata["headings"] == [[1, 0, "記事の見出し"]]


def test_html_content_with_txt_extension_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "saved_page"
    path.write_text("<!DOCTYPE html><html><body><p>拡張子なし</p></body></html>", encoding="utf-8")
    [doc] = load(path)
    assert doc.metadata["format"] == "html"
    assert doc.text == "拡張子なし"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("日本語の\n  文章", "日本語の文章"),
        ("English\n words", "English words"),
        ("全角と ASCII\nmix", "全角と ASCII mix"),
        ("  前後の空白  ", "前後の空白"),
        ("行末\nABC", "行末 ABC"),
    ],
)
def test_collapse(raw: str, expected: str) -> None:
    assert collapse(raw) == expected


@pytest.mark.parametrize(
    ("head", "charset"),
    [
        (b'<meta charset="EUC-JP">', "EUC-JP"),
        (b"<meta charset=shift_jis>", "shift_jis"),
        (
            b'<meta http-equiv="content-type" content="text/html; charset=ISO-2022-JP">',
            "ISO-2022-JP",
        ),
        (b'<?xml version="1.0" encoding="Shift_JIS"?><html>', "Shift_JIS"),
        (b"<html><p>charset=none here</p>", None),
    ],
)
def test_declared_charset(head: bytes, charset: str | None) -> None:
    assert declared_charset(head) == charset


def test_page_of_only_scripts_is_an_error(tmp_path: Path) -> None:
    from jpagent.errors import LoaderError

    path = tmp_path / "empty.html"
    path.write_text("<html><script>var x = 1;</script><nav>メニュー</nav></html>", encoding="utf-8")
    with pytest.raises(LoaderError, match="no text to index"):
        load(path)
