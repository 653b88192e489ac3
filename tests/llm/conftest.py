"""Fixtures for the chat backend tests: the real embedded GGUF, in-process and served.

* ``local_llm`` — :class:`LlamaCppChat` on the default GGUF (n_ctx 2048), loaded once.
* ``llama_server`` — a real ``python -m llama_cpp.server`` serving the same GGUF on 127.0.0.1,
  started for the session and stopped after it; yields its ``/v1`` base URL.
* ``ollama_stub`` — the Ollama-protocol server of :mod:`ollama_stub_server`, whose replies
  come from the same real model.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jpagent.llm.llamacpp import LlamaCppChat, default_gguf

N_CTX = 2048
OLLAMA_MODEL = "qwen2.5-coder:1.5b"
SERVER_READY_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gguf() -> Path:
    return default_gguf()


@pytest.fixture(scope="session")
def local_llm(gguf: Path) -> LlamaCppChat:
    return LlamaCppChat("default", n_ctx=N_CTX)


@pytest.fixture(scope="session")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + SERVER_READY_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{base}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server not ready in {SERVER_READY_TIMEOUT:.0f}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def ollama_stub(gguf: Path):
    from tests.llm.ollama_stub_server import OllamaStub

    stub = OllamaStub({OLLAMA_MODEL: gguf}, n_ctx=N_CTX).start()
    yield stub
    stub.stop()
