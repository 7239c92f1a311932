"""Sessions across processes: resume in another process, and SIGKILL loses nothing yielded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether import AgentOptions, ResultMessage, SessionBusyError, project_key_for_directory, query
from tether.sessions.entries import active_chain
from tether.testing import ScriptedModel

pytestmark = [pytest.mark.anyio]
sqlite = pytest.importorskip("tether.sessions.stores.sqlite")

CHILD = textwrap.dedent(
    """
    import json, sys, anyio
    from tether import AgentOptions, create_sdk_mcp_server, query, tool
    from tether.testing import ScriptedModel, tool_use_reply

    @tool("wait", "Waits a long time", {"seconds": float})
    async def wait(args):
        await anyio.sleep(args["seconds"])
        return {"content": "waited"}

    async def main():
        prompt, resume = sys.argv[1], (sys.argv[2] or None)
        model = ScriptedModel([
            tool_use_reply("mcp__slow__wait", {"seconds": 60}, text="Let me wait."),
            "done",
        ])
        servers = {"slow": create_sdk_mcp_server("slow", tools=[wait])}
        options = AgentOptions(model=model, resume=resume, mcp_servers=servers, allowed_tools=["mcp__slow"])
        async for message in query(prompt=prompt, options=options):
            data = getattr(message, "data", {}) or {}
            print(json.dumps({
                "kind": type(message).__name__,
                "uuid": getattr(message, "uuid", None) or data.get("uuid"),
                "session_id": data.get("session_id") or getattr(message, "session_id", None),
            }), flush=True)

    anyio.run(main)
    """
)


def start_child(prompt: str, resume: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, prompt, resume],
        cwd=cwd,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


async def test_a_session_started_in_one_process_resumes_in_another(project: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, anyio
        from tether import AgentOptions, query
        from tether.testing import ScriptedModel

        async def main():
            async for message in query(prompt="remember 42", options=AgentOptions(model=ScriptedModel(["noted"]))):
                if getattr(message, "subtype", None) == "init":
                    print(message.data["session_id"], flush=True)

        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=True, timeout=60
    )
    session_id = done.stdout.strip()

    model = ScriptedModel(["it was 42"])
    messages = [
        m async for m in query(prompt="what number?", options=AgentOptions(model=model, resume=session_id, cwd=project))
    ]
    assert isinstance(messages[-1], ResultMessage) and messages[-1].session_id == session_id
    texts = [b["text"] for m in model.requests[0].messages for b in m["content"]]
    assert texts == ["remember 42", "noted", "what number?"]


async def test_sigkill_after_a_yield_loses_nothing_that_was_yielded(project: Path) -> None:
    child = start_child("please wait", "", project)
    assert child.stdout is not None
    seen: list[dict[str, str]] = []
    for line in child.stdout:
        seen.append(json.loads(line))
        if seen[-1]["kind"] == "AssistantMessage":
            child.send_signal(signal.SIGKILL)  # killed inside the tool call, right after the yield
            break
    child.wait(timeout=30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    session_id = seen[0]["session_id"]

    store = sqlite.SQLiteStore()
    entries = await store.load({"project_key": project_key_for_directory(project), "session_id": session_id})
    await store.close()
    assert entries is not None
    stored_uuids = {e.get("uuid") for e in entries}
    for message in seen[1:]:
        assert message["uuid"] in stored_uuids, f"{message['kind']} was yielded but is not in the store"

    model = ScriptedModel(["recovered"])
    resumed = [
        m
        async for m in query(prompt="what happened?", options=AgentOptions(model=model, resume=session_id, cwd=project))
    ]
    assert isinstance(resumed[-1], ResultMessage) and not resumed[-1].is_error
    history = model.requests[0].messages
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[2]["content"][0]["type"] == "tool_result" and history[2]["content"][0]["is_error"] is True
    assert history[2]["content"][-1]["text"] == "what happened?"

    store = sqlite.SQLiteStore()
    entries = await store.load({"project_key": project_key_for_directory(project), "session_id": session_id})
    await store.close()
    assert entries is not None
    assert [e["type"] for e in active_chain(entries)] == ["user", "assistant", "user", "user", "assistant"]


async def test_a_live_turn_in_another_process_keeps_the_session_busy_until_that_process_dies(project: Path) -> None:
    child = start_child("please wait", "", project)
    assert child.stdout is not None
    seen = [json.loads(child.stdout.readline())]
    while seen[-1]["kind"] != "AssistantMessage":  # the child's turn is now inside its 60 s tool call
        seen.append(json.loads(child.stdout.readline()))
    session_id = seen[0]["session_id"]
    key = {"project_key": project_key_for_directory(project), "session_id": session_id}
    store = sqlite.SQLiteStore()
    try:
        before = await store.load(key)
        with pytest.raises(SessionBusyError, match=session_id):
            [
                m
                async for m in query(
                    prompt="me too", options=AgentOptions(model=ScriptedModel(["x"]), resume=session_id, cwd=project)
                )
            ]
        assert await store.load(key) == before  # the live call was not closed; nothing was written

        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        # Its lease died with it (same machine: its pid is gone), so the session resumes at once,
        # and the call it left open is closed as interrupted.
        model = ScriptedModel(["recovered"])
        resumed = [
            m
            async for m in query(
                prompt="still there?", options=AgentOptions(model=model, resume=session_id, cwd=project)
            )
        ]
    finally:
        await store.close()
        if child.poll() is None:
            child.kill()
    assert isinstance(resumed[-1], ResultMessage) and resumed[-1].result == "recovered"
    closing = model.requests[0].messages[2]["content"][0]
    assert closing["type"] == "tool_result" and closing["is_error"] is True
