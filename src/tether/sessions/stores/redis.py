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

Writes are Lua scripts, so each is atomic. The summary is folded in Python: an append reads the
session's version, folds, and the script writes only if the version is unchanged (else it is
retried; with `expected_leaf`, a moved leaf raises `SessionConflictError` instead). Deletes and
their garbage collection run entirely inside one script.
"""

from __future__ import annotations

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
from tether.sessions.store import SessionPage, StoredSession
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._core import (
    DamageLog,
    GuardedStore,
    KeyParts,
    Node,
    as_int,
    check_leaf,
    decode_cursor,
    decode_json,
    decode_summary,
    encode_cursor,
    encode_entries,
    fork_point,
    guarded,
    key_parts,
    leaf_from_end,
    listed,
    listed_sessions,
    log,
    message_count_of,
    plan_append,
    quote_part,
    readable_rows,
    redact_url,
    row_summary,
    shortcut_parent,
    to_json,
    walk_chain,
)
from tether.sessions.summary import fork_summary

__all__ = ["SCHEMA_VERSION", "RedisStore", "from_url"]

SCHEMA_VERSION = 3
"""The layout version this code writes (`{prefix}:schema`); a newer one is refused.

Version 2 keys sessions by project and id: `{p}:m:<scope>` maps a session id to the node ids of
its main transcripts in every project (comma-separated); a version 1 value (one node id) reads
the same, so the data is kept as it is. Version 3 keeps turn leases in `{p}:lease:...` hashes
(older code kept them as records under a subpath, and would not see these)."""

_IDS = """
local function add_id(hash, field, id)
  local current = redis.call('HGET', hash, field)
  if current and current ~= '' then redis.call('HSET', hash, field, current .. ',' .. id)
  else redis.call('HSET', hash, field, id) end
end
local function remove_id(hash, field, id)
  local current = redis.call('HGET', hash, field)
  if not current then return end
  local kept = {}
  for item in string.gmatch(current, '[^,]+') do
    if item ~= id then table.insert(kept, item) end
  end
  if #kept == 0 then redis.call('HDEL', hash, field)
  else redis.call('HSET', hash, field, table.concat(kept, ',')) end
end
"""

_CLOCK = """
local function tick(base)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local last = tonumber(redis.call('GET', base .. ':clock') or '0')
  if now <= last then now = last + 1 end
  local text = string.format('%.0f', now)
  redis.call('SET', base .. ':clock', text)
  return text
end
"""

_MIGRATE = """
local current = tonumber(redis.call('GET', ARGV[1] .. ':schema') or '0')
local target = tonumber(ARGV[2])
if current > target then return current end
redis.call('SET', ARGV[1] .. ':schema', target)
return target
"""

_STATE = """
local id = redis.call('HGET', ARGV[1] .. ':k:' .. ARGV[2], ARGV[3])
if not id then return false end
local v = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'ver', 'leaf', 'length', 'summary')
return {id, v[1], v[2], v[3], v[4]}
"""

# ARGV: base, qscope, field, qproject, sid, sub, scope, project, expected id ('' = new), expected
# version, leaf, summary, quoted sub, entry count N, N entries, then (uuid, position, count) triples.
_APPEND = (
    _CLOCK
    + _IDS
    + """
local base, qscope, field = ARGV[1], ARGV[2], ARGV[3]
local kidx = base .. ':k:' .. qscope
local id = redis.call('HGET', kidx, field)
local sub, sid = ARGV[6], ARGV[5]
if ARGV[9] == '' then
  if id then return 'retry' end
  id = tostring(redis.call('INCR', base .. ':next'))
  redis.call('HSET', base .. ':s:' .. id, 'scope', ARGV[7], 'project', ARGV[8], 'sid', sid, 'sub', sub,
    'parent', '', 'cutoff', 0, 'length', 0, 'ver', 0, 'deleted', 0)
  redis.call('HSET', kidx, field, id)
  if sub == '' then
    add_id(base .. ':m:' .. qscope, sid, id)
  else
    redis.call('SADD', base .. ':x:' .. qscope .. ':' .. ARGV[4] .. ':' .. sid, ARGV[13])
  end
elseif id ~= ARGV[9] or redis.call('HGET', base .. ':s:' .. id, 'ver') ~= ARGV[10] then
  return 'retry'
