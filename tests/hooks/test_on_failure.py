"""`HookMatcher(on_failure=...)` and `timeout`: a failing hook counts as no decision, or blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.hooks.hook_helpers import result_of, tool_results

from tether import AgentOptions, HookMatcher, PermissionResultAllow
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


async def raises(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
    raise RuntimeError("hook bug")


async def says_nothing(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
    return None


async def hangs(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
    await anyio.Event().wait()


def write_call(name: str = "out.txt") -> Any:
    return tool_use_reply("Write", {"file_path": name, "content": "data"}, id="write")


async def write_with_pre_tool_use(project: Path, store: SQLiteStore, matcher: HookMatcher) -> list[Any]:
    return (
        await run_query(
            "write it",
            AgentOptions(
                model=ScriptedModel([write_call(), "ok"]),
                cwd=project,
                permission_mode="acceptEdits",
                hooks={"PreToolUse": [matcher]},
                session_store=store,
            ),
        )
    ).messages


@pytest.mark.parametrize("on_failure", [None, "continue"])
@pytest.mark.parametrize("callback", [raises, says_nothing])
async def test_a_failing_pre_tool_use_hook_is_no_decision_by_default(
    project: Path, sqlite_store: SQLiteStore, callback: Any, on_failure: Any
) -> None:
    messages = await write_with_pre_tool_use(
        project, sqlite_store, HookMatcher(hooks=[callback], on_failure=on_failure)
    )
    assert (project / "out.txt").read_text() == "data"
    assert not tool_results(messages)["write"]["is_error"]
    assert result_of(messages).permission_denials == []


@pytest.mark.parametrize(
    ("callback", "why"),
    [(raises, "raised RuntimeError: hook bug"), (says_nothing, "returned None"), (hangs, "timed out after 0.05s")],
)
async def test_with_on_failure_block_a_failing_pre_tool_use_hook_denies_the_call(
    project: Path, sqlite_store: SQLiteStore, callback: Any, why: str
) -> None:
    matcher = HookMatcher(hooks=[callback], timeout=0.05, on_failure="block")
    messages = await write_with_pre_tool_use(project, sqlite_store, matcher)
    assert not (project / "out.txt").exists()
    result = tool_results(messages)["write"]
    assert result["is_error"] and why in result["content"]
    denials = result_of(messages).permission_denials
    assert denials is not None and [d["tool_use_id"] for d in denials] == ["write"]


async def test_an_unusable_output_blocks_only_with_on_failure_block(project: Path, sqlite_store: SQLiteStore) -> None:
    async def capitalised(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "Deny"}}

    await write_with_pre_tool_use(project, sqlite_store, HookMatcher(hooks=[capitalised]))
    assert (project / "out.txt").exists()  # a value tether cannot use is no decision...
    (project / "out.txt").unlink()
    messages = await write_with_pre_tool_use(
        project, sqlite_store, HookMatcher(hooks=[capitalised], on_failure="block")
    )
    assert not (project / "out.txt").exists()  # ...unless the matcher blocks on failure
    assert "unknown permissionDecision 'Deny'" in tool_results(messages)["write"]["content"]


async def test_a_blocking_user_prompt_submit_failure_blocks_the_prompt(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    model = ScriptedModel(["never"])
    messages = (
        await run_query(
            "hi",
            AgentOptions(
                model=model,
                cwd=project,
                hooks={"UserPromptSubmit": [HookMatcher(hooks=[raises], on_failure="block")]},
                session_store=sqlite_store,
            ),
        )
    ).messages
    result = result_of(messages)
    assert result.is_error and result.errors is not None and "hook bug" in result.errors[0]
    assert model.requests == []


async def test_stop_hooks_ignore_on_failure(project: Path, sqlite_store: SQLiteStore) -> None:
    model = ScriptedModel(["Done."])
    messages = (
        await run_query(
            "hi",
            AgentOptions(
                model=model,
                cwd=project,
                hooks={"Stop": [HookMatcher(hooks=[raises], on_failure="block")]},
                session_store=sqlite_store,
            ),
        )
    ).messages
    result = result_of(messages)
    assert result.subtype == "success" and result.result == "Done."
    assert len(model.requests) == 1  # a failed Stop hook did not make the agent go on


async def test_a_blocking_permission_request_failure_denies_without_asking(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    asked: list[str] = []

    async def allow(tool_name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append(tool_name)
        return PermissionResultAllow()

    model = ScriptedModel([tool_use_reply("Bash", {"command": "touch made.txt"}, id="bash"), "ok"])
    messages = (
        await run_query(
            "run it",
            AgentOptions(
                model=model,
                cwd=project,
                can_use_tool=allow,
                hooks={"PermissionRequest": [HookMatcher(hooks=[raises], on_failure="block")]},
                session_store=sqlite_store,
            ),
        )
    ).messages
    assert asked == [] and not (project / "made.txt").exists()
    assert "hook bug" in tool_results(messages)["bash"]["content"]


async def test_a_blocking_post_tool_use_failure_is_told_to_the_model(project: Path, sqlite_store: SQLiteStore) -> None:
    model = ScriptedModel([write_call(), "ok"])
    await run_query(
        "write it",
        AgentOptions(
            model=model,
            cwd=project,
            permission_mode="acceptEdits",
            hooks={"PostToolUse": [HookMatcher(hooks=[raises], on_failure="block")]},
            session_store=sqlite_store,
        ),
    )
    assert (project / "out.txt").exists()  # the tool had run
    sent = model.requests[1].messages[-1]["content"][0]
    assert sent["type"] == "tool_result" and "hook bug" in str(sent["content"])
