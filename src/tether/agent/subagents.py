"""Subagents: the agents of `AgentOptions.agents`, which the model starts with the Agent tool.

```python
options = AgentOptions(agents={
    "code-reviewer": AgentDefinition(
        description="Reviews code for bugs and style",
        prompt="You are a careful code reviewer.",
        tools=["Read", "Grep"],
        model="haiku",            # an alias, "inherit", or any tether model name ("local:smollm2")
    ),
})
```

A session whose options define agents offers the model the Agent tool (`tether.tools.agent`).
Each call runs one subagent with the same agent loop as the main agent (`tether.agent.loop`),
its own system prompt (the definition's `prompt`), tools (the parent's, filtered by `tools` and
`disallowedTools`; the subagent gets no Agent tool, as in Claude Code), permission mode, model
and turn limit. Its calls are decided by the parent's permission rules (the same allow, deny and
ask lists, so a rule `can_use_tool` adds on either side holds for both, as in Claude Code). Its
final answer is the call's result. Consecutive Agent calls of one reply run concurrently
(`ToolRunner.run_all`). A definition's `skills` put those skills' SKILL.md in its
system prompt, `memory` gives it Claude Code's agent-memory directory (MEMORY.md in its prompt),
`mcpServers` names servers of the parent whose tools it gets, or defines servers of its own
(docs/compatibility.md, `agents`, says what every field does).

A subagent's transcript is session data: it is stored under the parent session at the subpath
`subagents/agent-<agent id>` (Claude Code's), its entries marked `isSidechain: true` with the
`agentId`, after an `agent_metadata` entry naming the Agent call that started it (what the SDK's
store mirror writes), so `list_subagents` and `get_subagent_messages` read it. Every entry is
stored before its message reaches the caller.

The caller sees, for each subagent: a `TaskStartedMessage`; the subagent's tool calls and results
as `AssistantMessage` / `UserMessage` with `parent_tool_use_id` set to the Agent call (its text
and thinking too with `forward_subagent_text=True`), each batch of results followed by a
`TaskProgressMessage`; then a `TaskUpdatedMessage` with the terminal status and a
`TaskNotificationMessage`. The subagent's usage and cost are added to the parent's result.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from tether.agent.hooks import SubagentContext
from tether.agent.permissions import PermissionPolicy
from tether.errors import ConfigurationError
from tether.messages import (
    AssistantMessage,
    ContentBlock,
    Message,
    ResultMessage,
    SystemMessage,
    TaskNotificationMessage,
    TaskProgressMessage,
    TaskStartedMessage,
    TaskUpdatedMessage,
    TaskUsage,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)
from tether.models import resolve_model
from tether.models.base import Model
from tether.options import AgentOptions, validate_permission_mode
from tether.sessions.entries import new_uuid
from tether.sessions.session import Session, SessionOrigin
from tether.sessions.store import NO_LEAF, SessionKey, SessionStore
from tether.settings.commands import Skill
from tether.tools.agent import AGENT_TOOL_NAMES, AgentTool
from tether.tools.base import Tool, ToolResult
from tether.tools.registry import BUILTIN_TOOL_NAMES, builtin_tools
from tether.types import AgentDefinition

if TYPE_CHECKING:
    from tether.agent.loop import Agent

__all__ = [
    "AGENT_METADATA",
    "MEMORY_SCOPES",
    "SUBAGENT_TASK_TYPE",
    "SidechainSession",
    "SubagentHost",
    "SubagentSetup",
    "check_agents",
    "subagent_model",
    "subagent_subpath",
]

logger = logging.getLogger("tether.subagents")

AGENT_METADATA = "agent_metadata"
"""The entry type that records, in a subagent transcript, who started it (the SDK's name)."""
SUBAGENT_TASK_TYPE = "local_agent"
"""`TaskStartedMessage.task_type` of a subagent (Claude Code's)."""
MEMORY_SCOPES = ("user", "project", "local")
"""Values of `AgentDefinition.memory`."""
_PERMISSIVE_MODES = ("bypassPermissions", "acceptEdits", "auto")
"""Parent modes a subagent keeps whatever its definition says (as in Claude Code)."""
_MEMORY_LINES = 200
"""How many lines of a subagent's MEMORY.md go into its system prompt (Claude Code's limit)."""


def subagent_subpath(agent_id: str) -> str:
    """The subpath of a subagent's transcript under its parent session (Claude Code's layout)."""
    return f"subagents/agent-{agent_id}"


# --- Checking the definitions ---------------------------------------------------------------------


def check_agents(agents: Mapping[str, Any] | None) -> dict[str, AgentDefinition]:
    """`AgentOptions.agents` checked: `ConfigurationError` naming the agent and the field that is wrong.

    A value may be an `AgentDefinition` or a dict of its fields (the SDK's wire form).
    """
    if agents is None:
        return {}
    if not isinstance(agents, Mapping):
        raise ConfigurationError(f"agents must be a dict of name -> AgentDefinition, not {type(agents).__name__}")
    checked: dict[str, AgentDefinition] = {}
    for name, value in agents.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"agents: an agent name must be a non-empty string, not {name!r}")
        checked[name] = _check_definition(name, _as_definition(name, value))
    return checked


