"""tether's own store contracts (its optional capabilities: forks, `expected_leaf`, leases, tails,
pages, scopes, refused ids and entries), as checks of `run_store_conformance`."""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio

from tether.errors import (
    EntryNotFoundError,
    InvalidSessionIdError,
    SessionConflictError,
    SessionExistsError,
    SessionNotFoundError,
    StoreError,
)
from tether.sessions.entries import make_entry, make_meta_entry
from tether.sessions.store import NO_LEAF
from tether.sessions.summary import fork_summary
from tether.testing._conformance_kit import (
    SUMMARY_FIELDS,
    CheckList,
    Harness,
    Skip,
    expect,
    expect_raises,
    leaf_of,
    make_turns,
    store_capabilities,
)

__all__ = ["CHECKS"]

CHECKS = CheckList()
_check = CHECKS.register


@_check("find: where a session lives, its leaf and summary", "find")
async def _find(h: Harness) -> None:
    store = await h.store()
    key = h.key(project=h.project + "-elsewhere")
    entries = make_turns(key["session_id"], 3)
    await store.append(key, [*entries, make_meta_entry("tag", session_id=key["session_id"], tag="t")])
    found = await store.find(key["session_id"])
    expect(found is not None, "find", "find does not know a stored session")
    expect(found.key == key, "find", f"find returned the key {found.key!r}, expected {key!r}")
    expect(found.leaf == leaf_of(entries), "find leaf", f"leaf is {found.leaf!r}, expected the last uuid entry")
    expect(found.summary.get("message_count") == 3, "find summary", f"summary is {found.summary!r}")
    expect(found.forked_from is None, "find", "an original session reports forked_from")
    expect(await store.find(str(uuid_module.uuid4())) is None, "find", "find of an unknown id is not None")
    sid = key["session_id"]
    newer = h.key(sid, project=h.project + "-newer")
    await store.append(newer, make_turns(sid, 1, label="newer"))
    contract = "find: the given project's session, else the newest"
    expect((await store.find(sid)).key == newer, contract, "find(id) is not the most recently updated match")
    expect((await store.find(sid, project_key=key["project_key"])).key == key, contract, "the project is not preferred")
    expect((await store.find(sid, project_key="-nowhere")).key == newer, contract, "an unknown project is preferred")
    await store.append(key, make_turns(sid, 1, parent=leaf_of(entries), label="later"))
    expect((await store.find(sid)).key == key, contract, "an append does not make a session the newest match")


