"""End to end through files with the embedded Qwen GGUF as answerer and judge: a math question
(reference path) and a writing question, both turns answered and judged (turn 2 with the
packaged Japanese multi-turn prompts), shown, then resumed.

The two questions and their reference answers are short ones written for this test, in the
MT-Bench file formats: the judge prompts' own instructions are already ~200 tokens, and prompt
processing is what a busy 2-core machine is slow at (the real 80 questions, prompts and
references are checked without a model in test_files.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.evals.mtbench import data, judge
from jpagent.evals.mtbench.answer import AnswerConfig, run_answers
from jpagent.evals.mtbench.judge import JudgeConfig, parse_score, run_judgments

pytestmark = pytest.mark.slow

QUESTIONS = [
    {
        "question_id": 941,
        "category": "math",
        "turns": [
            "りんごが3個あり、2個もらいました。全部で何個ですか？",
            "そのうち4個食べると、残りは何個ですか？",
        ],
    },
    {
        "question_id": 942,
        "category": "writing",
        "turns": [
            "秋をテーマにした短い詩の題名を一つ考えてください。",
            "もっと明るい題名にしてください。",
        ],
    },
]
REFERENCES = [
    {"question_id": 941, "answer_id": "ref941", "model_id": "human", "tstamp": 0.0,
     "choices": [{"index": 0, "turns": ["3 + 2 = 5 なので、5個です。", "5 - 4 = 1 なので、残りは1個です。"]}]},
]  # fmt: skip
MODEL_ID = "qwen-embedded"
JUDGE_ID = "qwen-judge"


def test_answer_judge_show_and_resume(
    local_llm, data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    mtb = data_dir / "ja_mt_bench"
    qfile = tmp_path / "questions.jsonl"
    qfile.write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8"
    )
    rfile = tmp_path / "references.jsonl"
    rfile.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in REFERENCES), encoding="utf-8"
    )
    questions = data.load_questions(qfile)
    answers_file = data.answer_path(tmp_path, MODEL_ID)
    seen: list[tuple[int, int, int]] = []
    summary = run_answers(
        local_llm,
        questions,
        answers_file,
        model_id=MODEL_ID,
        config=AnswerConfig(max_tokens=8),
        progress=lambda *p: seen.append(p),
    )
    assert (summary.written, summary.failed, summary.skipped) == (2, 0, 0)
    assert seen[0] == (0, 2, 0) and seen[-1] == (2, 2, 0)
    records = {r["question_id"]: r for r in map(json.loads, answers_file.read_text().splitlines())}
    assert records[941]["temperature"] == 0.0 and records[942]["temperature"] == 0.7
    for r in records.values():
        turns = r["choices"][0]["turns"]
        assert len(turns) == 2 and all(t.strip() for t in turns)
        assert r["model_id"] == MODEL_ID and r["sample"] == 0 and "failed" not in r
        assert not any("<think>" in t for t in turns)

    # the judge through the CLI, sharing the loaded model (same n_ctx as the fixture)
    monkeypatch.setenv("JPAGENT_LLM_N_CTX", "2048")
    monkeypatch.setenv("JPAGENT_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(
        app,
        ["eval", "mtbench", "judge", "--judge", "llamacpp:default", "--judge-id", JUDGE_ID,
         "--out", str(tmp_path), "--questions", str(qfile), "--references", str(rfile),
         "--max-tokens", "24", "--max-retries", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    judgments_file = data.judgment_path(tmp_path, JUDGE_ID)
    assert summary["path"] == str(judgments_file)
    assert (summary["written"], summary["skipped"]) == (4, 0)
    assert "--judge-id qwen-judge" in summary["command"] and "--answers" not in summary["command"]
    prompts = judge.load_prompts_with_multi_turn(mtb / "judge_ja_prompts.jsonl")
    refs = data.load_references(rfile)
    answers = {MODEL_ID: data.load_answers(answers_file)}
    got = {
        (r["question_id"], r["turn"]): r
        for r in map(json.loads, judgments_file.read_text().splitlines())
    }
    assert set(got) == {(941, 1), (941, 2), (942, 1), (942, 2)}
    for (qid, turn), r in got.items():
        assert r["judge"] == [JUDGE_ID, judge.PROMPT_NAMES[(qid == 941, turn)]]
        assert r["model"] == MODEL_ID and r["category"] == ("math" if qid == 941 else "writing")
        if r.get("failed"):
            assert r["score"] == -1 and r["error"]
        else:
            assert 1 <= r["score"] <= 10
            last = r["judgment"].split("\n\n")[-1] if r["attempts"] > 1 else r["judgment"]
            assert (
                parse_score(r["judgment"]).score == r["score"]
                or parse_score(last).score == r["score"]
            )
    answer1, answer2 = records[941]["choices"][0]["turns"]
    assert refs[941][0] in got[(941, 1)]["user_prompt"]
    assert answer1 in got[(941, 1)]["user_prompt"]
    turn2 = got[(941, 2)]["user_prompt"]
    for part in (refs[941][0], refs[941][1], questions[0].turns[1], answer1, answer2):
        assert part in turn2
    assert "[参考回答の開始]" in got[(941, 1)]["user_prompt"]
    assert "参考回答" not in got[(942, 1)]["user_prompt"]  # writing: no reference
    assert "参考回答" not in got[(942, 2)]["user_prompt"]

    # a rerun skips everything already written
    again = run_answers(
        local_llm, questions, answers_file, model_id=MODEL_ID, config=AnswerConfig(max_tokens=8)
    )
    assert (again.written, again.skipped) == (0, 2)
    again = run_judgments(
        local_llm,
        JUDGE_ID,
        questions,
        answers,
        prompts,
        refs,
        judgments_file,
        config=JudgeConfig(max_tokens=24),
    )
    assert (again.written, again.skipped) == (0, 4)

    result = CliRunner().invoke(
        app, ["eval", "mtbench", "show", "--judgments", str(judgments_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["models"][MODEL_ID]
    scored = [r["score"] for r in got.values() if r["score"] != -1]
    assert shown["both"]["n"] == len(scored)
    if scored:
        assert shown["both"]["overall"] == pytest.approx(sum(scored) / len(scored))
    assert shown["failed"] == sum(1 for r in got.values() if r["score"] == -1)
    assert shown["samples"] == 1 and shown["std"]["both"] is None
