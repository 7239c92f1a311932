"""A project in a deep directory (its encoded path over 200 characters) gets the same project folder
as Claude Code and claude-agent-sdk give it: the path cut at 200 characters plus a hash suffix, so
sessions of such a project are shared both ways."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether import AgentOptions, ResultMessage, SystemMessage, project_key_for_directory, query
from tether.sessions.stores.jsonl import JsonlStore
from tether.testing import ScriptedModel

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
sdk_sessions = pytest.importorskip("claude_agent_sdk._internal.sessions")

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "directory",
    [
        "/srv/" + "/".join(["alpha" * 8] * 6),  # the 32-bit hash has its sign bit clear
        "/srv/" + "/".join(["gamma" * 8] * 6),  # ... and set
        "/srv/" + "/".join(["beta" * 8] * 6),  # just over the limit
        "/home/zoë/" + "projekt-" * 30,  # non-ASCII, NFC
        "/work/app",  # short: no hash
    ],
)
def test_the_project_key_is_the_one_claude_code_uses(directory: str) -> None:
    key = project_key_for_directory(directory)
    assert key == sdk_sessions._sanitize_path(directory)
    assert len(key) <= 200 or key[200] == "-"


async def test_a_session_of_a_deep_project_is_listed_by_claude_agent_sdk(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 8)
    deep.mkdir(parents=True)
    assert len(project_key_for_directory(deep)) > 200
    store = JsonlStore(os.environ["CLAUDE_CONFIG_DIR"])  # Claude Code's own files, where the SDK reads them

    messages = [
        message
        async for message in query(
            prompt="Remember the number 7.",
            options=AgentOptions(model=ScriptedModel(["Noted."]), session_store=store, cwd=deep),
        )
    ]
    init, result = messages[0], messages[-1]
    assert isinstance(init, SystemMessage) and isinstance(result, ResultMessage)
    session_id = init.data["session_id"]

    listed = claude_agent_sdk.list_sessions(directory=str(deep))
    assert [info.session_id for info in listed] == [session_id]
    assert (store.projects / sdk_sessions._sanitize_path(os.path.realpath(deep)) / f"{session_id}.jsonl").is_file()
    texts = [str(m.message) for m in claude_agent_sdk.get_session_messages(session_id, directory=str(deep))]
    assert any("Remember the number 7." in text for text in texts) and any("Noted." in text for text in texts)
