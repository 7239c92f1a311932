"""The browser's pages over a SQLite store of real sessions: list, transcript, tree, diff, errors."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import anyio
from starlette.testclient import TestClient
from tests.ui.support import TOKEN, Made

from tether.sessions.capabilities import store_access
from tether.sessions.stores.sqlite import SQLiteStore
from tether.ui import create_app


def row_ids(html: str) -> list[str]:
    return re.findall(r'class="session-row" data-session="([^"]+)"', html)


def test_the_list_shows_every_session_newest_first_with_its_facts(client: TestClient, made: Made) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert row_ids(page.text) == [made.plain, made.fork, made.main]
    assert "Create notes.txt with two lines" in page.text
    assert "Other way" in page.text and "fork</span>" in page.text
    assert "scripted-model" in page.text  # the model
    assert '<span class="tag">demo</span>' in page.text


def test_search_looks_in_titles_first_prompts_tags_and_directories(client: TestClient, made: Made) -> None:
    assert row_ids(client.get("/?q=notes.txt").text) == [made.fork, made.main]  # the first prompt (a fork's too)
    assert row_ids(client.get("/?q=other+way").text) == [made.fork]  # the fork's title
    assert row_ids(client.get("/?q=demo").text) == [made.plain]  # a tag
    assert set(row_ids(client.get("/?q=work").text)) == {made.main, made.fork, made.plain}  # the cwd
    assert row_ids(client.get("/?q=nowhere-to-be-found").text) == []
    assert "No sessions match" in client.get("/?q=nowhere-to-be-found").text


def test_filters_by_tag_model_and_forks(client: TestClient, made: Made) -> None:
    assert row_ids(client.get("/?tag=demo").text) == [made.plain]
    assert row_ids(client.get("/?forks=1").text) == [made.fork]
    assert row_ids(client.get("/?model=no-such-model").text) == []
    assert len(row_ids(client.get("/?model=scripted").text)) == 3


def test_htmx_search_gets_only_the_rows(client: TestClient, made: Made) -> None:
    fragment = client.get("/?q=demo", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and row_ids(fragment) == [made.plain]


def test_paging_walks_every_session_once(sqlite_store: SQLiteStore, made: Made, tmp_path: Path) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=["testserver"])
    from tether.ui.data import Browser, ListFilters

    async def pages(filters: ListFilters) -> list[list[str]]:
        browser, cursor, seen = Browser(store_access(sqlite_store)), None, []
        while True:
            page = await browser.list_page(filters, cursor, limit=2)
            seen.append([row.info.session_id for row in page.rows])
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    assert anyio.run(pages, ListFilters()) == [[made.plain, made.fork], [made.main]]
    assert anyio.run(pages, ListFilters(q="a")) == [[made.plain, made.fork], [made.main]]
    with TestClient(app) as fresh:
        first = fresh.get(f"/?token={TOKEN}").text
        assert 'id="next-page"' not in first  # three sessions fit one page of 50


def test_a_transcript_folds_tools_shows_edits_as_diffs_and_folds_thinking(client: TestClient, made: Made) -> None:
    html = client.get(f"/s/{made.main}").text
    assert '<details class="tool" data-tool="Write">' in html
    assert '<span class="add">+alpha</span>' in html  # Write: every line added
    edit = html[html.index('data-tool="Edit"') :]
    assert '<span class="del">-beta</span>' in edit and '<span class="add">+gamma</span>' in edit
    assert edit.index('<div class="result-label">result</div>') < edit.index("</details>")  # its result, folded in
    assert '<details class="thinking"><summary>thinking</summary><pre>the file looks right</pre>' in html
    assert "compacted (manual)" in html
    assert html.count('class="turn-end"') == 3  # each turn's end, with its usage
    assert re.search(
        r"turn ended · [\d.]+ s · cost \$0\.0126 · session total \$0\.0126 · \d+ in / \d+ out tokens", html
    )
    assert "cost $0.0031 · session total $0.0157" in html  # the last turn: its own cost, the running total
    assert "idle (no turn running)" in html


def test_the_fork_tree_links_every_branch_and_diffs_them(client: TestClient, made: Made) -> None:
    for session in (made.main, made.fork):
        html = client.get(f"/s/{session}").text
        tree = html[html.index('id="tree"') :]
        assert f'href="/s/{made.main}"' in tree and f'href="/s/{made.fork}"' in tree
        assert f'href="/s/{made.plain}"' not in tree
    diff = client.get(f"/diff?a={made.main}&b={made.fork}")
    assert diff.status_code == 200
    assert "They share 1 entry," in diff.text  # the prompt: the fork was cut after the Write call, before its result
    left, right = diff.text.split('<div class="columns">')[1].split("</section>")[:2]
    assert "Create notes.txt" not in left + right  # what they share is not repeated
    assert 'data-tool="Write"' in left and 'data-tool="Write"' in right  # each result with its call
    assert 'data-tool="Edit"' in left and "Nothing else." in left and "The other way." not in left
    assert "The other way." in right and 'details class="tool failed" data-tool="Write"' in right


def test_an_unknown_or_malformed_id_is_a_404_page(client: TestClient) -> None:
    unknown = client.get("/s/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and "Not found" in unknown.text and "<html" in unknown.text
    assert client.get("/s/not a session id").status_code == 404
    assert client.get("/diff?a=00000000-0000-4000-8000-000000000000&b=x").status_code == 404
    assert client.get("/no/such/page").status_code == 404


def test_a_damaged_session_is_shown_as_damaged_and_the_others_still_list(
    client: TestClient, made: Made, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        node_id, length = db.execute(
            "SELECT id, length FROM tether_sessions WHERE session_id = ? AND subpath = ''", (made.plain,)
        ).fetchone()
        db.execute("INSERT INTO tether_entries (id, data) VALUES (?, ?)", ((node_id << 32) + length, "not json {"))
        db.execute("UPDATE tether_sessions SET length = ? WHERE id = ?", (length + 1, node_id))
        db.execute("UPDATE tether_sessions SET summary = '{not json' WHERE session_id = ?", (made.fork,))
    page = client.get(f"/s/{made.plain}")
    assert page.status_code == 200
    assert 'id="damaged"' in page.text and "unreadable" in page.text
    assert "hi" in page.text  # what could be read is shown
    listing = client.get("/")
    assert listing.status_code == 200 and made.main in row_ids(listing.text)


def test_a_held_lease_shows_its_owner_and_reading_it_takes_nothing(
    client: TestClient, made: Made, sqlite_store: SQLiteStore
) -> None:
    from tether.sessions.lease import SessionLease

    async def hold() -> SessionLease:
        access = store_access(sqlite_store)
        found = await access.locate(made.plain)
        lease = SessionLease(access, found.key)
        await lease.acquire()
        assert lease.held
        return lease

    lease = anyio.run(hold)
    html = client.get(f"/s/{made.plain}").text
    assert f"running · lease held by {lease.owner}" in html
    anyio.run(lease.release)
    assert "idle (no turn running)" in client.get(f"/s/{made.plain}").text

    async def stored_holder() -> tuple[str, int] | None:
        access = store_access(sqlite_store)
        return await access.read_lease((await access.locate(made.plain)).key)

    assert anyio.run(stored_holder) == (lease.owner, 0)  # the page wrote nothing: the released record stays
    again = anyio.run(hold)  # the page's reads left the lease free for the next turn
    anyio.run(again.release)


def test_on_a_store_without_its_own_lease_the_page_reads_the_chain_and_writes_nothing(tmp_path: Path) -> None:
    from tether import AgentOptions
    from tether.sessions.lease import SessionLease
    from tether.sessions.stores.jsonl import JsonlStore
    from tether.testing import ScriptedModel, run_query

    store = JsonlStore(tmp_path / "claude")
    run = anyio.run(lambda: run_query("Hi", AgentOptions(model=ScriptedModel(["Hello."]), session_store=store)))
    access = store_access(store)
    assert not access.can("swap_lease")

    async def chain_length() -> int:
        found = await access.locate(run.session_id)
        key = {**found.key, "subpath": "tether/lease"}
        return len(await access.load(key) or [])  # type: ignore[arg-type]

    before = anyio.run(chain_length)
    app = create_app(store, token=TOKEN, hosts=["testserver"])
    with TestClient(app) as fresh:
        assert "idle (no turn running)" in fresh.get(f"/s/{run.session_id}?token={TOKEN}").text

        async def hold() -> SessionLease:
            lease = SessionLease(access, (await access.locate(run.session_id)).key)
            await lease.acquire()
            assert lease.held
            return lease

        lease = anyio.run(hold)
        held = anyio.run(chain_length)
        assert f"lease held by {lease.owner}" in fresh.get(f"/s/{run.session_id}").text
        assert anyio.run(chain_length) == held  # reading wrote nothing
        anyio.run(lease.release)
    assert held > before


def test_a_turn_that_failed_says_so_where_it_ended(client: TestClient, made: Made, sqlite_store: SQLiteStore) -> None:
    from tether import AgentOptions
    from tether.errors import ModelError
    from tether.testing import ScriptedModel, run_query

    failing = ScriptedModel([ModelError("the provider is down")])
    options = AgentOptions(model=failing, session_store=sqlite_store, resume=made.plain)
    run = anyio.run(lambda: run_query("Try again", options))
    assert run.result.is_error
    html = client.get(f"/s/{made.plain}").text
    assert '<div class="turn-end failed">turn ended with an error: ' in html
    assert "the provider is down" in html.split('class="turn-end failed"')[1]


def test_a_cursor_the_store_did_not_give_is_said_on_the_page(client: TestClient) -> None:
    page = client.get("/?cursor=not-a-cursor")
    assert page.status_code == 200
    assert 'id="list-error"' in page.text and "invalid list_page cursor" in page.text
