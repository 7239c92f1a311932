"""`run_store_conformance`: the contract every session store must keep, as one async test suite.

```python
from tether.testing import run_store_conformance

async def test_my_store_conforms():
    report = await run_store_conformance(lambda scope: MyStore(DSN, scope=scope))
    assert not report.skipped
```

`make_store(scope)` (sync or async) returns a store limited to `scope` (`None` for the default
scope) over one shared, initially empty backend: two calls with different scopes must see the
same data, so that scope isolation can be checked. Every check uses fresh session ids, project
keys and scopes of its own, so the backend needs no cleaning between checks.

The suite covers the Claude Agent SDK's `SessionStore` contracts (append/load round trip,
unknown keys, call order, empty appends, subpaths, projects, listing, summaries, delete,
subkeys) and tether's own (copy-on-write fork, `expected_leaf`, `NO_LEAF`, tail loading, cursor
pagination, scopes, unicode and 1 MB entries, refused ids, delete keeping forks whole): the
contract written in `tether.sessions.store`. Checks
of a capability the store does not have are skipped and listed in the report; a broken contract
raises `AssertionError` naming it.
"""

from __future__ import annotations

import inspect
import json
import time
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey, SessionStore
from tether.errors import (
    EntryNotFoundError,
    InvalidSessionIdError,
    SessionConflictError,
    SessionExistsError,
    SessionNotFoundError,
    StoreError,
)
from tether.sessions.capabilities import Capability, capabilities_of, store_access
from tether.sessions.entries import make_entry, make_meta_entry
from tether.sessions.store import NO_LEAF
from tether.sessions.summary import fold_summary, fork_summary, sdk_summary_data

__all__ = ["ConformanceReport", "MakeStore", "run_store_conformance"]

MakeStore = Callable[[str | None], SessionStore | Awaitable[SessionStore]]
"""`make_store(scope)` -> a store (or an awaitable of one) over the shared test backend."""

_SUMMARY_FIELDS = (
    "title",
    "first_prompt",
    "tag",
    "cwd",
    "created_at",
    "message_count",
    "total_cost_usd",
    "forked_from",
)


@dataclass
class ConformanceReport:
    """What `run_store_conformance` checked: passed checks, and skipped ones with the reason."""

    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


class _Harness:
    """Fresh stores, ids and keys for one check; closes the stores it made."""

    def __init__(self, make_store: MakeStore, run: str, check: str, scopes: bool) -> None:
        self._make_store = make_store
        self._stores: list[Any] = []
        self.scopes = scopes
        self.tag = f"{run}-{check}"
        self.project = f"-conformance-{self.tag}"

    async def store(self, scope: str | None = None) -> Any:
        made = self._make_store(scope)
        store = await made if inspect.isawaitable(made) else made
        self._stores.append(store)
        return store

    def scope(self, name: str) -> str:
        return f"conformance-{self.tag}-{name}"

    def key(self, session_id: str | None = None, project: str | None = None, subpath: str | None = None) -> SessionKey:
        key = SessionKey(project_key=project or self.project, session_id=session_id or str(uuid_module.uuid4()))
        if subpath is not None:
            key["subpath"] = subpath
        return key

    async def close(self) -> None:
        for store in self._stores:
            await store_access(store).close()


def _expect(condition: object, contract: str, detail: str) -> None:
    if not condition:
        raise AssertionError(f"[{contract}] {detail}")


async def _expect_raises(
    error: type[BaseException], contract: str, call: Callable[[], Awaitable[Any]], what: str
) -> BaseException:
    try:
        await call()
    except error as exc:
        return exc
    except Exception as exc:
        raise AssertionError(f"[{contract}] {what} raised {type(exc).__name__} ({exc}), not {error.__name__}") from exc
    raise AssertionError(f"[{contract}] {what} did not raise {error.__name__}")


def _turns(session_id: str, count: int, parent: str | None = None, *, label: str = "turn") -> list[dict[str, Any]]:
    """`count` chain entries alternating user and assistant, each hanging from the previous one."""
    entries: list[dict[str, Any]] = []
    for index in range(count):
        message: dict[str, Any]
        if index % 2 == 0:
            kind, message = "user", {"role": "user", "content": f"{label} {index}: a question"}
        else:
            message = {
                "id": f"msg_{label}_{index}",
                "role": "assistant",
                "model": "conformance",
                "content": [{"type": "text", "text": f"{label} {index}: an answer"}],
            }
            kind = "assistant"
        entry = make_entry(kind, message, session_id=session_id, parent_uuid=parent, cwd="/conformance")
        parent = entry["uuid"]
        entries.append(entry)
    return entries


def _leaf(entries: list[dict[str, Any]]) -> str:
    return str(entries[-1]["uuid"])


def _capabilities(store: Any) -> frozenset[Capability]:
    return capabilities_of(store)


_Check = Callable[[_Harness], Awaitable[None]]
_CHECKS: list[tuple[str, tuple[str, ...], _Check]] = []


