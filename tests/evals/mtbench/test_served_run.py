"""Against a real ``llama_cpp.server`` serving the embedded GGUF: ``--parallel 2`` with one
request that fails (a prompt longer than the server's context), resume after killing a real
``jpagent eval mtbench answer`` process (plus a torn last line), and a server that is down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.errors import ModelError
from jpagent.evals.mtbench import data
from jpagent.evals.mtbench.answer import AnswerConfig, run_answers
from jpagent.llm.registry import get_chat_model
from tests.llm.fault_servers import closed_port

pytestmark = pytest.mark.slow

MODEL = "qwen2.5-coder-1.5b-instruct"
ROOT = Path(__file__).resolve().parents[3]


class InFlight:
    """A real chat model that counts how many of its requests run at the same time."""

    def __init__(self, model) -> None:
        self._model = model
        self.name = model.name
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    @property
    def context_window(self) -> int:
        return self._model.context_window

    def count_tokens(self, text: str) -> int:
        return self._model.count_tokens(text)

    def stream(self, messages, *, options=None):
        return self._model.stream(messages, options=options)

    def chat(self, messages, *, options=None):
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self._model.chat(messages, options=options)
        finally:
            with self._lock:
                self.now -= 1


#: Short Japanese questions (few prompt tokens keep the served tests fast on a busy machine).
SHORT = [
    {
        "question_id": 901,
        "category": "writing",
        "turns": ["春をテーマにした俳句を一つ作ってください。", "それを英語に訳してください。"],
    },
    {
        "question_id": 902,
        "category": "stem",
        "turns": ["水の沸点は何度ですか？", "富士山の山頂ではどうなりますか？"],
    },
    {
        "question_id": 903,
        "category": "roleplay",
        "turns": ["あなたは京都の観光案内人です。寺を一つ薦めてください。", "理由を一文で。"],
    },
]


def _questions_file(path: Path, ids: list[int], overlong: bool = False) -> Path:
    rows = [q for q in SHORT if q["question_id"] in ids]
    if overlong:
        # far more than the server's 2048-token context: the request is refused
        text = "".join(SHORT[2]["turns"][0] + SHORT[1]["turns"][0] for _ in range(400))
        rows.append({"question_id": 1001, "category": "writing", "turns": [text, "続けて"]})
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_parallel_two_with_one_failed_request(
    llama_server: str, data_dir: Path, tmp_path: Path
) -> None:
    qfile = _questions_file(tmp_path / "q.jsonl", [901], overlong=True)
    questions = data.load_questions(qfile)
    model = InFlight(get_chat_model(f"openai:{llama_server}#{MODEL}", timeout=120.0, max_retries=0))
    out = data.answer_path(tmp_path, "served")
    config = AnswerConfig(samples=2, max_tokens=8, parallel=2, timeout=120.0)
    summary = run_answers(model, questions, out, model_id="served", config=config)
    assert (summary.written, summary.failed, summary.skipped) == (4, 2, 0)
    assert model.most == 2  # two requests were in flight at once
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    ok = sorted((r["question_id"], r["sample"], r["seed"]) for r in records if not r.get("failed"))
    assert ok == [(901, 0, 0), (901, 1, 1)]
    bad = [r for r in records if r.get("failed")]
    assert {r["question_id"] for r in bad} == {1001}
    assert all(r["error"].startswith("turn 1: ") and r["choices"][0]["turns"] == [] for r in bad)
    # the rerun retries only the failed ones
    again = run_answers(model, questions, out, model_id="served", config=config)
    assert (again.written, again.failed, again.skipped) == (2, 2, 2)


def test_resume_after_kill_loses_and_duplicates_nothing(
    llama_server: str, data_dir: Path, tmp_path: Path
) -> None:
    qfile = _questions_file(tmp_path / "q.jsonl", [901, 902, 903])
    out_dir = tmp_path / "run"
    answers = data.answer_path(out_dir, "served")
    cmd = [
        sys.executable, "-m", "jpagent.cli", "eval", "mtbench", "answer",
        "--model", f"openai:{llama_server}#{MODEL}", "--model-id", "served",
        "--questions", str(qfile), "--out", str(out_dir), "--max-tokens", "8",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while not (answers.exists() and answers.read_bytes().count(b"\n") >= 1):
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no answer written in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = answers.read_bytes()
    kept = [json.loads(x) for x in before.decode().splitlines() if x.strip()]
    assert 1 <= len(kept) < 3, "the process was not killed mid-way"
    # a write cut off by the kill leaves a partial line at the end
    answers.write_bytes(before + b'{"question_id": 903, "answer_id": "torn", "choi')

    done = subprocess.run(cmd + ["--json"], cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "incomplete" in done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["skipped"] == len(kept) and summary["written"] == 3 - len(kept)
    after = answers.read_bytes()
    assert after.startswith(before)  # what was written before the kill is untouched
    records = [json.loads(x) for x in after.decode().splitlines()]
    assert sorted((r["question_id"], r["sample"]) for r in records) == [
        (901, 0),
        (902, 0),
        (903, 0),
    ]
    assert "torn" not in after.decode()


def test_server_down_is_one_clear_error(data_dir: Path, tmp_path: Path) -> None:
    spec = f"openai:http://127.0.0.1:{closed_port()}/v1#{MODEL}"
    questions = data.select_questions(
        data.load_questions(data_dir / "ja_mt_bench" / "question_full.jsonl"), [79]
    )
    model = get_chat_model(spec, timeout=5.0, max_retries=0)
    with pytest.raises(ModelError, match="does not answer") as info:
        run_answers(model, questions, tmp_path / "a.jsonl", model_id="x")
    assert "応答しません" in str(info.value)
    assert not (tmp_path / "a.jsonl").exists()
    result = CliRunner().invoke(
        app,
        ["eval", "mtbench", "answer", "--model", spec, "--out", str(tmp_path),
         "--questions", str(data_dir / "ja_mt_bench" / "question_full.jsonl"), "--limit", "1"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "does not answer" in result.output and "error:" in result.output
