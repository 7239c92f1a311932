"""A session moves between claude-agent-sdk (its bundled Claude Code CLI) and tether through one store.

The SDK runs for real: `claude_agent_sdk.query()` starts the CLI binary it ships
(`claude_agent_sdk/_bundled/claude`), pointed at the fake Anthropic server with
`ANTHROPIC_BASE_URL`, with a tether store as its `session_store`. The SDK mirrors what the CLI
writes into the store with `append(key, entries)`, and for `resume=` it loads the session from
the store (`load`, `list_subkeys`) into a transcript file the CLI resumes from. Both sides key
sessions by `(project_key, session_id)` with the same project key for a directory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fakes import FakeAnthropicServer

from tether import AgentOptions, ResultMessage, SystemMessage, project_key_for_directory, query
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")

pytestmark = pytest.mark.anyio

SAFETY_TIMEOUT = 120  # seconds: a CLI that hangs fails the test instead of the suite


def bundled_cli() -> Path | None:
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "_bundled" / "claude"
    return path if path.is_file() else None


if bundled_cli() is None:
    pytest.skip("claude-agent-sdk ships no bundled CLI here", allow_module_level=True)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    sqlite_store = SQLiteStore(tmp_path / "sessions.db")
    yield sqlite_store
    await sqlite_store.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


def sdk_options(server: FakeAnthropicServer, tmp_path: Path, workdir: Path, store: Any, **more: Any) -> Any:
    """The SDK's options: its CLI talks to the fake server and keeps its own files under tmp_path."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    return claude_agent_sdk.ClaudeAgentOptions(session_store=store, env=env, cwd=str(workdir), max_turns=1, **more)


async def run_sdk(prompt: str, options: Any) -> Any:
    """The SDK's `ResultMessage` of one prompt."""
    result = None
    with anyio.fail_after(SAFETY_TIMEOUT):
        async for message in claude_agent_sdk.query(prompt=prompt, options=options):
            if isinstance(message, claude_agent_sdk.ResultMessage):
                result = message
    assert result is not None and result.subtype == "success", result
    return result


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for message in messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        out += [(message["role"], block["text"]) for block in blocks if block.get("type") == "text"]
    return out


async def test_a_session_the_sdk_wrote_resumes_in_tether_with_its_history(
    store: SQLiteStore, workdir: Path, tmp_path: Path
) -> None:
    with FakeAnthropicServer(["Hi, I am the SDK's session."]) as server:
        written = await run_sdk("Hello from the SDK!", sdk_options(server, tmp_path, workdir, store))
    key = {"project_key": project_key_for_directory(workdir), "session_id": written.session_id}
    stored = await store.load(key)  # type: ignore[arg-type]
    assert stored and any(entry.get("type") == "assistant" for entry in stored)

    model = ScriptedModel(["And tether carries on."])
    messages = [
        m
        async for m in query(
            prompt="Now in tether",
            options=AgentOptions(model=model, session_store=store, resume=written.session_id, cwd=workdir),
        )
    ]
    init = messages[0]
    assert isinstance(init, SystemMessage) and init.data["session_id"] == written.session_id
    assert init.data["project_key"] == key["project_key"]
    assert texts(model.requests[0].messages) == [
        ("user", "Hello from the SDK!"),
        ("assistant", "Hi, I am the SDK's session."),
        ("user", "Now in tether"),
    ]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.session_id == written.session_id


async def test_a_session_tether_wrote_resumes_in_the_sdk_with_its_history(
    store: SQLiteStore, workdir: Path, tmp_path: Path
) -> None:
    model = ScriptedModel(["tether's first answer"])
    messages = [
        m
        async for m in query(
            prompt="Started in tether", options=AgentOptions(model=model, session_store=store, cwd=workdir)
        )
    ]
    session_id = messages[-1].session_id  # type: ignore[union-attr]

    with FakeAnthropicServer(["The SDK goes on."]) as server:
        resumed = await run_sdk("Over to the SDK", sdk_options(server, tmp_path, workdir, store, resume=session_id))
        sent = texts(server.requests[-1]["messages"])
    assert resumed.session_id == session_id
    said = [text for _, text in sent]
    assert said.index("Started in tether") < said.index("tether's first answer") < said.index("Over to the SDK")

    again = ScriptedModel(["back in tether"])
    async for _ in query(
        prompt="And back", options=AgentOptions(model=again, session_store=store, resume=session_id, cwd=workdir)
    ):
        pass
    assert texts(again.requests[0].messages) == [
        ("user", "Started in tether"),
        ("assistant", "tether's first answer"),
        ("user", "Over to the SDK"),
        ("assistant", "The SDK goes on."),
        ("user", "And back"),
    ]