def _as_definition(name: str, value: Any) -> AgentDefinition:
    if isinstance(value, AgentDefinition):
        return value
    if isinstance(value, Mapping):
        try:
            return AgentDefinition(**value)
        except TypeError as error:
            raise ConfigurationError(f"agents[{name!r}]: {error}") from error
    raise ConfigurationError(f"agents[{name!r}] must be an AgentDefinition, not {type(value).__name__}")


def _is_names(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _is_count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


def _check_definition(name: str, definition: AgentDefinition) -> AgentDefinition:
    where = f"agents[{name!r}]"
    problems = {
        "description": isinstance(definition.description, str) and bool(definition.description.strip()),
        "prompt": isinstance(definition.prompt, str),
        "tools": _is_names(definition.tools),
        "disallowedTools": _is_names(definition.disallowedTools),
        "skills": _is_names(definition.skills),
        "model": definition.model is None or (isinstance(definition.model, str) and bool(definition.model)),
        "memory": definition.memory is None or definition.memory in MEMORY_SCOPES,
        "mcpServers": definition.mcpServers is None
        or (
            isinstance(definition.mcpServers, list)
            and all(isinstance(s, (str, Mapping)) for s in definition.mcpServers)
        ),
        "initialPrompt": definition.initialPrompt is None or isinstance(definition.initialPrompt, str),
        "maxTurns": _is_count(definition.maxTurns),
        "background": definition.background is None or isinstance(definition.background, bool),
        "effort": definition.effort is None or isinstance(definition.effort, str),
    }
    wrong = [field for field, fine in problems.items() if not fine]
    if wrong:
        shown = ", ".join(f"{field}={getattr(definition, field)!r}" for field in wrong)
        raise ConfigurationError(
            f"{where}: invalid {shown} (description: non-empty text; prompt, initialPrompt: text; tools, "
            "disallowedTools, skills: lists of names; memory: user, project or local; maxTurns: at least 1; "
            "effort: a level name such as 'high')"
        )
    if definition.permissionMode is not None:
        validate_permission_mode(definition.permissionMode)
    return definition


# --- Choosing a subagent's model and tools ---------------------------------------------------------


def subagent_model(name: str | None, parent: Model, env: Mapping[str, str]) -> Model:
    """The model a subagent runs on: `name` (an alias, `inherit`, or any tether model name), the
    parent's model for None or `inherit`. `CLAUDE_CODE_SUBAGENT_MODEL` overrides every choice."""
    chosen = env.get("CLAUDE_CODE_SUBAGENT_MODEL") or name
    if chosen is None or chosen == "inherit":
        return parent
    return resolve_model(chosen, env=env)  # an alias names a Claude model (tether.models.unalias)


def _tool_name(spec: str) -> str:
    """`Bash(git *)` -> `Bash`: a tools entry names a tool, perhaps with a rule Claude Code allows."""
    return spec.split("(", 1)[0].strip()


def _named(pool: Mapping[str, Tool], name: str) -> list[Tool]:
    """The tools of `pool` that `name` names: the tool itself, or every tool of an MCP server `mcp__x`."""
    if name in pool:
        return [pool[name]]
    if name.startswith("mcp__") and name.count("__") == 1:
        return [tool for tool_name, tool in pool.items() if tool_name.startswith(f"{name}__")]
    return []


def _chosen_tools(pool: Mapping[str, Tool], definition: AgentDefinition, env: Mapping[str, str]) -> dict[str, Tool]:
    """The tools a definition's `tools` picks from the parent's (all when None or `*`); a built-in
    tool may be picked even when the parent's `tools` left it out."""
    if definition.tools is None or "*" in definition.tools:
        return dict(pool)
    chosen: dict[str, Tool] = {}
    for spec in definition.tools:
        name = _tool_name(spec)
        found = _named(pool, name)
        if not found and name in BUILTIN_TOOL_NAMES:
            found = builtin_tools([name], env=env)
        if not found:
            logger.warning("a subagent names the tool %r, which this session does not have; it is left out", name)
        chosen.update((tool.name, tool) for tool in found)
    return chosen


def _subagent_tools(
    parent_tools: Mapping[str, Tool], definition: AgentDefinition, env: Mapping[str, str]
) -> tuple[dict[str, Tool], dict[str, Any]]:
    """The tools a subagent takes from its parent, and the MCP servers its definition defines inline."""
    pool = {name: tool for name, tool in parent_tools.items() if name not in AGENT_TOOL_NAMES}
    chosen = _chosen_tools(pool, definition, env)
    inline: dict[str, Any] = {}
    for server in definition.mcpServers or []:
        if isinstance(server, Mapping):
            inline.update(server)
            continue
        found = _named(pool, f"mcp__{server}")
        if not found:
            raise ConfigurationError(f"the subagent's MCP server {server!r} is not one of this session's mcp_servers")
        chosen.update((tool.name, tool) for tool in found)
    for spec in definition.disallowedTools or []:
        for tool in _named(chosen, _tool_name(spec)):
            chosen.pop(tool.name, None)
    return chosen, inline


def _permission_mode(parent_mode: str, definition: AgentDefinition) -> Any:
    """The subagent's mode: the parent's when it is permissive, else the definition's, else the parent's."""
    if parent_mode in _PERMISSIVE_MODES or definition.permissionMode is None:
        return parent_mode
    return definition.permissionMode


def _memory_directory(scope: str, agent_type: str, cwd: str) -> Path:
    """Where a subagent of `memory=scope` keeps its notes (Claude Code's directories)."""
    if scope == "user":
        return Path.home() / ".claude" / "agent-memory" / agent_type
    if scope == "project":
        return Path(cwd) / ".claude" / "agent-memory" / agent_type
    return Path(cwd) / ".claude" / "agent-memory-local" / agent_type


def _memory_prompt(directory: Path) -> str:
    """The system prompt section of a subagent with memory: where it is, and the head of MEMORY.md."""
    directory.mkdir(parents=True, exist_ok=True)
    index = directory / "MEMORY.md"
    try:
        lines = index.read_text(encoding="utf-8").splitlines()[:_MEMORY_LINES]
    except FileNotFoundError:
        lines = []
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"the subagent memory file {index} cannot be read: {error}") from error
    shown = "\n".join(lines) if lines else "(empty)"
    return (
        f"\n\n# Persistent agent memory\n\nYou have a persistent memory directory at {directory}; what you write "
        f"there is kept across conversations. Keep what is worth remembering in {index} (its first "
        f"{_MEMORY_LINES} lines are shown to you at the start of every task) and in other files there.\n\n"
        f"Contents of MEMORY.md:\n{shown}"
    )


