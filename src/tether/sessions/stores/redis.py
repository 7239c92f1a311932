"""`RedisStore`: sessions in Redis, for fleets of workers (`tether[redis]`).

The data model is the SQL stores' (see `tether.sessions.stores._core`), in Redis types; every key
starts with `{prefix}` (one hash slot, so the scripts also run on a Redis Cluster node):

- `{p}:s:<id>` hash: one transcript (scope, project, session id, subpath, `parent`/`cutoff` of
  a fork, `length`, `leaf`, `summary`, `mtime`, `ver`); `{p}:e:<id>` list: its own entries;
  `{p}:u:<id>` hash: uuid -> `position:count` (fork points); `{p}:c:<id>` set: its forks.
- `{p}:k:<scope>` hash: key -> id; `{p}:m:<scope>` hash: session id -> ids of its main
  transcripts (one per project holding the id);
  `{p}:l:<scope>` and `{p}:lp:<scope>:<project>` sorted sets: listing by mtime; `{p}:x:...`
  sets: subpaths of a session. `{p}:clock` makes mtimes strictly increasing (the cursor).
- `{p}:lease:<scope>:<project>:<session id>` hash: the session's turn lease (`owner`, `expires`;
  see `swap_lease`), rewritten in place and deleted with the session.
- `{p}:chg:<scope>:<key>` pub/sub channel: every append publishes to its transcript's channel,
  which `watch` subscribes to (`tether.sessions.follow`).

Writes are Lua scripts, so each is atomic. The summary is folded in Python: an append reads the
session's version, folds, and the script writes only if the version is unchanged (else it is
retried; with `expected_leaf`, a moved leaf raises `SessionConflictError` instead). Deletes and
their garbage collection run entirely inside one script.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

try:
    import redis.asyncio as aioredis
    import redis.exceptions
    from redis.commands.core import AsyncScript
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the extra
    raise ImportError(f"RedisStore needs redis-py ({exc}): pip install 'tether[redis]'") from exc

import anyio

from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import ConfigurationError, SessionExistsError, SessionNotFoundError, StoreError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import SessionPage, StoredSession, StoredTexts
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._blobs import RedisBlobs
from tether.sessions.stores._core import (
    DamageLog,
    GuardedStore,
    KeyParts,
    Node,
    as_int,
    check_leaf,
    decode_json,
    decode_summary,
    encode_entries,
    fork_point,
    guarded,
    key_parts,
    leaf_from_end,
    log,
    message_count_of,
    plan_append,
    quote_part,
    redact_url,
    shortcut_parent,
    to_json,
    walk_chain,
)
from tether.sessions.stores._listing import (
    decode_cursor,
    encode_cursor,
    listed,
    listed_sessions,
    readable_rows,
    row_summary,
)
from tether.sessions.stores._redis_scripts import Scripts
from tether.sessions.stores._retry import LostRace, Retry, until_won
from tether.sessions.summary import fork_summary

__all__ = ["SCHEMA_VERSION", "RedisStore", "from_url"]

SCHEMA_VERSION = 3
"""The layout version this code writes (`{prefix}:schema`); a newer one is refused.

