"""`LayeredStore`: tether's store with Claude Code's own sessions beside it, as one store.

What `open_store(None)` opens (unless `TETHER_CLAUDE_CODE_SESSIONS=0`): the default store (the
*primary*) and the transcripts of Claude Code and the Claude Agent SDK under
`$CLAUDE_CONFIG_DIR` (default `~/.claude`), read and written by a `JsonlStore`. A session lives
where it was born:

- a key the primary holds, or that Claude Code's directory does not, is the primary's: every new
  session goes there;
- a key only Claude Code's directory holds is written there, in Claude Code's format, so
  `claude --resume <id>` sees what tether added; its sub-transcripts (subagents) go beside it;
- a fork lives beside its source (as Claude Code's `--fork-session` and the SDK's
  `fork_session` put it);
- leases (`swap_lease`) and workspace blobs are always the primary's: nothing but transcripts is
  written into Claude Code's directory.

Where an id is in both, the primary wins: `find` looks there first, and a listing leaves out a
Claude Code transcript whose key (project and id) the primary holds. Listings merge both, newest
first, with one cursor over the two. A missing Claude Code directory is an empty one.
"""

from __future__ import annotations

import base64
import functools
import heapq
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import ConfigurationError
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.store import SessionPage, StoredSession, StoredTexts
from tether.sessions.store_capabilities import StoreDeadline
from tether.sessions.stores.jsonl import FROM_START, JsonlStore

__all__ = ["CLAUDE_CODE_SESSIONS", "LayeredStore", "claude_config_dir", "with_claude_code"]

CLAUDE_CODE_SESSIONS = "TETHER_CLAUDE_CODE_SESSIONS"
"""The environment variable that, set to `0` (or `false`, `no`, `off`), keeps Claude Code's sessions out of
the default store."""
_OFF = {"0", "false", "no", "off"}
_SHARED: dict[tuple[int, str], LayeredStore] = {}
_KEPT: list[StoreAccess] = []

_Home = tuple[str, str]
"""`(project key, session id)`: a session, whatever the subpath."""
_MAX_HOMES = 10_000
"""Sessions whose store a `LayeredStore` remembers (a process on a shared store meets many)."""


@dataclass
class _Lane:
    """Where a merged listing is in one store's listing: its cursor, and how many items of the page
    at that cursor were already listed."""

    cursor: str | None = None
    skip: int = 0
    done: bool = False


def _position(item: SessionSummaryEntry) -> tuple[int, str, str]:
    return (item["mtime"], item["session_id"], item.get("project_key") or "")