end
local skey = base .. ':s:' .. id
local count = tonumber(ARGV[14])
local length = tonumber(redis.call('HGET', skey, 'length'))
for first = 15, 14 + count, 1000 do
  redis.call('RPUSH', base .. ':e:' .. id, unpack(ARGV, first, math.min(first + 999, 14 + count)))
end
local uuids = base .. ':u:' .. id
for i = 15 + count, #ARGV, 3 do
  local record = ARGV[i + 1] .. ':' .. ARGV[i + 2]
  local previous = redis.call('HGET', uuids, ARGV[i])
  if previous then record = previous .. ',' .. record end
  redis.call('HSET', uuids, ARGV[i], record)
end
local now = tick(base)
redis.call('HSET', skey, 'length', length + count, 'leaf', ARGV[11], 'summary', ARGV[12], 'mtime', now)
redis.call('HINCRBY', skey, 'ver', 1)
if sub == '' then
  redis.call('ZADD', base .. ':l:' .. qscope, now, id)
  redis.call('ZADD', base .. ':lp:' .. qscope .. ':' .. ARGV[4], now, id)
end
return 'ok'
"""
)

# ARGV: base, qscope, field, at_uuid -> {id, leaf, length, summary, chain, records} or false
_FORK_READ = """
local id = redis.call('HGET', ARGV[1] .. ':k:' .. ARGV[2], ARGV[3])
if not id then return false end
local head = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'leaf', 'length', 'summary')
local chain, records, node, seen = {}, {}, id, {}
while node and node ~= '' and not seen[node] do
  seen[node] = true
  local v = redis.call('HMGET', ARGV[1] .. ':s:' .. node, 'parent', 'cutoff', 'length')
  table.insert(chain, {node, v[1], v[2], v[3]})
  if ARGV[4] ~= '' then
    table.insert(records, redis.call('HGET', ARGV[1] .. ':u:' .. node, ARGV[4]) or '')
  end
  node = v[1]
end
return {id, head[1], head[2], head[3], chain, records}
"""

# ARGV: base, qscope, source field, source id, new field, new qproject, new sid, new sub, scope,
# project, parent id, cut, leaf, summary, new quoted sub
_FORK_CREATE = (
    _CLOCK
    + _IDS
    + """
local base, qscope = ARGV[1], ARGV[2]
local kidx = base .. ':k:' .. qscope
if redis.call('HGET', kidx, ARGV[3]) ~= ARGV[4] then return 'retry' end
if redis.call('HEXISTS', kidx, ARGV[5]) == 1 then return 'exists' end
local id = tostring(redis.call('INCR', base .. ':next'))
local now = tick(base)
redis.call('HSET', base .. ':s:' .. id, 'scope', ARGV[9], 'project', ARGV[10], 'sid', ARGV[7], 'sub', ARGV[8],
  'parent', ARGV[11], 'cutoff', ARGV[12], 'length', ARGV[12], 'leaf', ARGV[13], 'summary', ARGV[14],
  'mtime', now, 'ver', 1, 'deleted', 0)
redis.call('SADD', base .. ':c:' .. ARGV[11], id)
redis.call('HSET', kidx, ARGV[5], id)
if ARGV[8] == '' then
  add_id(base .. ':m:' .. qscope, ARGV[7], id)
  redis.call('ZADD', base .. ':l:' .. qscope, now, id)
  redis.call('ZADD', base .. ':lp:' .. qscope .. ':' .. ARGV[6], now, id)
else
  redis.call('SADD', base .. ':x:' .. qscope .. ':' .. ARGV[6] .. ':' .. ARGV[7], ARGV[15])
end
return 'ok'
"""
)

# ARGV: base, qscope, qproject, sid, field prefix (quoted project ':' sid ':'), quoted subpath or '' for all
_DELETE = (
    _IDS
    + """
local base, qscope, qproject, sid, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local kidx = base .. ':k:' .. qscope
local subset = base .. ':x:' .. qscope .. ':' .. qproject .. ':' .. sid
local subs = {}
if ARGV[6] ~= '' then subs = {ARGV[6]} else
  subs = redis.call('SMEMBERS', subset)
  table.insert(subs, '')
  redis.call('DEL', base .. ':lease:' .. qscope .. ':' .. qproject .. ':' .. sid)
