"""The Claude Agent SDK's `SessionStore` contracts, as checks of `run_store_conformance`."""

from __future__ import annotations

import json
import time
import uuid as uuid_module
from typing import Any

from tether.sessions.entries import make_meta_entry
from tether.sessions.store import NO_LEAF
from tether.sessions.summary import fold_summary, sdk_summary_data
from tether.testing._conformance_kit import (
    SUMMARY_FIELDS,
    CheckList,
    Harness,
    expect,
    make_turns,
    store_capabilities,
)

__all__ = ["CHECKS"]

CHECKS = CheckList()
_check = CHECKS.register


@_check("append then load returns the same entries in order")
async def _round_trip(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 6)
    entries.insert(2, make_meta_entry("tag", session_id=key["session_id"], tag="x"))
    entries[3]["extra"] = {"ints": [1, -2, 2**62], "float": 0.1, "bool": True, "null": None, "nested": {"a": []}}
    await store.append(key, entries)
    loaded = await store.load(key)
    expect(loaded == entries, "append/load round trip", f"load returned {loaded!r:.300}, expected {entries!r:.300}")


@_check("load of an unknown key returns None")
async def _unknown(h: Harness) -> None:
    store = await h.store()
    loaded = await store.load(h.key())
    expect(loaded is None, "unknown key -> None", f"load of an unknown key returned {loaded!r}")


@_check("several appends keep call order")
async def _order(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 9)
    for start in range(0, 9, 3):
        await store.append(key, entries[start : start + 3])
    loaded = await store.load(key)
    expect(loaded == entries, "appends keep call order", "load does not return the entries in append order")


