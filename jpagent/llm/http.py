"""What the HTTP backends share: timeouts, bounded retries with backoff, errors for people.

Retries cover connection failures only (nothing listening, connect timeout, a server that drops
the connection before answering, or a 503 while it loads a model). A 4xx is never retried, nor
is a read timeout (a hung server would only be waited on again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from jpagent.errors import ModelError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds before the first retry; doubled for each further one (0.5, 1, 2…).
BACKOFF_BASE = 0.5
#: Connect timeout, capped by the request timeout.
CONNECT_TIMEOUT = 10.0


class Retryable(Exception):
    """Raised inside a retried call for a response worth another try (503 while loading)."""


def timeout(read: float) -> httpx.Timeout:
    """An httpx timeout: ``read`` seconds between bytes, connect at most ``CONNECT_TIMEOUT``."""
    return httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, read))


CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    ConnectionError,  # the ollama client turns httpx.ConnectError into this
    Retryable,
)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, CONNECT_ERRORS):
        return True
    # Dropped before any response byte: a connection failure. A body cut off after the
    # headers ("peer closed connection without sending complete message body") is not.
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc)


def with_retries(
    call: Callable[[], T], *, url: str, max_retries: int, start_hint: str, what: str
) -> T:
    """Run ``call``; on a connection failure wait and retry, at most ``max_retries`` times.

    Raises :class:`ModelError` naming ``url`` with ``start_hint`` once the retries are spent,
    and for a read timeout (the server accepted but did not answer).
    """
    attempts = max_retries + 1
    for attempt in range(attempts):
        try:
            return call()
        except httpx.ReadTimeout as exc:
            raise hung_error(url, what, exc) from exc
        except (*CONNECT_ERRORS, httpx.RemoteProtocolError) as exc:
            if not _retryable(exc):
                raise
            if attempt + 1 >= attempts:
                raise down_error(url, what, attempts, start_hint, exc) from exc
            delay = BACKOFF_BASE * 2**attempt
            log.warning(
                "%s: %s (%s); retry %d/%d in %.1fs", what, url, exc, attempt + 1, max_retries, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def down_error(
    url: str, what: str, attempts: int, start_hint: str, exc: BaseException
) -> ModelError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ModelError(
        f"Cannot reach the {what} at {url} ({reason}); tried {attempts} time(s).",
        f"{url} の{what}に接続できません（{attempts} 回試行）。サーバーが起動しているか確認してください。",
        hint=start_hint,
    )


def hung_error(url: str, what: str, exc: BaseException) -> ModelError:
    return ModelError(
        f"The {what} at {url} accepted the connection but sent no answer in time ({type(exc).__name__}).",
        f"{url} の{what}が接続後に応答しません（タイムアウト）。",
        hint="the server may be overloaded, loading a model, or stuck: check its log, "
        "or raise llm.timeout (JPAGENT_LLM_TIMEOUT) if long prompts are expected",
    )


def cut_error(
    url: str, what: str, chunks: int, chars: int, exc: BaseException | None
) -> ModelError:
    why = (
        f" ({type(exc).__name__}: {exc})"
        if exc
        else " (the stream ended without its final message)"
    )
    return ModelError(
        f"The {what} at {url} hung up mid-stream after {chunks} chunk(s), "
        f"{chars} characters of answer and reasoning received{why}.",
        f"{url} の{what}がストリームの途中で接続を切りました（{chunks} チャンク、{chars} 文字を受信済み）。",
        hint="the server may have crashed or run out of memory: check its log and retry",
    )
