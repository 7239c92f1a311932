"""The browser's actions: rename, tag, fork at a message, export to Claude Code, delete, run."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from starlette.testclient import TestClient
from tests.ui.support import HOSTS, TOKEN, Made

from tether.sessions.helpers import get_session_info_async, get_session_messages_async
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, override_model
from tether.ui import create_app


def info(store: SQLiteStore, session_id: str):  # type: ignore[no-untyped-def]
    return anyio.run(lambda: get_session_info_async(session_id, store=store))


def test_rename_and_tag_write_entries_and_redirect_to_the_session(
    client: TestClient, made: Made, sqlite_store: SQLiteStore
) -> None:
    renamed = client.post(f"/s/{made.main}/rename", data={"title": "  Notes work  ", "csrf": TOKEN})
    assert renamed.status_code == 303 and renamed.headers["location"] == f"/s/{made.main}"
    assert info(sqlite_store, made.main).title == "Notes work"
    assert client.post(f"/s/{made.main}/tag", data={"tag": "keep", "csrf": TOKEN}).status_code == 303
    assert info(sqlite_store, made.main).tag == "keep"
    assert client.post(f"/s/{made.main}/tag", data={"tag": "", "csrf": TOKEN}).status_code == 303
    assert info(sqlite_store, made.main).tag is None
    page = client.get(f"/s/{made.main}").text
    assert '<h1 id="session-title">Notes work</h1>' in page


def test_an_empty_title_is_refused_with_a_page_saying_why(client: TestClient, made: Made) -> None:
    response = client.post(f"/s/{made.main}/rename", data={"title": "   ", "csrf": TOKEN})
    assert response.status_code == 400 and "title must be non-empty" in response.text


def test_fork_at_a_message_makes_a_session_with_the_history_up_to_it(
    client: TestClient, made: Made, sqlite_store: SQLiteStore
) -> None:
    response = client.post(f"/s/{made.main}/fork", data={"at": made.edit_uuid, "csrf": TOKEN})
    assert response.status_code == 303
    new_id = response.headers["location"].removeprefix("/s/")
    assert new_id not in (made.main, made.fork)
    messages = anyio.run(lambda: get_session_messages_async(new_id, store=sqlite_store))
    assert messages[-1].uuid == made.edit_uuid
    assert info(sqlite_store, new_id).forked_from == {"sessionId": made.main, "messageUuid": made.edit_uuid}
    tree = client.get(f"/s/{new_id}").text
    assert f'href="/s/{made.main}"' in tree


def test_export_writes_a_claude_code_transcript(client: TestClient, made: Made, tmp_path: Path) -> None:
    response = client.post(f"/s/{made.plain}/export", data={"csrf": TOKEN})
    assert response.status_code == 200 and f"claude --resume {made.plain}" in response.text
    [written] = (tmp_path / "claude" / "projects").rglob(f"{made.plain}.jsonl")
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert any(line.get("type") == "user" for line in lines)


def test_delete_asks_first_then_deletes_and_the_fork_keeps_its_history(
    client: TestClient, made: Made, sqlite_store: SQLiteStore
) -> None:
    confirm = client.get(f"/s/{made.main}/delete")
    assert confirm.status_code == 200 and "Delete this session?" in confirm.text
    assert info(sqlite_store, made.main).session_id == made.main  # asking deleted nothing
    deleted = client.post(f"/s/{made.main}/delete", data={"csrf": TOKEN})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/"
    assert client.get(f"/s/{made.main}").status_code == 404
    fork_page = client.get(f"/s/{made.fork}")
    assert fork_page.status_code == 200 and "Create notes.txt with two lines" in fork_page.text
    assert "which no longer exists" in fork_page.text


def test_running_a_prompt_needs_the_allow_run_flag(client: TestClient, made: Made) -> None:
    page = client.get(f"/s/{made.main}").text
    assert 'id="run-form"' not in page
    response = client.post(f"/s/{made.main}/run", data={"prompt": "hello", "csrf": TOKEN})
    assert response.status_code == 403 and "--allow-run" in response.text


def test_with_allow_run_a_prompt_runs_a_turn_of_the_session(
    sqlite_store: SQLiteStore, made: Made, tmp_path: Path
) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=HOSTS, allow_run=True)
    with override_model(ScriptedModel(["Ran from the page."]), session_store=sqlite_store):
        with TestClient(app, follow_redirects=False) as runner:
            runner.get(f"/?token={TOKEN}")
            assert 'id="run-form"' in runner.get(f"/s/{made.plain}").text
            response = runner.post(f"/s/{made.plain}/run", data={"prompt": "Run this", "csrf": TOKEN})
            assert response.status_code == 303
            for _ in range(200):
                if "Ran from the page." in runner.get(f"/s/{made.plain}").text:
                    break
                anyio.run(anyio.sleep, 0.05)
            page = runner.get(f"/s/{made.plain}").text
    assert "Run this" in page and "Ran from the page." in page
