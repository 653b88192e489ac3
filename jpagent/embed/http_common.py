"""What the HTTP embedders (``ollama:``, ``openai:``) share: settings, retries, error wording.

A request that fails to connect, is cut off mid-response, or gets 429/5xx is retried a bounded
number of times with exponential backoff; anything else (a timeout, 4xx, output that is not the
expected JSON) fails at once with an error that names the URL and says what to try.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import numpy as np

from jpagent.embed.base import check_vectors, embed_in_batches, empty, require_str_list
from jpagent.embed.prefixes import Prefixes
from jpagent.errors import JpagentError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: HTTP statuses worth another attempt: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpEmbedConfig:
    """Settings shared by the HTTP embedding backends."""

    #: Seconds to wait for a response (connecting waits at most 10 s of it).
    timeout: float = 120.0
    #: Further attempts after a connection failure, a hang-up, 429 or 5xx (0 = try once).
    retries: int = 3
    #: Seconds before the first retry; doubled for each later one.
    backoff: float = 0.5
    #: Texts per request.
    batch_size: int = 32
    #: Show a progress bar: True, False, or None for "only for large inputs in a terminal".
    progress: bool | None = None
    #: Prefix style (``e5``, ``ruri``, ``none``); None detects it from the model name.
    prefixes: str | None = None


class TransientFailure(Exception):
    """A failure worth retrying: what happened (English, Japanese) and what to try if it lasts.

    An empty ``hint`` means "the server is not reachable", for which the backend knows the hint.
    """

    def __init__(self, message: str, message_ja: str, hint: str = "") -> None:
        super().__init__(message)
        self.message_ja = message_ja
        self.hint = hint


def cannot_connect(url: str, exc: BaseException | None = None) -> TransientFailure:
    """The TransientFailure for a refused or timed-out connection to ``url``."""
    detail = f" ({exc})" if exc is not None and str(exc) else ""
    return TransientFailure(f"cannot connect to {url}{detail}", f"{url} に接続できません")


def httpx_timeout(config: HttpEmbedConfig) -> httpx.Timeout:
    """The httpx timeout for ``config``: ``timeout`` overall, at most 10 s to connect."""
    return httpx.Timeout(config.timeout, connect=min(10.0, config.timeout))


def transport_failure(exc: httpx.TransportError, url: str, timeout: float) -> Exception:
    """Turn an httpx transport error into a TransientFailure or a final JpagentError."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return JpagentError(
            f"Embedding server {url} did not answer within {timeout:g} s.",
            message_ja=f"埋め込みサーバー {url} が {timeout:g} 秒以内に応答しませんでした。",
            hint="The model may still be loading or the batch is too large: raise "
            "`timeout` or lower `batch_size`.",
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return cannot_connect(url, exc)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransientFailure(
            f"the server closed the connection mid-response ({exc or type(exc).__name__})",
            "サーバーが応答の途中で接続を切りました",
            hint="The server drops requests: check its log (out of memory?) or lower `batch_size`.",
        )
    return JpagentError(  # proxy trouble, unsupported URL scheme and the like: not transient
        f"Cannot talk to embedding server {url}: {type(exc).__name__}: {exc}",
        message_ja=f"埋め込みサーバー {url} と通信できません: {exc}",
        hint="Check the URL and any proxy settings (HTTP_PROXY / NO_PROXY).",
    )


def malformed(url: str, detail: str) -> JpagentError:
    """The error for a response that is not what the embeddings API promises."""
    return JpagentError(
        f"Embedding server {url} returned malformed output: {detail}",
        message_ja=f"埋め込みサーバー {url} の応答が不正な形式です: {detail}",
        hint="Check that the URL points at the embeddings API and the model is an embedding model.",
    )


def parse_json(response: httpx.Response, url: str) -> Any:
    """Decode a response body as JSON or raise the malformed-output error with a snippet."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        snippet = response.text[:200].replace("\n", " ")
        raise malformed(url, f"not JSON ({exc}); body starts {snippet!r}") from exc


def with_retries(send: Callable[[], T], *, url: str, config: HttpEmbedConfig, down_hint: str) -> T:
    """Run ``send`` until it succeeds, retrying TransientFailure up to ``config.retries`` times.

    When every attempt fails, raise a JpagentError naming ``url`` with ``down_hint`` as the hint.
    """
    attempts = max(0, config.retries) + 1
    for attempt in range(attempts):
        try:
            return send()
        except TransientFailure as exc:
            if attempt + 1 == attempts:
                raise JpagentError(
                    f"Embedding server {url} failed {attempts} time(s) in a row: {exc}.",
                    message_ja=f"埋め込みサーバー {url} への要求が {attempts} 回とも失敗しました: "
                    f"{exc.message_ja}。",
                    hint=exc.hint or down_hint,
                ) from exc
            wait = config.backoff * (2**attempt)
            logger.warning("Embedding server %s: %s; retrying in %.2f s", url, exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


class HttpEmbedder:
    """Batching, prefixes and vector checks shared by the HTTP backends.

    A backend sets ``name``, ``url``, ``config`` (an HttpEmbedConfig), ``prefixes`` and
    ``down_hint`` and implements ``_send(batch) -> list of vectors`` for one request, raising
    TransientFailure for what is worth retrying. ``dim`` is learnt from the first response.
    """

    name: str
    url: str
    config: HttpEmbedConfig
    prefixes: Prefixes
    down_hint: str
    _dim: int | None = None

    def _send(self, batch: list[str]) -> list[Any]:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Vector size, learnt from the server (one short request if nothing was embedded yet)."""
        if self._dim is None:
            self.embed_query("次元")
        assert self._dim is not None
        return self._dim

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        raw = with_retries(
            lambda: self._send(batch), url=self.url, config=self.config, down_hint=self.down_hint
        )
        try:
            arr = np.asarray(raw, dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise malformed(self.url, f"embeddings of unequal length or type ({exc})") from exc
        vectors = check_vectors(arr, len(batch), self.name)
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise malformed(self.url, f"vectors of size {vectors.shape[1]}, earlier {self._dim}")
        return vectors

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the model's document prefix, ``batch_size`` per request."""
        items = require_str_list(texts, self.name)
        if not items:
            return empty(self.dim)
        prefix = self.prefixes.document
        return embed_in_batches(
            items,
            lambda batch: self._embed_batch([prefix + t for t in batch]),
            batch_size=self.config.batch_size,
            progress=self.config.progress,
            label=self.name,
        )

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query with the model's query prefix."""
        return self._embed_batch([self.prefixes.query + text])[0]