def _skills_prompt(names: list[str], skills: Mapping[str, Skill]) -> str:
    """The system prompt section of the skills a subagent starts with (their SKILL.md bodies)."""
    missing = [name for name in names if name not in skills]
    if missing:
        known = ", ".join(sorted(skills)) or "none"
        raise ConfigurationError(f"the subagent's skills {', '.join(missing)} are not found (skills found: {known})")
    return "".join(f"\n\n# Skill: {name}\n\n{skills[name].body}" for name in names)


# --- The subagent's session ------------------------------------------------------------------------


@dataclass
class SidechainSession(Session):
    """A subagent's transcript: entries under its parent session's key, at `subagents/agent-<id>`,
    marked `isSidechain: true` with the `agentId`, as Claude Code writes them."""

    agent_id: str = ""

    async def append_entries(self, entries: list[dict[str, Any]]) -> None:
        """Write entries (see `Session.append_entries`), each chain entry marked as the subagent's
        (messages, and a compaction's boundary, summary and kept tail alike). Stores keep no leaf
        for sidechain entries, so every write expects none: the transcript has one writer, this run."""
        for entry in entries:
            if entry.get("uuid"):
                entry.update(isSidechain=True, agentId=self.agent_id)
        await super().append_entries(entries)
        self.expected_leaf = NO_LEAF


