"""The Lua scripts of `RedisStore`: every write (and every read that must see one state) is one
script, so each is atomic; the key layout they keep is described in `tether.sessions.stores.redis`."""

from __future__ import annotations

import redis.asyncio as aioredis

__all__ = ["Scripts"]

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
redis.call('PUBLISH', base .. ':chg:' .. qscope .. ':' .. field, '')
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


class Scripts:
    """The store's scripts, registered with one client."""

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