class LayeredStore:
    """A primary store and Claude Code's transcript directory, as one store (see the module doc)."""

    def __init__(self, primary: SessionStore, claude_code: JsonlStore) -> None:
        self.primary = primary
        self.claude_code = claude_code
        unbounded = StoreDeadline(timeout=None)  # a call of this store is held to its caller's limits
        self._primary_access = store_access(primary)  # held: the primary's one capability layer
        self._primary = self._primary_access.bounded(unbounded)
        self._claude = store_access(claude_code).bounded(unbounded)
        self._homes: dict[_Home, StoreAccess] = {}

    def __repr__(self) -> str:
        return f"LayeredStore({self.primary!r}, {self.claude_code!r})"

    @property
    def is_shared(self) -> bool:
        """Shared when the primary is (the process's shared SQLite store): callers do not close it."""
        return self._primary.shared

    # -- where a session lives ------------------------------------------------------------------

    def _in_claude_code(self, home: _Home) -> bool:
        """Whether Claude Code's directory holds the session's main transcript (one `stat`)."""
        try:
            path = self.claude_code.main_transcript_file(*home)
        except ConfigurationError:  # a project key no Claude Code directory can have
            return False
        try:
            return os.stat(path).st_size > 0
        except OSError:
            return False

    async def _home(self, key: SessionKey | SessionListSubkeysKey) -> StoreAccess:
        """The store that holds (or is to hold) the session of `key`."""
        home = (key["project_key"], key["session_id"])
        known = self._homes.get(home)
        if known is not None:
            return known
        if not self._in_claude_code(home):
            return self._primary
        main = SessionKey(project_key=home[0], session_id=home[1])
        found = self._primary if await self._primary.exists(main) else self._claude
        self._remember(home, found)
        return found

    def _remember(self, home: _Home, access: StoreAccess) -> None:
        """Keep where a session lives (the oldest of `_MAX_HOMES` forgotten: looked up again if used)."""
        homes = self._homes
        if home not in homes and len(homes) >= _MAX_HOMES:
            del homes[next(iter(homes))]
        homes[home] = access

    # -- the SessionStore protocol and tether's capabilities -------------------------------------

    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append to the transcript where its session lives (a new session: the primary)."""
        home = await self._home(key)
        await home.append(key, entries, expected_leaf=expected_leaf)
        if home is self._primary and not key.get("subpath"):  # the primary holds it now: no more `stat`s
            self._remember((key["project_key"], key["session_id"]), home)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The transcript, from where its session lives."""
        return await (await self._home(key)).load(key)

    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The transcript undecoded, from where its session lives (None where that store cannot)."""
        return await (await self._home(key)).load_texts(key)

    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries, from where the session lives."""
        return await (await self._home(key)).load_tail(key, limit)

    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """The session in the primary if it holds the id, else in Claude Code's directory."""
        for access in (self._primary, self._claude):
            found = await access.find(session_id, project_key)
            if found is not None:
                self._remember((found.key["project_key"], found.key["session_id"]), access)
                return found
        return None

    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Fork where the source lives (the fork lives beside it)."""
        home = await self._home(source_key)
        await home.fork(source_key, new_key, at_uuid)
        self._remember((new_key["project_key"], new_key["session_id"]), home)

    async def delete(self, key: SessionKey) -> None:
        """Delete the transcript where it lives."""
        home = await self._home(key)
        await home.delete(key)
        if not key.get("subpath"):
            self._homes.pop((key["project_key"], key["session_id"]), None)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The session's sub-transcripts, where it lives."""
        return await (await self._home(key)).list_subkeys(key)

    def transcript_path(self, key: SessionKey) -> str:
        """The Claude Code transcript file of a session that lives there, else the primary's answer."""
        home = (key["project_key"], key["session_id"])
        known = self._homes.get(home)
        if known is None:
            known = self._claude if self._in_claude_code(home) else self._primary
        if known is self._claude:
            return self._claude.transcript_path(key)
        return self._primary.transcript_path(key)

    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """The session's turn lease, always kept by the primary."""
        return await self._primary.swap_lease(key, owner, expires_at_ms, now_ms=now_ms, take_from=take_from)

    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The session's turn lease as the primary keeps it."""
        return await self._primary.read_lease(key)

    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Workspace blobs, always kept by the primary (as leases are)."""
        await self._primary.put_blobs(blobs)

    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The primary's blobs of `hashes`."""
        return await self._primary.get_blobs(hashes)

    async def list_blobs(self) -> list[str]:
        """The primary's blob addresses."""
        return await self._primary.list_blobs()

    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove blobs from the primary."""
        await self._primary.delete_blobs(hashes)

    async def close(self) -> None:
        """Close both stores."""
        await self._primary.close()
        await self._claude.close()

    # -- listing ----------------------------------------------------------------------------------

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """The project's sessions in both, newest first (the primary's where an id is in both)."""
        items = await self.list_session_summaries(project_key)
        return [SessionStoreListEntry(session_id=item["session_id"], mtime=item["mtime"]) for item in items]

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """The project's session summaries in both, newest first (the primary's where an id is in both)."""
        primary = await self._primary.project_summaries(project_key)
        held = {item["session_id"] for item in primary}
        claude = [item for item in await self._claude.project_summaries(project_key) if item["session_id"] not in held]
        return sorted(primary + claude, key=_position, reverse=True)

    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Both stores' sessions newest first, `limit` at a time, one cursor over the two.

        A Claude Code session whose key the primary also holds is left out.
        """
        limit = max(1, int(limit))
        lanes = _decode(cursor)
        accesses = (self._primary, self._claude)
        pages: list[SessionPage] = []
        candidates: list[list[tuple[SessionSummaryEntry, int]]] = []
        for index, (access, lane) in enumerate(zip(accesses, lanes, strict=True)):
            page = SessionPage(items=[])
            if not lane.done:
                page = await access.list_page(project_key, limit=lane.skip + limit, cursor=lane.cursor)
            pages.append(page)
            candidates.append([(item, index) for item in page.items[lane.skip :]])
        merged = heapq.merge(*candidates, key=lambda pair: _position(pair[0]), reverse=True)
        items: list[SessionSummaryEntry] = []
        taken = [0, 0]
        for item, index in merged:
            if len(items) == limit:
                break
            taken[index] += 1
            if index == 1 and await self._primary_holds(item):
                continue
            items.append(item)
        for access, lane, page, count in zip(accesses, lanes, pages, taken, strict=True):
            await _advance(access, project_key, lane, page, count, limit)
        if lanes[1].cursor is None:  # not started: the same snapshot of Claude Code's files next time
            lanes[1].cursor = FROM_START
        done = all(lane.done for lane in lanes)
        return SessionPage(items=items, next_cursor=None if done else _encode(lanes))

    async def _primary_holds(self, item: SessionSummaryEntry) -> bool:
        key = SessionKey(project_key=item.get("project_key") or "", session_id=item["session_id"])
        return await self._primary.exists(key)