Version 2 keys sessions by project and id: `{p}:m:<scope>` maps a session id to the node ids of
its main transcripts in every project (comma-separated); a version 1 value (one node id) reads
the same, so the data is kept as it is. Version 3 keeps turn leases in `{p}:lease:...` hashes
(older code kept them as records under a subpath, and would not see these)."""

_APPEND_RETRY = Retry(attempts=1000, step=0.0005)
_FORK_RETRY = Retry(attempts=100, step=0.0005)


class _Shared:
    """What `with_scope` stores share: the client and the scripts."""

    def __init__(self, url: str, shown: str, base: str, client: aioredis.Redis | None) -> None:
        self.url, self.shown, self.base = url, shown, base
        self.client = client
        self.owns_client = client is None
        self.scripts: Scripts | None = None
        self.lock = anyio.Lock()
        self.damage = DamageLog()


class _Published:
    """The messages one subscription receives (`RedisStore.watch`)."""

    def __init__(self, store: RedisStore, pubsub: Any) -> None:
        self._store, self._pubsub = store, pubsub

    async def wait(self, timeout: float) -> bool:
        """True once a message came (at once if one came since the last call), else False after `timeout` s."""
        deadline = anyio.current_time() + max(0.0, timeout)
        try:
            while True:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=max(0.0, deadline - anyio.current_time())
                )
                if message is not None:
                    return True
                if anyio.current_time() >= deadline:
                    return False
        except redis.exceptions.RedisError as exc:
            raise StoreError(repr(self._store), "watch", f"{type(exc).__name__}: {exc}") from exc


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisStore(RedisBlobs, GuardedStore):
    """Sessions in Redis: copy-on-write forks, atomic leaf checks (Lua), listing, scopes.

    `url` is a `redis://`, `rediss://` or `unix://` URL (or pass `client=`, a
    `redis.asyncio.Redis` created with `decode_responses=False`; it is not closed by the store).
    `prefix` namespaces every key (`{prefix}:...`); `scope` limits every call to one tenant.
    Server and connection errors raise `StoreError`.
    """

    driver_errors = (redis.exceptions.RedisError,)

    def __init__(
        self,
        url: str | None = None,
        *,
        scope: str | None = None,
        prefix: str = "tether",
        client: aioredis.Redis | None = None,
        connect_timeout: float = 5,
    ) -> None:
        if url is None and client is None:
            raise ConfigurationError("RedisStore needs a URL or a client")
        shown = redact_url(url) if url else "<client>"
        if url is not None and client is None:
            try:
                client = _client(url, connect_timeout)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"invalid Redis URL {shown!r}: {exc}") from None
            owns = True
        else:
            owns = False
        if not prefix or "{" in prefix or "}" in prefix:
            raise ConfigurationError(f"invalid Redis key prefix {prefix!r}: it must be non-empty without braces")
        self.scope = scope or ""
        self._q = quote_part(self.scope)
        self._shared = _Shared(url or "", shown, "{" + prefix + "}", client)
        self._shared.owns_client = owns

    def __repr__(self) -> str:
        return f"RedisStore({self._shared.shown!r}, prefix={self._shared.base!r}, scope={self.scope!r})"

    def with_scope(self, scope: str | None) -> RedisStore:
        """A store over the same server, prefix and connections, limited to `scope`."""
        other = RedisStore.__new__(RedisStore)
        other.scope, other._q, other._shared = scope or "", quote_part(scope or ""), self._shared
        return other

    async def _scripts(self) -> Scripts:
        shared = self._shared
        if shared.scripts is not None:
            return shared.scripts
        async with shared.lock:
            if shared.scripts is None:
                if shared.client is None:
                    shared.client = _client(shared.url, 5)
                scripts = Scripts(shared.client)
                try:
                    version = int(await scripts.migrate(args=[shared.base, SCHEMA_VERSION]))
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                    raise ConfigurationError(f"cannot connect to the session store {shared.shown!r}: {exc}") from None
                except redis.exceptions.AuthenticationError as exc:
                    raise ConfigurationError(f"the session store {shared.shown!r} refused the login: {exc}") from None
                if version > SCHEMA_VERSION:
                    raise ConfigurationError(
                        f"the session store {shared.shown!r} has layout version {version}, newer than this "
                        f"tether understands ({SCHEMA_VERSION}); upgrade tether"
                    )
                shared.scripts = scripts
        return shared.scripts

    async def ensure_ready(self) -> None:
        """Connect and check the layout version now (otherwise done on first use)."""
        await self._scripts()

    async def _run(self, script: AsyncScript, args: list[Any]) -> Any:
        return await script(args=args)

    def _field(self, parts: KeyParts) -> str:
        return f"{quote_part(parts.project_key)}:{parts.session_id}:{quote_part(parts.subpath)}"

    @asynccontextmanager
    async def watch(self, key: SessionKey) -> AsyncIterator[_Published]:
        """The change notifications of `key`'s transcript: a subscription to its channel, from now
        until the context ends."""
        parts = key_parts(self.scope, key)
        await self._scripts()
        client = self._shared.client
        assert client is not None  # set by _scripts
        pubsub = client.pubsub()
        try:
            try:
                await pubsub.subscribe(f"{self._shared.base}:chg:{self._q}:{self._field(parts)}")
            except redis.exceptions.RedisError as exc:
                raise StoreError(repr(self), "watch", f"{type(exc).__name__}: {exc}") from exc
            yield _Published(self, pubsub)
        finally:
            await pubsub.aclose()

    # -- writes ---------------------------------------------------------------------------------

    @guarded("append")
    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries in order, creating the session; `expected_leaf` is checked atomically with the write."""
        parts = key_parts(self.scope, key)
        texts = encode_entries(entries)
        if not entries and expected_leaf is None:
            return
        scripts = await self._scripts()
        append = functools.partial(self._append_once, scripts, parts, entries, texts, expected_leaf)
        await until_won(self, "append", parts.session_id, append, _APPEND_RETRY)

    async def _append_once(
        self,
        scripts: Scripts,
        parts: KeyParts,
        entries: list[SessionStoreEntry],
        texts: list[str],
        expected_leaf: str | None,
    ) -> None:
        """One try of `append`: `LostRace` if another writer changed the session since it was read."""
        base, field = self._shared.base, self._field(parts)
        state = await self._run(scripts.state, [base, self._q, field])
        leaf = (_text(state[2]) or None) if state else None
        check_leaf(parts.session_id, expected_leaf, leaf)
        if not entries:
            return
        if state:
            plan = plan_append(entries, texts, length=int(state[3]), leaf=leaf, summary=decode_summary(state[4]))
        else:
            plan = plan_append(entries, texts, length=0, leaf=None, summary=None)
        args: list[Any] = [
            base,
            self._q,
            field,
            quote_part(parts.project_key),
            parts.session_id,
            parts.subpath,
            parts.scope,
            parts.project_key,
            _text(state[0]) if state else "",
            _text(state[1]) if state else "",
            plan.leaf or "",
            plan.summary_json,
            quote_part(parts.subpath),
            len(texts),
            *texts,
        ]
        for (position, _, count, _), entry in zip(plan.rows, entries, strict=True):
            if count is not None:
                args.extend((entry["uuid"], position, count))
        outcome = _text(await self._run(scripts.append, args))
        if outcome != "ok":
            raise LostRace  # another writer won the race: read again

    @guarded("fork")
    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key` (cut after `at_uuid` if given) in O(1): nothing is copied."""
        source = key_parts(self.scope, source_key)
        target = key_parts(self.scope, new_key)
        scripts = await self._scripts()
        fork = functools.partial(self._fork_once, scripts, source, target, at_uuid)
        await until_won(self, "fork", source.session_id, fork, _FORK_RETRY)

    async def _fork_once(self, scripts: Scripts, source: KeyParts, target: KeyParts, at_uuid: str | None) -> None:
        """One try of `fork`: `LostRace` if the source was deleted or replaced since it was read."""
        base = self._shared.base
        wanted = at_uuid if isinstance(at_uuid, str) else ""
        read = await self._run(scripts.fork_read, [base, self._q, self._field(source), wanted])
        if not read:
            raise SessionNotFoundError(source.session_id)
        node_id, leaf_raw, _, summary_raw, chain_raw, records = read
        rows = [(_text(n), _text(p) or None, _text(c), _text(ln)) for n, p, c, ln in chain_raw]
        chain = walk_chain(int(node_id), rows)
        summary = decode_summary(summary_raw, source.session_id)
        leaf: str | None
        if at_uuid is None:
            cut, leaf, count = chain[0].length, _text(leaf_raw) or None, message_count_of(summary)
        else:
            cut, count = _locate(chain, records, source.session_id, at_uuid)
            leaf = at_uuid
        parent = shortcut_parent(chain, cut)
        origin = {"sessionId": source.session_id, "messageUuid": leaf}
        outcome = _text(
            await self._run(
                scripts.fork_create,
                [
                    base,
                    self._q,
                    self._field(source),
                    _text(node_id),
                    self._field(target),
                    quote_part(target.project_key),
                    target.session_id,
                    target.subpath,
                    target.scope,
                    target.project_key,
                    parent.id,
                    cut,
                    leaf or "",
                    to_json(fork_summary(summary, forked_from=origin, message_count=count)),
                    quote_part(target.subpath),
                ],
            )
        )
        if outcome == "exists":
            raise SessionExistsError(target.session_id)
        if outcome != "ok":
            raise LostRace  # the source was deleted or replaced: look again

    @guarded("delete")
    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript (a main key also deletes its subpaths); forks of it stay whole.

        The transcripts are tombstoned (the id is free again at once) and their entries removed,
        except the prefix live forks still read, which goes when the last of them does.
        """
        parts = key_parts(self.scope, key)
        scripts = await self._scripts()
        qproject = quote_part(parts.project_key)
        prefix = f"{qproject}:{parts.session_id}:"
        await self._run(
            scripts.delete, [self._shared.base, self._q, qproject, parts.session_id, prefix, quote_part(parts.subpath)]
        )

    @guarded("swap_lease")
    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """Set the session's turn lease to `(owner, expires_at_ms)` unless another owner holds it live
        (see `StoreAccess.swap_lease`), in one script; returns that holder, else None."""
        parts = key_parts(self.scope, key)
        scripts = await self._scripts()
        lease_key = f"{self._shared.base}:lease:{self._q}:{quote_part(parts.project_key)}:{parts.session_id}"
        held = await self._run(scripts.swap_lease, [lease_key, owner, int(expires_at_ms), int(now_ms), take_from or ""])
        if not held:
            return None
        return _text(held[0]), as_int(_text(held[1]), f"the lease expiry of session {parts.session_id!r}")

    @guarded("read_lease")
    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The session's turn lease as stored (live or not), without writing."""
        parts = key_parts(self.scope, key)
        await self._scripts()
        client = self._shared.client
        assert client is not None  # set by _scripts
        lease_key = f"{self._shared.base}:lease:{self._q}:{quote_part(parts.project_key)}:{parts.session_id}"
        owner, expires = await client.hmget(lease_key, ["owner", "expires"])
        if owner is None or expires is None:
            return None
        return _text(owner), as_int(_text(expires), f"the lease expiry of session {parts.session_id!r}")

    # -- reads ----------------------------------------------------------------------------------

    @guarded("load")
    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The session's view in append order (inherited history first), or None."""
        return await self._view(key_parts(self.scope, key), -1)

    @guarded("load_tail")
    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view, reading only those."""
        return await self._view(key_parts(self.scope, key), max(0, int(limit)))

    @guarded("load_texts")
    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The view as `load` reads it, undecoded: each entry's stored JSON text, and the stored leaf."""
        scripts = await self._scripts()
        reply = await self._run(scripts.load, [self._shared.base, self._q, self._field(key_parts(self.scope, key)), -1])
        if not reply:
            return None
        return StoredTexts(list(reply[3:]), _text(reply[2]) or None)

    async def _view(self, parts: KeyParts, tail: int) -> list[SessionStoreEntry] | None:
        scripts = await self._scripts()
        reply = await self._run(scripts.load, [self._shared.base, self._q, self._field(parts), tail])
        if not reply:
            return None
        node_id, version, stored_leaf = (_text(value) for value in reply[:3])
        entries = self._shared.damage.entries(self, parts, reply[3:])
        leaf = leaf_from_end(entries)
        if tail < 0 and stored_leaf != (leaf or ""):
            log.warning(
                "%r: session %r had the stored leaf %r, not its entries' %r: repaired",
                self,
                parts.session_id,
                stored_leaf,
                leaf,
            )
            await self._run(scripts.repair_leaf, [self._shared.base, node_id, version, stored_leaf, leaf or ""])
        return entries

    @guarded("find")
    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """Where `session_id` lives (in `project_key` if it holds one, else the newest match), its leaf and summary."""
        session_id = validate_session_id(session_id)
        scripts = await self._scripts()
        row = await self._run(scripts.find, [self._shared.base, self._q, session_id, project_key or ""])
        if not row:
            return None
        key = SessionKey(project_key=_text(row[0]), session_id=session_id)
        return StoredSession(
            key=key,
            leaf=_text(row[1]) or None,
            mtime=as_int(_text(row[2]), f"the mtime of session {session_id!r}"),
            summary=decode_summary(row[3], session_id),
            skipped_entries=self._shared.damage.skipped(self.scope, key["project_key"], session_id),
        )

    def _zset(self, project_key: str | None) -> str:
        base = self._shared.base
        if project_key is None:
            return f"{base}:l:{self._q}"
        return f"{base}:lp:{self._q}:{quote_part(project_key)}"

    @guarded("list_sessions")
    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """Every session of the project, newest first."""
        scripts = await self._scripts()
        rows = decode_json(await self._run(scripts.list, [self._shared.base, self._zset(project_key), "+inf", -1, "0"]))
        return listed_sessions(self, rows)

    @guarded("list_session_summaries")
    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """Every session's summary in the project, newest first."""
        scripts = await self._scripts()
        rows = decode_json(await self._run(scripts.list, [self._shared.base, self._zset(project_key), "+inf", -1, "1"]))
        return listed(self, rows, row_summary)

    @guarded("list_page")
    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first (all projects when `project_key` is None), `limit` at a time."""
        limit = max(1, int(limit))
        top = f"({decode_cursor(cursor)}" if cursor else "+inf"
        scripts = await self._scripts()
        rows = decode_json(
            await self._run(scripts.list, [self._shared.base, self._zset(project_key), top, limit + 1, "1"])
        )
        page = rows[:limit]
        next_cursor = encode_cursor(as_int(page[-1][1], "a listing mtime")) if len(rows) > limit else None
        return SessionPage(items=[row_summary(r) for r in readable_rows(self, page)], next_cursor=next_cursor)

    @guarded("list_subkeys")
    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths stored under a session."""
        parts = key_parts(self.scope, SessionKey(project_key=key["project_key"], session_id=key["session_id"]))
        await self._scripts()
        client = self._shared.client
        assert client is not None
        members = await client.smembers(
            f"{self._shared.base}:x:{self._q}:{quote_part(parts.project_key)}:{parts.session_id}"
        )
        return sorted(unquote(_text(m)) for m in members)

    async def close(self) -> None:
        """Close the connections (shared with `with_scope` stores; reopened on next use).

        A client passed in stays open.
        """
        shared = self._shared
        if shared.owns_client and shared.client is not None:
            client, shared.client, shared.scripts = shared.client, None, None
            await client.aclose()


def _locate(chain: list[Node], records: list[Any], session_id: str, at_uuid: str) -> tuple[int, int]:
    """The fork point of `at_uuid` (see `fork_point`), from each node's `position:count` records of it."""
    candidates = [
        (node.id, int(position), int(count))
        for node, record in zip(chain, records, strict=True)
        for position, _, count in (item.partition(":") for item in _text(record).split(",") if item)
    ]
    return fork_point(chain, candidates, session_id, at_uuid)


def _client(url: str, connect_timeout: float) -> aioredis.Redis:
    """A client whose every call is bounded: connecting, each reply (a server that stops answering
    raises instead of holding the call), keepalive probes, and a health check of idle connections
    (the URL's own `socket_timeout=`, ... win)."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=30,
        socket_keepalive=True,
        health_check_interval=15,
        decode_responses=False,
    )


def from_url(url: StoreUrl) -> RedisStore:
    """`redis://host:6379/0`, `rediss://...`, `unix:///path`, with `?scope=NAME` and `?prefix=NAME`."""
    return RedisStore(
        url.without("scope", "prefix"), scope=url.options.get("scope"), prefix=url.options.get("prefix") or "tether"
    )
