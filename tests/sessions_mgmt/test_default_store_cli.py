"""A session the real claude-agent-sdk wrote (its bundled Claude Code CLI, no session_store) goes
on in tether with no store option, and back: the SDK's readers and `--resume` see tether's turn.

The CLI talks to the fake Anthropic server and writes under the suite's isolated CLAUDE_CONFIG_DIR.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fakes import FakeAnthropicServer

from tether import AgentOptions, ResultMessage, SystemMessage, query
from tether.testing import ScriptedModel

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")

pytestmark = pytest.mark.anyio

SAFETY_TIMEOUT = 120  # seconds: a CLI that hangs fails the test instead of the suite

_spec = importlib.util.find_spec("claude_agent_sdk")
if _spec is None or _spec.origin is None or not (Path(_spec.origin).parent / "_bundled" / "claude").is_file():
    pytest.skip("claude-agent-sdk ships no bundled CLI here", allow_module_level=True)


async def run_sdk(server: FakeAnthropicServer, tmp_path: Path, workdir: Path, prompt: str, **more: Any) -> Any:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "CLAUDE_CONFIG_DIR": os.environ["CLAUDE_CONFIG_DIR"],
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    options = claude_agent_sdk.ClaudeAgentOptions(env=env, cwd=str(workdir), max_turns=1, **more)
    result = None
    with anyio.fail_after(SAFETY_TIMEOUT):
        async for message in claude_agent_sdk.query(prompt=prompt, options=options):
            if isinstance(message, claude_agent_sdk.ResultMessage):
                result = message
    assert result is not None and result.subtype == "success", result
    return result


def texts(messages: list[dict[str, Any]]) -> list[str]:
    out = []
    for message in messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        out += [block["text"] for block in blocks if block.get("type") == "text"]
    return out


async def test_an_sdk_session_goes_on_in_tether_and_back_without_a_store(project: Path, tmp_path: Path) -> None:
    with FakeAnthropicServer(["Hi, I am the SDK's session."]) as server:
        written = await run_sdk(server, tmp_path, project, "Hello from the SDK!")
    session_id = written.session_id
    transcript = next(Path(os.environ["CLAUDE_CONFIG_DIR"]).glob(f"projects/*/{session_id}.jsonl"))
    before = transcript.read_bytes()

    model = ScriptedModel(["And tether carries on."])
    messages = [
        m
        async for m in query(prompt="Now in tether", options=AgentOptions(model=model, resume=session_id, cwd=project))
    ]
    init, result = messages[0], messages[-1]
    assert isinstance(init, SystemMessage) and init.data["session_id"] == session_id
    assert isinstance(result, ResultMessage) and result.session_id == session_id and not result.is_error
    assert texts(model.requests[0].messages) == ["Hello from the SDK!", "Hi, I am the SDK's session.", "Now in tether"]
    assert transcript.read_bytes().startswith(before)  # appended to, nothing rewritten

    read = claude_agent_sdk.get_session_messages(session_id, directory=str(project))
    assert texts([m.message for m in read]) == [
        "Hello from the SDK!",
        "Hi, I am the SDK's session.",
        "Now in tether",
        "And tether carries on.",
    ]

    with FakeAnthropicServer(["The SDK again."]) as server:
        resumed = await run_sdk(server, tmp_path, project, "Back to the SDK", resume=session_id)
        sent = texts(server.requests[-1]["messages"])
    assert resumed.session_id == session_id
    order = [sent.index(text) for text in ("Hello from the SDK!", "Now in tether", "And tether carries on.")]
    assert order == sorted(order) and sent.index("Back to the SDK") > order[-1]
