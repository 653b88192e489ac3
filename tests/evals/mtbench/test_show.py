"""``show`` on a judgment file written in FastChat's exact format, and on jpagent samples.

The expected means are worked out by hand from the fixture scores, the way FastChat's
``show_result.py --mode single`` computes them (mean of ``score`` over records with
``score != -1``, per model, per turn; "Average" over both turns' records together).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.evals.mtbench import data, show

runner = CliRunner()

# (model, question_id, turn, score); question 79 is writing, 32 math, 55 roleplay.
FASTCHAT_SCORES = [
    ("gpt-4-ja", 79, 1, 9),
    ("gpt-4-ja", 32, 1, 7),
    ("gpt-4-ja", 55, 1, 6.5),
    ("gpt-4-ja", 79, 2, 8),
    ("gpt-4-ja", 32, 2, -1),
    ("gpt-4-ja", 55, 2, 10),
    ("vicuna-13b", 79, 1, 5),
    ("vicuna-13b", 32, 1, 3),
    ("vicuna-13b", 55, 1, -1),
    ("vicuna-13b", 79, 2, 4),
    ("vicuna-13b", 32, 2, 6),
    ("vicuna-13b", 55, 2, 2),
]
PROMPT = {
    (79, 1): "single-v1",
    (55, 1): "single-v1",
    (32, 1): "single-math-v1",
    (79, 2): "single-v1-multi-turn",
    (55, 2): "single-v1-multi-turn",
    (32, 2): "single-math-v1-multi-turn",
}


@pytest.fixture
def fastchat_file(tmp_path: Path) -> Path:
    """Lines as FastChat's ``play_a_match_single`` writes them: ``json.dumps(result)`` (ASCII
    escapes), ``judge`` a tuple, no category, no sample."""
    path = tmp_path / "model_judgment" / "gpt-4_single.jsonl"
    path.parent.mkdir(parents=True)
    with path.open("a") as fout:
        for model, qid, turn, score in FASTCHAT_SCORES:
            result = {
                "question_id": qid,
                "model": model,
                "judge": ("gpt-4", PROMPT[(qid, turn)]),
                "user_prompt": "[指示]\n公平な判断者として…",
                "judgment": f"説明…\n評価：[[{score}]]" if score != -1 else "$ERROR$",
                "score": score,
                "turn": turn,
                "tstamp": time.time(),
            }
            fout.write(json.dumps(result) + "\n")
    return path


@pytest.fixture
def categories(data_dir: Path) -> dict[int, str]:
    qs = data.load_questions(data_dir / "ja_mt_bench" / "question_full.jsonl")
    return {q.question_id: q.category for q in qs}


def test_fastchat_means_match_show_result(fastchat_file: Path) -> None:
    means = show.fastchat_means(data.load_judgments(fastchat_file))
    assert means["turn1"] == {"gpt-4-ja": pytest.approx(7.5), "vicuna-13b": pytest.approx(4.0)}
    assert means["turn2"] == {"gpt-4-ja": pytest.approx(9.0), "vicuna-13b": pytest.approx(4.0)}
    assert means["both"] == {"gpt-4-ja": pytest.approx(8.1), "vicuna-13b": pytest.approx(4.0)}


def test_summary_per_category_and_failed(fastchat_file: Path, categories) -> None:
    report = show.summarize(
        data.load_judgments(fastchat_file), path=fastchat_file, categories=categories
    )
    assert [m.model for m in report.models] == ["gpt-4-ja", "vicuna-13b"]  # best first
    assert report.judge == "gpt-4"
    best = report.models[0]
    assert best.turn1.overall == pytest.approx(7.5)
    assert best.turn2.overall == pytest.approx(9.0)
    assert best.both.overall == pytest.approx(8.1)
    assert best.turn1.categories == {"writing": 9, "roleplay": 6.5, "math": 7}
    assert best.turn2.categories == {"writing": 8, "roleplay": 10}
    assert best.both.categories == pytest.approx({"writing": 8.5, "roleplay": 8.25, "math": 7})
    assert best.failed == 1 and best.samples == 1
    assert best.std == {"turn1": None, "turn2": None, "both": None}
    only = show.summarize(
        data.load_judgments(fastchat_file), categories=categories, models=["vicuna-13b"]
    )
    assert [m.model for m in only.models] == ["vicuna-13b"]


def test_unknown_model_is_an_error(fastchat_file: Path) -> None:
    with pytest.raises(Exception, match="No judgments for nope"):
        show.summarize(data.load_judgments(fastchat_file), path=fastchat_file, models=["nope"])


def test_samples_give_sample_std(tmp_path: Path) -> None:
    path = tmp_path / "j_single.jsonl"
    # per-sample turn-1 means: 7, 8, 6 -> sample std 1.0; overall mean 7.0
    scores = {0: (8, 6), 1: (9, 7), 2: (6, 6)}
    with data.JsonlAppender(path) as out:
        for sample, (a, b) in scores.items():
            for qid, score in ((79, a), (80, b)):
                out.append(
                    {
                        "question_id": qid,
                        "model": "qwen",
                        "judge": ["j", "single-v1"],
                        "score": score,
                        "turn": 1,
                        "sample": sample,
                        "category": "writing",
                    }
                )
    report = show.summarize(data.load_judgments(path))
    m = report.models[0]
    assert m.samples == 3
    assert m.turn1.overall == pytest.approx(7.0)
    assert m.std["turn1"] == pytest.approx(1.0)
    assert m.std["turn2"] is None and m.turn2.overall is None


def test_cli_show_json_and_out(fastchat_file: Path, data_dir: Path, tmp_path: Path) -> None:
    questions = data_dir / "ja_mt_bench" / "question_full.jsonl"
    show_args = ["eval", "mtbench", "show", "--judgments", str(fastchat_file)]
    show_args += ["--questions", str(questions)]
    result = runner.invoke(app, [*show_args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["kind"] == "mtbench" and payload["judge"] == "gpt-4"
    assert payload["models"]["gpt-4-ja"]["both"]["overall"] == pytest.approx(8.1)
    assert payload["models"]["vicuna-13b"]["turn1"]["categories"]["math"] == 3
    assert payload["command"].startswith("jpagent eval mtbench show")

    out = tmp_path / "report"
    result = runner.invoke(app, [*show_args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Second turn" in result.stdout and "gpt-4-ja" in result.stdout
    [json_file] = out.glob("mtbench-*.json")
    recorded = json.loads(json_file.read_text(encoding="utf-8"))
    assert set(recorded) >= {
        "kind",
        "command",
        "date",
        "judgments",
        "judge",
        "models",
        "charts",
        "settings",
    }
    assert recorded["models"]["gpt-4-ja"]["std"] == {"turn1": None, "turn2": None, "both": None}
    assert recorded["models"]["gpt-4-ja"]["failed"] == 1
    [chart] = recorded["charts"]
    assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / json_file.name.replace(".json", ".md")).read_text(encoding="utf-8")
    assert "| gpt-4-ja | 8.10 |" in md and chart in md


def test_cli_show_bad_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "x_single.jsonl"
    bad.write_text('{"question_id": 1, "model": "m", "turn": 1}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", "mtbench", "show", "--judgments", str(bad)])
    assert result.exit_code == 1
    assert "line 1" in result.output and "score" in result.output
