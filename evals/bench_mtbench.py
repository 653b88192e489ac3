"""Japanese MT-Bench answer + judge wall time at ``--parallel 1`` and ``--parallel 4``.

    .venv/bin/python evals/bench_mtbench.py [--data ../shared/data] [--questions 8]
        [--parallel 1,4] [--max-tokens 128] [--judge-max-tokens 256] [--n-ctx 4096]
        [--gguf PATH] [--port 0]

One ``python -m llama_cpp.server`` is started on 127.0.0.1 serving the GGUF (default: the
embedded Qwen2.5-Coder-1.5B-Instruct), and the same model is both answerer and judge through
``openai:http://127.0.0.1:PORT/v1#...``. The questions are the first of each category of
``question_full.jsonl`` (8 questions: 16 answer turns, 16 judgments). Each parallel setting
runs in a fresh folder: ``run_answers`` then ``run_judgments`` with that many threads; the
wall time of each phase is recorded, and the ratio t(parallel=1) / t(parallel=N).

**The server's own concurrency.** llama-cpp-python's server holds one ``Llama`` behind two
locks (``llama_outer_lock``/``llama_inner_lock`` in ``llama_cpp/server/app.py``) and has no
``n_parallel`` setting: it generates for one request at a time and queues the rest. So the
ratio here measures what client-side parallelism buys against a serial server (overlapping
HTTP and JSON work, no idle gap between requests), expected near 1.0. Servers that batch —
llama.cpp's own ``llama-server --parallel N`` (n_ctx split into N slots), vLLM, Ollama with
``OLLAMA_NUM_PARALLEL`` — are where ``--parallel`` pays. Sampling is seeded (seed = sample
number), so both settings generate the same text and do the same work.

Results: ``evals/results/mtbench-parallel-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import data_dir, machine, write_results

MODEL = "bench-model"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, port: int, n_ctx: int, log_path: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("llama_cpp.server not ready in 300 s")
        time.sleep(0.5)


def one_run(base: str, parallel: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    import os

    from jpagent.evals.mtbench import data, judge
    from jpagent.evals.mtbench.answer import AnswerConfig, run_answers
    from jpagent.evals.mtbench.judge import JudgeConfig, run_judgments
    from jpagent.llm.registry import get_chat_model

    mtb = args.data / "ja_mt_bench"
    every = data.load_questions(mtb / "question_full.jsonl")
    firsts: dict[str, data.Question] = {}
    for q in every:
        firsts.setdefault(q.category, q)
    questions = sorted(firsts.values(), key=lambda q: q.question_id)[: args.questions]
    model = get_chat_model(f"openai:{base}#{MODEL}", timeout=600.0)
    load0 = os.getloadavg()[0]
    answers = run_answers(
        model,
        questions,
        data.answer_path(folder, "bench"),
        model_id="bench",
        config=AnswerConfig(max_tokens=args.max_tokens, parallel=parallel, timeout=600.0),
    )
    prompts = judge.load_prompts_with_multi_turn(mtb / "judge_ja_prompts.jsonl")
    refs = data.load_references(mtb / "reference_answer" / "gpt-4.jsonl")
    judged = run_judgments(
        model,
        "bench-judge",
        questions,
        {"bench": data.load_answers(data.answer_path(folder, "bench"))},
        prompts,
        refs,
        data.judgment_path(folder, "bench-judge"),
        config=JudgeConfig(max_tokens=args.judge_max_tokens, parallel=parallel, timeout=600.0),
    )
    return {
        "parallel": parallel,
        "questions": [q.question_id for q in questions],
        "answer_seconds": round(answers.seconds, 2),
        "judge_seconds": round(judged.seconds, 2),
        "total_seconds": round(answers.seconds + judged.seconds, 2),
        "answers": answers.written,
        "answers_failed": answers.failed,
        "judgments": judged.written,
        "judgments_failed": judged.failed,
        "load_average_at_start": round(load0, 2),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"# MT-Bench answer + judge wall time by --parallel ({result['date']})",
        "",
        f"- command: `{result['command']}`",
        f"- server: llama_cpp.server (one request at a time: no n_parallel), n_ctx {result['n_ctx']}, "
        f"model `{result['gguf']}`",
        f"- answer max_tokens {result['max_tokens']}, judge max_tokens {result['judge_max_tokens']}",
        f"- machine: {result['machine']['cpus']} CPUs, load {result['machine']['load_average']}",
        "",
        "| parallel | answers (s) | judge (s) | total (s) | answers / failed | judgments / failed |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['parallel']} | {r['answer_seconds']} | {r['judge_seconds']} | {r['total_seconds']} "
            f"| {r['answers']} / {r['answers_failed']} | {r['judgments']} / {r['judgments_failed']} |"
        )
    lines += ["", f"Ratio t(parallel=1) / t(parallel=N): {result['ratios']}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--parallel", default="1,4")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--judge-max-tokens", type=int, default=256)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--gguf", default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    args.data = data_dir(args.data)
    if args.gguf is None:
        from jpagent.llm.llamacpp import default_gguf

        args.gguf = str(default_gguf())
    port = args.port or free_port()
    settings = [int(p) for p in args.parallel.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-mtbench-") as tmp:
        server = start_server(Path(args.gguf), port, args.n_ctx, Path(tmp) / "server.log")
        try:
            runs = []
            for p in settings:
                runs.append(one_run(f"http://127.0.0.1:{port}/v1", p, args, Path(tmp) / f"p{p}"))
                print(runs[-1], flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    first = runs[0]["total_seconds"]
    result = {
        "kind": "bench-mtbench-parallel",
        "command": "python evals/bench_mtbench.py " + " ".join(sys.argv[1:]),
        "date": dt.date.today().isoformat(),
        "gguf": args.gguf,
        "n_ctx": args.n_ctx,
        "max_tokens": args.max_tokens,
        "judge_max_tokens": args.judge_max_tokens,
        "server_concurrency": "llama_cpp.server: one request at a time (single Llama behind a lock)",
        "runs": runs,
        "ratios": {str(r["parallel"]): round(first / r["total_seconds"], 3) for r in runs},
        "machine": machine(),
    }
    md, js = write_results(f"mtbench-parallel-{result['date']}", result, render(result))
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
