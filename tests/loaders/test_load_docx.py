"""Word .docx loading (jpagent.loaders.docx)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from jpagent.errors import LoaderError
from jpagent.loaders import load
from jpagent.loaders.docx import heading_level

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "sample"


@pytest.fixture(scope="module")
def expense():
    [doc] = load(CORPUS / "expense_policy.docx")
    return doc


def test_expense_title_and_headings(expense) -> None:
    assert expense.metadata["format"] == "docx"
    assert expense.metadata["title"] == "経費精算規程"
    headings = expense.metadata["headings"]
    # "Heading 1" (English style name) and "見出し 2" (Japanese Word's name) both count.
    assert [level for level, _, _ in headings[:3]] == [1, 2, 2]
    assert [1, expense.text.index("第2章　出張旅費"), "第2章　出張旅費"] in headings
    assert [
        2,
        expense.text.index("第3条（日当および宿泊費）"),
        "第3条（日当および宿泊費）",
    ] in headings
    for _, start, title in headings:
        assert expense.text[start : start + len(title)] == title
    assert "経費精算規程" not in [title for _, _, title in headings]  # Title style: the title


@pytest.mark.parametrize(
    "row",
    [
        # under the header row 区分 | 役員 | 一般社員 each row names its cells, so a row read
        # alone (a chunk, a hit) still says whose amount is whose
        "区分: 国内出張日当（1日）、役員: 5,000円、一般社員: 3,000円",
        "区分: 宿泊上限（東京23区・大阪市）、役員: 15,000円、一般社員: 12,000円",
        "区分: 宿泊上限（その他の地域）、役員: 12,000円、一般社員: 10,000円",
    ],
)
def test_expense_table_rows_name_their_columns(expense, row: str) -> None:
    assert "\n" + row + "\n" in expense.text + "\n"
    assert "区分 | 役員" not in expense.text


def test_table_sits_after_its_article(expense) -> None:
    text = expense.text
    assert (
        text.index("第3条（日当および宿泊費）")
        < text.index("区分: 国内出張日当")
        < text.index("第4条（交通費）")
    )


def make_docx(path: Path) -> Path:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("概要", style="Heading 1")
    document.add_paragraph("")  # empty paragraphs are dropped
    outline = document.add_paragraph("アウトラインで見出し")
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "1")
    outline._p.get_or_add_pPr().append(level)
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "結合セル"
    table.cell(0, 2).text = "右"
    table.cell(1, 0).text = "A"
    table.cell(1, 1).text = "B\n改行"
    table.cell(1, 2).text = ""
    document.add_paragraph("本文です。")
    document.save(str(path))
    return path


def test_merged_cells_outline_levels_and_order(tmp_path: Path) -> None:
    [doc] = load(make_docx(tmp_path / "made.docx"))
    assert doc.text.split("\n") == [
        "概要",
        "アウトラインで見出し",
        "結合セル | 右",
        "A | B 改行 | ",
        "本文です。",
    ]
    assert doc.metadata["headings"] == [[1, 0, "概要"], [2, 3, "アウトラインで見出し"]]
    assert doc.metadata["title"] == "概要"  # no core title, no Title style: first level-1 heading


@pytest.mark.parametrize(
    ("style", "outline", "level"),
    [
        ("Heading 1", None, 1),
        ("heading 3", None, 3),
        ("見出し 2", None, 2),
        ("見出し2", None, 2),
        ("Normal", None, None),
        ("Normal", 0, 1),
        ("Normal", 9, None),  # 9 = body text
        ("Title", None, None),
    ],
)
def test_heading_level(style: str, outline: int | None, level: int | None) -> None:
    assert heading_level(style, outline) == level


def test_broken_docx(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not really xml")
    path = tmp_path / "broken.docx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(LoaderError, match=r"broken\.docx: cannot read the \.docx"):
        load(path)


def test_docx_extension_on_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_text("テキストファイル", encoding="utf-8")
    with pytest.raises(LoaderError, match="the extension says .docx"):
        load(path)