end
local function collect(id)
  local seen = {}
  while id and id ~= '' and not seen[id] do
    seen[id] = true
    local s = base .. ':s:' .. id
    local v = redis.call('HMGET', s, 'parent', 'cutoff', 'length', 'deleted')
    if v[4] ~= '1' then return end
    local parent, cutoff, length = v[1], tonumber(v[2]), tonumber(v[3])
    local children = redis.call('SMEMBERS', base .. ':c:' .. id)
    if #children == 0 then
      redis.call('DEL', s, base .. ':e:' .. id, base .. ':u:' .. id, base .. ':c:' .. id)
      if parent ~= '' then redis.call('SREM', base .. ':c:' .. parent, id) end
    else
      local keep = 0
      for _, child in ipairs(children) do
        local c = redis.call('HMGET', base .. ':s:' .. child, 'deleted', 'length', 'cutoff')
        local need = tonumber(c[3])
        if c[1] == '1' then need = math.min(tonumber(c[2]), need) end
        if need > keep then keep = need end
      end
      if keep >= length then return end
      local own = math.max(keep, cutoff) - cutoff
      if own == 0 then redis.call('DEL', base .. ':e:' .. id)
      else redis.call('LTRIM', base .. ':e:' .. id, 0, own - 1) end
      redis.call('HSET', s, 'length', keep)
    end
    id = parent
  end
end
for _, sub in ipairs(subs) do
  local id = redis.call('HGET', kidx, prefix .. sub)
  if id then
    redis.call('HDEL', kidx, prefix .. sub)
    if sub == '' then
      remove_id(base .. ':m:' .. qscope, sid, id)
      redis.call('ZREM', base .. ':l:' .. qscope, id)
      redis.call('ZREM', base .. ':lp:' .. qscope .. ':' .. qproject, id)
    else
      redis.call('SREM', subset, sub)
    end
    redis.call('HSET', base .. ':s:' .. id, 'deleted', 1, 'leaf', '', 'summary', '{}')
    collect(id)
  end
end
return 'ok'
"""
)

# ARGV: lease key, owner, expires, now, owner to take from ('' for none)
# -> false when set, else the live {owner, expires} left as it is
_SWAP_LEASE = """
local held = redis.call('HMGET', ARGV[1], 'owner', 'expires')
if held[1] and tonumber(held[2]) > tonumber(ARGV[4]) and held[1] ~= ARGV[2] and held[1] ~= ARGV[5] then
  return held
end
redis.call('HSET', ARGV[1], 'owner', ARGV[2], 'expires', ARGV[3])
return false
"""

# ARGV: base, qscope, field, tail (-1: everything) -> {id, ver, leaf, entries...} or false
# (a chain written with a cycle is read up to the node seen twice)
_LOAD = """
local base = ARGV[1]
local id = redis.call('HGET', base .. ':k:' .. ARGV[2], ARGV[3])
if not id then return false end
local v = redis.call('HMGET', base .. ':s:' .. id, 'parent', 'cutoff', 'length', 'ver', 'leaf')
local parent, cutoff, high = v[1], tonumber(v[2]), tonumber(v[3])
if not cutoff or not high then
  return redis.error_reply('damaged data: session node ' .. id .. ' has a non-numeric cutoff or length')
end
local tail, start = tonumber(ARGV[4]), 0
if tail >= 0 then start = math.max(0, high - tail) end
local segments, node, seen = {}, id, {[id] = true}
while true do
  local low = math.max(cutoff, start)
  if high > low then table.insert(segments, 1, {node, low - cutoff, high - cutoff - 1}) end
  high = math.min(high, cutoff)
  if high <= start or not parent or parent == '' or seen[parent] then break end
  seen[parent] = true
  node = parent
  local p = redis.call('HMGET', base .. ':s:' .. node, 'parent', 'cutoff')
  parent, cutoff = p[1], tonumber(p[2])
end
local out = {id, v[4] or '', v[5] or ''}
for _, segment in ipairs(segments) do
  local items = redis.call('LRANGE', base .. ':e:' .. segment[1], segment[2], segment[3])
  for i = 1, #items do out[#out + 1] = items[i] end
end
return out  -- an array: joining megabytes in Lua costs more than parsing the elements
"""

# ARGV: base, qscope, session id, preferred project ('' for none) -> {project, leaf, mtime, summary} or false
_FIND = """
local ids = redis.call('HGET', ARGV[1] .. ':m:' .. ARGV[2], ARGV[3])
if not ids then return false end
local best, newest = false, -1
for id in string.gmatch(ids, '[^,]+') do
  local row = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'project', 'leaf', 'mtime', 'summary')
  if ARGV[4] ~= '' and row[1] == ARGV[4] then return row end
  if tonumber(row[3]) > newest then best, newest = row, tonumber(row[3]) end
