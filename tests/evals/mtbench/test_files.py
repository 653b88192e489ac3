"""MT-Bench files: the shared data, FastChat round trips, the append writer, errors for people."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from jpagent.evals.mtbench import data, judge
from jpagent.evals.mtbench.data import MTBenchDataError


@pytest.fixture
def mtb(data_dir: Path) -> Path:
    return data_dir / "ja_mt_bench"


def fastchat_load_model_answers(answer_dir: Path) -> dict[str, dict[int, dict]]:
    """What FastChat's ``common.load_model_answers`` does: model = basename, key = question_id."""
    answers: dict[str, dict[int, dict]] = {}
    for filename in sorted(answer_dir.glob("*.jsonl")):
        by_id = {}
        with filename.open() as fin:
            for line in fin:
                obj = json.loads(line)
                by_id[obj["question_id"]] = obj
        answers[filename.name[:-6]] = by_id
    return answers


def test_shared_data_loads(mtb: Path) -> None:
    questions = data.load_questions(mtb / "question_full.jsonl")
    assert len(questions) == 80
    assert {q.category for q in questions} == set(data.CATEGORIES)
    assert all(len(q.turns) == 2 for q in questions)
    prompts = judge.load_prompts_with_multi_turn(mtb / "judge_ja_prompts.jsonl")
    judge.check_prompts(prompts, [mtb / "judge_ja_prompts.jsonl"])
    refs = data.load_references(mtb / "reference_answer" / "gpt-4.jsonl")
    judge.check_references(questions, refs, "gpt-4.jsonl")
    human = data.load_references(
        mtb / "reference_answer" / "base-gpt4o-with-human-annotation.jsonl"
    )
    assert set(human) == {q.question_id for q in questions}


def test_packaged_multi_turn_prompts_are_japanese_and_fill_like_fastchat() -> None:
    prompts = data.load_judge_prompts(judge.multi_turn_prompts_path())
    assert set(prompts) == {"single-v1-multi-turn", "single-math-v1-multi-turn"}
    q = data.Question(32, "math", ("一問目？", "二問目？"))
    a = data.AnswerSample(32, "m", 0, ("一つ目の回答", "二つ目の回答"))
    for name, ref in (
        ("single-v1-multi-turn", None),
        ("single-math-v1-multi-turn", ("参考1", "参考2")),
    ):
        p = prompts[name]
        assert p.type == "single" and "評価：[[5]]" in p.prompt_template
        text = judge.user_prompt(judge.JudgeTask(q, a, 2, p, ref))
        for part in ("一問目？", "二問目？", "一つ目の回答", "二つ目の回答", "2つ目"):
            assert part in text
        assert ("参考2" in text) == (ref is not None)
        assert "{" not in text
    assert judge.score_retry_prompt().startswith("あなたの評価")


def test_given_prompts_file_wins_over_packaged_multi_turn(mtb: Path, tmp_path: Path) -> None:
    own = tmp_path / "prompts.jsonl"
    lines = (mtb / "judge_ja_prompts.jsonl").read_text(encoding="utf-8").strip().splitlines()
    mine = {
        "name": "single-v1-multi-turn",
        "type": "single",
        "category": "general",
        "output_format": "[[rating]]",
        "system_prompt": "You are a helpful assistant.",
        "prompt_template": "Q1 {question_1} A1 {answer_1} Q2 {question_2} A2 {answer_2}",
    }
    own.write_text("\n".join([*lines, json.dumps(mine)]) + "\n", encoding="utf-8")
    prompts = judge.load_prompts_with_multi_turn(own)
    assert prompts["single-v1-multi-turn"].prompt_template.startswith("Q1 ")
    assert "参考回答" in prompts["single-math-v1-multi-turn"].prompt_template  # packaged one


def test_answer_record_is_fastchat_readable(tmp_path: Path) -> None:
    q = data.Question(
        81, "writing", ("ハワイ旅行のブログ記事を書いてください。", "Aで始めてください。")
    )
    record = {
        "question_id": 81,
        "answer_id": "x" * 22,
        "model_id": "m1",
        "choices": [{"index": 1, "turns": ["記事です。", "Aloha!"], "reasoning": ["", ""]}],
        "tstamp": 1.0,
        "sample": 1,
        "seed": 1,
    }
    path = data.answer_path(tmp_path, "m1")
    with data.JsonlAppender(path) as out:
        out.append(record)
    # FastChat's loader and run_judge_single's field access
    fc = fastchat_load_model_answers(tmp_path / "model_answer")
    assert fc["m1"][81]["choices"][0]["turns"][1] == "Aloha!"
    assert fc["m1"][81]["model_id"] == "m1"
    # ours
    ours = data.load_answers(path)
    assert ours[(81, 1)].turns == ("記事です。", "Aloha!") and ours[(81, 1)].model == "m1"
    assert q.question_id in {k[0] for k in ours}


