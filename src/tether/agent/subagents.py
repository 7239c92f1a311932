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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from tether._vocabulary.options import AgentDefinition
from tether._vocabulary.store import SessionKey, SessionStore
from tether.agent.hooks import SubagentContext
from tether.agent.permissions import PermissionPolicy
from tether.agent.settings import ClaudeSettings
from tether.agent.steps import DIRECT_STEPS, current_steps
from tether.agent.subagent_definitions import (
    memory_directory,
    memory_prompt,
    skills_prompt,
    subagent_model,
    subagent_permission_mode,
    subagent_tools,
)
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
from tether.models import MODEL_ALIASES
from tether.models.base import Model
from tether.options import AgentOptions
from tether.sessions.entries import new_uuid
from tether.sessions.session import Session, SessionOrigin
from tether.sessions.store import NO_LEAF
from tether.tools.agent import AgentTool
from tether.tools.base import Tool, ToolResult
from tether.tools.registry import builtin_tools

__all__ = [
    "AGENT_METADATA",
    "SUBAGENT_TASK_TYPE",
    "ParentAgent",
    "SidechainSession",
    "SubagentAgent",
    "SubagentHost",
    "SubagentSetup",
    "subagent_subpath",
]

AGENT_METADATA = "agent_metadata"
"""The entry type that records, in a subagent transcript, who started it (the SDK's name)."""
SUBAGENT_TASK_TYPE = "local_agent"
"""`TaskStartedMessage.task_type` of a subagent (Claude Code's)."""


def subagent_subpath(agent_id: str) -> str:
    """The subpath of a subagent's transcript under its parent session (Claude Code's layout)."""
    return f"subagents/agent-{agent_id}"


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


class ParentAgent(Protocol):
    """What a subagent takes from the agent that starts it (the loop's `Agent`, after `open()`)."""

    @property
    def options(self) -> AgentOptions: ...

    @property
    def session(self) -> Session: ...

    @property
    def model(self) -> Model: ...

    @property
    def tools(self) -> dict[str, Tool]: ...

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def permissions(self) -> PermissionPolicy: ...

    @property
    def claude_settings(self) -> ClaudeSettings: ...


class SubagentAgent(Protocol):
    """A subagent's open agent: it runs the Agent call's prompt to its `ResultMessage`."""

    def run(self, prompt: str) -> AsyncIterator[Message]: ...


OpenSubagent = Callable[[AgentOptions, SubagentSetup], AbstractAsyncContextManager[SubagentAgent]]
"""Opens the agent of one subagent run (the loop passes `Agent(options, subagent=setup)`)."""


class SubagentHost:
    """The subagents of one agent: its Agent tool, and the run of each Agent call.

    The agent loop opens `delegating(sink, account)` around a reply's tool calls: the subagents'
    messages go to `sink`, and `account` adds each subagent's result (usage, cost) to the run's.
    """

    def __init__(self, parent: ParentAgent, definitions: dict[str, AgentDefinition], open_agent: OpenSubagent) -> None:
        self.parent = parent
        self.definitions = definitions
        self.open_agent = open_agent
        self.tool = AgentTool(
            {name: d.description for name, d in definitions.items()}, self, models=list(MODEL_ALIASES)
        )
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
        self.agent_id = current_steps().subagent_id(tool_use_id) or new_uuid().replace("-", "")[:17]
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
        tools, inline_servers = subagent_tools(parent.tools, definition, env)
        prompt = definition.prompt + skills_prompt(definition.skills or [], parent.claude_settings.skills)
        add_dirs = list(parent.options.add_dirs)
        if definition.memory is not None:
            directory = memory_directory(definition.memory, self.agent_type, session.cwd)
            prompt += memory_prompt(directory)
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
            permission_mode=subagent_permission_mode(parent.options.permission_mode or "default", definition),
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
        steps = current_steps()
        stored: list[dict[str, Any]] = []
        if session.access is not None and steps is not DIRECT_STEPS:  # a durable turn's: it may be a replay
            stored = list(await session.access.load(key) or [])
        session.ledger = steps.sidechain_ledger(stored)
        if stored:  # a replayed subagent: its transcript was started before
            return session
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
            async with host.open_agent(options, setup) as child:
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
