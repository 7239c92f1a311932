"""`tether sessions ...`: list, show, tree, rename, tag, rm, export, import, prune."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import anyio
from tests.cli.clirun import Tether

from tether.sessions.helpers import fork_session, get_session_info, get_session_messages, list_sessions
from tether.sessions.stores.jsonl import JsonlStore
from tether.testing import tool_use_reply


def start(tether: Tether, store: Any, project: Path, prompt: str, replies: list[Any], *more: str) -> str:
    run = tether("-p", prompt, "--output-format", "json", "--cwd", str(project), *more, replies=replies, store=store)
    assert run.code == 0, run.err
    return str(run.json()["session_id"])


def test_list_shows_sessions_newest_first(tether: Tether, cli_store: Any, project: Path) -> None:
    first = start(tether, cli_store, project, "first question", ["a"])
    second = start(tether, cli_store, project, "second question", ["b"])
    listed = tether("sessions", "list", "--json", store=cli_store).json()
    assert [item["session_id"] for item in listed] == [second, first]
    assert listed[0]["summary"] == "second question" and listed[0]["message_count"] == 2
    assert [i["session_id"] for i in tether("sessions", "list", "--json", "-n", "1", store=cli_store).json()] == [
        second
    ]
    table = tether("sessions", "list", store=cli_store)
    assert table.code == 0 and first in table.out and "second question" in table.out
    assert tether("sessions", "list", "--directory", str(project / ".."), store=cli_store).out.strip() == (
        "No sessions."
    )


def test_show_renders_the_transcript_with_tool_calls_folded(tether: Tether, cli_store: Any, project: Path) -> None:
    replies = [tool_use_reply("Lookup", {"query": "weather in Paris"}, text="Let me check."), "It is sunny."]
    session_id = start(tether, cli_store, project, "Weather in Paris?", replies)
    shown = tether("sessions", "show", session_id[:8], store=cli_store)
    assert shown.code == 0, shown.err
    out = shown.out
    assert "Weather in Paris?" in out and "Let me check." in out and "It is sunny." in out
    assert "⚙ Lookup(query='weather in Paris')" in out
    assert "↳" in out  # the result, folded to one line
    assert out.index("Weather in Paris?") < out.index("⚙ Lookup") < out.index("↳") < out.index("It is sunny.")
    as_json = tether("sessions", "show", session_id, "--json", store=cli_store).json()
    assert [m["type"] for m in as_json] == ["user", "assistant", "user", "assistant"]
    full = tether("sessions", "show", session_id, "--full", store=cli_store).out
    assert '"query": "weather in Paris"' in full


def test_tree_draws_a_session_and_its_forks(tether: Tether, cli_store: Any, project: Path) -> None:
    root = start(tether, cli_store, project, "root prompt", ["root answer"])
    child = fork_session(root, title="child branch", store=cli_store)
    grandchild = fork_session(child, title="grandchild branch", store=cli_store)
    sibling = fork_session(root, title="sibling branch", store=cli_store)
    out = tether("sessions", "tree", grandchild, store=cli_store).out
    lines = out.splitlines()
    assert root in lines[0] and "root prompt" in lines[0]
    assert any(child in line and "child branch" in line for line in lines)
    grand_line = next(line for line in lines if grandchild in line)
    assert "◀" in grand_line  # the session asked for is marked
    child_line = next(line for line in lines if child in line)
    assert len(grand_line) - len(grand_line.lstrip(" │├└─")) > len(child_line) - len(child_line.lstrip(" │├└─"))
    assert sibling in out


def test_rename_and_tag(tether: Tether, cli_store: Any, project: Path) -> None:
    session_id = start(tether, cli_store, project, "hello", ["hi"])
    assert tether("sessions", "rename", session_id, "Greetings", store=cli_store).code == 0
    assert tether("sessions", "tag", session_id, "keep", store=cli_store).code == 0
    info = get_session_info(session_id, store=cli_store)
    assert info is not None and (info.title, info.tag) == ("Greetings", "keep")
    assert tether("sessions", "tag", session_id, "--clear", store=cli_store).code == 0
    cleared = get_session_info(session_id, store=cli_store)
    assert cleared is not None and cleared.tag is None
    bad = tether("sessions", "rename", "nope-nope-nope", "x", store=cli_store)
    assert bad.code == 1 and bad.err.startswith("Error: ") and "no session" in bad.err


def test_rm_asks_first_and_keeps_forks_whole(tether: Tether, cli_store: Any, project: Path) -> None:
    session_id = start(tether, cli_store, project, "to delete", ["bye"])
    fork = fork_session(session_id, store=cli_store)
    declined = tether("sessions", "rm", session_id, store=cli_store, input="n\n")
    assert declined.code == 0 and "Nothing deleted." in declined.out  # declining is no failure
    assert get_session_info(session_id, store=cli_store)
    removed = tether("sessions", "rm", session_id, store=cli_store, input="y\n")
    assert removed.code == 0 and "Deleted 1 session" in removed.out
    assert fork in removed.out and "keep their whole history" in removed.out
    assert [i.session_id for i in list_sessions(store=cli_store)] == [fork]
    assert next(m.message["content"] for m in get_session_messages(fork, store=cli_store)) == "to delete"


def test_export_and_import_through_the_command(tether: Tether, cli_store: Any, project: Path, tmp_path: Path) -> None:
    session_id = start(tether, cli_store, project, "export me", ["exported"])
    root = tmp_path / "claude-home"
    exported = tether("sessions", "export", session_id, "--format", "claude-code", "--root", str(root), store=cli_store)
    assert exported.code == 0, exported.err
    files = list((root / "projects").glob(f"*/{session_id}.jsonl"))
    assert len(files) == 1
    assert f"claude --resume {session_id}" in exported.out
    again = tether("sessions", "export", session_id, "--root", str(root), store=cli_store)
    assert again.code == 1 and "already exists" in again.err
    raw = tether("sessions", "export", session_id, "--format", "jsonl", store=cli_store)
    kinds = [json.loads(line)["type"] for line in raw.out.splitlines()]
    assert kinds[-3:] == ["assistant", "cost-state", "tether-result"]

    imported = tether("sessions", "import", "--from", "claude-code", "--root", str(root))  # into the default store
    assert imported.code == 0 and "Imported 1 session" in imported.out
    assert next(m.message["content"] for m in get_session_messages(session_id)) == "export me"
    twice = tether("sessions", "import", "--from", "claude-code", "--root", str(root))
    assert "Imported 0 session" in twice.out and "1 already in the store" in twice.out
    missing = tether("sessions", "import", "--from", "claude-code", "--root", str(tmp_path / "none"))
    assert missing.code == 1 and missing.err.startswith("Error: ")


def test_prune_lists_first_and_deletes_only_old_sessions(tether: Tether, project: Path, tmp_path: Path) -> None:
    store = JsonlStore(tmp_path / "jsonl")
    old = start(tether, store, project, "old one", ["a"])
    old_with_fork = start(tether, store, project, "old with a fork", ["b"])
    fork = fork_session(old_with_fork, title="young fork", store=store)
    recent = start(tether, store, project, "recent", ["c"])
    forty_days_ago = time.time() - 40 * 86400
    for session_id in (old, old_with_fork):
        path = next((tmp_path / "jsonl" / "projects").glob(f"*/{session_id}.jsonl"))
        os.utime(path, (forty_days_ago, forty_days_ago))

    dry = tether("sessions", "prune", "--older-than", "30d", "--dry-run", store=store)
    assert dry.code == 0 and old in dry.out and old_with_fork in dry.out and recent not in dry.out
    assert "nothing was" in dry.out
    assert len(list_sessions(store=store)) == 4

    declined = tether("sessions", "prune", "--older-than", "30d", store=store, input="n\n")
    assert declined.code == 0 and "Nothing deleted." in declined.out and len(list_sessions(store=store)) == 4

    pruned = tether("sessions", "prune", "--older-than", "30d", "--yes", store=store)
    assert pruned.code == 0, pruned.err
    assert "Deleted 2 session" in pruned.out
    assert f"{old_with_fork} had 1 live fork ({fork})" in pruned.out
    assert {i.session_id for i in list_sessions(store=store)} == {fork, recent}
    assert next(m.message["content"] for m in get_session_messages(fork, store=store)) == "old with a fork"

    nothing = tether("sessions", "prune", "--older-than", "30d", "--yes", store=store)
    assert "No sessions older than 30d" in nothing.out
    bad = tether("sessions", "prune", "--older-than", "soon", store=store)
    assert bad.code == 1 and "invalid duration" in bad.err
    anyio.run(store.close)


def test_the_store_option_picks_the_store(tether: Tether, project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    session_id = tether("-p", "in other", "--output-format", "json", "--cwd", str(project), "--store", url,
                        replies=["ok"]).json()["session_id"]  # fmt: skip
    assert tether("sessions", "list", "--json").json() == []
    assert [i["session_id"] for i in tether("sessions", "list", "--json", "--store", url).json()] == [session_id]
    assert [i["session_id"] for i in tether("--store", url, "sessions", "list", "--json").json()] == [session_id]
