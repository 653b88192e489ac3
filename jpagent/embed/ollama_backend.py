"""``ollama:NAME`` — embeddings from an Ollama server's ``/api/embed``, via the ``ollama`` client.

The server is ``config.host``, else the ``OLLAMA_HOST`` environment variable, else
``http://127.0.0.1:11434``. The vector size is learnt from the first response (reading ``dim``
before any embedding sends one short request).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from jpagent.embed.http_common import (
    RETRY_STATUSES,
    HttpEmbedConfig,
    HttpEmbedder,
    TransientFailure,
    cannot_connect,
    httpx_timeout,
    malformed,
    transport_failure,
)
from jpagent.embed.prefixes import resolve_prefixes
from jpagent.errors import JpagentError, SpecError

DEFAULT_HOST = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class OllamaConfig(HttpEmbedConfig):
    """Settings of the Ollama embedder (plus the shared HTTP ones)."""

    #: Server URL (``http://host:11434``, ``host:port``); None reads ``OLLAMA_HOST``.
    host: str | None = None


def resolve_host(host: str | None) -> str:
    """The Ollama base URL: ``host``, else ``$OLLAMA_HOST``, else the local default.

    A bare ``host`` or ``host:port`` gets ``http://``; a bare host gets port 11434, as the
    ollama CLI does.
    """
    raw = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).strip().rstrip("/")
    if "://" in raw:
        return raw
    parts = urlsplit(f"http://{raw}")
    try:
        port = parts.port
    except ValueError as exc:
        raise SpecError(
            f"Ollama host {raw!r} has an invalid port.",
            message_ja=f"Ollama のホスト指定 {raw!r} のポートが不正です。",
            hint="Use host:port, e.g. 127.0.0.1:11434 (option host= or OLLAMA_HOST).",
        ) from exc
    netloc = parts.netloc if port is not None else f"{parts.netloc}:11434"
    return f"http://{netloc}{parts.path}"


class OllamaEmbedder(HttpEmbedder):
    """An Ollama embedding model; ``target`` is the model name (``bge-m3``, ``name:tag``)."""

    def __init__(self, target: str, config: OllamaConfig = OllamaConfig()) -> None:
        if not target:
            raise SpecError(
                "Spec 'ollama:' needs a model name, e.g. 'ollama:bge-m3'.",
                message_ja="ollama: の後にモデル名を指定してください（例: ollama:bge-m3）。",
            )
        import ollama  # the official client; imported only when this backend is chosen

        self._ollama = ollama
        self.model = target
        self.config = config
        self.url = resolve_host(config.host)
        self.style, self.prefixes = resolve_prefixes(target, config.prefixes)
        suffix = f";prefixes={config.prefixes}" if config.prefixes is not None else ""
        self.name = f"ollama:{target}{suffix}"
        self._client = ollama.Client(host=self.url, timeout=httpx_timeout(config))
        self._dim: int | None = None
        self.down_hint = (
            "Start Ollama (`ollama serve`) or set OLLAMA_HOST / the host option to where it runs."
        )

    def _send(self, batch: list[str]) -> list[list[float]]:
        ollama = self._ollama
        try:
            response = self._client.embed(model=self.model, input=batch)
        except ConnectionError as exc:  # the client's wrapper for httpx.ConnectError
            raise cannot_connect(self.url) from exc
        except httpx.TransportError as exc:
            raise transport_failure(exc, self.url, self.config.timeout) from exc
        except ollama.ResponseError as exc:
            raise self._response_error(exc) from exc
        except (ValueError, TypeError) as exc:  # body not JSON, or JSON of the wrong shape
            raise malformed(self.url, f"{type(exc).__name__}: {exc}") from exc
        embeddings = response.embeddings
        if len(embeddings) != len(batch):
            raise malformed(self.url, f"{len(embeddings)} embeddings for {len(batch)} inputs")
        return [list(v) for v in embeddings]

    def _response_error(self, exc: Exception) -> Exception:
        status = getattr(exc, "status_code", -1)
        error = str(getattr(exc, "error", exc))
        if status in RETRY_STATUSES:
            return TransientFailure(
                f"HTTP {status}: {error}",
                f"HTTP {status} エラー: {error}",
                hint="Ollama is busy or failing: check its log (`journalctl -u ollama`) or retry later.",
            )
        if status == 404 or "not found" in error.lower():
            return JpagentError(
                f"Ollama at {self.url} has no model {self.model!r} (HTTP {status}: {error}).",
                message_ja=f"Ollama（{self.url}）にモデル {self.model!r} がありません。",
                hint=f"Run `ollama pull {self.model}` on the server, or check that "
                f"{self.url} is an Ollama server.",
            )
        return JpagentError(
            f"Ollama at {self.url} refused to embed with {self.model!r} (HTTP {status}: {error}).",
            message_ja=f"Ollama（{self.url}）がモデル {self.model!r} での埋め込みを拒否しました。",
            hint="Check that the model is an embedding model (`ollama show MODEL`).",
        )
