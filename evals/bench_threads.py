"""llama.cpp decode threads: ``jpagent ask`` timing with 1 thread against the default.

    .venv/bin/python evals/bench_threads.py [--data ../shared/data] [--questions 5]
        [--threads 1,default]

The default is :func:`jpagent.llm.cpus.default_threads` (the physical cores this process may
use); before, jpagent used llama-cpp-python's rule, half the logical CPUs (1 on a 2-core
machine without SMT). Each question of a seeded JSQuAD sample is asked once per setting,
settings interleaved question by question (both see the same machine load), through the full
``jpagent ask`` pipeline: hybrid retrieval over all 1,145 paragraphs, ``ask``'s default k, the embedded
Qwen2.5-Coder-1.5B-Instruct, greedy decoding, at most 160 answer tokens. Prompt processing uses
every logical CPU in both settings (llama-cpp-python's ``n_threads_batch``); only decoding
changes. Reported per setting: mean time to first token, decode tokens/s (tokens after the
first over the time after it) and mean wall time per answer, and the answers' agreement.

Results: ``evals/results/threads-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import data_dir, machine, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="folder holding jsquad/valid-v1.3.json")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="1,default", help="comma-separated counts/default")
    args = parser.parse_args(argv)

    from jpagent.evals.jsquad import load_jsquad, seeded_subset
    from jpagent.evals.qa import QAConfig, _ask_one, _build_retriever, gold_answers
    from jpagent.evals.retrieval import paragraph_chunks
    from jpagent.llm.base import ChatOptions
    from jpagent.llm.cpus import default_threads
    from jpagent.llm.registry import get_chat_model
    from jpagent.rag.answer import RagConfig
    from jpagent.types import Message

    path = data_dir(args.data) / "jsquad" / "valid-v1.3.json"
    data = load_jsquad(path)
    golds = gold_answers(path)
    questions = seeded_subset(data.questions, args.questions, args.seed)
    retriever, index_s = _build_retriever(paragraph_chunks(data), QAConfig.embedder)
    settings: dict[str, int] = {}  # name → threads
    for word in args.threads.split(","):
        n = default_threads() if word == "default" else int(word)
        name = f"{n} thread{'s' if n > 1 else ''}" + (" (default)" if word == "default" else "")
        if n not in settings.values():
            settings[name] = n
    models = {}
    for name, n in settings.items():  # load both first, and warm each up
        models[name] = get_chat_model("llamacpp:default", n_threads=n)
        models[name].chat([Message("user", "こんにちは")], options=ChatOptions(max_tokens=1))
    config = QAConfig()
    load_start = machine()["load_average"]
    items: dict[str, list[Any]] = {name: [] for name in settings}
    for q in questions:
        for name, model in models.items():
            items[name].append(_ask_one(q, golds[q.id], model, retriever, config))
    rows = []
    for name, n in settings.items():
        its = items[name]
        decode_tokens = sum(max(i.completion_tokens - 1, 0) for i in its)
        decode_s = sum(max(i.generate - i.ttft, 0.0) for i in its)
        rows.append(
            {
                "setting": name,
                "n_threads": n,
                "ttft_s": round(sum(i.ttft for i in its) / len(its), 2),
                "decode_tok_s": round(decode_tokens / decode_s, 1) if decode_s else 0.0,
                "answer_s": round(sum(i.total for i in its) / len(its), 2),
                "tokens": sum(i.completion_tokens for i in its),
                "char_f1": round(sum(i.f1 for i in its) / len(its), 3),
            }
        )
    names = list(settings)
    same = sum(a.raw == b.raw for a, b in zip(items[names[0]], items[names[-1]], strict=True))
    result = {
        "benchmark": "threads",
        "date": dt.date.today().isoformat(),
        "command": shlex.join(["python", "evals/bench_threads.py", *(argv or sys.argv[1:])]),
        "questions": len(questions),
        "seed": args.seed,
        "k": RagConfig.k,
        "index_build_s": round(index_s, 1),
        "rows": rows,
        "same_answers": same,
        "load_average_start": load_start,
        "machine": machine(),
    }
    md = markdown(result)
    print(md)
    md_path, _ = write_results(f"threads-{result['date']}", result, md)
    print(f"wrote {md_path} and .json")
    return 0


def markdown(r: dict[str, Any]) -> str:
    base = r["rows"][0]
    lines = [
        f"# llama.cpp decode threads: `jpagent ask` timing ({r['date']})",
        "",
        f"Command: `{r['command']}`",
        "",
        f"{r['questions']} JSQuAD questions (seed {r['seed']}), full `ask` pipeline (hybrid "
        f"retrieval over 1,145 paragraphs, k={r.get('k', 6)}, embedded "
        "Qwen2.5-Coder-1.5B-Instruct, greedy, "
        "at most 160 tokens), settings interleaved question by question. Prompt processing uses "
        "every logical CPU in all settings; only decoding threads change.",
        "",
        "| setting | TTFT s | decode tok/s | answer s | tokens | char-F1 | decode vs first |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        ratio = row["decode_tok_s"] / base["decode_tok_s"] if base["decode_tok_s"] else 0.0
        lines.append(
            f"| {row['setting']} | {row['ttft_s']} | {row['decode_tok_s']} | {row['answer_s']} "
            f"| {row['tokens']} | {row['char_f1']} | {ratio:.2f}× |"
        )
    m = r["machine"]
    lines += [
        "",
        f"Identical answers (first and last setting): {r['same_answers']}/{r['questions']}. "
        f"Machine: {m['cpus']} CPUs, load average at start {r['load_average_start']}, "
        f"at end {m['load_average']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