@_check("expected_leaf: optimistic concurrency and NO_LEAF", "expected_leaf")
async def _expected_leaf(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    first = make_turns(sid, 2)
    await store.append(key, first, expected_leaf=NO_LEAF)
    await expect_raises(
        SessionConflictError,
        "NO_LEAF on an existing session conflicts",
        lambda: store.append(key, make_turns(sid, 1), expected_leaf=NO_LEAF),
        "append(expected_leaf=NO_LEAF) to a session with entries",
    )
    second = make_turns(sid, 2, parent=leaf_of(first), label="second")
    await store.append(key, second, expected_leaf=leaf_of(first))
    stale = leaf_of(first)
    before = await store.load(key)
    summary_before = (await store.find(sid)).summary if "find" in store_capabilities(store) else None
    error = await expect_raises(
        SessionConflictError,
        "a stale expected_leaf conflicts",
        lambda: store.append(key, make_turns(sid, 2, parent=stale, label="lost"), expected_leaf=stale),
        "append with a stale expected_leaf",
    )
    expect(
        isinstance(error, SessionConflictError) and error.actual_leaf == leaf_of(second),
        "SessionConflictError carries the actual leaf",
        f"the error is {error!r}",
    )
    expect(await store.load(key) == before, "a conflicting append writes nothing", "entries were written")
    if summary_before is not None:
        expect(
            (await store.find(sid)).summary == summary_before,
            "a conflicting append writes nothing",
            "the summary changed",
        )
    meta = [make_meta_entry("tag", session_id=sid, tag="t")]
    await store.append(key, meta, expected_leaf=leaf_of(second))
    side = make_entry(
        "user", {"role": "user", "content": "side"}, session_id=sid, parent_uuid=None, cwd="/c", isSidechain=True
    )
    await store.append(key, [side], expected_leaf=leaf_of(second))
    third = make_turns(sid, 1, parent=leaf_of(second), label="third")
    await store.append(key, third, expected_leaf=leaf_of(second))  # metadata and sidechains are not leaves
    await store.append(key, [], expected_leaf=leaf_of(third))
    await expect_raises(
        SessionConflictError,
        "append([]) still checks expected_leaf",
        lambda: store.append(key, [], expected_leaf=stale),
        "append([], expected_leaf=<stale>)",
    )
    missing = h.key()
    await expect_raises(
        SessionConflictError,
        "expected_leaf on a missing session conflicts",
        lambda: store.append(missing, make_turns(missing["session_id"], 1), expected_leaf=stale),
        "append with an expected_leaf to a session that does not exist",
    )
    expect(await store.load(missing) is None, "a conflicting append writes nothing", "a session was created")


@_check("concurrent appends with one expected_leaf: exactly one wins", "expected_leaf")
async def _race(h: Harness) -> None:
    stores = [await h.store() for _ in range(2)]
    key = h.key()
    sid = key["session_id"]
    base = make_turns(sid, 1)
    await stores[0].append(key, base)
    outcomes: list[str] = []

    async def contender(index: int) -> None:
        entries = make_turns(sid, 2, parent=leaf_of(base), label=f"writer{index}")
        try:
            await stores[index % 2].append(key, entries, expected_leaf=leaf_of(base))
            outcomes.append(f"won:{entries[-1]['uuid']}")
        except SessionConflictError:
            outcomes.append("conflict")

    async with anyio.create_task_group() as group:
        for index in range(6):
            group.start_soon(contender, index)
    winners = [o for o in outcomes if o.startswith("won:")]
    expect(len(winners) == 1, "exactly one concurrent writer wins", f"outcomes: {outcomes!r}")
    loaded = await stores[1].load(key)
    assert loaded is not None
    expect(len(loaded) == 3, "losers write nothing", f"{len(loaded)} entries after the race, expected 3")
    expect(
        loaded[-1]["uuid"] == winners[0][4:], "the winner's entries are stored", "the stored leaf is not the winner's"
    )


@_check("load_tail: the last entries of the view", "load_tail", "fork")
async def _load_tail(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 10)
    await store.append(key, entries)
    expect(await store.load_tail(key, 3) == entries[-3:], "load_tail", "load_tail(3) is not the last 3 entries")
    expect(await store.load_tail(key, 50) == entries, "load_tail", "load_tail beyond the length is not everything")
    expect(await store.load_tail(key, 0) == [], "load_tail", "load_tail(0) is not []")
    expect(await store.load_tail(h.key(), 5) is None, "load_tail", "load_tail of an unknown key is not None")
    fork = h.key()
    await store.fork(key, fork)
    more = make_turns(fork["session_id"], 2, parent=leaf_of(entries), label="fork")
    await store.append(fork, more)
    tail = await store.load_tail(fork, 5)
    expect(tail == [*entries[-3:], *more], "load_tail across a fork", "the tail of a fork is wrong")


@_check("load_texts: the view undecoded, and the stored leaf", "load_texts", "fork")
async def _load_texts(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 4)
    await store.append(key, entries)
    fork = h.key()
    await store.fork(key, fork)
    more = make_turns(fork["session_id"], 2, parent=leaf_of(entries), label="fork")
    await store.append(fork, more)
    for which in (key, fork):
        stored = await store.load_texts(which)
        loaded = await store.load(which)
        expect(
            stored is not None and [json.loads(text) for text in stored.texts] == loaded,
            "load_texts",
            "load_texts is not load's entries as JSON texts",
        )
        expect(stored is not None and stored.leaf == leaf_of(loaded or []), "load_texts", "the leaf is not load's")
    expect(await store.load_texts(h.key()) is None, "load_texts", "load_texts of an unknown key is not None")


@_check("swap_lease takes a free lease, refuses a live one, hands over a lapsed one", "swap_lease")
async def _swap_lease(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    await store.append(key, make_turns(key["session_id"], 2))
    now = 1_000_000
    expect(await store.swap_lease(key, "a", now + 500, now_ms=now) is None, "swap_lease", "a free lease was refused")
    held = await store.swap_lease(key, "b", now + 900, now_ms=now + 1)
    expect(held == ("a", now + 500), "swap_lease", f"a live lease was not refused with its holder: {held!r}")
    expect(await store.swap_lease(key, "a", now + 800, now_ms=now + 2) is None, "swap_lease", "its owner cannot renew")
    took = await store.swap_lease(key, "c", now + 900, now_ms=now + 3, take_from="a")
    expect(took is None, "swap_lease", "take_from did not hand the lease over")
    expect(
        await store.swap_lease(key, "d", now + 2000, now_ms=now + 901) is None, "swap_lease", "a lapsed lease stayed"
    )
    other = h.key()
    await store.append(other, make_turns(other["session_id"], 2))
    expect(
        await store.swap_lease(other, "e", now + 2000, now_ms=now + 902) is None,
        "swap_lease",
        "leases are not per session",
    )
    expect(await store.swap_lease(key, "d", 0, now_ms=now + 903) is None, "swap_lease", "its owner cannot release")
    expect(
        await store.swap_lease(key, "f", now + 3000, now_ms=now + 904) is None, "swap_lease", "a released lease stayed"
    )


@_check("read_lease shows the stored holder, live or not, and writes nothing", "read_lease", "swap_lease")
async def _read_lease(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    await store.append(key, make_turns(key["session_id"], 2))
    now = 2_000_000
    expect(await store.read_lease(key) is None, "read_lease", "a session never leased shows a holder")
    await store.swap_lease(key, "a", now + 500, now_ms=now)
    expect(await store.read_lease(key) == ("a", now + 500), "read_lease", "the live holder is not shown")
    await store.swap_lease(key, "a", 0, now_ms=now + 1)
    expect(await store.read_lease(key) == ("a", 0), "read_lease", "a released lease is not shown as stored")
    expect(await store.swap_lease(key, "b", now + 900, now_ms=now + 2) is None, "read_lease", "reading kept the lease")


@_check("fork shares history and is independent afterwards", "fork", "find")
async def _fork(h: Harness) -> None:
    store = await h.store()
    source = h.key()
    history = make_turns(source["session_id"], 4)
    await store.append(source, history)
    source_before = await store.find(source["session_id"])
    fork = h.key(project=h.project + "-fork")
    await store.fork(source, fork)
    expect(await store.load(fork) == history, "fork shares history", "the fork does not load the source's history")
    found = await store.find(fork["session_id"])
    expect(found is not None and found.key == fork, "fork", "find does not locate the fork under its own key")
    expect(found.leaf == leaf_of(history), "fork leaf", f"the fork's leaf is {found.leaf!r}")
    expect(
        found.forked_from == {"sessionId": source["session_id"], "messageUuid": leaf_of(history)},
        "forked_from in the fork's summary",
        f"forked_from is {found.forked_from!r}",
    )
    on_source = make_turns(source["session_id"], 2, parent=leaf_of(history), label="source")
    on_fork = make_turns(fork["session_id"], 2, parent=leaf_of(history), label="fork")
    await store.append(fork, on_fork, expected_leaf=leaf_of(history))
    expect(await store.load(source) == history, "fork leaves the source unchanged", "a fork append shows in the source")
    after = await store.find(source["session_id"])
    expect(after.leaf == source_before.leaf, "fork leaves the source unchanged", "the source's leaf moved")
    await store.append(source, on_source, expected_leaf=leaf_of(history))
    expect(await store.load(fork) == history + on_fork, "fork is independent", "a source append shows in the fork")
    expect(await store.load(source) == history + on_source, "fork is independent", "the source lost entries")
    grandchild = h.key()
    await store.fork(fork, grandchild)
    expect(await store.load(grandchild) == history + on_fork, "fork of a fork", "a fork of a fork loads wrongly")
    summary = (await store.find(fork["session_id"])).summary
    expect(summary.get("message_count") == 6, "fork summary message_count", f"message_count is {summary!r}")


@_check("fork at a message uuid", "fork", "find")
async def _fork_at(h: Harness) -> None:
    store = await h.store()
    source = h.key()
    sid = source["session_id"]
    history = make_turns(sid, 6)
    history.insert(3, make_meta_entry("custom-title", session_id=sid, customTitle="Source"))
    await store.append(source, history)
    cut = history[2]["uuid"]
    fork = h.key()
    await store.fork(source, fork, cut)
    expect(await store.load(fork) == history[:3], "fork at_uuid is inclusive", "the fork's view is not cut at at_uuid")
    found = await store.find(fork["session_id"])
    expect(found.leaf == cut, "fork at_uuid leaf", f"the fork's leaf is {found.leaf!r}, expected {cut!r}")
    expected = fork_summary(
        (await store.find(sid)).summary, forked_from={"sessionId": sid, "messageUuid": cut}, message_count=3
    )
    for name in SUMMARY_FIELDS:
        expect(
            found.summary.get(name) == expected.get(name),
            "fork summary from fork_summary",
            f"{name} is {found.summary.get(name)!r}, expected {expected.get(name)!r}",
        )
    deeper = h.key()
    await store.fork(fork, deeper, history[0]["uuid"])
    expect(await store.load(deeper) == history[:1], "fork of a fork at an inherited uuid", "wrong view")
    more = make_turns(deeper["session_id"], 1, parent=history[0]["uuid"], label="deeper")
    await store.append(deeper, more, expected_leaf=history[0]["uuid"])
    expect(await store.load(deeper) == [history[0], *more], "fork of a fork is independent", "wrong view")
    expect(await store.load(fork) == history[:3], "fork of a fork is independent", "the middle fork changed")


@_check("fork errors write nothing", "fork")
async def _fork_errors(h: Harness) -> None:
    store = await h.store()
    source, other = h.key(), h.key()
    history = make_turns(source["session_id"], 2)
    await store.append(source, history)
    await store.append(other, make_turns(other["session_id"], 1))
    target = h.key()
    await expect_raises(
        SessionNotFoundError, "fork of an unknown session", lambda: store.fork(h.key(), target), "fork(unknown)"
    )
    await expect_raises(
        SessionExistsError, "fork onto a taken id", lambda: store.fork(source, other), "fork onto an existing session"
    )
    elsewhere = h.key(other["session_id"], project=h.project + "-x")
    await store.fork(source, elsewhere)
    expect(await store.load(elsewhere) == history, "fork onto an id of another project", "the fork loads wrongly")
    expect(len(await store.load(other) or []) == 1, "fork onto an id of another project", "it changed that session")
    await expect_raises(
        EntryNotFoundError,
        "fork at an unknown uuid",
        lambda: store.fork(source, target, str(uuid_module.uuid4())),
        "fork(at_uuid=<unknown>)",
    )
    expect(await store.load(target) is None, "fork errors write nothing", "a failed fork created the target")
    expect(await store.load(source) == history, "fork errors write nothing", "a failed fork changed the source")


@_check("delete keeps every fork whole", "fork", "delete")
async def _delete_forks(h: Harness) -> None:
    store = await h.store()
    a = h.key()
    history = make_turns(a["session_id"], 6)
    await store.append(a, history)
    b, c, d = h.key(), h.key(), h.key()
    await store.fork(a, b, history[3]["uuid"])
    b_more = make_turns(b["session_id"], 2, parent=history[3]["uuid"], label="b")
    await store.append(b, b_more)
    await store.fork(b, c, b_more[0]["uuid"])
    c_more = make_turns(c["session_id"], 2, parent=b_more[0]["uuid"], label="c")
    await store.append(c, c_more)
    await store.fork(a, d, history[1]["uuid"])
    await store.append(a, make_turns(a["session_id"], 2, parent=leaf_of(history), label="a"))
    expected_b, expected_c = history[:4] + b_more, history[:4] + b_more[:1] + c_more
    await store.delete(a)
    expect(await store.load(a) is None, "delete", "the deleted source still loads")
    expect(await store.load(b) == expected_b, "delete keeps forks whole", "a fork lost history with its source")
    expect(await store.load(c) == expected_c, "delete keeps forks whole", "a fork of a fork lost history")
    expect(await store.load(d) == history[:2], "delete keeps forks whole", "an early fork lost history")
    if "load_tail" in store_capabilities(store):
        expect(await store.load_tail(c, 4) == expected_c[-4:], "delete keeps forks whole", "load_tail is wrong")
    await store.delete(b)
    expect(await store.load(c) == expected_c, "delete keeps forks whole", "deleting the middle fork broke its fork")
    e = h.key()
    await store.fork(c, e, history[2]["uuid"])
    expect(await store.load(e) == history[:3], "fork of a fork whose ancestors are deleted", "wrong view")
    await store.delete(c)
    expect(await store.load(e) == history[:3], "delete keeps forks whole", "the last fork lost history")
    expect(await store.load(d) == history[:2], "delete keeps forks whole", "an early fork lost history")
    await store.delete(e)
    await store.delete(d)
    reborn = make_turns(a["session_id"], 1, label="reborn")
    await store.append(a, reborn)
    expect(await store.load(a) == reborn, "a deleted id can be used again", "the new session inherited entries")


@_check("list_page: newest first with cursor pagination", "list_page", "list_sessions")
async def _list_page(h: Harness) -> None:
    scope = h.scope("pages") if h.scopes else None
    store = await h.store(scope)
    keys = [h.key() for _ in range(7)]
    for key in keys:
        await store.append(key, make_turns(key["session_id"], 1))
    expected = [k["session_id"] for k in reversed(keys)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await store.list_page(h.project, limit=3, cursor=cursor)
        expect(len(page.items) <= 3, "list_page limit", f"a page of {len(page.items)} items for limit=3")
        seen.extend(item["session_id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    expect(seen == expected, "list_page newest first across pages", f"pages gave {seen!r}, expected {expected!r}")
    listed = [s["session_id"] for s in await store.list_sessions(h.project)]
    expect(listed == expected, "list_page agrees with list_sessions", "the two orders differ")
    first = await store.list_page(h.project, limit=7)
    expect(first.next_cursor is None, "list_page last page", "a complete page still has a next_cursor")
    item = first.items[0]
    expect(
        item["data"].get("message_count") == 1 and item.get("project_key", h.project) == h.project,
        "list_page items are summaries",
        f"item is {item!r}",
    )
    if scope is not None:
        other = h.key(project=h.project + "-other")
        await store.append(other, make_turns(other["session_id"], 1))
        everything = await store.list_page(None, limit=100)
        ids = [i["session_id"] for i in everything.items]
        expect(ids == [other["session_id"], *expected], "list_page(None) lists every project", f"got {ids!r}")


@_check("scope isolation for read, list, fork, delete and find", "find", "fork", "delete", "list_page")
async def _scopes(h: Harness) -> None:
    if not h.scopes:
        raise Skip("the store was run with scopes=False")
    scope_a, scope_b = h.scope("a"), h.scope("b")
    store_a, store_b, default = await h.store(scope_a), await h.store(scope_b), await h.store(None)
    key = h.key()
    sid = key["session_id"]
    entries = make_turns(sid, 3)
    await store_a.append(key, entries)
    await store_a.append(h.key(sid, subpath="subagents/x"), make_turns(sid, 1))
    for name, other in (("another scope", store_b), ("the default scope", default)):
        contract = f"scope isolation ({name})"
        expect(await other.load(key) is None, contract, "a session of scope a loads")
        expect(await other.find(sid) is None, contract, "find sees a session of scope a")
        caps = store_capabilities(other)
        if "load_tail" in caps:
            expect(await other.load_tail(key, 2) is None, contract, "load_tail sees scope a")
        if "list_sessions" in caps:
            expect(await other.list_sessions(h.project) == [], contract, "list_sessions shows scope a")
        if "list_session_summaries" in caps:
            expect(await other.list_session_summaries(h.project) == [], contract, "summaries show scope a")
        expect((await other.list_page(h.project)).items == [], contract, "list_page shows scope a")
        if "list_subkeys" in caps:
            expect(
                await other.list_subkeys({"project_key": h.project, "session_id": sid}) == [],
                contract,
                "list_subkeys shows scope a",
            )
        await expect_raises(
            SessionNotFoundError, contract, partial(other.fork, key, h.key()), "fork from another scope"
        )
        await other.delete(key)
    expect(await store_a.load(key) == entries, "scope isolation", "a delete from another scope removed the session")
    everything = await store_b.list_page(None)
    expect(everything.items == [], "scope isolation", "list_page(None) of scope b shows other scopes")
    mine = make_turns(sid, 1, label="b")
    await store_b.append(key, mine, expected_leaf=NO_LEAF)
    expect(await store_b.load(key) == mine, "scopes are separate namespaces", "scope b cannot use the same id")
    expect(await store_a.load(key) == entries, "scope isolation", "an append in scope b changed scope a")
    await store_b.delete(key)
    expect(await store_a.load(key) == entries, "scope isolation", "a delete in scope b removed scope a's session")


@_check("unicode, numbers of any size and 1 MB entries round-trip exactly", "load_tail")
async def _unicode(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    sid = key["session_id"]
    text = "héllo wörld · 你好 · 🎉🧵 · עברית · e\u0301 · \u0000\u001f\u007f \u2028 \ufeff · lone \ud83d"
    entries = make_turns(sid, 2)
    entries[0]["message"]["content"] = text
    entries[1]["ключ ✓"] = {"emoji 🎉": [text, "\\", '"quoted"']}
    entries[1]["numbers"] = [2**70 + 1, -(2**64) - 1, 2**63, 0.1, 1e300, 5e-324, 1.0, True, None]
    big = make_entry(
        "user",
        {"role": "user", "content": ("x" * 1023 + "é") * 1024},
        session_id=sid,
        parent_uuid=leaf_of(entries),
        cwd="/conformance",
    )
    entries.append(big)
    await store.append(key, entries)
    loaded = await store.load(key)
    expect(loaded == entries, "unicode and 1 MB entries", "the entries did not come back identical")
    expect(await store.load_tail(key, 1) == [big], "unicode and 1 MB entries", "load_tail of a 1 MB entry")


@_check("refused session ids raise InvalidSessionIdError and write nothing")
async def _bad_ids(h: Harness) -> None:
    store = await h.store()
    good = h.key()
    await store.append(good, make_turns(good["session_id"], 1))
    bad_ids: list[Any] = ["../x", "a/b", "a\\b", "", "..", "abc\x00", "a\nb", "\tab", "x" * 129, " spaced", 42, None]
    caps = store_capabilities(store)
    for bad in bad_ids:
        key: Any = {"project_key": h.project, "session_id": bad}
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("append", partial(store.append, key, make_turns("x", 1))),
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
            await expect_raises(InvalidSessionIdError, "refused session ids", call, f"{name} with id {bad!r}")
    if "list_sessions" in caps:
        ids = [s["session_id"] for s in await store.list_sessions(h.project)]
        expect(ids == [good["session_id"]], "refused session ids write nothing", f"the project lists {ids!r}")


@_check("entries that are not JSON objects are refused and write nothing")
async def _bad_entries(h: Harness) -> None:
    store = await h.store()
    key = h.key()
    entries = make_turns(key["session_id"], 2)
    await store.append(key, entries)
    for bad in (["not a dict"], [make_turns(key["session_id"], 1)[0], {"value": object()}]):
        try:
            await store.append(key, bad)
        except (TypeError, ValueError, StoreError):  # the refusals `tether.sessions.store` documents
            pass
        else:
            raise AssertionError("[bad entries are refused] an entry that is not a JSON object was accepted")
    expect(await store.load(key) == entries, "bad entries write nothing", "a refused append wrote some entries")
