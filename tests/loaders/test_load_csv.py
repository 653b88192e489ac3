"""CSV/TSV loading (jpagent.loaders.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.errors import LoaderError
from jpagent.loaders import load
from jpagent.loaders.csv import render_row, sniff_delimiter

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "sample"


@pytest.fixture(scope="module")
def inquiries():
    [doc] = load(CORPUS / "inquiries.csv")
    return doc


def test_inquiries_utf8_bom_rows(inquiries) -> None:
    assert inquiries.metadata["encoding"] == "utf-8"
    assert inquiries.metadata["columns"] == [
        "受付番号",
        "受付日",
        "部署",
        "種別",
        "内容",
        "対応状況",
        "担当者",
    ]
    assert not inquiries.text.startswith("\ufeff")
    rows = inquiries.metadata["rows"]
    assert len(rows) == 10
    assert rows[0][0] == 2  # spreadsheet row number: the header is row 1
    first = inquiries.text[rows[0][1] : rows[0][2]]
    assert first == (
        "受付番号: Q-2024-0001、受付日: 2024/04/01、部署: 営業部、種別: アカウント、"
        "内容: スマート勤怠Proにログインできない、対応状況: 完了、担当者: 小林"
    )
    assert len(inquiries.text.split("\n")) == 10  # one line per row


def test_inquiries_multiline_cell_and_empty_cell(inquiries) -> None:
    lines = inquiries.text.split("\n")
    assert "内容: ノートPCの画面が映らない。 代替機を希望、対応状況: 完了、担当者: 山﨑" in lines[2]
    assert lines[-1].endswith("対応状況: 未着手")  # empty 担当者 left out
    assert "内容: 経費精算で領収書画像が添付できない（PDF, 12MB）" in lines[5]  # quoted comma


def test_cp932_csv_as_excel_saves_it(tmp_path: Path) -> None:
    path = tmp_path / "一覧.csv"
    path.write_bytes("氏名,役職\r\n髙橋,部長\r\n山﨑,課長①\r\n".encode("cp932"))
    [doc] = load(path)
    assert doc.metadata["encoding"] == "cp932"
    assert doc.text == "氏名: 髙橋、役職: 部長\n氏名: 山﨑、役職: 課長①"
    assert doc.metadata["rows"] == [[2, 0, 13], [3, 14, 28]]


def test_tsv_blank_rows_and_extra_cells(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    path.write_text("\n項目\t\n\n有給\t10日\t備考あり\n", encoding="utf-8")
    [doc] = load(path)
    assert doc.metadata["delimiter"] == "\t"
    assert doc.metadata["columns"] == ["項目", "列2"]
    assert doc.text == "項目: 有給、列2: 10日、列3: 備考あり"
    assert doc.metadata["rows"] == [[4, 0, len(doc.text)]]


def test_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "head.csv"
    path.write_text("受付番号,内容\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="no data rows"):
        load(path)


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b\n1,2\n", ","),
        ("a;b\n1;2\n", ";"),
        ("名前\t値\n東京\t1\n", "\t"),
        ("一列だけ\n値\n", ","),
    ],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_render_row() -> None:
    assert render_row(["日付", "内容"], ["4/1", "打刻\n  修正"]) == "日付: 4/1、内容: 打刻 修正"
    assert render_row(["日付", "内容"], ["", ""]) == ""