@dataclass
class SubagentSetup:
    """What a subagent's `Agent` takes from its parent instead of making it from options."""

    model: Model
    store: SessionStore | None
    system_prompt: str
    tools: dict[str, Tool]
    permissions: PermissionPolicy
    """The parent's policy, whose rules the subagent's calls are decided by (its mode is the subagent's)."""
    context: SubagentContext
    open_session: Callable[[], Awaitable[Session]]


# --- Running subagents -----------------------------------------------------------------------------


class SubagentHost:
    """The subagents of one agent: its Agent tool, and the run of each Agent call.

    The agent loop opens `delegating(sink, account)` around a reply's tool calls: the subagents'
    messages go to `sink`, and `account` adds each subagent's result (usage, cost) to the run's.
    """

    def __init__(self, parent: Agent, definitions: dict[str, AgentDefinition]) -> None:
        self.parent = parent
        self.definitions = definitions
        self.tool = AgentTool({name: d.description for name, d in definitions.items()}, self)
        self._sink: MemoryObjectSendStream[Message] | None = None
        self._account: Callable[[ResultMessage], None] | None = None

    @contextmanager
    def delegating(
        self, sink: MemoryObjectSendStream[Message], account: Callable[[ResultMessage], None]
    ) -> Iterator[None]:
        """While open, subagent messages go to `sink` and their results to `account`."""
        self._sink, self._account = sink, account
        try:
            yield
        finally:
            self._sink, self._account = None, None

    def emit(self, message: Message) -> None:
        """Pass a subagent's message on to the caller (dropped when nobody listens any more)."""
        if self._sink is None:
            return
        try:
            self._sink.send_nowait(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    def account(self, result: ResultMessage) -> None:
        """Add a subagent's usage and cost to the parent's run."""
        if self._account is not None:
            self._account(result)

    async def delegate(self, input: dict[str, Any], tool_use_id: str) -> ToolResult:
        """Run the subagent an Agent call names; its final answer is the result."""
        agent_type = str(input.get("subagent_type") or "")
        definition = self.definitions.get(agent_type)
        if definition is None:
            known = ", ".join(self.definitions) or "none"
            return ToolResult(f"Agent type '{agent_type}' not found. Available agents: {known}", is_error=True)
        return await _SubagentRun(self, agent_type, definition, input, tool_use_id).execute()


class _SubagentRun:
    """One Agent call: the subagent's setup, its run, and what the caller is told about it."""

    def __init__(
        self, host: SubagentHost, agent_type: str, definition: AgentDefinition, input: dict[str, Any], tool_use_id: str
    ) -> None:
        self.host = host
        self.agent_type = agent_type
        self.definition = definition
        self.tool_use_id = tool_use_id
        self.agent_id = new_uuid().replace("-", "")[:17]
        self.description = str(input.get("description") or agent_type)
        self.prompt = str(input.get("prompt") or "")
        self.model_name = input.get("model") if isinstance(input.get("model"), str) else None
        self.session_id = host.parent.session.session_id
        self.started = time.monotonic()
        self.tokens = 0
        self.tool_uses = 0
        self.last_tool: str | None = None
        self.transcript_path = ""

    # -- setup --

    def _setup(self) -> tuple[AgentOptions, SubagentSetup]:
        parent, definition = self.host.parent, self.definition
        session = parent.session
        env = parent.env
        model = subagent_model(self.model_name or definition.model, parent.model, env)
        tools, inline_servers = _subagent_tools(parent.tools, definition, env)
        prompt = definition.prompt + _skills_prompt(definition.skills or [], parent.claude_settings.skills)
        add_dirs = list(parent.options.add_dirs)
        if definition.memory is not None:
            directory = _memory_directory(definition.memory, self.agent_type, session.cwd)
            prompt += _memory_prompt(directory)
            add_dirs.append(directory)
            for name in ("Read", "Write", "Edit"):
                tools.setdefault(name, builtin_tools([name], env=env)[0])
        options = dataclasses.replace(
            parent.options,
            model=model,
            fallback_model=None,
            system_prompt=prompt,
            tools=None,
            mcp_servers=inline_servers,
            permission_mode=_permission_mode(parent.options.permission_mode or "default", definition),
            max_turns=definition.maxTurns,
            max_budget_usd=None,
            effort=definition.effort if isinstance(definition.effort, str) else parent.options.effort,
            add_dirs=add_dirs,
            continue_conversation=False,
            resume=None,
            session_id=None,
            fork_session=False,
            resume_session_at=None,
            agents=None,
            forward_subagent_text=False,
            include_partial_messages=False,
            output_format=None,
            persist_session=session.store is not None,
            setting_sources=[],  # the parent's settings are in its options (hooks, env) and rules (SubagentSetup)
            settings=None,
            skills=None,
            plugins=[],
        )
        key = SessionKey(
            project_key=session.project_key, session_id=session.session_id, subpath=subagent_subpath(self.agent_id)
        )
        if session.access is not None:  # the subagent's file where the store keeps one (JsonlStore)
            self.transcript_path = session.access.transcript_path(key)
        context = SubagentContext(self.agent_id, self.agent_type, self.transcript_path)
        setup = SubagentSetup(
            model=model,
            store=session.store,
            system_prompt=prompt,
            tools=tools,
            permissions=parent.permissions,
            context=context,
            open_session=lambda: self._open_session(session, key),
        )
        return options, setup

    async def _open_session(self, parent: Session, key: SessionKey) -> Session:
        """Start the transcript with the `agent_metadata` entry that names the call that started it."""
        session = SidechainSession(
            store=parent.store, key=key, cwd=parent.cwd, origin=SessionOrigin("startup"), agent_id=self.agent_id
        )
        metadata = {
            "type": AGENT_METADATA,
            "agentType": self.agent_type,
            "description": self.description,
            "toolUseId": self.tool_use_id,
        }
        await session.append_entries([metadata])
        return session

    # -- the run --

    async def execute(self) -> ToolResult:
        """Run the subagent to its result; the caller hears of it as it goes."""
        host = self.host
        result: ResultMessage | None = None
        host.emit(self._started())
        try:
            options, setup = self._setup()
            async with type(host.parent)(options, subagent=setup) as child:
                async for message in child.run(self.prompt):
                    if isinstance(message, ResultMessage):
                        result = message
                    else:
                        self._forward(message)
        except anyio.get_cancelled_exc_class():
            self._finish("stopped", "killed", "was stopped")
            raise
        except Exception as error:
            self._finish("failed", "failed", f"failed: {type(error).__name__}: {error}")
            return ToolResult(f"The {self.agent_type} agent failed: {type(error).__name__}: {error}", is_error=True)
        assert result is not None
        host.account(result)
        if result.is_error:
            problem = result.result or result.subtype
            self._finish("failed", "failed", f"failed: {problem}")
            return ToolResult(f"The {self.agent_type} agent did not finish: {problem}", is_error=True)
        self._finish("completed", "completed", "completed")
        return self._answer(result)

    def _answer(self, result: ResultMessage) -> ToolResult:
        """The tool result: the subagent's final text, and Claude Code's structured record of the run."""
        text = result.result or ""
        content = [{"type": "text", "text": text}]
        structured = {
            "status": "completed",
            "prompt": self.prompt,
            "agentId": self.agent_id,
            "agentType": self.agent_type,
            "content": content,
            "totalDurationMs": self._elapsed_ms(),
            "totalTokens": self.tokens,
            "totalToolUseCount": self.tool_uses,
            "usage": dict(result.usage or {}),
        }
        return ToolResult(content, structured=structured)

    def _forward(self, message: Message) -> None:
        """Pass one of the subagent's messages on, as the SDK does (see the module docstring)."""
        host, forward_text = self.host, self.host.parent.options.forward_subagent_text
        if isinstance(message, AssistantMessage):
            usage = message.usage or {}
            self.tokens += int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
            calls = [block for block in message.content if isinstance(block, ToolUseBlock)]
            if calls:
                self.tool_uses += len(calls)
                self.last_tool = calls[-1].name
            content: list[ContentBlock] = list(message.content) if forward_text else list(calls)
            if content:
                host.emit(dataclasses.replace(message, content=content, parent_tool_use_id=self.tool_use_id))
        elif isinstance(message, UserMessage):
            results = isinstance(message.content, list) and any(
                isinstance(block, ToolResultBlock) for block in message.content
            )
            if results or forward_text:
                host.emit(dataclasses.replace(message, parent_tool_use_id=self.tool_use_id))
            if results:
                host.emit(self._progress())
        elif not (isinstance(message, SystemMessage) and message.subtype == "init"):
            host.emit(message)  # hook events, rate limits

    # -- task messages --

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def _usage(self) -> TaskUsage:
        return TaskUsage(total_tokens=self.tokens, tool_uses=self.tool_uses, duration_ms=self._elapsed_ms())

    def _data(self, subtype: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": subtype,
            "task_id": self.agent_id,
            "tool_use_id": self.tool_use_id,
            "uuid": new_uuid(),
            "session_id": self.session_id,
            **fields,
        }

    def _started(self) -> TaskStartedMessage:
        data = self._data("task_started", description=self.description, task_type=SUBAGENT_TASK_TYPE)
        return TaskStartedMessage(
            subtype="task_started",
            data=data,
            task_id=self.agent_id,
            description=self.description,
            uuid=data["uuid"],
            session_id=self.session_id,
            tool_use_id=self.tool_use_id,
            task_type=SUBAGENT_TASK_TYPE,
        )

    def _progress(self) -> TaskProgressMessage:
        usage = self._usage()
        data = self._data("task_progress", description=self.description, usage=usage, last_tool_name=self.last_tool)
        return TaskProgressMessage(
            subtype="task_progress",
            data=data,
            task_id=self.agent_id,
            description=self.description,
            usage=usage,
            uuid=data["uuid"],
            session_id=self.session_id,
            tool_use_id=self.tool_use_id,
            last_tool_name=self.last_tool,
        )

    def _finish(self, status: Any, raw_status: Any, how: str) -> None:
        """The terminal `task_updated` (raw status) and `task_notification` (mapped status) of the task."""
        patch = {"status": raw_status, "end_time": int(time.time() * 1000)}
        updated = self._data("task_updated", patch=patch)
        self.host.emit(
            TaskUpdatedMessage(
                subtype="task_updated",
                data=updated,
                task_id=self.agent_id,
                patch=patch,
                status=raw_status,
                session_id=self.session_id,
                uuid=updated["uuid"],
            )
        )
        usage = self._usage()
        summary = f'Agent "{self.description}" {how}'
        data = self._data(
            "task_notification", status=status, output_file=self.transcript_path, summary=summary, usage=usage
        )
        self.host.emit(
            TaskNotificationMessage(
                subtype="task_notification",
                data=data,
                task_id=self.agent_id,
                status=status,
                output_file=self.transcript_path,
                summary=summary,
                uuid=data["uuid"],
                session_id=self.session_id,
                tool_use_id=self.tool_use_id,
                usage=usage,
            )
        )
