"""The writer lock of a knowledge base folder: one writer at a time, readers never wait.

``write.lock`` is an OS file lock (``filelock``: ``flock`` on Unix), released by the kernel
when the holder dies, so a killed ingest never leaves the folder locked. After taking it the
holder writes its pid and command to ``write.lock.owner`` so that a second writer can be told
who holds it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from jpagent.errors import JpagentError

LOCK_FILE = "write.lock"
OWNER_FILE = "write.lock.owner"


class KBLockedError(JpagentError):
    """Another process is writing to the knowledge base."""


class WriterLock:
    """``with WriterLock(kb_dir, timeout):`` — hold the folder's writer lock inside the block.

    Raises :class:`KBLockedError` naming the folder and the holder's pid if the lock is not
    free within ``timeout`` seconds (0: try once).
    """

    def __init__(self, kb_dir: Path, timeout: float = 1.0) -> None:
        self.kb_dir = kb_dir
        self.timeout = timeout
        self._lock = FileLock(str(kb_dir / LOCK_FILE), timeout=timeout)

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; False if another process holds it."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self._write_owner()
        return True

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise self._locked_error() from None
        self._write_owner()

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _write_owner(self) -> None:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(sys.argv)[:300],
        }
        tmp = self.kb_dir / (OWNER_FILE + ".tmp")
        tmp.write_text(json.dumps(owner, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.kb_dir / OWNER_FILE)

    def owner(self) -> dict[str, object]:
        """What the current holder wrote about itself ({} if unknown)."""
        try:
            return json.loads((self.kb_dir / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _locked_error(self) -> KBLockedError:
        owner = self.owner()
        who = ""
        if owner.get("pid"):
            who = f" (pid {owner['pid']} on {owner.get('host', '?')}, since {owner.get('since')})"
        who_ja = f"（pid {owner['pid']}）" if owner.get("pid") else ""
        return KBLockedError(
            f"Knowledge base {self.kb_dir} is being written by another process{who}.",
            f"ナレッジベース {self.kb_dir} は別のプロセス{who_ja}が書き込み中です。"
            "終了を待ってから再実行してください。",
            hint="wait for the other ingest to finish and run again; searching does not need "
            "the lock. If no jpagent process is running, the lock is already free.",
        )