end
return best
"""

# ARGV: base, sorted set, max score ('+inf' or '(cursor'), limit (-1: all), with summaries ('1'/'0')
# -> one JSON text: [[sid, mtime, summary, project], ...] (one reply parses far faster than many)
_LIST = """
local ids
if ARGV[4] == '-1' then ids = redis.call('ZREVRANGEBYSCORE', ARGV[2], ARGV[3], '-inf')
else ids = redis.call('ZREVRANGEBYSCORE', ARGV[2], ARGV[3], '-inf', 'LIMIT', 0, tonumber(ARGV[4])) end
if #ids == 0 then return '[]' end
local out = {}
for _, id in ipairs(ids) do
  if ARGV[5] == '1' then
    out[#out + 1] = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'sid', 'mtime', 'summary', 'project')
  else
    out[#out + 1] = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'sid', 'mtime')
  end
end
return cjson.encode(out)
"""


# ARGV: base, id, version read, leaf read, new leaf -> 1 if set (the session did not change since the read)
_REPAIR_LEAF = """
local skey = ARGV[1] .. ':s:' .. ARGV[2]
local v = redis.call('HMGET', skey, 'ver', 'leaf')
if (v[1] or '') ~= ARGV[3] or (v[2] or '') ~= ARGV[4] then return 0 end
redis.call('HSET', skey, 'leaf', ARGV[5])
redis.call('HINCRBY', skey, 'ver', 1)
return 1
"""


class _Scripts:
    def __init__(self, client: aioredis.Redis) -> None:
        self.migrate = client.register_script(_MIGRATE)
        self.state = client.register_script(_STATE)
        self.append = client.register_script(_APPEND)
        self.fork_read = client.register_script(_FORK_READ)
        self.fork_create = client.register_script(_FORK_CREATE)
        self.delete = client.register_script(_DELETE)
        self.load = client.register_script(_LOAD)
        self.find = client.register_script(_FIND)
        self.list = client.register_script(_LIST)
        self.repair_leaf = client.register_script(_REPAIR_LEAF)
        self.swap_lease = client.register_script(_SWAP_LEASE)


class _Shared:
    """What `with_scope` stores share: the client and the scripts."""

    def __init__(self, url: str, shown: str, base: str, client: aioredis.Redis | None) -> None:
        self.url, self.shown, self.base = url, shown, base
        self.client = client
        self.owns_client = client is None
        self.scripts: _Scripts | None = None
        self.lock = anyio.Lock()
        self.damage = DamageLog()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisStore(GuardedStore):
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

    async def _scripts(self) -> _Scripts:
        shared = self._shared
        if shared.scripts is not None:
            return shared.scripts
        async with shared.lock:
            if shared.scripts is None:
                if shared.client is None:
                    shared.client = _client(shared.url, 5)
                scripts = _Scripts(shared.client)
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
        base, field = self._shared.base, self._field(parts)
        for attempt in range(1000):
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
            if outcome == "ok":
                return
            await anyio.sleep(min(0.05, 0.0005 * attempt))  # another writer won the race: read again
        raise StoreError(repr(self), "append", f"session {parts.session_id!r}: too much contention, gave up")

    @guarded("fork")
    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key` (cut after `at_uuid` if given) in O(1): nothing is copied."""
        source = key_parts(self.scope, source_key)
        target = key_parts(self.scope, new_key)
        scripts = await self._scripts()
        base = self._shared.base
        for attempt in range(100):
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
            if outcome == "ok":
                return
            if outcome == "exists":
                raise SessionExistsError(target.session_id)
            await anyio.sleep(min(0.05, 0.0005 * attempt))  # the source was deleted or replaced: look again
        raise StoreError(repr(self), "fork", f"session {source.session_id!r}: too much contention, gave up")

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

    # -- reads ----------------------------------------------------------------------------------

    @guarded("load")
    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The session's view in append order (inherited history first), or None."""
        return await self._view(key_parts(self.scope, key), -1)

    @guarded("load_tail")
    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view, reading only those."""
        return await self._view(key_parts(self.scope, key), max(0, int(limit)))

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
