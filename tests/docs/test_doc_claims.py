"""What README.md and docs/compatibility.md say about behaviour, checked against the behaviour."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.cli.clirun import run_tether_command

from tether import (
    AgentClient,
    AgentOptions,
    HookMatcher,
    MemoryStore,
    ProcessError,
    ResultMessage,
    ResumeRejectedError,
    get_session_messages_from_store,
    query,
)
from tether.testing import ScriptedModel

ROOT = Path(__file__).resolve().parents[2]
COMPATIBILITY = ROOT / "docs" / "compatibility.md"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<status>[a-z ]+) \| (?P<text>.*) \|$", re.M)


def row(name: str) -> tuple[str, str]:
    """(status, text) of the compatibility page's row for `name`."""
    [found] = [m for m in ROW.finditer(COMPATIBILITY.read_text(encoding="utf-8")) if m["name"] == name]
    return found["status"], found["text"]


def readme() -> str:
    return " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


@pytest.mark.anyio
async def test_a_precompact_hook_runs_as_the_compatibility_page_says(project: Path) -> None:
    status, text = row("PreCompactHookInput")
    assert status == "same" and "fired before each compaction" in text and "raises" not in text
    calls: list[dict[str, Any]] = []

    async def hook(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append(dict(input_data))
        return {}

    model = ScriptedModel(["Hello.", "<summary>We greeted each other.</summary>"])
    options = AgentOptions(
        model=model, cwd=str(project), session_store=MemoryStore(), hooks={"PreCompact": [HookMatcher(hooks=[hook])]}
    )
    async with AgentClient(options) as client:
        for prompt in ["hello", "/compact keep the names"]:
            await client.query(prompt)
            async for _ in client.receive_response():
                pass
    assert [(c["hook_event_name"], c["trigger"], c["custom_instructions"]) for c in calls] == [
        ("PreCompact", "manual", "keep the names")
    ]


@pytest.mark.anyio
async def test_process_error_is_raised_where_the_compatibility_page_says(project: Path) -> None:
    status, text = row("ProcessError")
    assert status != "not applicable" and "never raised" not in text and "ResumeRejectedError" in text
    store = MemoryStore()
    session_id = None
    for prompt in ["first", "second", "third"]:
        resume: dict[str, Any] = {"resume": session_id} if session_id else {}
        options = AgentOptions(model=ScriptedModel([f"re: {prompt}"]), cwd=str(project), session_store=store, **resume)
        [result] = [m async for m in query(prompt=prompt, options=options) if isinstance(m, ResultMessage)]
        session_id = result.session_id
    assert session_id is not None
    uuids = [m.uuid for m in await get_session_messages_from_store(store, session_id, str(project))]

    refused = AgentOptions(
        model=ScriptedModel(["never"]),
        cwd=str(project),
        session_store=store,
        resume=session_id,
        resume_session_at=uuids[1],  # the first reply: the second and third turns would go
        resume_drops_turn=uuids[2],
    )
    with pytest.raises(ProcessError, match="Resume rejected by --resume-drops-turn:") as caught:
        async for _ in query(prompt="instead", options=refused):
            pass
    assert isinstance(caught.value, ResumeRejectedError)


def test_the_tether_command_reports_errors_as_the_readme_says(tmp_path: Path) -> None:
    text = readme()
    assert "prints one line (`Error: ...`) on stderr and exits with status 1" in text
    assert "prints the usage line and the problem in a box, and exits with status 2" in text

    failed = run_tether_command("sessions", "show", "no-such-session", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stdout == ""
    [line] = failed.stderr.splitlines()
    assert line.startswith("Error: ") and "no-such-session" in line

    unparsed = run_tether_command("sessions", "list", "--no-such-flag", cwd=tmp_path)
    assert unparsed.returncode == 2 and unparsed.stdout == ""
    assert unparsed.stderr.startswith("Usage: tether sessions list")
    assert "╭" in unparsed.stderr and "No such option: --no-such-flag" in unparsed.stderr