@_check("append([]) is a no-op")
async def _empty_append(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    await store.append(key, [])
    expect(await store.load(key) is None, "append([]) is a no-op", "append([]) created a session")
    entries = make_turns(key["session_id"], 2)
    await store.append(key, entries)
    await store.append(key, [])
    expect(await store.load(key) == entries, "append([]) is a no-op", "append([]) changed an existing session")


@_check("entries are stored as values, not shared with the caller")
async def _isolation_of_values(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 2)
    expected = json.loads(json.dumps(entries))
    await store.append(key, entries)
    entries[0]["message"]["content"] = "changed after append"
    entries[1]["type"] = "changed"
    loaded = await store.load(key)
    expect(loaded == expected, "entries stored as values", "changing an appended dict changed the stored entry")
    assert loaded is not None
    loaded[0]["message"]["content"] = "changed after load"
    expect(await store.load(key) == expected, "entries stored as values", "changing a loaded dict changed the store")


@_check("subpath keys are independent of the main key", "list_subkeys")
async def _subpaths(h: Harness) -> None:
    store = await h.store()
    main = h.key()
    sid = main["session_id"]
    sub_a = h.key(sid, subpath="subagents/agent-a")
    sub_b = h.key(sid, subpath="subagents/agent-b")
    main_entries, a_entries, b_entries = (
        make_turns(sid, 2, label="main"),
        make_turns(sid, 3, label="a"),
        make_turns(sid, 1),
    )
    await store.append(main, main_entries)
    await store.append(sub_a, a_entries)
    await store.append(sub_b, b_entries)
    expect(await store.load(main) == main_entries, "subpaths independent", "a subpath append changed the main key")
    expect(await store.load(sub_a) == a_entries, "subpaths independent", "subpath load is wrong")
    expect(await store.load(sub_b) == b_entries, "subpaths independent", "subpath load is wrong")
    subkeys = await store.list_subkeys({"project_key": main["project_key"], "session_id": sid})
    expect(
        sorted(subkeys) == ["subagents/agent-a", "subagents/agent-b"],
        "list_subkeys",
        f"list_subkeys returned {subkeys!r}",
    )
    other = await store.list_subkeys({"project_key": main["project_key"], "session_id": str(uuid_module.uuid4())})
    expect(other == [], "list_subkeys", f"list_subkeys of an unknown session returned {other!r}")


@_check("project_key isolation", "list_sessions")
async def _projects(h: Harness) -> None:
    store = await h.store()
    key_a, key_b = h.key(project=h.project + "-a"), h.key(project=h.project + "-b")
    await store.append(key_a, make_turns(key_a["session_id"], 1))
    await store.append(key_b, make_turns(key_b["session_id"], 1))
    listed_a = [s["session_id"] for s in await store.list_sessions(key_a["project_key"])]
    expect(listed_a == [key_a["session_id"]], "project_key isolation", f"project a lists {listed_a!r}")
    moved = h.key(key_a["session_id"], project=key_b["project_key"])
    expect(await store.load(moved) is None, "project_key isolation", "a session loads under another project key")


@_check("one session id in two projects is two independent sessions")
async def _ids_per_project(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    entries = make_turns(sid, 2)
    await store.append(key, entries)
    elsewhere = h.key(sid, project=h.project + "-other")
    other_entries = make_turns(sid, 1, label="elsewhere")
    await store.append(elsewhere, other_entries, **_leaf_check(store))
    contract = "sessions are keyed by (project, id)"
    expect(await store.load(key) == entries, contract, "a session changed when its id was used in another project")
    expect(await store.load(elsewhere) == other_entries, contract, "the id in another project loads wrongly")
    caps = store_capabilities(store)
    if "list_sessions" in caps:
        for project in (key["project_key"], elsewhere["project_key"]):
            ids = [s["session_id"] for s in await store.list_sessions(project)]
            expect(ids == [sid], contract, f"project {project!r} lists {ids!r}")
    if "delete" in caps:
        await store.delete(elsewhere)
        expect(await store.load(key) == entries, contract, "deleting the id in one project deleted it in another")


def _leaf_check(store: Any) -> dict[str, Any]:
    """`expected_leaf=NO_LEAF` for a store that checks leaves (a new session), else nothing."""
    return {"expected_leaf": NO_LEAF} if "expected_leaf" in store_capabilities(store) else {}


@_check("list_sessions: newest first, mtime in epoch milliseconds", "list_sessions")
async def _list_sessions(h: Harness) -> None:
    store = await h.store()
    keys = [h.key() for _ in range(3)]
    before = time.time() * 1000
    for key in keys:
        await store.append(key, make_turns(key["session_id"], 1))
    listed = await store.list_sessions(h.project)
    ids = [s["session_id"] for s in listed]
    expect(ids == [k["session_id"] for k in reversed(keys)], "list_sessions newest first", f"order is {ids!r}")
    for item in listed:
        expect(isinstance(item["mtime"], int), "mtime is an int", f"mtime {item['mtime']!r} is not an int")
        expect(
            abs(item["mtime"] - before) < 300_000, "mtime in epoch milliseconds", f"mtime {item['mtime']} is not now"
        )
    await store.append(keys[0], make_turns(keys[0]["session_id"], 1, parent=None, label="again"))
    ids = [s["session_id"] for s in await store.list_sessions(h.project)]
    expected = [keys[0]["session_id"], keys[2]["session_id"], keys[1]["session_id"]]
    expect(ids == expected, "list_sessions newest first", "an append does not make a session the newest")


@_check("list_session_summaries: summaries folded from the entries", "list_session_summaries")
async def _summaries(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    batches = [
        make_turns(sid, 2),
        [make_meta_entry("ai-title", session_id=sid, aiTitle="An AI title")],
        [
            make_meta_entry("tag", session_id=sid, tag="blue"),
            make_meta_entry("cost-state", session_id=sid, totalCostUSD=0.25),
        ],
        [make_meta_entry("custom-title", session_id=sid, customTitle="My title")],
        [make_meta_entry("ai-title", session_id=sid, aiTitle="ignored after a custom title")],
        make_turns(sid, 1, label="more"),
    ]
    expected: dict[str, Any] | None = None
    for batch in batches:
        await store.append(key, batch)
        expected = fold_summary(expected, batch)
    assert expected is not None
    expected = sdk_summary_data(expected)  # tether's fields and the SDK's
    summaries = await store.list_session_summaries(h.project)
    expect(len(summaries) == 1, "list_session_summaries", f"{len(summaries)} summaries for one session")
    data = summaries[0]["data"]
    expect(summaries[0]["session_id"] == sid, "list_session_summaries", "wrong session id")
    for name in SUMMARY_FIELDS:
        expect(
            data.get(name) == expected.get(name),
            "summary folded with fold_summary (sdk_summary_data)",
            f"{name} is {data.get(name)!r}, expected {expected.get(name)!r}",
        )
    expect(data.get("title") == "My title", "summary title", f"title is {data.get('title')!r}")
    for name in ("custom_title", "first_prompt_locked", "is_sidechain"):
        expect(data.get(name) == expected[name], "the SDK's summary keys", f"{name} is {data.get(name)!r}")
    listed = await store.list_sessions(h.project)
    expect(summaries[0]["mtime"] == listed[0]["mtime"], "summary mtime", "summary and list_sessions disagree on mtime")


@_check("delete removes a session and its subkeys", "delete")
async def _delete(h: Harness) -> None:
    store = await h.store()
    key, keep = h.key(), h.key()
    sid = key["session_id"]
    sub = h.key(sid, subpath="subagents/agent-1")
    await store.append(key, make_turns(sid, 2))
    await store.append(sub, make_turns(sid, 1))
    keep_entries = make_turns(keep["session_id"], 2)
    await store.append(keep, keep_entries)
    await store.delete(h.key(str(uuid_module.uuid4())))  # unknown: a no-op
    other_sub = h.key(keep["session_id"], subpath="subagents/agent-2")
    await store.append(other_sub, make_turns(keep["session_id"], 1))
    await store.delete(other_sub)
    expect(await store.load(other_sub) is None, "delete of a subpath", "the subpath is still there")
    expect(await store.load(keep) == keep_entries, "delete of a subpath", "deleting a subpath changed the main key")
    await store.delete(key)
    expect(await store.load(key) is None, "delete", "the deleted session still loads")
    expect(await store.load(sub) is None, "delete cascades to subkeys", "a subkey survived its session")
    expect(await store.load(keep) == keep_entries, "delete", "deleting one session changed another")
    if "list_sessions" in store_capabilities(store):
        ids = [s["session_id"] for s in await store.list_sessions(h.project)]
        expect(ids == [keep["session_id"]], "delete", f"list_sessions still shows {ids!r}")
    if "list_subkeys" in store_capabilities(store):
        left = await store.list_subkeys({"project_key": h.project, "session_id": sid})
        expect(left == [], "delete cascades to subkeys", f"list_subkeys still shows {left!r}")
    fresh = make_turns(sid, 1, label="reborn")
    await store.append(key, fresh)
    expect(await store.load(key) == fresh, "a deleted id can be used again", "the new session inherited old entries")