async def _advance(
    access: StoreAccess, project_key: str | None, lane: _Lane, page: SessionPage, taken: int, limit: int
) -> None:
    """Move `lane` past the `taken` items of `page` it listed (re-anchored on the store's own
    cursor once the skipped items would fill a page, so pages stay one call or two each)."""
    if lane.done:
        return
    lane.skip += taken
    if lane.skip >= len(page.items):
        lane.cursor, lane.skip, lane.done = page.next_cursor, 0, page.next_cursor is None
    elif lane.skip >= limit:
        anchor = await access.list_page(project_key, limit=lane.skip, cursor=lane.cursor)
        if anchor.next_cursor is not None:
            lane.cursor, lane.skip = anchor.next_cursor, 0


def _encode(lanes: list[_Lane]) -> str:
    state = [[lane.cursor, lane.skip, lane.done] for lane in lanes]
    return "L" + base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _decode(cursor: str | None) -> list[_Lane]:
    if not cursor:
        return [_Lane(), _Lane()]
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor[1:].encode())) if cursor.startswith("L") else []
        lanes = [_Lane(str(c) if c is not None else None, int(s), bool(d)) for c, s, d in state]
        if len(lanes) == 2 and all(lane.skip >= 0 for lane in lanes):
            return lanes
    except (ValueError, TypeError):
        pass
    raise ConfigurationError(f"invalid list_page cursor {cursor!r}: pass back a next_cursor this listing returned")


def claude_config_dir(env: Mapping[str, str]) -> Path:
    """Claude Code's directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    return _expanded(env.get("CLAUDE_CONFIG_DIR") or "~/.claude", os.environ.get("HOME"))


@functools.lru_cache(maxsize=16)
def _expanded(path: str, home: str | None) -> Path:
    """`path` with `~` expanded (once per path and `$HOME`, which `expanduser` reads)."""
    return Path(path).expanduser()


def with_claude_code(primary: SessionStore, env: Mapping[str, str], *, shared: bool = False) -> SessionStore:
    """`primary` with Claude Code's sessions beside it (a `LayeredStore`), unless
    `$TETHER_CLAUDE_CODE_SESSIONS` is `0`. With `shared` (and a shared primary), the process's one
    layered store over them, whose summaries of Claude Code's files stay cached between uses."""
    if env.get(CLAUDE_CODE_SESSIONS, "").strip().lower() in _OFF:
        return primary
    root = claude_config_dir(env)
    if isinstance(primary, JsonlStore) and primary.root.resolve() == root.resolve():
        return primary  # already Claude Code's directory
    ident = (id(primary), str(root))
    layered = _SHARED.get(ident)
    if layered is not None and layered.primary is primary:
        return layered
    layered = LayeredStore(primary, JsonlStore(root, uuid_names_only=True))
    if shared and layered.is_shared:
        _SHARED[ident] = layered
        _KEPT.append(store_access(layered))  # its capability layer, built once for the process
    return layered
