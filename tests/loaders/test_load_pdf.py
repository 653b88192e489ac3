"""PDF loading (jpagent.loaders.pdf) on reportlab CID-font PDFs and broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.errors import LoaderError
from jpagent.loaders import load
from jpagent.loaders.pdf import find_headings, join_wrapped_lines

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "sample"


def make_pdf(path: Path, pages: list[list[str]], font: str = "HeiseiMin-W3", **kwargs) -> Path:
    """A PDF with one drawString per line, in a built-in Japanese CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(font))
    pdf = canvas.Canvas(str(path), invariant=1, **kwargs)
    for lines in pages:
        pdf.setFont(font, 11)
        for number, line in enumerate(lines):
            pdf.drawString(60, 780 - 18 * number, line)
        pdf.showPage()
    pdf.save()
    return path


@pytest.fixture(scope="module")
def policy():
    [doc] = load(CORPUS / "security_policy.pdf")
    return doc


def page_of(doc, needle: str) -> int:
    at = doc.text.index(needle)
    return next(page for page, start, end in doc.metadata["page_spans"] if start <= at < end)


@pytest.mark.parametrize(
    ("fact", "page"),
    [
        ("顧客の個人情報と未発表の製品情報は「極秘」とし", 1),
        ("パスワードは12文字以上とし", 2),
        ("パスワードを定期的に変更する必要はない。", 2),
        ("事前に「情報持ち出し申請書」を情報システム部に提出し", 3),
        ("会社が支給する暗号化USBメモリに限り使用できる。", 3),
        ("発見から1時間以内にセキュリティ窓口（内線 4321）へ報告しなければならない。", 4),
    ],
)
def test_policy_facts_on_their_pages(policy, fact: str, page: int) -> None:
    # The facts cross a line wrap in the PDF; wrapped lines are joined back into sentences.
    assert page_of(policy, fact) == page


def test_policy_metadata(policy) -> None:
    assert policy.metadata["format"] == "pdf"
    assert policy.metadata["title"] == "情報セキュリティ規程"
    assert policy.metadata["pages"] == 4
    spans = policy.metadata["page_spans"]
    assert [span[0] for span in spans] == [1, 2, 3, 4]
    assert spans[-1][2] == len(policy.text)
    assert all(a[2] < b[1] for a, b in zip(spans, spans[1:], strict=False))
    headings = policy.metadata["headings"]
    assert [
        1,
        policy.text.index("第2章　アカウントとパスワード"),
        "第2章　アカウントとパスワード",
    ] in headings
    assert [3, policy.text.index("第7条（持ち出し申請）"), "第7条（持ち出し申請）"] in headings


@pytest.mark.parametrize("font", ["HeiseiMin-W3", "HeiseiKakuGo-W5"])
def test_vendor_and_width_variants_survive_extraction(tmp_path: Path, font: str) -> None:
    # pdfminer.six reads 﨑 as "(cid:8443)" and ～ as 〜 here; pypdf gets them right.
    line = "①㈱髙﨑～ ＡＢＣ ｶﾀｶﾅ「テスト」ニャーニャー"
    [doc] = load(make_pdf(tmp_path / "v.pdf", [[line]], font=font))
    assert doc.text == line


def test_zero_byte_pdf(tmp_path: Path) -> None:
    path = tmp_path / "zero.pdf"
    path.write_bytes(b"")
    with pytest.raises(LoaderError, match=r"zero\.pdf: empty file \(0 bytes\)"):
        load(path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_pdf(tmp_path: Path, keep: float) -> None:
    data = (CORPUS / "security_policy.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(LoaderError) as info:
        load(path)
    assert str(path) in info.value.message
    assert "truncated or damaged" in info.value.message


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path), invariant=1)
    for _ in range(2):
        pdf.rect(50, 50, 400, 600, fill=1)  # a "scanned image": shapes, no text
        pdf.showPage()
    pdf.save()
    with pytest.raises(LoaderError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}: no text layer (scanned PDF?) — run OCR first")
    assert "2 page(s)" in info.value.message
    assert "OCR" in info.value.message_ja


