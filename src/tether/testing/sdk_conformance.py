"""`run_session_store_conformance`: the Claude Agent SDK's store contracts, as the SDK names them.

```python
from tether.testing import run_session_store_conformance

async def test_my_store():
    await run_session_store_conformance(MyStore)
```

The same call as `claude_agent_sdk.testing.run_session_store_conformance`: `make_store()` (sync
or async) gives a fresh, empty store for each contract; the contracts of an optional method
(`list_sessions`, `list_session_summaries`, `delete`, `list_subkeys`) run when the store
implements it (a method inherited from a `Protocol`, such as the SDK's `SessionStore` defaults,
does not count) and is not named in `skip_optional`. A broken contract raises `AssertionError`.

These are the contracts a store written for the SDK keeps: append/load in order, unknown keys,
empty appends, subpaths, one session id in two projects, listing and summaries, delete cascading
to subkeys. tether's own, stricter suite (forks, `expected_leaf`, scopes, ...) is
`run_store_conformance`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Any

from tether._vocabulary.store import SessionKey, SessionStore, SessionSummaryEntry
from tether.sessions.store_capabilities import capabilities_of
from tether.sessions.summary import fold_summary

__all__ = ["OPTIONAL_METHODS", "run_session_store_conformance"]

OPTIONAL_METHODS = frozenset({"list_sessions", "list_session_summaries", "delete", "list_subkeys"})
"""The SDK's optional store methods, the names `skip_optional` takes."""

MakeSessionStore = Callable[[], SessionStore | Awaitable[SessionStore]]
"""`make_store()` -> a fresh store (or an awaitable of one)."""
_MAIN = SessionKey(project_key="proj", session_id="sess")
_Contract = Callable[[Callable[[], Awaitable[Any]]], Awaitable[None]]


def _entry(**fields: Any) -> dict[str, Any]:
    """An opaque test entry (`type` is all the SDK requires of one)."""
    return {"type": "x", **fields}


def _key(project: str, session: str, subpath: str | None = None) -> SessionKey:
    key = SessionKey(project_key=project, session_id=session)
    if subpath is not None:
        key["subpath"] = subpath
    return key


def _check(condition: object, contract: str, detail: str) -> None:
    if not condition:
        raise AssertionError(f"[{contract}] {detail}")


