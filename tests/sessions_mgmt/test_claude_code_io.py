"""Claude Code transcripts out and back in, and copying every session between two stores."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from tests.sessions_mgmt.transcripts import PROJECT, SESSION, repo_tour

from tether import (
    AgentOptions,
    ConfigurationError,
    MemoryStore,
    SessionExistsError,
    SessionNotFoundError,
    create_sdk_mcp_server,
    query,
    tool,
)
from tether._vocabulary.store import SessionKey, SessionStore
from tether.sessions.claude_code import copy_sessions, export_session, import_claude_code_sessions
from tether.sessions.helpers import (
    fork_session_async,
    get_session_info_async,
    get_session_messages_async,
    list_sessions_async,
    rename_session_async,
    tag_session_async,
)
from tether.sessions.stores.jsonl import JsonlStore
from tether.testing import ScriptedModel, tool_use_reply

pytestmark = pytest.mark.anyio

CLAUDE_CHAIN_FIELDS = {
    "parentUuid",
    "isSidechain",
    "userType",
    "cwd",
    "sessionId",
    "version",
    "type",
    "message",
    "uuid",
    "timestamp",
}


@tool("shout", "Shouts", {"text": str})
async def shout(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": args["text"].upper()}]}


async def run(store: Any, cwd: Path, prompt: str, replies: list[Any], **options: Any) -> str:
    session_id = ""
    opts = AgentOptions(
        model=ScriptedModel(replies),
        session_store=store,
        cwd=cwd,
        mcp_servers={"loud": create_sdk_mcp_server("loud", tools=[shout])},
        allowed_tools=["mcp__loud__shout"],
        **options,
    )
    async for message in query(prompt=prompt, options=opts):
        data = getattr(message, "data", None)
        if isinstance(data, dict) and data.get("subtype") == "init":
            session_id = data["session_id"]
    return session_id


async def make_family(store: SessionStore, project: Path) -> dict[str, str]:
    """A session with a tool call, a title and a tag; a fork of it, and a fork of the fork."""
    root = await run(store, project, "Shout hello", [tool_use_reply("mcp__loud__shout", {"text": "hello"}), "Done."])
    await run(store, project, "Again", ["Sure."], resume=root)
    await rename_session_async(root, "Shouting", store=store)
    await tag_session_async(root, "demo", store=store)
    first = (await get_session_messages_async(root, store=store))[0]
    child = await fork_session_async(root, store=store)
    await run(store, project, "In the child", ["Child answer."], resume=child)
    grandchild = await fork_session_async(child, None, None, "Grandchild", store=store)
    early = await fork_session_async(root, None, first.uuid, store=store)
    return {"root": root, "child": child, "grandchild": grandchild, "early": early}


async def snapshot(store: SessionStore, session_id: str) -> tuple[Any, ...]:
    """What a user sees of a session: its messages, and its listed facts."""
    info = await get_session_info_async(session_id, store=store)
    messages = [(m.type, m.uuid, m.message) for m in await get_session_messages_async(session_id, store=store)]
    facts = (info.title, info.tag, info.cwd, info.created_at, info.first_prompt, info.message_count, info.project_key)
    return (messages, facts)


async def test_export_writes_a_transcript_claude_code_can_resume(
    store: SessionStore, project: Path, tmp_path: Path
) -> None:
    family = await make_family(store, project)
    target = tmp_path / "claude"
    path = await export_session(family["child"], store, target)
    info = await get_session_info_async(family["child"], store=store)
    assert path == target / "projects" / str(info.project_key) / f"{family['child']}.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    chain = [line for line in lines if line.get("uuid")]
    assert chain and all(CLAUDE_CHAIN_FIELDS <= set(line) for line in chain)
    assert {line["sessionId"] for line in lines} == {family["child"]}  # inherited entries renamed too
    assert all(line["userType"] == "external" and line["isSidechain"] is False for line in chain)
    assert chain[0]["parentUuid"] is None
    uuids = {line["uuid"] for line in chain}
    assert all(line["parentUuid"] in uuids for line in chain[1:])
    # Read back by a JSONL store, it is the same conversation.
    exported = JsonlStore(target)
    assert [m.message for m in await get_session_messages_async(family["child"], store=exported)] == [
        m.message for m in await get_session_messages_async(family["child"], store=store)
    ]
    with pytest.raises(SessionExistsError):
        await export_session(family["child"], store, target)
    assert await export_session(family["child"], store, target, overwrite=True) == path
    with pytest.raises(SessionNotFoundError):
        await export_session("00000000-0000-4000-8000-000000000000", store, target)


async def test_export_then_import_round_trips_without_loss(store: SessionStore, project: Path, tmp_path: Path) -> None:
    family = await make_family(store, project)
    target = tmp_path / "claude"
    for session_id in family.values():
        await export_session(session_id, store, target)
    fresh = MemoryStore()
    report = await import_claude_code_sessions(target, fresh)
    assert sorted(report.copied + report.forked) == sorted(family.values()) and report.skipped == []
    for session_id in family.values():
        assert await snapshot(fresh, session_id) == await snapshot(store, session_id)
    again = await import_claude_code_sessions(target, fresh)
    assert again.total == 0 and sorted(again.skipped) == sorted(family.values())


async def test_import_keeps_ids_branches_titles_and_timestamps(tmp_path: Path) -> None:
    tour = repo_tour()
    tour.write(tmp_path / ".claude", torn_tail=True)
    other = repo_tour()
    other.session_id = "other-session"
    for line in other.lines:
        line["sessionId"] = "other-session"
    other.write(tmp_path / ".claude")
    target = MemoryStore()
    report = await import_claude_code_sessions(tmp_path / ".claude", target, session_ids=[SESSION])
    assert report.copied == [SESSION]
    assert await target.load(SessionKey(project_key=PROJECT, session_id=SESSION)) == tour.lines
    info = await get_session_info_async(SESSION, store=target)
    assert (info.title, info.tag, info.cwd, info.total_cost_usd) == ("Repo tour", "work", "/home/dev/webapp", 0.125)
    assert [m.uuid for m in await get_session_messages_async(SESSION, store=target)][-2:] == ["u2b", "a6"]
    assert [i.session_id for i in await list_sessions_async(store=target)] == [SESSION]
    with pytest.raises(SessionNotFoundError):
        await import_claude_code_sessions(tmp_path / ".claude", target, session_ids=["not-there"])
    with pytest.raises(ConfigurationError):
        await import_claude_code_sessions(tmp_path / "nothing-here", target)
    only_other_dir = await import_claude_code_sessions(tmp_path / ".claude", target, directory=tmp_path)
    assert only_other_dir.total == 0  # no sessions of that project


async def test_copy_sessions_keeps_forks_as_forks(store: SessionStore, project: Path) -> None:
    source = MemoryStore()
    family = await make_family(source, project)
    report = await copy_sessions(source, store)
    assert report.copied == [family["root"]]
    assert sorted(report.forked) == sorted([family["child"], family["grandchild"], family["early"]])
    for name, session_id in family.items():
        assert await snapshot(store, session_id) == await snapshot(source, session_id), name
        origin = (await get_session_info_async(session_id, store=store)).forked_from
        assert origin == (await get_session_info_async(session_id, store=source)).forked_from, name
    # The copies are independent sessions of the target.
    await run(store, project, "More in the copy", ["ok"], resume=family["root"])
    assert len(await get_session_messages_async(family["root"], store=source)) == 6


async def test_copy_into_a_jsonl_directory_and_with_sub_transcripts(project: Path, tmp_path: Path) -> None:
    source = MemoryStore()
    family = await make_family(source, project)
    info = await get_session_info_async(family["root"], store=source)
    sub = SessionKey(project_key=str(info.project_key), session_id=family["root"], subpath="subagents/agent-1")
    side = [{"type": "user", "isSidechain": True, "uuid": "s1", "message": {"role": "user", "content": "x"}}]
    await source.append(sub, side)
    target = JsonlStore(tmp_path / "out")
    report = await copy_sessions(source, target)
    assert report.total == 4
    for session_id in family.values():
        assert await snapshot(target, session_id) == await snapshot(source, session_id)
    assert await target.load(sub) == side
