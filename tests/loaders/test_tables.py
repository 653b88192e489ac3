"""Tables as text (jpagent.loaders.tables), and the HTML and Word loaders that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.loaders import load
from jpagent.loaders.tables import looks_like_header, table_lines

ALLOWANCES = [
    ["区分", "役員", "一般社員"],
    ["国内出張日当（1日）", "5,000円", "3,000円"],
    ["海外出張日当（1日）", "8,000円", ""],
]


def test_rows_under_a_header_name_their_cells() -> None:
    assert table_lines(ALLOWANCES) == [
        "区分: 国内出張日当（1日）、役員: 5,000円、一般社員: 3,000円",
        "区分: 海外出張日当（1日）、役員: 8,000円",  # an empty cell is left out
    ]


def test_an_empty_corner_leaves_the_row_label_unnamed() -> None:
    rows = [["", "役員", "一般社員"], ["宿泊上限", "15,000円", "12,000円"]]
    assert table_lines(rows) == ["宿泊上限、役員: 15,000円、一般社員: 12,000円"]


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([["氏名", "山田太郎"], ["所属", "営業部"]], "two columns: a label | value form"),
        ([["区分", "役員", "一般社員"]], "a header and no data"),
        ([["1", "2", "3"], ["a", "b", "c"]], "numbers are data"),
        ([["区分", "金額", "金額"], ["日当", "1", "2"]], "repeated names"),
        ([["区分", "", "一般社員"], ["日当", "1", "2"]], "a blank name past the corner"),
        ([["区分", "役員" * 30, "一般社員"], ["日当", "1", "2"]], "a sentence, not a name"),
    ],
)
def test_tables_without_a_header_keep_their_cells_joined(rows, why: str) -> None:
    assert not looks_like_header(rows), why
    assert table_lines(rows) == [" | ".join(row) for row in rows]


def test_rows_of_another_length_than_the_header_are_not_named() -> None:
    rows = [["区分", "役員", "一般社員"], ["日当", "5,000円"]]
    assert table_lines(rows, header=True) == ["区分 | 役員 | 一般社員", "日当 | 5,000円"]


def test_empty_rows_are_dropped() -> None:
    assert table_lines([["", ""], ["a", "b"]]) == ["a | b"]


def page(table: str) -> str:
    return f"<html><body><h1>窓口</h1>{table}<p>以上。</p></body></html>"


@pytest.mark.parametrize(
    ("table", "lines"),
    [
        (  # <th> says header, even with two columns
            "<table><tr><th>窓口</th><th>内線</th></tr><tr><td>ヘルプデスク</td><td>2100</td></tr></table>",
            ["窓口: ヘルプデスク、内線: 2100"],
        ),
        (  # <td> only: the first row looks like a header
            "<table><tr><td>窓口</td><td>内線</td><td>時間</td></tr>"
            "<tr><td>ヘルプデスク</td><td>2100</td><td>平日</td></tr></table>",
            ["窓口: ヘルプデスク、内線: 2100、時間: 平日"],
        ),
        (  # a colspan: cells cannot be matched to columns
            "<table><tr><th>窓口</th><th colspan='2'>連絡先</th></tr>"
            "<tr><td>ヘルプデスク</td><td>2100</td><td>平日</td></tr></table>",
            ["窓口 | 連絡先", "ヘルプデスク | 2100 | 平日"],
        ),
    ],
)
def test_html_tables(tmp_path: Path, table: str, lines: list[str]) -> None:
    path = tmp_path / "page.html"
    path.write_text(page(table), encoding="utf-8")
    [doc] = load(path)
    assert doc.text.split("\n") == ["窓口", *lines, "以上。"]


def word_table(path: Path, rows: list[list[str]], *, flag_header: bool) -> Path:
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    if flag_header:  # Word's "repeat as header row at the top of each page"
        table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    document.save(str(path))
    return path


def test_word_header_flag_names_two_column_tables(tmp_path: Path) -> None:
    rows = [["窓口", "内線"], ["ヘルプデスク", "2100"]]
    [flagged] = load(word_table(tmp_path / "flag.docx", rows, flag_header=True))
    assert flagged.text == "窓口: ヘルプデスク、内線: 2100"
    [plain] = load(word_table(tmp_path / "plain.docx", rows, flag_header=False))
    assert plain.text == "窓口 | 内線\nヘルプデスク | 2100"  # two columns, no flag: a form