def test_fastchat_num_choices_record_gives_one_sample_per_choice(tmp_path: Path) -> None:
    path = tmp_path / "vicuna.jsonl"
    rec = {
        "question_id": 1,
        "answer_id": "abc",
        "model_id": "vicuna",
        "choices": [{"index": 0, "turns": ["a", "b"]}, {"index": 1, "turns": ["c", "d"]}],
        "tstamp": 1.0,
    }
    path.write_text(json.dumps(rec) + "\n")
    got = data.load_answers(path)
    assert sorted(got) == [(1, 0), (1, 1)]
    assert got[(1, 1)].turns == ("c", "d") and got[(1, 1)].model == "vicuna"


def test_later_success_replaces_failed_answer(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    base = {"question_id": 5, "answer_id": "a", "model_id": "m", "tstamp": 0.0, "sample": 0}
    failed = {**base, "choices": [{"index": 0, "turns": ["x"]}], "failed": True, "error": "boom"}
    ok = {**base, "choices": [{"index": 0, "turns": ["x", "y"]}]}
    path.write_text(json.dumps(ok) + "\n" + json.dumps(failed) + "\n")
    assert not data.load_answers(path)[(5, 0)].failed


def test_torn_last_line_is_ignored_then_truncated(tmp_path: Path, caplog) -> None:
    path = tmp_path / "model_judgment" / "j_single.jsonl"
    good = {"question_id": 1, "model": "m", "judge": ["j", "single-v1"], "score": 7, "turn": 1}
    path.parent.mkdir(parents=True)
    path.write_bytes(
        (json.dumps(good, ensure_ascii=False) + "\n").encode() + b'{"question_id": 2, "mod'
    )
    with caplog.at_level(logging.WARNING):
        assert [j.score for j in data.load_judgments(path)] == [7.0]
    assert "incomplete" in caplog.text
    with data.JsonlAppender(path) as out:
        out.append({**good, "question_id": 3, "judgment": "良い回答です。評価：[[7]]"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["question_id"] for x in lines] == [1, 3]
    assert "評価：[[7]]" in lines[1]  # UTF-8, not \u escapes


def test_last_line_without_newline_but_complete_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rec = {"question_id": 1, "model": "m", "judge": ["j", "p"], "score": 4, "turn": 2}
    path.write_text(json.dumps(rec))
    with data.JsonlAppender(path) as out:
        out.append({**rec, "question_id": 2})
    assert [j.question_id for j in data.load_judgments(path)] == [1, 2]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"question_id": 1, "category": "writing", "turns": ["a", "b"]}\n{oops\n', "line 2"),
        ('{"question_id": 1, "category": "poetry", "turns": ["a", "b"]}\n', "unknown category"),
        ('{"question_id": "1", "category": "math", "turns": ["a"]}\n', "question_id"),
        ('{"question_id": 1, "category": "math", "turns": ["a"]}\n' * 2, "appears twice"),
        ("", "No questions"),
    ],
)
def test_bad_question_files_name_file_and_line(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MTBenchDataError) as info:
        data.load_questions(path)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert info.value.message_ja


def test_missing_file_error() -> None:
    with pytest.raises(MTBenchDataError, match="File not found"):
        data.load_questions("/nonexistent/question_full.jsonl")


def test_math_question_without_reference_is_an_error(tmp_path: Path) -> None:
    questions = [
        data.Question(31, "math", ("x", "y")),
        data.Question(81, "writing", ("x", "y")),
    ]
    with pytest.raises(MTBenchDataError, match="No reference answer for math question 31") as info:
        judge.check_references(questions, {81: ("r1", "r2")}, tmp_path / "refs.jsonl")
    assert "refs.jsonl" in str(info.value)
    judge.check_references(questions, {31: ("r1", "r2")}, "refs")  # writing needs none


def test_references_are_looked_up_by_question_id(mtb: Path) -> None:
    refs = data.load_references(mtb / "reference_answer" / "gpt-4.jsonl")
    assert "120万円" in refs[32][0].replace(",", "")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("llamacpp:default", "llamacpp-default"),
        ("llamacpp:/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf", "Qwen2.5-7B-Instruct-Q4_K_M"),
        ("openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct", "Qwen2.5-7B-Instruct"),
        ("ollama:qwen2.5:7b-instruct", "qwen2.5_7b-instruct"),
    ],
)
def test_id_from_spec(spec: str, expected: str) -> None:
    assert data.id_from_spec(spec) == expected


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "モデル"])
def test_unsafe_model_ids_are_refused(name: str) -> None:
    with pytest.raises(MTBenchDataError):
        data.answer_path("/tmp", name)
