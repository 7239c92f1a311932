"""The live view over real HTTP: a turn run elsewhere arrives as Server-Sent Events as it is stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.request import urlopen

from tests.ui.browser import TOKEN, served
from tests.ui.live_turn import ANSWER, PROMPT, LiveTurn
from tests.ui.support import Made

from tether.sessions.stores.sqlite import SQLiteStore


@contextmanager
def opened_stream(url: str) -> Iterator[IO[bytes]]:
    """The event stream at `url`, read as it arrives (a read waits at most 30 s)."""
    with urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield response


def events(response: IO[bytes]) -> Iterator[tuple[str, str]]:
    """`(event, data)` pairs of an SSE stream (comments skipped)."""
    name, data = "message", []
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            yield name, "\n".join(data)
            name, data = "message", []


def next_event(stream: Iterator[tuple[str, str]], wanted: str, text: str) -> str:
    """The data of the first `wanted` event holding `text` (events before it are passed over)."""
    for name, data in stream:
        if name == wanted and text in data:
            return data
    raise AssertionError(f"the stream ended before a {wanted!r} event with {text!r}")


def test_a_turn_run_elsewhere_streams_its_entries_and_its_lease(
    sqlite_store: SQLiteStore, made: Made, tmp_path: Path
) -> None:
    turn = LiveTurn(tmp_path / "sessions.db", made.plain, tmp_path / "work")
    with served(sqlite_store) as site, opened_stream(f"{site.base}/s/{made.plain}/events?token={TOKEN}") as response:
        stream = events(response)
        assert "idle" in next_event(stream, "lease", "")  # where it stands when the page opens
        turn.start()
        try:
            assert PROMPT in next_event(stream, "entry", PROMPT)
            assert "running · lease held by" in next_event(stream, "lease", "running")
            assert 'data-tool="Write"' in next_event(stream, "entry", "Write")
            turn.go.set()  # the model answers now
            next_event(stream, "entry", ANSWER)
            assert "turn ended" in next_event(stream, "entry", "turn-end")
            assert "idle" in next_event(stream, "lease", "idle")
        finally:
            turn.join()


def test_the_stream_of_a_deleted_session_says_so_and_ends(sqlite_store: SQLiteStore, made: Made) -> None:
    import anyio

    from tether.sessions.helpers import delete_session_async

    with served(sqlite_store) as site, opened_stream(f"{site.base}/s/{made.plain}/events?token={TOKEN}") as response:
        stream = events(response)
        next_event(stream, "lease", "")
        anyio.run(lambda: delete_session_async(made.plain, store=sqlite_store))
        assert next_event(stream, "gone", "") == ""
