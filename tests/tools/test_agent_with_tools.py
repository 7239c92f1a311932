"""End to end through `tether.query` with a scripted model: built-in tools, permissions, hooks, MCP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    HookEvent,
    MemoryStore,
    Message,
    ResultMessage,
    SystemMessage,
    UnsupportedOptionError,
    UserMessage,
)
from tether._vocabulary.hooks import HookMatcher
from tether._vocabulary.permissions import PermissionResultAllow, PermissionResultDeny, ToolPermissionContext
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

CODING_TOOLS = ["Read", "Edit", "Write", "Glob", "Grep", "Bash"]
DEMO_SERVER = Path(__file__).with_name("mcp_demo_server.py")


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def tool_results(messages: list[Message]) -> dict[str, dict[str, Any]]:
    """Every tool_result block of the run, by tool_use_id, as `{"content", "is_error"}`."""
    found: dict[str, dict[str, Any]] = {}
    for message in messages:
        if isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                tool_use_id = getattr(block, "tool_use_id", None)
                if tool_use_id is not None:
                    found[tool_use_id] = {"content": block.content, "is_error": bool(block.is_error)}  # type: ignore[union-attr]
    return found


def text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


@pytest.fixture
def buggy_project(workspace: Path) -> Path:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (workspace / "check_calc.py").write_text(
        "from calc import add\n\nassert add(2, 3) == 5, add(2, 3)\nprint('all checks passed')\n"
    )
    return workspace


def coding_script(project: Path) -> list[Any]:
    """Glob, Grep, Read, Edit the bug away, run the checks with Bash, answer."""
    return [
        tool_use_reply("Glob", {"pattern": "**/*.py"}, id="glob"),
        tool_use_reply("Grep", {"pattern": "def add", "output_mode": "content"}, id="grep"),
        tool_use_reply("Read", {"file_path": str(project / "calc.py")}, id="read"),
        tool_use_reply(
            "Edit",
            {"file_path": str(project / "calc.py"), "old_string": "return a - b", "new_string": "return a + b"},
            id="edit",
        ),
        tool_use_reply("Bash", {"command": f"{sys.executable} check_calc.py", "description": "Run checks"}, id="bash"),
        "Fixed add() and the checks pass.",
    ]


async def test_a_coding_agent_globs_greps_reads_edits_and_runs_the_checks(buggy_project: Path) -> None:
    model = ScriptedModel(coding_script(buggy_project))
    messages = (
        await run_query(
            "Fix the add function",
            AgentOptions(model=model, cwd=buggy_project, allowed_tools=CODING_TOOLS, session_store=MemoryStore()),
        )
    ).messages
    init = messages[0]
    assert isinstance(init, SystemMessage)
    assert init.data["tools"] == ["Bash", "Glob", "Grep", "Read", "Edit", "Write"]
    results = tool_results(messages)
    assert not any(r["is_error"] for r in results.values()), results
    assert str(buggy_project / "calc.py") in text(results["glob"]["content"])
    assert f"{buggy_project / 'calc.py'}:1:def add(a, b):" in text(results["grep"]["content"])
    assert "     2\t    return a - b" in text(results["read"]["content"])
    assert "all checks passed" in text(results["bash"]["content"])
    assert (buggy_project / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    result = result_of(messages)
    assert result.subtype == "success" and result.permission_denials == []
    assert result.result == "Fixed add() and the checks pass."
    assert [spec.name for spec in model.requests[0].tools][:6] == ["Bash", "Glob", "Grep", "Read", "Edit", "Write"]


async def test_with_bash_disallowed_the_denial_is_recorded_and_the_edits_land(buggy_project: Path) -> None:
    model = ScriptedModel(coding_script(buggy_project))
    messages = (
        await run_query(
            "Fix the add function",
            AgentOptions(
                model=model,
                cwd=buggy_project,
                allowed_tools=CODING_TOOLS,
                disallowed_tools=["Bash"],
                session_store=MemoryStore(),
            ),
        )
    ).messages
    results = tool_results(messages)
    assert results["bash"]["is_error"]
    assert "denied" in text(results["bash"]["content"])
    assert (buggy_project / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    result = result_of(messages)
    assert result.subtype == "success"
    assert result.permission_denials == [
        {
            "tool_name": "Bash",
            "tool_use_id": "bash",
            "tool_input": {"command": f"{sys.executable} check_calc.py", "description": "Run checks"},
        }
    ]
    # the model was told why, in the tool result it saw
    last_request = model.requests[-1].messages[-1]
    assert last_request["content"][0]["is_error"] is True


async def test_permission_patterns_decide_which_commands_run(workspace: Path) -> None:
    (workspace / "keep.txt").write_text("keep\n")
    model = ScriptedModel(
        [
            tool_use_reply("Bash", {"command": "echo hello"}, id="echo"),
            tool_use_reply("Bash", {"command": "rm keep.txt"}, id="rm"),
            tool_use_reply("Bash", {"command": "echo a && rm keep.txt"}, id="chained"),
            "done",
        ]
    )
    messages = (
        await run_query(
            "go", AgentOptions(model=model, cwd=workspace, allowed_tools=["Bash(echo *)"], session_store=MemoryStore())
        )
    ).messages
    results = tool_results(messages)
    assert text(results["echo"]["content"]) == "hello"
    assert results["rm"]["is_error"] and results["chained"]["is_error"]
    assert (workspace / "keep.txt").exists()
    denials = result_of(messages).permission_denials
    assert denials is not None and [d["tool_use_id"] for d in denials] == ["rm", "chained"]


async def test_modes_change_what_runs(workspace: Path) -> None:
    def script() -> ScriptedModel:
        return ScriptedModel(
            [
                tool_use_reply("Write", {"file_path": "notes.md", "content": "# notes\n"}, id="write"),
                tool_use_reply("Bash", {"command": "echo ran"}, id="bash"),
                "done",
            ]
        )

    default = tool_results(
        (await run_query("go", AgentOptions(model=script(), cwd=workspace, session_store=MemoryStore()))).messages
    )
    assert default["write"]["is_error"] and default["bash"]["is_error"]
    assert not (workspace / "notes.md").exists()

    accept = tool_results(
        (
            await run_query(
                "go",
                AgentOptions(model=script(), cwd=workspace, permission_mode="acceptEdits", session_store=MemoryStore()),
            )
        ).messages
    )
    assert not accept["write"]["is_error"] and accept["bash"]["is_error"]
    assert (workspace / "notes.md").exists()
    (workspace / "notes.md").unlink()

    plan = tool_results(
        (
            await run_query(
                "go",
                AgentOptions(
                    model=script(),
                    cwd=workspace,
                    permission_mode="plan",
                    allowed_tools=["Write", "Bash"],
                    session_store=MemoryStore(),
                ),
            )
        ).messages
    )
    assert plan["write"]["is_error"] and "plan mode" in text(plan["write"]["content"])
    assert plan["bash"]["is_error"]
    assert not (workspace / "notes.md").exists()

    bypass = tool_results(
        (
            await run_query(
                "go",
                AgentOptions(
                    model=script(), cwd=workspace, permission_mode="bypassPermissions", session_store=MemoryStore()
                ),
            )
        ).messages
    )
    assert not bypass["write"]["is_error"] and text(bypass["bash"]["content"]) == "ran"


async def test_can_use_tool_changes_input_and_can_interrupt(workspace: Path) -> None:
    asked: list[str] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext) -> Any:
        asked.append(tool_input.get("command", name))
        if tool_input.get("command") == "echo draft":
            return PermissionResultAllow(updated_input={"command": "echo reviewed"})
        return PermissionResultDeny(message="Stop: deploys need a human.", interrupt=True)

    model = ScriptedModel(
        [
            tool_use_reply("Bash", {"command": "echo draft"}, id="draft"),
            tool_use_reply("Bash", {"command": "./deploy.sh"}, id="deploy"),
            "never reached",
        ]
    )
    messages = (
        await run_query(
            "go", AgentOptions(model=model, cwd=workspace, can_use_tool=can_use_tool, session_store=MemoryStore())
        )
    ).messages
    results = tool_results(messages)
    assert text(results["draft"]["content"]) == "reviewed"
    assert text(results["deploy"]["content"]) == "Stop: deploys need a human."
    result = result_of(messages)
    assert result.subtype == "error_during_execution"
    assert result.errors is not None and "deploys need a human" in result.errors[0]
    assert result.permission_denials is not None
    assert [d["tool_use_id"] for d in result.permission_denials] == ["deploy"]
    assert asked == ["echo draft", "./deploy.sh"]
    assert len(model.requests) == 2  # the run ended at the interrupt


async def test_invalid_tool_input_is_an_error_result_and_the_loop_goes_on(workspace: Path) -> None:
    model = ScriptedModel(
        [
            tool_use_reply("Read", {"path": "calc.py"}, id="bad"),
            tool_use_reply("Nonexistent", {}, id="unknown"),
            "ok",
        ]
    )
    messages = (await run_query("go", AgentOptions(model=model, cwd=workspace, session_store=MemoryStore()))).messages
    results = tool_results(messages)
    assert results["bad"]["is_error"] and "'file_path' is a required property" in text(results["bad"]["content"])
    assert results["unknown"]["is_error"] and "No such tool" in text(results["unknown"]["content"])
    assert result_of(messages).subtype == "success"


async def test_tools_option_chooses_the_builtin_tools(workspace: Path) -> None:
    model = ScriptedModel([tool_use_reply("Bash", {"command": "echo x"}, id="bash"), "ok"])
    messages = (
        await run_query(
            "go", AgentOptions(model=model, cwd=workspace, tools=["Read", "Grep"], session_store=MemoryStore())
        )
    ).messages
    assert messages[0].data["tools"] == ["Read", "Grep"]  # type: ignore[union-attr]
    assert "No such tool" in text(tool_results(messages)["bash"]["content"])
    none = (
        await run_query(
            "go", AgentOptions(model=ScriptedModel(["ok"]), cwd=workspace, tools=[], session_store=MemoryStore())
        )
    ).messages
    assert none[0].data["tools"] == []  # type: ignore[union-attr]


async def test_hooks_in_the_loop(workspace: Path) -> None:
    events: list[str] = []

    async def session_start(data: Any, tool_use_id: str | None, context: Any) -> Any:
        events.append(f"SessionStart:{data['source']}")
        return {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Project uses tabs."}}

    async def prompt_hook(data: Any, tool_use_id: str | None, context: Any) -> Any:
        events.append("UserPromptSubmit")
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "Today is Friday."}}

    async def guard_env(data: Any, tool_use_id: str | None, context: Any) -> Any:
        events.append(f"PreToolUse:{data['tool_name']}")
        if data["tool_input"].get("file_path", "").endswith(".env"):
            return {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": "never write .env files",
                }
            }
        return {}

    async def after(data: Any, tool_use_id: str | None, context: Any) -> Any:
        events.append(f"PostToolUse:{data['tool_name']}:{data['tool_response']['type']}")
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "Remember to test."}}

    async def stop_once(data: Any, tool_use_id: str | None, context: Any) -> Any:
        events.append(f"Stop:{data['stop_hook_active']}")
        return {} if data["stop_hook_active"] else {"decision": "block", "reason": "Summarise what you changed."}

    hooks: dict[HookEvent, list[HookMatcher]] = {
        "SessionStart": [HookMatcher(hooks=[session_start])],
        "UserPromptSubmit": [HookMatcher(hooks=[prompt_hook])],
        "PreToolUse": [HookMatcher(matcher="Write|Edit", hooks=[guard_env])],
        "PostToolUse": [HookMatcher(matcher="Write", hooks=[after])],
        "Stop": [HookMatcher(hooks=[stop_once])],
    }
    model = ScriptedModel(
        [
            [
                {"type": "tool_use", "id": "env", "name": "Write", "input": {"file_path": ".env", "content": "X=1"}},
                {"type": "tool_use", "id": "ok", "name": "Write", "input": {"file_path": "a.txt", "content": "a"}},
            ],
            "Done.",
            "I wrote a.txt.",
        ]
    )
    messages = (
        await run_query(
            "write files",
            AgentOptions(
                model=model, cwd=workspace, hooks=hooks, permission_mode="acceptEdits", session_store=MemoryStore()
            ),
        )
    ).messages
    assert events == [
        "SessionStart:startup",
        "UserPromptSubmit",
        "PreToolUse:Write",
        "PreToolUse:Write",
        "PostToolUse:Write:create",
        "Stop:False",
        "Stop:True",
    ]
    first_prompt = model.requests[0].messages[0]["content"]
    assert [b["text"] for b in first_prompt] == ["write files", "Project uses tabs.", "Today is Friday."]
    results = tool_results(messages)
    assert results["env"]["is_error"] and "never write .env files" in text(results["env"]["content"])
    assert not (workspace / ".env").exists()
    assert "Remember to test." in text(results["ok"]["content"])
    result = result_of(messages)
    assert result.result == "I wrote a.txt."
    assert result.permission_denials is not None
    assert [d["tool_use_id"] for d in result.permission_denials] == ["env"]
    assert model.requests[2].messages[-1]["content"][0]["text"] == "Summarise what you changed."


async def test_a_blocked_prompt_is_not_sent(workspace: Path) -> None:
    async def block(data: Any, tool_use_id: str | None, context: Any) -> Any:
        return {"decision": "block", "reason": "no secrets"}

    model = ScriptedModel(["never"])
    messages = (
        await run_query(
            "my password is hunter2",
            AgentOptions(
                model=model,
                cwd=workspace,
                hooks={"UserPromptSubmit": [HookMatcher(hooks=[block])]},
                session_store=MemoryStore(),
            ),
        )
    ).messages
    result = result_of(messages)
    assert result.subtype == "error_during_execution" and result.errors is not None
    assert "no secrets" in result.errors[0]
    assert model.requests == []


async def test_session_start_source_on_resume_and_fork(workspace: Path) -> None:
    sources: list[str] = []

    async def record(data: Any, tool_use_id: str | None, context: Any) -> Any:
        sources.append(data["source"])
        return {}

    store = MemoryStore()
    hooks: dict[HookEvent, list[HookMatcher]] = {"SessionStart": [HookMatcher(hooks=[record])]}
    first = (
        await run_query("hi", AgentOptions(model=ScriptedModel(["a"]), cwd=workspace, hooks=hooks, session_store=store))
    ).messages
    session_id = result_of(first).session_id
    await run_query(
        "again",
        AgentOptions(model=ScriptedModel(["b"]), cwd=workspace, hooks=hooks, session_store=store, resume=session_id),
    )
    await run_query(
        "branch",
        AgentOptions(
            model=ScriptedModel(["c"]),
            cwd=workspace,
            hooks=hooks,
            session_store=store,
            resume=session_id,
            fork_session=True,
        ),
    )
    assert sources == ["startup", "resume", "fork"]


async def test_an_mcp_stdio_server_tool_is_called_and_its_result_is_in_the_resumed_session(workspace: Path) -> None:
    servers = {
        "demo": {"command": sys.executable, "args": [str(DEMO_SERVER)]},
        "broken": {"command": "/nonexistent/server"},
    }
    store = MemoryStore()
    model = ScriptedModel([tool_use_reply("mcp__demo__add", {"a": 19, "b": 23}, id="add"), "It is 42."])
    messages = (
        await run_query(
            "19+23?",
            AgentOptions(
                model=model, cwd=workspace, mcp_servers=servers, allowed_tools=["mcp__demo"], session_store=store
            ),
        )
    ).messages
    init = messages[0]
    assert isinstance(init, SystemMessage)
    assert init.data["mcp_servers"] == [{"name": "demo", "status": "connected"}, {"name": "broken", "status": "failed"}]
    assert "mcp__demo__add" in init.data["tools"]
    assert text(tool_results(messages)["add"]["content"]) == "42"
    session_id = result_of(messages).session_id

    later = ScriptedModel(["Still 42."])
    await run_query(
        "and now?", AgentOptions(model=later, cwd=workspace, tools=[], resume=session_id, session_store=store)
    )
    history = later.requests[0].messages
    stored_results = [
        block
        for message in history
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert stored_results[0]["tool_use_id"] == "add"
    assert text(stored_results[0]["content"]) == "42"


async def test_mcp_tools_need_permission_like_any_other(workspace: Path) -> None:
    servers = {"demo": {"command": sys.executable, "args": [str(DEMO_SERVER)]}}
    model = ScriptedModel([tool_use_reply("mcp__demo__add", {"a": 1, "b": 1}, id="add"), "ok"])
    messages = (
        await run_query(
            "1+1", AgentOptions(model=model, cwd=workspace, mcp_servers=servers, session_store=MemoryStore())
        )
    ).messages
    assert tool_results(messages)["add"]["is_error"]
    denials = result_of(messages).permission_denials
    assert denials is not None and denials[0]["tool_name"] == "mcp__demo__add"


async def test_unknown_permission_mode_is_a_clear_error(workspace: Path) -> None:
    from tether.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="permission mode"):
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel(["x"]),
                cwd=workspace,
                permission_mode="yolo",  # type: ignore[arg-type]  # refused, as the test checks
                session_store=MemoryStore(),
            ),
        )


def test_implemented_options_are_no_longer_unsupported() -> None:
    from tether.options import UNSUPPORTED_OPTIONS

    for name in ("tools", "allowed_tools", "disallowed_tools", "permission_mode", "can_use_tool", "hooks", "add_dirs"):
        assert name not in UNSUPPORTED_OPTIONS
    assert issubclass(UnsupportedOptionError, Exception)


async def test_set_permission_mode_applies_to_the_next_prompt(workspace: Path) -> None:
    from tether import AgentClient

    write = {"file_path": "plan.md", "content": "# plan\n"}
    model = ScriptedModel(
        [tool_use_reply("Write", write, id="first"), "refused", tool_use_reply("Write", write, id="second"), "written"]
    )
    async with AgentClient(AgentOptions(model=model, cwd=workspace, session_store=MemoryStore())) as client:
        await client.query("write the plan")
        first = [m async for m in client.receive_response()]
        assert tool_results(first)["first"]["is_error"]
        await client.set_permission_mode("acceptEdits")
        await client.query("now write it")
        second = [m async for m in client.receive_response()]
        assert not tool_results(second)["second"]["is_error"]
        assert second[0].data["permissionMode"] == "acceptEdits"  # type: ignore[union-attr]
    assert (workspace / "plan.md").read_text() == "# plan\n"
