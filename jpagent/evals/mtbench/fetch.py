"""Fetch the public Japanese MT-Bench files where a network exists (``jpagent eval mtbench fetch``).

The originals live in Stability-AI's FastChat fork, branch ``jp-stable`` (Apache-2.0), under
``fastchat/llm_judge/data/``. They are written into ``<data dir>/ja_mt_bench/`` in the layout
the other ``mtbench`` commands read by default (``data.dir`` / ``JPAGENT_DATA_DIR``)::

    ja_mt_bench/question_full.jsonl          80 questions (question.jsonl drops coding and math)
    ja_mt_bench/judge_ja_prompts.jsonl       the Japanese judge prompts
    ja_mt_bench/reference_answer/gpt-4.jsonl and base-gpt4o-with-human-annotation.jsonl

Each file is downloaded to a temporary file beside its target, checked (every line a JSON
object with the file's key field), then renamed into place, so an interrupted or bad download
never leaves a half file where a run would read it. Files already present are kept unless
``force``. On a closed network, copy the four files by hand into the same layout.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jpagent.errors import JpagentError

__all__ = ["BASE_URL", "FILES", "FetchError", "Fetched", "fetch_mtbench"]

BASE_URL = (
    "https://raw.githubusercontent.com/Stability-AI/FastChat/jp-stable/fastchat/llm_judge/data/"
)

#: (path under BASE_URL, path under ja_mt_bench/, a key every record must have)
FILES: tuple[tuple[str, str, str], ...] = (
    ("japanese_mt_bench/question_full.jsonl", "question_full.jsonl", "question_id"),
    ("judge_ja_prompts.jsonl", "judge_ja_prompts.jsonl", "name"),
    (
        "japanese_mt_bench/reference_answer/gpt-4.jsonl",
        "reference_answer/gpt-4.jsonl",
        "question_id",
    ),
    (
        "japanese_mt_bench/reference_answer/base-gpt4o-with-human-annotation.jsonl",
        "reference_answer/base-gpt4o-with-human-annotation.jsonl",
        "question_id",
    ),
)

MAX_BYTES = 20 * 1024 * 1024  # the largest original is under 1 MB


class FetchError(JpagentError):
    """A file could not be downloaded or is not what it should be."""


@dataclass(frozen=True)
class Fetched:
    """One file: where it is, where it came from, and whether this run downloaded it."""

    path: Path
    url: str
    status: str  # "fetched" or "present"
    records: int


def fetch_mtbench(
    data_dir: str | os.PathLike[str],
    *,
    base_url: str = BASE_URL,
    force: bool = False,
    timeout: float = 30.0,
) -> list[Fetched]:
    """Download the files of :data:`FILES` into ``<data_dir>/ja_mt_bench/``; one row each."""
    import httpx

    root = Path(data_dir) / "ja_mt_bench"
    base = base_url if base_url.endswith("/") else base_url + "/"
    done: list[Fetched] = []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for remote, local, key in FILES:
            url, target = base + remote, root / local
            if target.exists() and not force:
                done.append(Fetched(target, url, "present", _check(target.read_bytes(), key, url)))
                continue
            body = _download(client, url)
            records = _check(body, key, url)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            done.append(Fetched(target, url, "fetched", records))
    return done


def _download(client: object, url: str) -> bytes:
    import httpx

    try:
        with client.stream("GET", url) as resp:  # type: ignore[attr-defined]
            if resp.status_code != 200:
                raise FetchError(
                    f"{url} answered HTTP {resp.status_code}.",
                    f"{url} の取得に失敗しました（HTTP {resp.status_code}）。",
                    hint="Check --base-url; the files are on branch jp-stable of "
                    "Stability-AI/FastChat.",
                )
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FetchError(
                        f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MB; not an MT-Bench file.",
                        f"{url} が大きすぎます（MT-Bench のファイルではありません）。",
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as e:
        raise FetchError(
            f"Could not download {url}: {type(e).__name__}: {e}.",
            f"{url} をダウンロードできませんでした（ネットワークに接続できない可能性があります）。",
            hint="On a closed network, copy question_full.jsonl, judge_ja_prompts.jsonl and "
            "reference_answer/*.jsonl into <data dir>/ja_mt_bench/ by hand.",
        ) from e


def _check(body: bytes, key: str, url: str) -> int:
    """Number of records; refuses a body that is not JSONL of objects with ``key``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FetchError(
            f"{url} is not UTF-8 text (byte {e.start}).",
            f"{url} が UTF-8 のテキストではありません。",
        ) from None
    records = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise FetchError(
                f"{url} line {lineno} is not JSON ({e.msg}); nothing was written.",
                f"{url} の {lineno} 行目が JSON ではありません（保存していません）。",
            ) from None
        if not isinstance(record, dict) or key not in record:
            raise FetchError(
                f"{url} line {lineno} has no {key!r}; not the expected file, nothing was written.",
                f"{url} の {lineno} 行目に {key!r} がありません（保存していません）。",
            )
        records += 1
    if not records:
        raise FetchError(f"{url} is empty; nothing was written.", f"{url} が空です。")
    return records
