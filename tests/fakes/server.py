"""A small threaded HTTP/1.1 server on 127.0.0.1 that replays scripted replies (base of the fakes)."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tests.fakes.script import Disconnect, ErrorReply, Reply, Scripted, ScriptItem


class FakeServer:
    """Start with `with`; `.url` is the base URL, `.requests` the JSON bodies received in order.

    Subclasses implement `handle(handler, body, item)` for their provider's wire protocol.
    """

    path = "/"
    base_path = ""

    def __init__(self, replies: Iterable[Scripted] = ()) -> None:
        self._queue: deque[Scripted] = deque(replies)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0
        """How many TCP connections clients have opened to the server."""
        self.requests: list[dict[str, Any]] = []
        """Every request body, parsed, in arrival order (retries included)."""
        self.headers: list[dict[str, str]] = []
        """The headers of each request (lower-cased names), parallel to `requests`."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- script ---------------------------------------------------------------------------------

    def add(self, *replies: Scripted) -> None:
        """Queue more replies."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    def _next(self, body: dict[str, Any]) -> ScriptItem:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            return ErrorReply(
                500, f"{type(self).__name__}: no scripted reply left", headers={"x-should-retry": "false"}
            )
        if callable(item):
            item = item(body)
        if isinstance(item, str):
            return Reply(item)
        return item

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """How many client connections are open now (the server notices a close within a few ms)."""
        with self._lock:
            return len(self._connections)

    @property
    def url(self) -> str:
        """The base URL to give the client (`http://127.0.0.1:PORT`, plus `/v1` for OpenAI)."""
        assert self._server is not None, "start the server first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.base_path}"

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- protocol hooks -------------------------------------------------------------------------

    def handle(self, handler: _Handler, body: dict[str, Any], item: ScriptItem) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        raise NotImplementedError

    # -- helpers for subclasses -----------------------------------------------------------------

    def send_error_reply(self, handler: _Handler, item: ErrorReply) -> None:
        message = item.message or f"fake error {item.status}"
        handler.send_json(item.status, self.error_body(item.status, message, item.error_type), item.headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeServer
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # as real API servers do: each small write (a header block, an SSE chunk) leaves at once,
        # instead of waiting for the client's delayed ACK (40 ms) on a kept-alive connection
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server_fake._lock:
            self.server_fake._connections.add(self.connection)
            self.server_fake.connections_opened += 1

    def finish(self) -> None:
        with self.server_fake._lock:
            self.server_fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_POST(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?")[0] != fake.base_path + fake.path:
            self.send_json(404, fake.error_body(404, f"no route {self.path}", None))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self.send_json(400, fake.error_body(400, "the body is not JSON", None))
            return
        with fake._lock:
            fake.requests.append(body)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        item = fake._next(body)
        if isinstance(item, Disconnect):
            self.drop()
            return
        if isinstance(item, ErrorReply):
            fake.send_error_reply(self, item)
            return
        fake.handle(self, body, item)

    # -- writing --------------------------------------------------------------------------------

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def send_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_sse(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self) -> None:
        """Close the connection at once, mid-whatever (the client sees a dropped connection)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