def test_pdf_extension_without_pdf_content(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("これはPDFではない", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"fake\.pdf: the extension says \.pdf"):
        load(path)


def test_pdf_content_with_txt_extension_is_read_as_pdf(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "misnamed.txt", [["本当はPDFです。"]])
    [doc] = load(path)
    assert doc.metadata["format"] == "pdf"
    assert doc.text == "本当はPDFです。"


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "locked.pdf", [["秘密の文書"]], encrypt="secret")
    with pytest.raises(LoaderError, match="encrypted with a password"):
        load(path)


def test_empty_page_between_pages(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "gap.pdf", [["一ページ目。"], [], ["三ページ目。"]])
    [doc] = load(path)
    spans = doc.metadata["page_spans"]
    assert [span[0] for span in spans] == [1, 2, 3]
    assert spans[1][1] == spans[1][2]  # empty page: empty span
    assert doc.text[spans[2][1] : spans[2][2]] == "三ページ目。"


WRAPPED = (
    "第1条（目的）\n"
    "この規程は、会社の情報資産を漏えい、改ざん、紛失などの脅威から守るために、従業\n"
    "員が守るべき事項を定める。\n"
    "短い行\n"
    "次の行\n"
    "・箇条書きの項目は、前の行が長くても連結しない。前の行が句点で終わらない場合\n"
    "・二つ目の項目\n"
    "English text that wraps across the margin of the page and continues on the\n"
    "next line."
)


def test_join_wrapped_lines() -> None:
    assert join_wrapped_lines(WRAPPED).split("\n") == [
        "第1条（目的）",
        "この規程は、会社の情報資産を漏えい、改ざん、紛失などの脅威から守るために、従業員が守るべき事項を定める。",
        "短い行",
        "次の行",
        "・箇条書きの項目は、前の行が長くても連結しない。前の行が句点で終わらない場合",
        "・二つ目の項目",
        "English text that wraps across the margin of the page and continues on the next line.",
    ]


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("第1章　総則", 1),
        ("第二節 管理", 2),
        ("第10条（報告）", 3),
        ("附則", 1),
        ("第3条の規定により、次のとおり定める。", None),  # a sentence, not a heading
        ("第1回 会議", None),
    ],
)
def test_find_headings(line: str, level: int | None) -> None:
    found = find_headings("前文\n" + line + "\n本文")
    assert found == ([(level, 3, line)] if level else [])


def test_policy_footer_is_dropped_but_the_body_keeps_the_word(policy) -> None:
    # every page of the corpus PDF ends with 「社外秘　N / 4」; the body speaks of 「社外秘」 twice
    assert policy.metadata["running_lines"] == ["社外秘 # / #"]
    assert "社外秘　" not in policy.text
    assert policy.text.count("社外秘") == 2


def test_running_header_and_page_numbers_dropped_headings_kept(tmp_path: Path) -> None:
    header = "株式会社サンプル　社内規程集"
    pages = [
        [header, "第1章　総則", "この規程は社内の手続きを定める。", "- 1 -"],
        [header, "第2章　休暇", "年次有給休暇は10日とする。", "- 2 -"],
        [header, "第3章　経費", "出張の日当は3,000円とする。", "- 3 -"],
    ]
    [doc] = load(make_pdf(tmp_path / "rules.pdf", pages))
    assert header not in doc.text and "- 2 -" not in doc.text
    assert doc.metadata["running_lines"] == ["- # -", "株式会社サンプル 社内規程集"]
    assert [title for _, _, title in doc.metadata["headings"]] == [
        "第1章　総則",
        "第2章　休暇",
        "第3章　経費",
    ]
    spans = doc.metadata["page_spans"]
    assert doc.text[spans[1][1] : spans[1][2]] == "第2章　休暇\n年次有給休暇は10日とする。"


def test_lines_that_do_not_recur_are_kept(tmp_path: Path) -> None:
    pages = [
        ["お知らせ", "一ページ目の本文。"],
        ["二ページ目の本文。", "以上"],
        ["三ページ目の本文。", "以上"],  # on 2 of 5 pages: less than half
        ["四ページ目の本文。"],
        ["五ページ目の本文。"],
    ]
    [doc] = load(make_pdf(tmp_path / "notes.pdf", pages))
    assert doc.metadata["running_lines"] == []
    assert doc.text.count("以上") == 2 and "お知らせ" in doc.text
    [single] = load(make_pdf(tmp_path / "one.pdf", [["答えは次のとおり。", "3"]]))
    assert single.text == "答えは次のとおり。\n3"  # one page: nothing is a running line
