"""``jpagent eval mtbench`` help and argument errors (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["eval", "mtbench", "--help"], ["fetch", "answer", "judge", "show"]),
        (["eval", "mtbench", "answer", "--help"], ["--model", "--samples", "--parallel", "--timeout", "--question-ids", "--model-id", "--max-tokens", "--json"]),
        (["eval", "mtbench", "judge", "--help"], ["--judge", "--answers", "--model-list", "--judge-prompts", "--references", "--max-retries", "--retry-failed"]),
        (["eval", "mtbench", "show", "--help"], ["--judgments", "--models", "--out", "--json"]),
    ],
)  # fmt: skip
def test_help(args: list[str], needles: list[str]) -> None:
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    for needle in needles:
        assert needle in result.output


def test_no_data_dir_names_the_flag(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("JPAGENT_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = runner.invoke(app, ["eval", "mtbench", "answer", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "--questions" in result.output and "data.dir" in result.output


@pytest.mark.parametrize(("ids", "needle"), [("1,x", "--question-ids"), ("999", "999")])
def test_bad_question_ids(data_dir: Path, tmp_path: Path, ids: str, needle: str) -> None:
    q = data_dir / "ja_mt_bench" / "question_full.jsonl"
    args = ["eval", "mtbench", "answer", "--out", str(tmp_path), "--questions", str(q)]
    result = runner.invoke(app, [*args, "--question-ids", ids])
    assert result.exit_code == 1 and needle in result.output


def test_judge_without_answers_is_a_clean_error(
    data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("JPAGENT_DATA_DIR", str(data_dir))
    result = runner.invoke(app, ["eval", "mtbench", "judge", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "No answer files" in result.output
