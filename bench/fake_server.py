"""The bench's model server: the tests' fake Anthropic Messages API, answering every request at once.

It reuses `tests.fakes.FakeAnthropicServer` (streaming SSE, the real wire format) and only
changes what it replays: instead of a scripted queue, every request gets the same short text
reply, and the arrival time of each request is recorded on the system-wide monotonic clock
(`time.monotonic()`, comparable across processes on Linux) so a worker can tell how long it
took from its own start to its first model request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.fakes import FakeAnthropicServer, Reply, Text
from tests.fakes.script import ScriptItem

REPLY_TEXT = "Done: the answer of the fake model server."


class BenchAnthropicServer(FakeAnthropicServer):
    """Answers every `POST /v1/messages` with one short text message; records arrival times."""

    def __init__(self) -> None:
        super().__init__()
        self._arrivals: list[tuple[float, int]] = []
        self._arrivals_lock = threading.Lock()

    def _next(self, body: dict[str, Any]) -> ScriptItem:
        with self._arrivals_lock:
            self._arrivals.append((time.monotonic(), len(body.get("messages") or ())))
        with self._lock:
            self.requests.clear()  # bodies of long histories add up; the bench only needs the times
            self.headers.clear()
        return Reply([Text(REPLY_TEXT)], input_tokens=300, output_tokens=12, chunk_size=64)

    def arrivals(self) -> list[tuple[float, int]]:
        """`(monotonic arrival time, number of messages in the request)` of every request so far."""
        with self._arrivals_lock:
            return list(self._arrivals)

    def first_request_after(self, start: float) -> tuple[float, int] | None:
        """Seconds from `start` (a monotonic time) to the first request after it, and its message count."""
        later = [(arrival, count) for arrival, count in self.arrivals() if arrival >= start]
        if not later:
            return None
        arrival, count = min(later)
        return arrival - start, count
