"""`jpagent eval retrieval` on a two-article slice of JSQuAD: jpagent BM25 beside the anchors'
BM25 defaults, in one run, table and --json forms."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jpagent.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_jsquad(data_dir, tmp_path_factory):
    full = json.loads((data_dir / "jsquad" / "valid-v1.3.json").read_text(encoding="utf-8"))
    small = {"version": full.get("version", ""), "data": full["data"][:2]}
    path = tmp_path_factory.mktemp("jsquad") / "small.json"
    path.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    return path


def test_eval_retrieval_json_has_jpagent_and_anchor_rows(small_jsquad):
    systems = "jpagent-bm25,llamaindex-bm25,langchain-bm25"
    result = runner.invoke(
        app,
        ["eval", "retrieval", "--data", str(small_jsquad), "--systems", systems, "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {r["name"]: r for r in report["results"]}
    assert set(rows) == set(systems.split(","))
    ours = rows["jpagent-bm25"]["metrics"]
    # MeCab terms beat the anchors' whitespace/regex tokenisation on Japanese, on the same data.
    assert ours["nDCG@10"] > rows["llamaindex-bm25"]["metrics"]["nDCG@10"] + 0.2
    assert ours["nDCG@10"] > rows["langchain-bm25"]["metrics"]["nDCG@10"] + 0.2
    assert report["command"].startswith("jpagent eval retrieval")


def test_eval_retrieval_table(small_jsquad):
    result = runner.invoke(
        app, ["eval", "retrieval", "--data", str(small_jsquad), "--systems", "jpagent-bm25"]
    )
    assert result.exit_code == 0, result.output
    assert "jpagent-bm25" in result.stdout and "nDCG@10" in result.stdout


def test_eval_without_data_is_a_user_error(clean_env):
    result = runner.invoke(app, ["eval", "retrieval"])
    assert result.exit_code == 1
    assert "--data" in result.stderr


def test_eval_unknown_dataset(clean_env):
    result = runner.invoke(app, ["eval", "qa", "--dataset", "squad"])
    assert result.exit_code == 1 and "squad" in result.stderr


def test_recorded_command_reproduces_the_run(small_jsquad):
    result = runner.invoke(
        app,
        ["eval", "retrieval", "--data", str(small_jsquad), "--systems", "jpagent-bm25", "--json"],
    )
    command = json.loads(result.stdout)["command"]
    assert command == f"jpagent eval retrieval --data {small_jsquad} --systems jpagent-bm25 --json"
