"""With no store option, tether sees its own sessions and Claude Code's as one list (issue 22).

Claude Code's directory is the isolated `CLAUDE_CONFIG_DIR` the suite's conftest sets; tether's
default store is the SQLite file under the isolated `TETHER_HOME`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tether import AgentOptions, ResultMessage, project_key_for_directory, query
from tether._vocabulary.store import SessionKey
from tether.sessions.entries import make_entry
from tether.sessions.helpers import (
    delete_session,
    fork_session,
    get_session_info,
    get_session_messages,
    get_subagent_messages,
    list_sessions,
    list_sessions_async,
    list_subagents,
    rename_session,
    tag_session,
)
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.layered import LayeredStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.urls import open_store
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio

IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(10)]


def claude_dir() -> Path:
    return Path(os.environ["CLAUDE_CONFIG_DIR"])


def claude_transcript(project: Path, session_id: str, prompts: list[str], *, mtime: int | None = None) -> Path:
    """A transcript as Claude Code writes it: metadata lines without uuid, chain entries, a last-prompt."""
    lines: list[dict[str, Any]] = [{"type": "permission-mode", "permissionMode": "default", "sessionId": session_id}]
    parent = None
    for number, prompt in enumerate(prompts):
        for kind, message in (
            ("user", {"role": "user", "content": prompt}),
            ("assistant", {"id": f"m{number}", "role": "assistant", "content": [{"type": "text", "text": "ok"}]}),
        ):
            entry = make_entry(kind, message, session_id=session_id, parent_uuid=parent, cwd=str(project))
            entry.update(gitBranch="main", entrypoint="sdk-py")
            lines.append(entry)
            parent = entry["uuid"]
    lines.append({"type": "last-prompt", "lastPrompt": prompts[-1], "leafUuid": parent, "sessionId": session_id})
    path = claude_dir() / "projects" / project_key_for_directory(project) / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


async def tether_session(project: Path, prompt: str, answer: str = "fine", **more: Any) -> str:
    model = ScriptedModel([answer])
    result = None
    async for message in query(prompt=prompt, options=AgentOptions(model=model, cwd=project, **more)):
        if isinstance(message, ResultMessage):
            result = message
    assert result is not None and not result.is_error, result
    return result.session_id


def said(messages: list[Any]) -> list[str]:
    out = []
    for message in messages:
        content = message.message["content"]
        out += [content] if isinstance(content, str) else [b["text"] for b in content if b.get("type") == "text"]
    return out


def test_the_default_store_is_tethers_with_claude_codes_beside_it() -> None:
    store = open_store(None)
    assert isinstance(store, LayeredStore) and isinstance(store.primary, SQLiteStore)
    assert store.claude_code.root == claude_dir()
    assert not isinstance(open_store(None, env={**os.environ, "TETHER_CLAUDE_CODE_SESSIONS": "0"}), LayeredStore)
    assert isinstance(open_store("sqlite://"), SQLiteStore)  # an explicit store is that store alone
    native = open_store(None, env={**os.environ, "TETHER_STORE_URL": f"jsonl://{claude_dir()}"})
    assert isinstance(native, JsonlStore) and native.root == claude_dir()  # everything Claude Code-native


async def test_both_kinds_of_session_list_as_one_newest_first(project: Path) -> None:
    claude_transcript(project, IDS[1], ["an old Claude Code session"], mtime=1_700_000_000)
    mine = await tether_session(project, "a tether session")
    claude_transcript(project, IDS[2], ["a newer Claude Code session"], mtime=int(time.time()) + 60)
    infos = list_sessions()
    assert [(i.session_id, i.summary) for i in infos] == [
        (IDS[2], "a newer Claude Code session"),
        (mine, "a tether session"),
        (IDS[1], "an old Claude Code session"),
    ]
    assert [i.session_id for i in list_sessions(str(project), limit=1, offset=1)] == [mine]
    info = get_session_info(IDS[2])
    assert info is not None and info.git_branch == "main" and info.cwd == str(project) and info.file_size
    assert said(get_session_messages(IDS[2])) == ["a newer Claude Code session", "ok"]


async def test_pages_over_both_stores_list_every_session_once(project: Path) -> None:
    store = open_store(None)
    assert isinstance(store, LayeredStore)
    for n in range(5):
        claude_transcript(project, IDS[n], [f"claude {n}"], mtime=1_700_000_000 + 2 * n)
    for n in range(4):
        await tether_session(project, f"tether {n}")
    everything = [i.session_id for i in await list_sessions_async(store=store)]
    assert len(everything) == 9
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_page(None, limit=2, cursor=cursor)
        seen += [item["session_id"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything


async def test_a_claude_code_session_resumes_in_its_own_file_with_no_store_option(project: Path) -> None:
    path = claude_transcript(project, IDS[3], ["What is X?"])
    before = path.read_bytes()
    model = ScriptedModel(["X is still 1."])
    async for _ in query(prompt="And now?", options=AgentOptions(model=model, cwd=project, resume=IDS[3])):
        pass
    assert model.requests[0].messages[0]["content"] == [{"type": "text", "text": "What is X?"}]
    after = path.read_bytes()
    assert after.startswith(before)  # nothing rewritten
    added = [json.loads(line) for line in after[len(before) :].splitlines()]
    assert {e["sessionId"] for e in added} == {IDS[3]}
    first_new = next(e for e in added if e.get("type") == "user")
    assert first_new["parentUuid"] == json.loads(before.splitlines()[-2])["uuid"]
    assert said(get_session_messages(IDS[3])) == ["What is X?", "ok", "And now?", "X is still 1."]
    store = open_store(None)
    assert isinstance(store, LayeredStore)
    key = SessionKey(project_key=project_key_for_directory(project), session_id=IDS[3])
    assert await store.primary.load(key) is None  # tether's store holds nothing of it


async def test_rename_tag_and_delete_reach_claude_codes_file(project: Path) -> None:
    path = claude_transcript(project, IDS[4], ["hello"])
    rename_session(IDS[4], "Greeting")
    tag_session(IDS[4], "keep")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines[-2:]] == ["custom-title", "tag"]
    info = get_session_info(IDS[4])
    assert info is not None and (info.summary, info.custom_title, info.tag) == ("Greeting", "Greeting", "keep")
    delete_session(IDS[4])
    assert not path.exists() and get_session_info(IDS[4]) is None


async def test_an_id_in_both_places_is_tethers(project: Path) -> None:
    mine = await tether_session(project, "tether's copy")
    claude_transcript(project, mine, ["Claude Code's copy"])
    assert [(i.session_id, i.summary) for i in list_sessions()] == [(mine, "tether's copy")]
    assert said(get_session_messages(mine))[0] == "tether's copy"
    model = ScriptedModel(["again"])
    async for _ in query(prompt="more", options=AgentOptions(model=model, cwd=project, resume=mine)):
        pass
    assert model.requests[0].messages[0]["content"] == [{"type": "text", "text": "tether's copy"}]


async def test_fork_session_of_a_claude_code_transcript_writes_the_sdks_file(project: Path) -> None:
    source = claude_transcript(project, IDS[5], ["first", "second"])
    before = source.read_bytes()
    original = [json.loads(line) for line in before.splitlines()]
    chain = [e for e in original if e.get("uuid")]
    fork = fork_session(IDS[5], up_to_message_id=chain[1]["uuid"])
    path = source.with_name(f"{fork.session_id}.jsonl")
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in written] == ["user", "assistant", "custom-title"]
    assert {e["sessionId"] for e in written} == {fork.session_id}
    assert [e["forkedFrom"] for e in written[:2]] == [
        {"sessionId": IDS[5], "messageUuid": c["uuid"]} for c in chain[:2]
    ]
    assert not {e["uuid"] for e in written} & {c["uuid"] for c in chain}
    assert written[1]["parentUuid"] == written[0]["uuid"] and written[0]["parentUuid"] is None
    assert written[-1]["customTitle"] == "first (fork)"
    assert source.read_bytes() == before
    with pytest.raises(ValueError):
        fork_session(IDS[5], up_to_message_id="00000000-0000-4000-8000-0000000000ff")


async def test_subagents_read_their_meta_sidecar(project: Path) -> None:
    claude_transcript(project, IDS[6], ["use a subagent"])
    base = claude_dir() / "projects" / project_key_for_directory(project) / IDS[6] / "subagents"
    base.mkdir(parents=True)
    entry = make_entry(
        "user", {"role": "user", "content": "sub task"}, session_id=IDS[6], parent_uuid=None, cwd=str(project)
    )
    entry.update(isSidechain=True, agentId="a1")
    (base / "agent-a1.jsonl").write_text(json.dumps(entry) + "\n")
    (base / "agent-a1.meta.json").write_text(json.dumps({"agentType": "general", "toolUseId": "toolu_1"}))
    assert list_subagents(IDS[6]) == ["a1"]
    [message] = get_subagent_messages(IDS[6], "a1")
    assert message.parent_tool_use_id == "toolu_1" and message.message["content"] == "sub task"


def test_listing_skips_what_the_sdk_skips_and_logs_damage(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    projects = claude_dir() / "projects"
    key = project_key_for_directory(project)
    claude_transcript(project, IDS[7], ["kept"])
    (projects / key / f"{IDS[8]}.jsonl").write_text(json.dumps({"type": "permission-mode", "sessionId": IDS[8]}) + "\n")
    side = make_entry("user", {"role": "user", "content": "x"}, session_id=IDS[9], parent_uuid=None, cwd=str(project))
    (projects / key / f"{IDS[9]}.jsonl").write_text(json.dumps({**side, "isSidechain": True}) + "\n")
    copy = projects / "-elsewhere" / f"{IDS[7]}.jsonl"
    copy.parent.mkdir()
    copy.write_bytes((projects / key / f"{IDS[7]}.jsonl").read_bytes())
    os.utime(copy, (1_600_000_000, 1_600_000_000))
    with (projects / key / f"{IDS[7]}.jsonl").open("a") as file:
        file.write("{not json\n")
    assert [i.session_id for i in list_sessions()] == [IDS[7]]
    with caplog.at_level(logging.WARNING):
        assert said(get_session_messages(IDS[7])) == ["kept", "ok"]
    assert "skipped 1 unreadable" in caplog.text


def test_a_missing_claude_code_directory_is_an_empty_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "never-made"))
    assert list_sessions() == []
    assert get_session_info(IDS[0]) is None