async def _round_trip(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    entries = [_entry(uuid="b", n=1), _entry(uuid="a", n=2)]
    await store.append(_MAIN, entries)
    loaded = await store.load(_MAIN)
    _check(loaded == entries, "append then load", f"load gave {loaded!r}, expected {entries!r}")


async def _unknown_keys(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    _check(await store.load(_key("proj", "nope")) is None, "unknown key", "load of a key never written is not None")
    await store.append(_MAIN, [_entry(uuid="x", n=1)])
    _check(await store.load({**_MAIN, "subpath": "nope"}) is None, "unknown key", "an unwritten subpath loads")


async def _call_order(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    batches = [[_entry(uuid="z", n=1)], [_entry(uuid="a", n=2), _entry(uuid="m", n=3)], [_entry(uuid="b", n=4)]]
    for batch in batches:
        await store.append(_MAIN, batch)
    expected = [entry for batch in batches for entry in batch]
    _check(await store.load(_MAIN) == expected, "append call order", "entries do not come back in call order")


async def _empty_append(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    await store.append(_MAIN, [_entry(uuid="a", n=1)])
    await store.append(_MAIN, [])
    _check(await store.load(_MAIN) == [_entry(uuid="a", n=1)], "append([]) is a no-op", "append([]) changed the key")


async def _subpaths(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    sub = _key("proj", "sess", "subagents/agent-1")
    await store.append(_MAIN, [_entry(uuid="m", n=1)])
    await store.append(sub, [_entry(uuid="s", n=1)])
    _check(await store.load(_MAIN) == [_entry(uuid="m", n=1)], "subpath independence", "the main key changed")
    _check(await store.load(sub) == [_entry(uuid="s", n=1)], "subpath independence", "the subpath loads wrongly")


async def _projects(fresh: Callable[[], Awaitable[Any]], lists: bool) -> None:
    store = await fresh()
    await store.append(_key("A", "s1"), [_entry(origin="A")])
    await store.append(_key("B", "s1"), [_entry(origin="B")])
    contract = "one session id in two projects"
    _check(await store.load(_key("A", "s1")) == [_entry(origin="A")], contract, "project A's session loads wrongly")
    _check(await store.load(_key("B", "s1")) == [_entry(origin="B")], contract, "project B's session loads wrongly")
    if lists:
        for project in ("A", "B"):
            listed = await store.list_sessions(project)
            _check(len(listed) == 1, contract, f"project {project} lists {listed!r}")


async def _list_sessions(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    for project, session in (("proj", "a"), ("proj", "b"), ("other", "c")):
        await store.append(_key(project, session), [_entry(n=1)])
    listed = await store.list_sessions("proj")
    _check(sorted(s["session_id"] for s in listed) == ["a", "b"], "list_sessions", f"project lists {listed!r}")
    _check(all(_epoch_ms(s["mtime"]) for s in listed), "list_sessions mtime", f"mtimes are not epoch ms: {listed!r}")
    _check(await store.list_sessions("never-appended-project") == [], "list_sessions", "an empty project lists")
    store = await fresh()
    await store.append(_key("proj", "main"), [_entry(n=1)])
    await store.append(_key("proj", "main", "subagents/agent-1"), [_entry(n=1)])
    listed = await store.list_sessions("proj")
    _check([s["session_id"] for s in listed] == ["main"], "list_sessions", f"subpaths are listed: {listed!r}")


def _epoch_ms(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 1e12


async def _summaries(fresh: Callable[[], Awaitable[Any]], lists: bool, deletes: bool) -> None:
    store = await fresh()
    key = _key("proj", "summ-sess")
    await store.append(key, [_entry(timestamp="2024-01-01T00:00:00.000Z", customTitle="first"), _entry()])
    await store.append(key, [_entry(timestamp="2024-01-01T00:00:02.000Z", customTitle="second")])
    await store.append(_key("other", "elsewhere"), [_entry(timestamp="2024-01-01T00:00:00.000Z")])
    by_id = {s["session_id"]: s for s in await store.list_session_summaries("proj")}
    _check(set(by_id) == {"summ-sess"}, "list_session_summaries", f"the project's summaries are {by_id!r}")
    summary: SessionSummaryEntry = by_id["summ-sess"]
    _check(_epoch_ms(summary["mtime"]), "summary mtime", f"mtime {summary['mtime']!r} is not epoch ms")
    if lists:
        listed = {s["session_id"]: s["mtime"] for s in await store.list_sessions("proj")}
        _check(summary["mtime"] >= listed["summ-sess"], "summary mtime", "older than the list_sessions mtime")
    _check(isinstance(summary["data"], dict), "summary data", "data is not a dict")
    fold_summary(summary["data"], [_entry(timestamp="2024-01-01T00:00:03.000Z")])  # it folds on
    await store.append({**key, "subpath": "subagents/agent-1"}, [_entry(customTitle="subagent")])
    after = {s["session_id"]: s for s in await store.list_session_summaries("proj")}
    _check(after["summ-sess"]["data"] == summary["data"], "summaries", "a subpath append changed the summary")
    _check(await store.list_session_summaries("never-appended-project") == [], "summaries", "an empty project lists")
    if deletes:
        await store.delete(key)
        _check(await store.list_session_summaries("proj") == [], "summaries", "a deleted session keeps its summary")


async def _delete(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    await store.delete(_key("proj", "never-written"))
    await store.append(_MAIN, [_entry(n=1)])
    await store.delete(_MAIN)
    _check(await store.load(_MAIN) is None, "delete", "a deleted session still loads")


async def _delete_cascades(fresh: Callable[[], Awaitable[Any]], lists: bool, subkeys: bool) -> None:
    store = await fresh()
    sub1, sub2 = _key("proj", "sess", "subagents/agent-1"), _key("proj", "sess", "subagents/agent-2")
    kept = [_key("proj", "sess2"), _key("other-proj", "sess")]
    for key in (_MAIN, sub1, sub2, *kept):
        await store.append(key, [_entry(n=1)])
    await store.delete(_MAIN)
    for key in (_MAIN, sub1, sub2):
        _check(await store.load(key) is None, "delete cascades to subkeys", f"{key!r} still loads")
    for key in kept:
        _check(len(await store.load(key) or []) == 1, "delete cascades to subkeys only", f"{key!r} was deleted")
    if subkeys:
        _check(await store.list_subkeys(_MAIN) == [], "delete cascades to subkeys", "subkeys are still listed")
    if lists:
        listed = [s["session_id"] for s in await store.list_sessions("proj")]
        _check("sess" not in listed, "delete", "the deleted session is still listed")


async def _delete_subpath(fresh: Callable[[], Awaitable[Any]], subkeys: bool) -> None:
    store = await fresh()
    sub1, sub2 = _key("proj", "sess", "subagents/agent-1"), _key("proj", "sess", "subagents/agent-2")
    for key in (_MAIN, sub1, sub2):
        await store.append(key, [_entry(n=1)])
    await store.delete(sub1)
    _check(await store.load(sub1) is None, "delete of a subpath", "the deleted subpath still loads")
    _check(len(await store.load(sub2) or []) == 1, "delete of a subpath", "another subpath was deleted")
    _check(len(await store.load(_MAIN) or []) == 1, "delete of a subpath", "the main transcript was deleted")
    if subkeys:
        remaining = await store.list_subkeys(_MAIN)
        _check(remaining == ["subagents/agent-2"], "delete of a subpath", f"subkeys are {remaining!r}")


async def _list_subkeys(fresh: Callable[[], Awaitable[Any]]) -> None:
    store = await fresh()
    await store.append(_MAIN, [_entry(n=1)])
    for key in (_key("proj", "sess", "subagents/agent-1"), _key("proj", "sess", "subagents/agent-2")):
        await store.append(key, [_entry(n=1)])
    await store.append(_key("proj", "other-sess", "subagents/agent-x"), [_entry(n=1)])
    subkeys = sorted(await store.list_subkeys(_MAIN))
    _check(subkeys == ["subagents/agent-1", "subagents/agent-2"], "list_subkeys", f"subkeys are {subkeys!r}")
    store = await fresh()
    await store.append(_MAIN, [_entry(n=1)])
    _check(await store.list_subkeys(_MAIN) == [], "list_subkeys", "the main transcript is listed as a subkey")
    _check(await store.list_subkeys(_key("proj", "never-appended")) == [], "list_subkeys", "an unknown session lists")


def _contracts(has: set[str]) -> list[_Contract]:
    lists, summaries, deletes, subkeys = (
        name in has for name in ("list_sessions", "list_session_summaries", "delete", "list_subkeys")
    )
    contracts: list[_Contract] = [_round_trip, _unknown_keys, _call_order, _empty_append, _subpaths]
    contracts.append(lambda fresh: _projects(fresh, lists))
    if lists:
        contracts.append(_list_sessions)
    if summaries:
        contracts.append(lambda fresh: _summaries(fresh, lists, deletes))
    if deletes:
        contracts.append(_delete)
        contracts.append(lambda fresh: _delete_cascades(fresh, lists, subkeys))
        contracts.append(lambda fresh: _delete_subpath(fresh, subkeys))
    if subkeys:
        contracts.append(_list_subkeys)
    return contracts


async def run_session_store_conformance(
    make_store: MakeSessionStore,
    *,
    skip_optional: frozenset[str] = frozenset(),
) -> None:
    """Check the SDK's store contracts on stores made by `make_store()` (a fresh one per contract).

    Raises `AssertionError` naming the first broken contract.
    """
    unknown = set(skip_optional) - OPTIONAL_METHODS
    if unknown:
        raise AssertionError(f"unknown optional methods in skip_optional: {sorted(unknown)}")

    async def fresh() -> Any:
        made = make_store()
        return await made if inspect.isawaitable(made) else made

    has = {str(name) for name in capabilities_of(await fresh())} & OPTIONAL_METHODS - set(skip_optional)
    for contract in _contracts(has):
        await contract(fresh)
