"""A small local server that speaks Ollama's HTTP API, for testing the ``ollama:`` backend.

Ollama's own server is in no package registry reachable here, so the tests run the official
``ollama`` client library against this stand-in (stdlib ``http.server`` in a thread, 127.0.0.1,
an ephemeral port). Its replies are NOT canned: ``/api/chat`` generates them with the REAL
embedded Qwen2.5-Coder-1.5B GGUF through llama.cpp (the process-wide model of
:func:`jpagent.llm.llamacpp.load_llama`), so the content is real model output.

Endpoints, shaped as Ollama's API documentation describes them:

* ``POST /api/chat`` — NDJSON streaming (``"stream"`` defaults to true, as in Ollama) or one
  JSON object; ``options`` ``temperature``, ``top_p``, ``top_k``, ``num_predict``, ``seed``,
  ``stop`` and ``num_ctx`` (recorded; the model keeps its loaded context); final line with
  ``done: true``, ``done_reason``, ``prompt_eval_count``, ``eval_count`` and durations.
* ``GET /api/tags`` — the models served.
* ``POST /api/show`` — ``model_info`` from the GGUF's metadata, with ``<arch>.context_length``.
* ``POST /api/embed`` — mean-pooled, L2-normalised embeddings from the same GGUF (loaded a
  second time with ``embedding=True`` on first use).
* an unknown model → HTTP 404 ``{"error": "model 'x' not found"}``.

Every ``/api/chat`` request body is appended to :attr:`OllamaStub.requests` for assertions.
Counts in streamed replies are the stub's own: ``eval_count`` is the number of streamed pieces
and ``prompt_eval_count`` the tokens of the message texts (no chat template).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jpagent.llm.llamacpp import load_llama


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _meta_value(value: str) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value


class OllamaStub:
    """Serve ``models`` (Ollama name → GGUF path) on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, models: dict[str, Path], *, n_ctx: int = 2048) -> None:
        self.models = models
        self.n_ctx = n_ctx
        self.requests: list[dict[str, Any]] = []
        self._embedders: dict[str, Any] = {}
        self._embed_lock = threading.Lock()
        stub = self

        class Handler(_Handler):
            owner = stub

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OllamaStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def llama(self, model: str):
        return load_llama(self.models[model], self.n_ctx)

    def embedder(self, model: str):
        with self._embed_lock:
            if model not in self._embedders:
                import llama_cpp

                self._embedders[model] = llama_cpp.Llama(
                    model_path=str(self.models[model]),
                    embedding=True,
                    pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                    n_ctx=512,
                    verbose=False,
                )
            return self._embedders[model]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: OllamaStub

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # ------------------------------------------------------------------ plumbing

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, obj: Any) -> None:
        data = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _known(self, model: str) -> bool:
        if model in self.owner.models:
            return True
        self._json(404, {"error": f"model '{model}' not found"})
        return False

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [self._tag(name) for name in self.owner.models]})
        elif self.path == "/":
            self._json(200, "Ollama is running")
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        body = self._body()
        routes = {"/api/chat": self._chat, "/api/show": self._show, "/api/embed": self._embed}
        route = routes.get(self.path)
        if route is None:
            self._json(404, {"error": f"no route {self.path}"})
        elif self._known(body.get("model", "")):
            route(body)

    def _tag(self, name: str) -> dict[str, Any]:
        path = self.owner.models[name]
        return {
            "name": name,
            "model": name,
            "modified_at": _now(),
            "size": path.stat().st_size,
            "digest": "",
            "details": {"format": "gguf", "family": "qwen2", "quantization_level": "Q4_K_M"},
        }

    def _show(self, body: dict[str, Any]) -> None:
        llm = self.owner.llama(body["model"]).llm
        info = {
            k: _meta_value(v) for k, v in llm.metadata.items() if not k.startswith("tokenizer.")
        }
        arch = info.get("general.architecture", "")
        self._json(
            200,
            {
                "modelfile": f"FROM {self.owner.models[body['model']]}",
                "parameters": "",
                "template": llm.metadata.get("tokenizer.chat_template", ""),
                "details": {"format": "gguf", "family": arch, "families": [arch]},
                "model_info": info,
                "capabilities": ["completion", "tools"],
                "modified_at": _now(),
            },
        )

    def _embed(self, body: dict[str, Any]) -> None:
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        t0 = time.perf_counter_ns()
        emb = self.owner.embedder(body["model"])
        vectors = [emb.embed(t, normalize=True) for t in texts]
        self._json(
            200,
            {
                "model": body["model"],
                "embeddings": vectors,
                "total_duration": time.perf_counter_ns() - t0,
                "prompt_eval_count": sum(
                    len(emb.tokenize(t.encode(), add_bos=False)) for t in texts
                ),
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        self.owner.requests.append(body)
        opts = body.get("options") or {}
        kwargs: dict[str, Any] = {"messages": body.get("messages", [])}
        for theirs, ours in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("top_k", "top_k"),
            ("num_predict", "max_tokens"),
            ("seed", "seed"),
            ("stop", "stop"),
        ):
            if opts.get(theirs) is not None:
                kwargs[ours] = opts[theirs]
        if body.get("tools"):
            kwargs["tools"] = body["tools"]
        loaded = self.owner.llama(body["model"])
        t0 = time.perf_counter_ns()
        if body.get("stream", True):
            self._chat_stream(body["model"], loaded, kwargs, t0)
            return
        with loaded.lock:
            resp = loaded.llm.create_chat_completion(stream=False, **kwargs)
        choice = resp["choices"][0]
        self._json(
            200,
            {
                "model": body["model"],
                "created_at": _now(),
                "message": {"role": "assistant", "content": choice["message"].get("content") or ""},
                "done": True,
                "done_reason": choice.get("finish_reason") or "stop",
                "total_duration": time.perf_counter_ns() - t0,
                "prompt_eval_count": resp["usage"]["prompt_tokens"],
                "eval_count": resp["usage"]["completion_tokens"],
            },
        )

    def _chat_stream(self, model: str, loaded, kwargs: dict[str, Any], t0: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = 0
        finish = "stop"
        with loaded.lock:
            for chunk in loaded.llm.create_chat_completion(stream=True, **kwargs):
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                content = (choice.get("delta") or {}).get("content")
                if content:
                    pieces += 1
                    self._chunk(
                        {
                            "model": model,
                            "created_at": _now(),
                            "message": {"role": "assistant", "content": content},
                            "done": False,
                        }
                    )
        prompt = sum(
            len(loaded.llm.tokenize(m.get("content", "").encode(), add_bos=False))
            for m in kwargs["messages"]
        )
        self._chunk(
            {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": finish,
                "total_duration": time.perf_counter_ns() - t0,
                "prompt_eval_count": prompt,
                "eval_count": pieces,
            }
        )
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
