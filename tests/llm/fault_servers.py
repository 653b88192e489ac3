"""Real sockets that misbehave, for the failure tests of the HTTP backends.

* :func:`closed_port` — a port on 127.0.0.1 with nothing listening (connection refused).
* :class:`RawServer` — a TCP server on 127.0.0.1 that reads one HTTP request per connection
  and then does one scripted thing: never answer (``hang``), send the status line, headers
  and part of a body then close the socket (``half``), answer in full (``full``), or close
  the first connection without a byte and answer the next ones in full (``drop_first``).
  It counts the connections it accepted and records each request's path.
"""

from __future__ import annotations

import socket
import threading
import time


def closed_port() -> int:
    """A port that was free a moment ago and has nothing listening now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_response(status: str, content_type: str, body: bytes, *, chunked: bool) -> bytes:
    """Bytes of an HTTP/1.1 response; ``chunked`` sends ``body`` as a single chunk, unterminated
    (the caller adds ``0\\r\\n\\r\\n`` to finish it)."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        return head.encode() + f"{len(body):x}\r\n".encode() + body + b"\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


class RawServer:
    """A scripted misbehaving HTTP server; use as a context manager."""

    def __init__(self, mode: str, payload: bytes = b"") -> None:
        if mode not in ("hang", "half", "full", "drop_first"):
            raise ValueError(mode)
        self.mode = mode
        self.payload = payload
        self.connections = 0
        self.paths: list[str] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._open:
            conn.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._open.append(conn)
            threading.Thread(
                target=self._handle, args=(conn, self.connections), daemon=True
            ).start()

    def _handle(self, conn: socket.socket, n: int) -> None:
        try:
            request = _read_request(conn)
            self.paths.append(
                request.split(b" ", 2)[1].decode() if request.count(b" ") >= 2 else ""
            )
            if self.mode == "hang":
                while not self._stop.wait(0.05):
                    pass
                return
            if self.mode == "drop_first" and n == 1:
                return  # closed in finally without a byte sent
            conn.sendall(self.payload)
            if self.mode == "half":
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        block = conn.recv(65536)
        if not block:
            return data
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        block = conn.recv(65536)
        if not block:
            break
        body += block
    return head + b"\r\n\r\n" + body
