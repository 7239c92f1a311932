"""The live view: a session's entries streamed to the page as Server-Sent Events as they are stored.

It follows the store with `tether.sessions.follow.follow_entries`, the one mechanism
`tether.follow` uses too (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, polling for the others):
each new entry becomes an `entry` event carrying its rendered HTML, and each turn's end a
`lease` event saying who holds the session now (read when a prompt arrives, free once
the turn has ended). The page adds them with a few lines of its own
script (`static/live.js`); with JavaScript off, the page is simply reloaded to see more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from tether._vocabulary.store import SessionKey
from tether.ui.data import Browser
from tether.ui.render import entry_items

__all__ = ["sse_event", "stream_entries"]

HEARTBEAT_SECONDS = 15.0
"""How long the stream stays quiet before it sends a comment (keeps proxies and the browser patient)."""


def sse_event(event: str, data: str) -> str:
    """One Server-Sent Event, its data split into `data:` lines."""
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"event: {event}\n{lines}\n"


async def stream_entries(
    browser: Browser,
    key: SessionKey,
    after_uuid: str | None,
    render_items: Callable[[list[Any]], str],
    render_lease: Callable[[Any], str],
) -> AsyncIterator[str]:
    """Events for every entry stored after `after_uuid`, until the client goes away."""
    from tether.errors import EntryNotFoundError, FollowTimeoutError, SessionNotFoundError
    from tether.sessions.follow import follow_entries

    yield sse_event("lease", render_lease(await browser.lease(key)))
    while True:
        moved = False  # metadata stored after `after_uuid` (the last turn's end) was on the page already
        try:
            async for entry in follow_entries(
                browser.access.store, key, after_uuid=after_uuid, until_result=False, timeout=HEARTBEAT_SECONDS
            ):
                if entry.get("uuid"):
                    after_uuid, moved = str(entry["uuid"]), True
                elif not moved:
                    continue
                items = entry_items([entry])
                if items:
                    yield sse_event("entry", render_items(items))
                if any(item.kind == "prompt" for item in items):  # a turn began: its holder took the lease first
                    yield sse_event("lease", render_lease(await browser.lease(key)))
                elif any(item.kind == "turn" for item in items):  # the turn ended: its lease goes with it
                    yield sse_event("lease", render_lease(None))
        except FollowTimeoutError:  # nothing new for a while: say we are still here, and go on
            yield ": still following\n\n"
        except (SessionNotFoundError, EntryNotFoundError):  # deleted, or its view moved: reload to see it
            yield sse_event("gone", "")
            return