def _check(name: str, *needs: str) -> Callable[[_Check], _Check]:
    def register(function: _Check) -> _Check:
        _CHECKS.append((name, needs, function))
        return function

    return register


# -- the Claude Agent SDK's contracts ----------------------------------------------------------------


@_check("append then load returns the same entries in order")
async def _round_trip(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = _turns(key["session_id"], 6)
    entries.insert(2, make_meta_entry("tag", session_id=key["session_id"], tag="x"))
    entries[3]["extra"] = {"ints": [1, -2, 2**62], "float": 0.1, "bool": True, "null": None, "nested": {"a": []}}
    await store.append(key, entries)
    loaded = await store.load(key)
    _expect(loaded == entries, "append/load round trip", f"load returned {loaded!r:.300}, expected {entries!r:.300}")


@_check("load of an unknown key returns None")
async def _unknown(h: _Harness) -> None:
    store = await h.store()
    loaded = await store.load(h.key())
    _expect(loaded is None, "unknown key -> None", f"load of an unknown key returned {loaded!r}")


@_check("several appends keep call order")
async def _order(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = _turns(key["session_id"], 9)
    for start in range(0, 9, 3):
        await store.append(key, entries[start : start + 3])
    loaded = await store.load(key)
    _expect(loaded == entries, "appends keep call order", "load does not return the entries in append order")


@_check("append([]) is a no-op")
async def _empty_append(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    await store.append(key, [])
    _expect(await store.load(key) is None, "append([]) is a no-op", "append([]) created a session")
    entries = _turns(key["session_id"], 2)
    await store.append(key, entries)
    await store.append(key, [])
    _expect(await store.load(key) == entries, "append([]) is a no-op", "append([]) changed an existing session")


@_check("entries are stored as values, not shared with the caller")
async def _isolation_of_values(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = _turns(key["session_id"], 2)
    expected = json.loads(json.dumps(entries))
    await store.append(key, entries)
    entries[0]["message"]["content"] = "changed after append"
    entries[1]["type"] = "changed"
    loaded = await store.load(key)
    _expect(loaded == expected, "entries stored as values", "changing an appended dict changed the stored entry")
    assert loaded is not None
    loaded[0]["message"]["content"] = "changed after load"
    _expect(await store.load(key) == expected, "entries stored as values", "changing a loaded dict changed the store")


@_check("subpath keys are independent of the main key", "list_subkeys")
async def _subpaths(h: _Harness) -> None:
    store = await h.store()
    main = h.key()
    sid = main["session_id"]
    sub_a = h.key(sid, subpath="subagents/agent-a")
    sub_b = h.key(sid, subpath="subagents/agent-b")
    main_entries, a_entries, b_entries = _turns(sid, 2, label="main"), _turns(sid, 3, label="a"), _turns(sid, 1)
    await store.append(main, main_entries)
    await store.append(sub_a, a_entries)
    await store.append(sub_b, b_entries)
    _expect(await store.load(main) == main_entries, "subpaths independent", "a subpath append changed the main key")
    _expect(await store.load(sub_a) == a_entries, "subpaths independent", "subpath load is wrong")
    _expect(await store.load(sub_b) == b_entries, "subpaths independent", "subpath load is wrong")
    subkeys = await store.list_subkeys({"project_key": main["project_key"], "session_id": sid})
    _expect(
        sorted(subkeys) == ["subagents/agent-a", "subagents/agent-b"],
        "list_subkeys",
        f"list_subkeys returned {subkeys!r}",
    )
    other = await store.list_subkeys({"project_key": main["project_key"], "session_id": str(uuid_module.uuid4())})
    _expect(other == [], "list_subkeys", f"list_subkeys of an unknown session returned {other!r}")


@_check("project_key isolation", "list_sessions")
async def _projects(h: _Harness) -> None:
    store = await h.store()
    key_a, key_b = h.key(project=h.project + "-a"), h.key(project=h.project + "-b")
    await store.append(key_a, _turns(key_a["session_id"], 1))
    await store.append(key_b, _turns(key_b["session_id"], 1))
    listed_a = [s["session_id"] for s in await store.list_sessions(key_a["project_key"])]
    _expect(listed_a == [key_a["session_id"]], "project_key isolation", f"project a lists {listed_a!r}")
    moved = h.key(key_a["session_id"], project=key_b["project_key"])
    _expect(await store.load(moved) is None, "project_key isolation", "a session loads under another project key")


@_check("one session id in two projects is two independent sessions")
async def _ids_per_project(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    entries = _turns(sid, 2)
    await store.append(key, entries)
    elsewhere = h.key(sid, project=h.project + "-other")
    other_entries = _turns(sid, 1, label="elsewhere")
    await store.append(elsewhere, other_entries, **_leaf_check(store))
    contract = "sessions are keyed by (project, id)"
    _expect(await store.load(key) == entries, contract, "a session changed when its id was used in another project")
    _expect(await store.load(elsewhere) == other_entries, contract, "the id in another project loads wrongly")
    caps = _capabilities(store)
    if "list_sessions" in caps:
        for project in (key["project_key"], elsewhere["project_key"]):
            ids = [s["session_id"] for s in await store.list_sessions(project)]
            _expect(ids == [sid], contract, f"project {project!r} lists {ids!r}")
    if "delete" in caps:
        await store.delete(elsewhere)
        _expect(await store.load(key) == entries, contract, "deleting the id in one project deleted it in another")


def _leaf_check(store: Any) -> dict[str, Any]:
    """`expected_leaf=NO_LEAF` for a store that checks leaves (a new session), else nothing."""
    return {"expected_leaf": NO_LEAF} if "expected_leaf" in _capabilities(store) else {}


@_check("list_sessions: newest first, mtime in epoch milliseconds", "list_sessions")
async def _list_sessions(h: _Harness) -> None:
    store = await h.store()
    keys = [h.key() for _ in range(3)]
    before = time.time() * 1000
    for key in keys:
        await store.append(key, _turns(key["session_id"], 1))
    listed = await store.list_sessions(h.project)
    ids = [s["session_id"] for s in listed]
    _expect(ids == [k["session_id"] for k in reversed(keys)], "list_sessions newest first", f"order is {ids!r}")
    for item in listed:
        _expect(isinstance(item["mtime"], int), "mtime is an int", f"mtime {item['mtime']!r} is not an int")
        _expect(
            abs(item["mtime"] - before) < 300_000, "mtime in epoch milliseconds", f"mtime {item['mtime']} is not now"
        )
    await store.append(keys[0], _turns(keys[0]["session_id"], 1, parent=None, label="again"))
    ids = [s["session_id"] for s in await store.list_sessions(h.project)]
    expected = [keys[0]["session_id"], keys[2]["session_id"], keys[1]["session_id"]]
    _expect(ids == expected, "list_sessions newest first", "an append does not make a session the newest")


@_check("list_session_summaries: summaries folded from the entries", "list_session_summaries")
async def _summaries(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    batches = [
        _turns(sid, 2),
        [make_meta_entry("ai-title", session_id=sid, aiTitle="An AI title")],
        [
            make_meta_entry("tag", session_id=sid, tag="blue"),
            make_meta_entry("cost-state", session_id=sid, totalCostUSD=0.25),
        ],
        [make_meta_entry("custom-title", session_id=sid, customTitle="My title")],
        [make_meta_entry("ai-title", session_id=sid, aiTitle="ignored after a custom title")],
        _turns(sid, 1, label="more"),
    ]
    expected: dict[str, Any] | None = None
    for batch in batches:
        await store.append(key, batch)
        expected = fold_summary(expected, batch)
    assert expected is not None
    expected = sdk_summary_data(expected)  # tether's fields and the SDK's
    summaries = await store.list_session_summaries(h.project)
    _expect(len(summaries) == 1, "list_session_summaries", f"{len(summaries)} summaries for one session")
    data = summaries[0]["data"]
    _expect(summaries[0]["session_id"] == sid, "list_session_summaries", "wrong session id")
    for name in _SUMMARY_FIELDS:
        _expect(
            data.get(name) == expected.get(name),
            "summary folded with fold_summary (sdk_summary_data)",
            f"{name} is {data.get(name)!r}, expected {expected.get(name)!r}",
        )
    _expect(data.get("title") == "My title", "summary title", f"title is {data.get('title')!r}")
    for name in ("custom_title", "first_prompt_locked", "is_sidechain"):
        _expect(data.get(name) == expected[name], "the SDK's summary keys", f"{name} is {data.get(name)!r}")
    listed = await store.list_sessions(h.project)
    _expect(summaries[0]["mtime"] == listed[0]["mtime"], "summary mtime", "summary and list_sessions disagree on mtime")


@_check("delete removes a session and its subkeys", "delete")
async def _delete(h: _Harness) -> None:
    store = await h.store()
    key, keep = h.key(), h.key()
    sid = key["session_id"]
    sub = h.key(sid, subpath="subagents/agent-1")
    await store.append(key, _turns(sid, 2))
    await store.append(sub, _turns(sid, 1))
    keep_entries = _turns(keep["session_id"], 2)
    await store.append(keep, keep_entries)
    await store.delete(h.key(str(uuid_module.uuid4())))  # unknown: a no-op
    other_sub = h.key(keep["session_id"], subpath="subagents/agent-2")
    await store.append(other_sub, _turns(keep["session_id"], 1))
    await store.delete(other_sub)
    _expect(await store.load(other_sub) is None, "delete of a subpath", "the subpath is still there")
    _expect(await store.load(keep) == keep_entries, "delete of a subpath", "deleting a subpath changed the main key")
    await store.delete(key)
    _expect(await store.load(key) is None, "delete", "the deleted session still loads")
    _expect(await store.load(sub) is None, "delete cascades to subkeys", "a subkey survived its session")
    _expect(await store.load(keep) == keep_entries, "delete", "deleting one session changed another")
    if "list_sessions" in _capabilities(store):
        ids = [s["session_id"] for s in await store.list_sessions(h.project)]
        _expect(ids == [keep["session_id"]], "delete", f"list_sessions still shows {ids!r}")
    if "list_subkeys" in _capabilities(store):
        left = await store.list_subkeys({"project_key": h.project, "session_id": sid})
        _expect(left == [], "delete cascades to subkeys", f"list_subkeys still shows {left!r}")
    fresh = _turns(sid, 1, label="reborn")
    await store.append(key, fresh)
    _expect(await store.load(key) == fresh, "a deleted id can be used again", "the new session inherited old entries")


# -- tether's capabilities ---------------------------------------------------------------------------


@_check("find: where a session lives, its leaf and summary", "find")
async def _find(h: _Harness) -> None:
    store = await h.store()
    key = h.key(project=h.project + "-elsewhere")
    entries = _turns(key["session_id"], 3)
    await store.append(key, [*entries, make_meta_entry("tag", session_id=key["session_id"], tag="t")])
    found = await store.find(key["session_id"])
    _expect(found is not None, "find", "find does not know a stored session")
    _expect(found.key == key, "find", f"find returned the key {found.key!r}, expected {key!r}")
    _expect(found.leaf == _leaf(entries), "find leaf", f"leaf is {found.leaf!r}, expected the last uuid entry")
    _expect(found.summary.get("message_count") == 3, "find summary", f"summary is {found.summary!r}")
    _expect(found.forked_from is None, "find", "an original session reports forked_from")
    _expect(await store.find(str(uuid_module.uuid4())) is None, "find", "find of an unknown id is not None")
    sid = key["session_id"]
    newer = h.key(sid, project=h.project + "-newer")
    await store.append(newer, _turns(sid, 1, label="newer"))
    contract = "find: the given project's session, else the newest"
    _expect((await store.find(sid)).key == newer, contract, "find(id) is not the most recently updated match")
    _expect(
        (await store.find(sid, project_key=key["project_key"])).key == key, contract, "the project is not preferred"
    )
    _expect((await store.find(sid, project_key="-nowhere")).key == newer, contract, "an unknown project is preferred")
    await store.append(key, _turns(sid, 1, parent=_leaf(entries), label="later"))
    _expect((await store.find(sid)).key == key, contract, "an append does not make a session the newest match")


@_check("expected_leaf: optimistic concurrency and NO_LEAF", "expected_leaf")
async def _expected_leaf(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    first = _turns(sid, 2)
    await store.append(key, first, expected_leaf=NO_LEAF)
    await _expect_raises(
        SessionConflictError,
        "NO_LEAF on an existing session conflicts",
        lambda: store.append(key, _turns(sid, 1), expected_leaf=NO_LEAF),
        "append(expected_leaf=NO_LEAF) to a session with entries",
    )
    second = _turns(sid, 2, parent=_leaf(first), label="second")
    await store.append(key, second, expected_leaf=_leaf(first))
    stale = _leaf(first)
    before = await store.load(key)
    summary_before = (await store.find(sid)).summary if "find" in _capabilities(store) else None
    error = await _expect_raises(
        SessionConflictError,
        "a stale expected_leaf conflicts",
        lambda: store.append(key, _turns(sid, 2, parent=stale, label="lost"), expected_leaf=stale),
        "append with a stale expected_leaf",
    )
    _expect(
        isinstance(error, SessionConflictError) and error.actual_leaf == _leaf(second),
        "SessionConflictError carries the actual leaf",
        f"the error is {error!r}",
    )
    _expect(await store.load(key) == before, "a conflicting append writes nothing", "entries were written")
    if summary_before is not None:
        _expect(
            (await store.find(sid)).summary == summary_before,
            "a conflicting append writes nothing",
            "the summary changed",
        )
    meta = [make_meta_entry("tag", session_id=sid, tag="t")]
    await store.append(key, meta, expected_leaf=_leaf(second))
    side = make_entry(
        "user", {"role": "user", "content": "side"}, session_id=sid, parent_uuid=None, cwd="/c", isSidechain=True
    )
    await store.append(key, [side], expected_leaf=_leaf(second))
    third = _turns(sid, 1, parent=_leaf(second), label="third")
    await store.append(key, third, expected_leaf=_leaf(second))  # metadata and sidechains are not leaves
    await store.append(key, [], expected_leaf=_leaf(third))
    await _expect_raises(
        SessionConflictError,
        "append([]) still checks expected_leaf",
        lambda: store.append(key, [], expected_leaf=stale),
        "append([], expected_leaf=<stale>)",
    )
    missing = h.key()
    await _expect_raises(
        SessionConflictError,
        "expected_leaf on a missing session conflicts",
        lambda: store.append(missing, _turns(missing["session_id"], 1), expected_leaf=stale),
        "append with an expected_leaf to a session that does not exist",
    )
    _expect(await store.load(missing) is None, "a conflicting append writes nothing", "a session was created")


@_check("concurrent appends with one expected_leaf: exactly one wins", "expected_leaf")
async def _race(h: _Harness) -> None:
    stores = [await h.store() for _ in range(2)]
    key = h.key()
    sid = key["session_id"]
    base = _turns(sid, 1)
    await stores[0].append(key, base)
    outcomes: list[str] = []

    async def contender(index: int) -> None:
        entries = _turns(sid, 2, parent=_leaf(base), label=f"writer{index}")
        try:
            await stores[index % 2].append(key, entries, expected_leaf=_leaf(base))
            outcomes.append(f"won:{entries[-1]['uuid']}")
        except SessionConflictError:
            outcomes.append("conflict")

    async with anyio.create_task_group() as group:
        for index in range(6):
            group.start_soon(contender, index)
    winners = [o for o in outcomes if o.startswith("won:")]
    _expect(len(winners) == 1, "exactly one concurrent writer wins", f"outcomes: {outcomes!r}")
    loaded = await stores[1].load(key)
    assert loaded is not None
    _expect(len(loaded) == 3, "losers write nothing", f"{len(loaded)} entries after the race, expected 3")
    _expect(
        loaded[-1]["uuid"] == winners[0][4:], "the winner's entries are stored", "the stored leaf is not the winner's"
    )


@_check("load_tail: the last entries of the view", "load_tail", "fork")
async def _load_tail(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = _turns(key["session_id"], 10)
    await store.append(key, entries)
    _expect(await store.load_tail(key, 3) == entries[-3:], "load_tail", "load_tail(3) is not the last 3 entries")
    _expect(await store.load_tail(key, 50) == entries, "load_tail", "load_tail beyond the length is not everything")
    _expect(await store.load_tail(key, 0) == [], "load_tail", "load_tail(0) is not []")
    _expect(await store.load_tail(h.key(), 5) is None, "load_tail", "load_tail of an unknown key is not None")
    fork = h.key()
    await store.fork(key, fork)
    more = _turns(fork["session_id"], 2, parent=_leaf(entries), label="fork")
    await store.append(fork, more)
    tail = await store.load_tail(fork, 5)
    _expect(tail == [*entries[-3:], *more], "load_tail across a fork", "the tail of a fork is wrong")


@_check("swap_lease takes a free lease, refuses a live one, hands over a lapsed one", "swap_lease")
async def _swap_lease(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    await store.append(key, _turns(key["session_id"], 2))
    now = 1_000_000
    _expect(await store.swap_lease(key, "a", now + 500, now_ms=now) is None, "swap_lease", "a free lease was refused")
    held = await store.swap_lease(key, "b", now + 900, now_ms=now + 1)
    _expect(held == ("a", now + 500), "swap_lease", f"a live lease was not refused with its holder: {held!r}")
    _expect(await store.swap_lease(key, "a", now + 800, now_ms=now + 2) is None, "swap_lease", "its owner cannot renew")
    took = await store.swap_lease(key, "c", now + 900, now_ms=now + 3, take_from="a")
    _expect(took is None, "swap_lease", "take_from did not hand the lease over")
    _expect(
        await store.swap_lease(key, "d", now + 2000, now_ms=now + 901) is None, "swap_lease", "a lapsed lease stayed"
    )
    other = h.key()
    await store.append(other, _turns(other["session_id"], 2))
    _expect(
        await store.swap_lease(other, "e", now + 2000, now_ms=now + 902) is None,
        "swap_lease",
        "leases are not per session",
    )
    _expect(await store.swap_lease(key, "d", 0, now_ms=now + 903) is None, "swap_lease", "its owner cannot release")
    _expect(
        await store.swap_lease(key, "f", now + 3000, now_ms=now + 904) is None, "swap_lease", "a released lease stayed"
    )


@_check("fork shares history and is independent afterwards", "fork", "find")
async def _fork(h: _Harness) -> None:
    store = await h.store()
    source = h.key()
    history = _turns(source["session_id"], 4)
    await store.append(source, history)
    source_before = await store.find(source["session_id"])
    fork = h.key(project=h.project + "-fork")
    await store.fork(source, fork)
    _expect(await store.load(fork) == history, "fork shares history", "the fork does not load the source's history")
    found = await store.find(fork["session_id"])
    _expect(found is not None and found.key == fork, "fork", "find does not locate the fork under its own key")
    _expect(found.leaf == _leaf(history), "fork leaf", f"the fork's leaf is {found.leaf!r}")
    _expect(
        found.forked_from == {"sessionId": source["session_id"], "messageUuid": _leaf(history)},
        "forked_from in the fork's summary",
        f"forked_from is {found.forked_from!r}",
    )
    on_source = _turns(source["session_id"], 2, parent=_leaf(history), label="source")
    on_fork = _turns(fork["session_id"], 2, parent=_leaf(history), label="fork")
    await store.append(fork, on_fork, expected_leaf=_leaf(history))
    _expect(
        await store.load(source) == history, "fork leaves the source unchanged", "a fork append shows in the source"
    )
    after = await store.find(source["session_id"])
    _expect(after.leaf == source_before.leaf, "fork leaves the source unchanged", "the source's leaf moved")
    await store.append(source, on_source, expected_leaf=_leaf(history))
    _expect(await store.load(fork) == history + on_fork, "fork is independent", "a source append shows in the fork")
    _expect(await store.load(source) == history + on_source, "fork is independent", "the source lost entries")
    grandchild = h.key()
    await store.fork(fork, grandchild)
    _expect(await store.load(grandchild) == history + on_fork, "fork of a fork", "a fork of a fork loads wrongly")
    summary = (await store.find(fork["session_id"])).summary
    _expect(summary.get("message_count") == 6, "fork summary message_count", f"message_count is {summary!r}")


@_check("fork at a message uuid", "fork", "find")
async def _fork_at(h: _Harness) -> None:
    store = await h.store()
    source = h.key()
    sid = source["session_id"]
    history = _turns(sid, 6)
    history.insert(3, make_meta_entry("custom-title", session_id=sid, customTitle="Source"))
    await store.append(source, history)
    cut = history[2]["uuid"]
    fork = h.key()
    await store.fork(source, fork, cut)
    _expect(await store.load(fork) == history[:3], "fork at_uuid is inclusive", "the fork's view is not cut at at_uuid")
    found = await store.find(fork["session_id"])
    _expect(found.leaf == cut, "fork at_uuid leaf", f"the fork's leaf is {found.leaf!r}, expected {cut!r}")
    expected = fork_summary(
        (await store.find(sid)).summary, forked_from={"sessionId": sid, "messageUuid": cut}, message_count=3
    )
    for name in _SUMMARY_FIELDS:
        _expect(
            found.summary.get(name) == expected.get(name),
            "fork summary from fork_summary",
            f"{name} is {found.summary.get(name)!r}, expected {expected.get(name)!r}",
        )
    deeper = h.key()
    await store.fork(fork, deeper, history[0]["uuid"])
    _expect(await store.load(deeper) == history[:1], "fork of a fork at an inherited uuid", "wrong view")
    more = _turns(deeper["session_id"], 1, parent=history[0]["uuid"], label="deeper")
    await store.append(deeper, more, expected_leaf=history[0]["uuid"])
    _expect(await store.load(deeper) == [history[0], *more], "fork of a fork is independent", "wrong view")
    _expect(await store.load(fork) == history[:3], "fork of a fork is independent", "the middle fork changed")


@_check("fork errors write nothing", "fork")
async def _fork_errors(h: _Harness) -> None:
    store = await h.store()
    source, other = h.key(), h.key()
    history = _turns(source["session_id"], 2)
    await store.append(source, history)
    await store.append(other, _turns(other["session_id"], 1))
    target = h.key()
    await _expect_raises(
        SessionNotFoundError, "fork of an unknown session", lambda: store.fork(h.key(), target), "fork(unknown)"
    )
    await _expect_raises(
        SessionExistsError, "fork onto a taken id", lambda: store.fork(source, other), "fork onto an existing session"
    )
    elsewhere = h.key(other["session_id"], project=h.project + "-x")
    await store.fork(source, elsewhere)
    _expect(await store.load(elsewhere) == history, "fork onto an id of another project", "the fork loads wrongly")
    _expect(len(await store.load(other) or []) == 1, "fork onto an id of another project", "it changed that session")
    await _expect_raises(
        EntryNotFoundError,
        "fork at an unknown uuid",
        lambda: store.fork(source, target, str(uuid_module.uuid4())),
        "fork(at_uuid=<unknown>)",
    )
    _expect(await store.load(target) is None, "fork errors write nothing", "a failed fork created the target")
    _expect(await store.load(source) == history, "fork errors write nothing", "a failed fork changed the source")


@_check("delete keeps every fork whole", "fork", "delete")
async def _delete_forks(h: _Harness) -> None:
    store = await h.store()
    a = h.key()
    history = _turns(a["session_id"], 6)
    await store.append(a, history)
    b, c, d = h.key(), h.key(), h.key()
    await store.fork(a, b, history[3]["uuid"])
    b_more = _turns(b["session_id"], 2, parent=history[3]["uuid"], label="b")
    await store.append(b, b_more)
    await store.fork(b, c, b_more[0]["uuid"])
    c_more = _turns(c["session_id"], 2, parent=b_more[0]["uuid"], label="c")
    await store.append(c, c_more)
    await store.fork(a, d, history[1]["uuid"])
    await store.append(a, _turns(a["session_id"], 2, parent=_leaf(history), label="a"))
    expected_b, expected_c = history[:4] + b_more, history[:4] + b_more[:1] + c_more
    await store.delete(a)
    _expect(await store.load(a) is None, "delete", "the deleted source still loads")
    _expect(await store.load(b) == expected_b, "delete keeps forks whole", "a fork lost history with its source")
    _expect(await store.load(c) == expected_c, "delete keeps forks whole", "a fork of a fork lost history")
    _expect(await store.load(d) == history[:2], "delete keeps forks whole", "an early fork lost history")
    if "load_tail" in _capabilities(store):
        _expect(await store.load_tail(c, 4) == expected_c[-4:], "delete keeps forks whole", "load_tail is wrong")
    await store.delete(b)
    _expect(await store.load(c) == expected_c, "delete keeps forks whole", "deleting the middle fork broke its fork")
    e = h.key()
    await store.fork(c, e, history[2]["uuid"])
    _expect(await store.load(e) == history[:3], "fork of a fork whose ancestors are deleted", "wrong view")
    await store.delete(c)
    _expect(await store.load(e) == history[:3], "delete keeps forks whole", "the last fork lost history")
    _expect(await store.load(d) == history[:2], "delete keeps forks whole", "an early fork lost history")
    await store.delete(e)
    await store.delete(d)
    reborn = _turns(a["session_id"], 1, label="reborn")
    await store.append(a, reborn)
    _expect(await store.load(a) == reborn, "a deleted id can be used again", "the new session inherited entries")


@_check("list_page: newest first with cursor pagination", "list_page", "list_sessions")
async def _list_page(h: _Harness) -> None:
    scope = h.scope("pages") if h.scopes else None
    store = await h.store(scope)
    keys = [h.key() for _ in range(7)]
    for key in keys:
        await store.append(key, _turns(key["session_id"], 1))
    expected = [k["session_id"] for k in reversed(keys)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await store.list_page(h.project, limit=3, cursor=cursor)
        _expect(len(page.items) <= 3, "list_page limit", f"a page of {len(page.items)} items for limit=3")
        seen.extend(item["session_id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    _expect(seen == expected, "list_page newest first across pages", f"pages gave {seen!r}, expected {expected!r}")
    listed = [s["session_id"] for s in await store.list_sessions(h.project)]
    _expect(listed == expected, "list_page agrees with list_sessions", "the two orders differ")
    first = await store.list_page(h.project, limit=7)
    _expect(first.next_cursor is None, "list_page last page", "a complete page still has a next_cursor")
    item = first.items[0]
    _expect(
        item["data"].get("message_count") == 1 and item.get("project_key", h.project) == h.project,
        "list_page items are summaries",
        f"item is {item!r}",
    )
    if scope is not None:
        other = h.key(project=h.project + "-other")
        await store.append(other, _turns(other["session_id"], 1))
        everything = await store.list_page(None, limit=100)
        ids = [i["session_id"] for i in everything.items]
        _expect(ids == [other["session_id"], *expected], "list_page(None) lists every project", f"got {ids!r}")


@_check("scope isolation for read, list, fork, delete and find", "find", "fork", "delete", "list_page")
async def _scopes(h: _Harness) -> None:
    if not h.scopes:
        raise _Skip("the store was run with scopes=False")
    scope_a, scope_b = h.scope("a"), h.scope("b")
    store_a, store_b, default = await h.store(scope_a), await h.store(scope_b), await h.store(None)
    key = h.key()
    sid = key["session_id"]
    entries = _turns(sid, 3)
    await store_a.append(key, entries)
    await store_a.append(h.key(sid, subpath="subagents/x"), _turns(sid, 1))
    for name, other in (("another scope", store_b), ("the default scope", default)):
        contract = f"scope isolation ({name})"
        _expect(await other.load(key) is None, contract, "a session of scope a loads")
        _expect(await other.find(sid) is None, contract, "find sees a session of scope a")
        caps = _capabilities(other)
        if "load_tail" in caps:
            _expect(await other.load_tail(key, 2) is None, contract, "load_tail sees scope a")
        if "list_sessions" in caps:
            _expect(await other.list_sessions(h.project) == [], contract, "list_sessions shows scope a")
        if "list_session_summaries" in caps:
            _expect(await other.list_session_summaries(h.project) == [], contract, "summaries show scope a")
        _expect((await other.list_page(h.project)).items == [], contract, "list_page shows scope a")
        if "list_subkeys" in caps:
            _expect(
                await other.list_subkeys({"project_key": h.project, "session_id": sid}) == [],
                contract,
                "list_subkeys shows scope a",
            )
        await _expect_raises(
            SessionNotFoundError, contract, partial(other.fork, key, h.key()), "fork from another scope"
        )
        await other.delete(key)
    _expect(await store_a.load(key) == entries, "scope isolation", "a delete from another scope removed the session")
    everything = await store_b.list_page(None)
    _expect(everything.items == [], "scope isolation", "list_page(None) of scope b shows other scopes")
    mine = _turns(sid, 1, label="b")
    await store_b.append(key, mine, expected_leaf=NO_LEAF)
    _expect(await store_b.load(key) == mine, "scopes are separate namespaces", "scope b cannot use the same id")
    _expect(await store_a.load(key) == entries, "scope isolation", "an append in scope b changed scope a")
    await store_b.delete(key)
    _expect(await store_a.load(key) == entries, "scope isolation", "a delete in scope b removed scope a's session")


@_check("unicode, numbers of any size and 1 MB entries round-trip exactly", "load_tail")
async def _unicode(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    text = "héllo wörld · 你好 · 🎉🧵 · עברית · e\u0301 · \u0000\u001f\u007f \u2028 \ufeff · lone \ud83d"
    entries = _turns(sid, 2)
    entries[0]["message"]["content"] = text
    entries[1]["ключ ✓"] = {"emoji 🎉": [text, "\\", '"quoted"']}
    entries[1]["numbers"] = [2**70 + 1, -(2**64) - 1, 2**63, 0.1, 1e300, 5e-324, 1.0, True, None]
    big = make_entry(
        "user",
        {"role": "user", "content": ("x" * 1023 + "é") * 1024},
        session_id=sid,
        parent_uuid=_leaf(entries),
        cwd="/conformance",
    )
    entries.append(big)
    await store.append(key, entries)
    loaded = await store.load(key)
    _expect(loaded == entries, "unicode and 1 MB entries", "the entries did not come back identical")
    _expect(await store.load_tail(key, 1) == [big], "unicode and 1 MB entries", "load_tail of a 1 MB entry")


@_check("refused session ids raise InvalidSessionIdError and write nothing")
async def _bad_ids(h: _Harness) -> None:
    store = await h.store()
    good = h.key()
    await store.append(good, _turns(good["session_id"], 1))
    bad_ids: list[Any] = ["../x", "a/b", "a\\b", "", "..", "abc\x00", "a\nb", "\tab", "x" * 129, " spaced", 42, None]
    caps = _capabilities(store)
    for bad in bad_ids:
        key: Any = {"project_key": h.project, "session_id": bad}
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("append", partial(store.append, key, _turns("x", 1))),
            ("load", partial(store.load, key)),
        ]
        if "load_tail" in caps:
            calls.append(("load_tail", partial(store.load_tail, key, 1)))
        if "fork" in caps:
            calls.append(("fork from", partial(store.fork, key, h.key())))
            calls.append(("fork onto", partial(store.fork, good, key)))
        if "find" in caps:
            calls.append(("find", partial(store.find, bad)))
        if "delete" in caps:
            calls.append(("delete", partial(store.delete, key)))
        if "list_subkeys" in caps:
            calls.append(("list_subkeys", partial(store.list_subkeys, key)))
        for name, call in calls:
            await _expect_raises(InvalidSessionIdError, "refused session ids", call, f"{name} with id {bad!r}")
    if "list_sessions" in caps:
        ids = [s["session_id"] for s in await store.list_sessions(h.project)]
        _expect(ids == [good["session_id"]], "refused session ids write nothing", f"the project lists {ids!r}")


@_check("entries that are not JSON objects are refused and write nothing")
async def _bad_entries(h: _Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = _turns(key["session_id"], 2)
    await store.append(key, entries)
    for bad in (["not a dict"], [_turns(key["session_id"], 1)[0], {"value": object()}]):
        try:
            await store.append(key, bad)
        except (TypeError, ValueError, StoreError):  # the refusals `tether.sessions.store` documents
            pass
        else:
            raise AssertionError("[bad entries are refused] an entry that is not a JSON object was accepted")
    _expect(await store.load(key) == entries, "bad entries write nothing", "a refused append wrote some entries")


class _Skip(Exception):
    """A check that does not apply to this run."""


async def run_store_conformance(make_store: MakeStore, *, scopes: bool = True) -> ConformanceReport:
    """Run every contract check against stores made by `make_store(scope)`; raise AssertionError on failure.

    Pass `scopes=False` for a store without tenancy (the scope checks are then skipped). Returns
    the checks that passed and those skipped because the store lacks a capability.
    """
    run = uuid_module.uuid4().hex[:10]
    report = ConformanceReport()
    failures: list[tuple[str, BaseException]] = []
    for name, needs, check in _CHECKS:
        harness = _Harness(make_store, run, check.__name__.strip("_").replace("_", "-"), scopes)
        try:
            missing = [n for n in needs if n not in _capabilities(await harness.store())]
            if missing:
                report.skipped[name] = f"the store has no {', '.join(missing)}"
                continue
            await check(harness)
            report.passed.append(name)
        except _Skip as skip:
            report.skipped[name] = str(skip)
        except AssertionError as exc:
            failures.append((name, exc))
        except Exception as exc:
            failures.append((name, AssertionError(f"[{name}] raised {type(exc).__name__}: {exc}")))
            failures[-1][1].__cause__ = exc
        finally:
            await harness.close()
    if failures:
        lines = "\n".join(f"- {name}: {exc}" for name, exc in failures)
        raise AssertionError(f"{len(failures)} store contract(s) broken:\n{lines}") from failures[0][1]
    return report
