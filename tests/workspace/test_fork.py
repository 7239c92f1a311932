"""Forks that take their files: the workspace as of the fork point written into a new directory
(by `fork_session`, by `AgentOptions(fork_workspace=...)`, on another machine from the store
alone), each branch then changing only its own directory; export, import and deletion carry and
free the blobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.workspace.support import ask, options_for

from tether import AgentClient, AgentOptions
from tether._vocabulary.store import SessionStore
from tether.errors import ConfigurationError
from tether.sessions.capabilities import store_access
from tether.sessions.claude_code import copy_sessions, export_session
from tether.sessions.helpers import delete_session_async, fork_session_async
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.workspace.travel import materialise_session
from tether.testing import MemoryStore, ScriptedModel, tool_use_reply

pytestmark = pytest.mark.anyio


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def bash(command: str, reply: str) -> list[Any]:
    return [tool_use_reply("Bash", {"command": command}), reply]


async def two_prompts(project: Path, store: SessionStore) -> tuple[str, str, str]:
    """A session: prompt 1 writes plan.txt and lib/a.py; prompt 2 rewrites plan.txt, removes lib/a.py.
    Returns (session id, prompt 1 uuid, prompt 2 uuid)."""
    (project / "readme.md").write_text("# project\n")
    replies = [
        *bash("echo 'plan v1' > plan.txt && mkdir lib && echo 'A = 1' > lib/a.py", "one"),
        *bash("echo 'plan v2' > plan.txt && rm lib/a.py && echo 'B = 2' > lib/b.py", "two"),
    ]
    async with AgentClient(options_for(project, store, replies)) as client:
        first = await ask(client, "start")
        second = await ask(client, "go on")
        session_id = client.session_id
    assert session_id
    return session_id, first, second


async def test_a_fork_at_an_earlier_prompt_has_that_prompts_files(
    project: Path, tmp_path: Path, any_store: SessionStore
) -> None:
    session_id, _, second = await two_prompts(project, any_store)
    branch = tmp_path / "branch"
    forked = await fork_session_async(
        session_id, project, up_to_message_id=second, store=any_store, workspace_dir=branch
    )
    assert files(branch) == {"readme.md": b"# project\n", "plan.txt": b"plan v1\n", "lib/a.py": b"A = 1\n"}
    original = files(project)
    options = options_for(branch, any_store, bash("echo 'branch work' > plan.txt && touch new.txt", "b"))
    async with AgentClient(AgentOptions(**{**vars(options), "resume": forked.session_id})) as client:
        await ask(client, "work in the branch")
    assert files(project) == original  # the source's directory is untouched
    assert files(branch)["plan.txt"] == b"branch work\n" and "new.txt" in files(branch)
    options = options_for(project, any_store, bash("echo 'main work' > plan.txt", "m"), resume=session_id)
    async with AgentClient(options) as client:
        await ask(client, "work on main")
    assert files(branch)["plan.txt"] == b"branch work\n" and files(project)["plan.txt"] == b"main work\n"


async def test_query_forks_into_its_own_directory(project: Path, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    session_id, _, _ = await two_prompts(project, store)
    branch = tmp_path / "fork-dir"
    replies = bash("pwd > where.txt && echo changed > plan.txt", "forked")
    options = options_for(project, store, replies, resume=session_id, fork_session=True, fork_workspace=branch)
    async with AgentClient(options) as client:
        await ask(client, "try another way")
    assert files(project)["plan.txt"] == b"plan v2\n" and "where.txt" not in files(project)
    assert files(branch)["where.txt"].decode().strip() == str(branch.resolve())
    assert files(branch)["lib/b.py"] == b"B = 2\n" and "lib/a.py" not in files(branch)
    await store.close()


async def test_fork_workspace_needs_a_snapshot_and_an_empty_directory(project: Path, tmp_path: Path) -> None:
    store = MemoryStore()
    session_id, _, _ = await two_prompts(project, store)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with pytest.raises(ConfigurationError, match="not empty"):
        await fork_session_async(session_id, project, store=store, workspace_dir=taken)
    async with AgentClient(AgentOptions(model=ScriptedModel(["hi"]), cwd=project, session_store=store)) as client:
        await ask_plain(client)
        plain = client.session_id
    with pytest.raises(ConfigurationError, match="no workspace snapshot"):
        await fork_session_async(str(plain), project, store=store, workspace_dir=tmp_path / "none")


async def ask_plain(client: AgentClient) -> None:
    await client.query("hello")
    async for _ in client.receive_response():
        pass


async def test_another_machine_checks_out_from_a_copied_store(project: Path, tmp_path: Path) -> None:
    """SQLite -> memory (copy_sessions) and -> a Claude Code directory (export_session): the
    workspace comes out identical, read from the target store alone."""
    source = SQLiteStore(tmp_path / "s.db")
    session_id, first, _ = await two_prompts(project, source)
    expected = files(project)
    target = MemoryStore()
    await copy_sessions(source, target)
    checked_out = await materialise_session(store_access(target), session_id, None, None, tmp_path / "elsewhere")
    assert checked_out is not None and files(checked_out) == expected
    exported = tmp_path / "claude"
    await export_session(session_id, source, exported)
    jsonl = store_access(JsonlStore(exported))
    at_first = await materialise_session(jsonl, session_id, None, first, tmp_path / "at-first")
    assert at_first is not None and files(at_first) == {"readme.md": b"# project\n"}
    await source.close()


async def test_deleting_a_session_frees_the_blobs_only_it_named(project: Path, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    kept_id, _, _ = await two_prompts(project, store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "readme.md").write_text("# project\n")  # the same bytes as the first session's readme
    replies = bash("echo unique > only-here.txt", "done")
    async with AgentClient(options_for(other, store, replies)) as client:
        await ask(client, "make a file")
        doomed_id = client.session_id
    access = store_access(store)
    before = set(await access.list_blobs())
    unique = {h for h, d in (await access.get_blobs(before)).items() if d == b"unique\n"}
    await delete_session_async(str(doomed_id), other, store=store)
    after = set(await access.list_blobs())
    assert before - after == unique and len(unique) == 1
    checked_out = await materialise_session(access, kept_id, None, None, tmp_path / "still")
    assert checked_out is not None and files(checked_out) == files(project)
    await store.close()
