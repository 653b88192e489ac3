"""Independent requests on a thread pool; their records written by one thread as they finish.

Both ``answer`` and ``judge`` hand :func:`run_parallel` a list of work items and a function that
turns one item into one JSON record. The function must not raise for a failed request: it
returns a record with ``"failed": true`` instead, so one bad request never stops the others.
An exception it does raise (a bug, Ctrl-C) cancels what has not started and propagates; records
already written stay written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple, TypeVar

from jpagent.errors import ModelError
from jpagent.llm.base import ChatModel, ChatOptions
from jpagent.types import Message

log = logging.getLogger(__name__)

T = TypeVar("T")
Record = dict[str, Any]
#: ``progress(done, total, failed)``, called from the writing thread after each record.
ProgressFn = Callable[[int, int, int], None]


class RunSummary(NamedTuple):
    """What one ``answer`` or ``judge`` run did."""

    path: str
    """The JSONL file written."""
    written: int
    """Records appended by this run (failed ones included)."""
    failed: int
    """Records of this run marked ``failed``."""
    skipped: int
    """Work items already in the file from an earlier run."""
    seconds: float


def run_parallel(
    items: Sequence[T],
    work: Callable[[T], Record],
    write: Callable[[Record], None],
    *,
    parallel: int = 1,
    progress: ProgressFn | None = None,
) -> tuple[int, int]:
    """Run ``work`` on every item with ``parallel`` threads, ``write`` each record as it
    completes (from this thread only); return ``(written, failed)``."""
    total = len(items)
    done = failed = 0
    if progress:
        progress(0, total, 0)
    if not items:
        return 0, 0
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="mtbench")
    pending: set[Future[Record]] = {pool.submit(work, item) for item in items}
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                record = fut.result()
                write(record)
                done += 1
                failed += bool(record.get("failed"))
                if progress:
                    progress(done, total, failed)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return done, failed


def describe_error(exc: BaseException) -> str:
    """One line for a record's ``error`` field: the exception type and its first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


_ROLE_JA = {"answer": "回答", "judge": "審査"}


def preflight(model: ChatModel, role: str, timeout: float | None = None) -> None:
    """One tiny request, so that a server that is down stops the run with one clear error
    instead of a file full of failed records."""
    try:
        model.chat(
            [Message("user", "こんにちは")],
            options=ChatOptions(temperature=0.0, max_tokens=1, timeout=timeout),
        )
    except Exception as exc:
        raise ModelError(
            f"The {role} model {model.name} does not answer: {describe_error(exc)}",
            f"{_ROLE_JA.get(role, role)}モデル {model.name} が応答しません。",
            hint="start the server (or check the spec, URL and model name) and rerun; "
            "finished records are kept",
        ) from exc
