"""The agent loop: model turn -> assistant message -> tool calls -> tool results -> next turn.

`Agent` holds one open session. `open()` resolves the model and the store and opens (starts,
resumes or forks) the session before anything is yielded; `run(prompt)` runs one user prompt to
its `ResultMessage`. Every message is appended to the session store before it is yielded.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tether._version import __version__
from tether.agent.overrides import model_override
from tether.agent.prompts import system_prompt_text
from tether.agent.tool_runner import SessionTools, ToolOutcome
from tether.errors import ConfigurationError, ModelError
from tether.messages import (
    AssistantMessage,
    Message,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    UserMessage,
    blocks_from_content,
)
from tether.models import resolve_model
from tether.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    RawStreamEvent,
    ToolSpec,
    add_usage,
    empty_usage,
    keep_connected,
)
from tether.options import AgentOptions, check_options
from tether.sessions.entries import make_meta_entry, new_uuid
from tether.sessions.keys import project_key_for_directory
from tether.sessions.session import Session
from tether.sessions.store import SessionStore
from tether.sessions.urls import open_store, opened_for_caller
from tether.tools.base import Tool

__all__ = ["Agent"]

DEFAULT_MAX_TOKENS = 8192


class Agent:
    """One agent bound to one session. Use `async with Agent(options) as agent`."""

    def __init__(self, options: AgentOptions | None = None) -> None:
        # A copy: set_model / set_permission_mode change this agent, never the caller's options.
        self.options = dataclasses.replace(options) if options is not None else AgentOptions()
        self._session: Session | None = None
        self._model: Model | None = None
        self._tools: dict[str, Tool] = {}
        self._mcp_status: list[dict[str, Any]] = []
        self._tooling: SessionTools | None = None
        self._exit_stack = AsyncExitStack()
        self._interrupted = False
        self._owns_store = False
        self._store: SessionStore | None = None

    @property
    def session(self) -> Session:
        """The open session (after `open()`)."""
        if self._session is None:
            raise RuntimeError("the agent is not open yet: call open() or use `async with`")
        return self._session

    @property
    def model(self) -> Model:
        """The model in use (after `open()`)."""
        if self._model is None:
            raise RuntimeError("the agent is not open yet: call open() or use `async with`")
        return self._model

    async def __aenter__(self) -> Agent:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> Session:
        """Check the options, pick model and store, and open the session (nothing is yielded yet)."""
        options = self.options
        check_options(options)
        cwd = _resolve_cwd(options.cwd)
        env = {**os.environ, **options.env}
        self._model = model_override.get() or resolve_model(
            options.model, fallback_model=options.fallback_model, env=env
        )
        store = open_store(options.session_store, env=env, shared=True)
        self._owns_store = opened_for_caller(store, options.session_store)
        self._store = store
        try:
            await self._exit_stack.enter_async_context(keep_connected(self._model))  # one connection per run
            self._session = await self._open_session(store, cwd)
            # tools, permissions, hooks and MCP servers (tether.agent.tool_runner)
            self._tooling = await SessionTools.open(
                options,
                cwd=self._session.cwd,
                session_id=self._session.session_id,
                session_source=self._session.origin.source,
                exit_stack=self._exit_stack,
                model_name=self._model.model_name,
            )
            self._tools = self._tooling.tools
            self._mcp_status = self._tooling.mcp_status
        except BaseException:
            await self.close()
            raise
        return self._session

    async def _open_session(self, store: SessionStore, cwd: str) -> Session:
        options = self.options
        persist = options.persist_session
        source_id = options.resume
        if options.continue_conversation:
            source_id = await _newest_session_id(store, cwd)
        mode = options.permission_mode or "default"
        if source_id is None:
            return await Session.start(
                store if persist else None, cwd=cwd, session_id=options.session_id, permission_mode=mode
            )
        if options.fork_session:
            return await Session.fork(
                store,
                source_id,
                cwd=cwd,
                new_session_id=options.session_id,
                at_uuid=options.resume_session_at,
                persist=persist,
            )
        return await Session.resume(store, source_id, cwd=cwd, at_uuid=options.resume_session_at, persist=persist)

    async def use_model(self, model: Model) -> None:
        """Run the next prompts on `model` (its connection, too, is kept until the agent closes)."""
        await self._exit_stack.enter_async_context(keep_connected(model))
        self._model = model

    async def close(self) -> None:
        """Release tools, connections and the store (if the agent opened it)."""
        await self._exit_stack.aclose()
        if self._owns_store and self._store is not None:
            close = getattr(self._store, "close", None)
            if close is not None:
                await close()
        self._store = None

    def interrupt(self) -> None:
        """Stop the running prompt at the next step; its session stays consistent and resumable."""
        self._interrupted = True

    def init_message(self) -> SystemMessage:
        """The `init` system message: session id, cwd, model, tools, MCP servers, permission mode."""
        session = self.session
        data: dict[str, Any] = {
            "type": "system",
            "subtype": "init",
            "session_id": session.session_id,
            "uuid": new_uuid(),
            "cwd": session.cwd,
            "model": self.model.model_name,
            "tools": list(self._tools),
            "mcp_servers": list(self._mcp_status),
            "permissionMode": self.options.permission_mode or "default",
            "apiKeySource": getattr(self.model, "api_key_source", "none"),
            "slash_commands": [],
            "output_style": "default",
            "version": __version__,
            "source": session.origin.source,
        }
        if session.origin.forked_from is not None:
            data["forked_from"] = session.origin.forked_from
        return SystemMessage(subtype="init", data=data)

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Run one user prompt: yields `init`, the conversation, and a final `ResultMessage`."""
        self._interrupted = False
        yield self.init_message()
        turn = _Turn(self)
        async for message in turn.run(prompt):
            yield message


class _Turn:
    """The state of one prompt's run: counters, usage, denials."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.session = agent.session
        self.options = agent.options
        self.started = time.monotonic()
        self.api_seconds = 0.0
        self.num_turns = 0
        self.denials: list[dict[str, Any]] = []
        totals = self.session.totals
        self.usage: dict[str, int] = {**empty_usage(), **dict(totals.get("usage") or {})}
        self.model_usage: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (totals.get("modelUsage") or {}).items()}
        self.cost: float | None = totals.get("totalCostUSD", 0.0) if totals else 0.0
        assert agent._tooling is not None
        self.tooling = agent._tooling
        self.runner = agent._tooling.runner(Path(self.session.cwd), self.session.session_id, self.session.state)

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        session = self.session
        prepared = await self.tooling.prepare_prompt(prompt)  # SessionStart and UserPromptSubmit hooks
        if prepared.blocked is not None:
            yield await self._result("error_during_execution", errors=[prepared.blocked])
            return
        await session.append_message("user", {"role": "user", "content": prepared.prompt})
        last_text: str | None = None
        stop_hook_active = False
        while True:
            if self.agent._interrupted:
                yield await self._result("error_during_execution", errors=["the run was interrupted"])
                return
            if self.options.max_turns is not None and self.num_turns >= self.options.max_turns:
                yield await self._result("error_max_turns", errors=[f"reached max_turns ({self.options.max_turns})"])
                return
            self.num_turns += 1
            response: ModelResponse | None = None
            try:
                async for event in self._stream_model():
                    if isinstance(event, StreamEvent):
                        yield event
                    else:
                        response = event
            except ModelError as error:
                yield await self._result("error_during_execution", errors=[str(error)], api_status=error.status_code)
                return
            assert response is not None
            self._count(response)
            yield await self._store_assistant(response)
            texts = [b.get("text", "") for b in response.content if b.get("type") == "text"]
            if texts:
                last_text = "".join(texts)
            calls = [b for b in response.content if b.get("type") == "tool_use"]
            if not calls:
                feedback = await self.tooling.stop_feedback(stop_hook_active)  # a Stop hook may say go on
                if feedback is not None:
                    stop_hook_active = True
                    entry = await session.append_message("user", {"role": "user", "content": feedback})
                    yield UserMessage(content=feedback, uuid=entry["uuid"])
                    continue
                yield await self._result("success", text=last_text, stop_reason=response.stop_reason)
                return
            outcomes = [await self.runner.run(call) for call in calls]
            yield await self._store_tool_results(outcomes)
            if any(outcome.interrupt for outcome in outcomes):
                reason = next(
                    (o.stop_reason for o in outcomes if o.stop_reason), "a tool call was denied with interrupt"
                )
                yield await self._result("error_during_execution", errors=[reason])
                return
            budget = self.options.max_budget_usd
            if budget is not None and self.cost is not None and self.cost >= budget:
                yield await self._result("error_max_budget_usd", errors=[f"reached max_budget_usd ({budget})"])
                return

    async def _stream_model(self) -> AsyncIterator[StreamEvent | ModelResponse]:
        agent, session = self.agent, self.session
        request = ModelRequest(
            messages=list(session.messages),  # providers treat the request as read-only: no deep copy
            system=system_prompt_text(self.options.system_prompt),
            tools=[ToolSpec(t.name, t.description, t.input_schema) for t in agent._tools.values()],
            max_tokens=self.options.max_tokens or DEFAULT_MAX_TOKENS,
            session_id=session.session_id,
        )
        started = time.monotonic()
        response: ModelResponse | None = None
        try:
            async for event in agent.model.stream(request):
                if isinstance(event, RawStreamEvent):
                    if self.options.include_partial_messages:
                        yield StreamEvent(uuid=new_uuid(), session_id=session.session_id, event=event.event)
                elif isinstance(event, ModelResponse):
                    response = event
        finally:
            self.api_seconds += time.monotonic() - started
        if response is None:
            raise ModelError(f"the model {agent.model.model_name!r} ended its stream without a response")
        yield response

    def _count(self, response: ModelResponse) -> None:
        add_usage(self.usage, response.usage)
        per_model = self.model_usage.setdefault(
            response.model,
            {
                "inputTokens": 0,
                "outputTokens": 0,
                "cacheReadInputTokens": 0,
                "cacheCreationInputTokens": 0,
                "webSearchRequests": 0,
                "costUSD": 0.0,
            },
        )
        per_model["inputTokens"] += response.usage.get("input_tokens", 0)
        per_model["outputTokens"] += response.usage.get("output_tokens", 0)
        per_model["cacheReadInputTokens"] += response.usage.get("cache_read_input_tokens", 0)
        per_model["cacheCreationInputTokens"] += response.usage.get("cache_creation_input_tokens", 0)
        if response.cost_usd is None or per_model["costUSD"] is None:
            per_model["costUSD"] = None
        else:
            per_model["costUSD"] += response.cost_usd
        if response.cost_usd is None or self.cost is None:
            self.cost = None
        else:
            self.cost += response.cost_usd

    async def _store_assistant(self, response: ModelResponse) -> AssistantMessage:
        message_id = response.id or f"msg_{new_uuid().replace('-', '')[:24]}"
        message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": response.model,
            "content": response.content,
            "stop_reason": response.stop_reason,
            "stop_sequence": None,
            "usage": response.usage,
        }
        entry = await self.session.append_message("assistant", message)
        content = blocks_from_content(response.content)
        return AssistantMessage(
            content=content if isinstance(content, list) else [],
            model=response.model,
            usage=dict(response.usage),
            message_id=message_id,
            stop_reason=response.stop_reason,
            session_id=self.session.session_id,
            uuid=entry["uuid"],
        )

    async def _store_tool_results(self, outcomes: list[ToolOutcome]) -> UserMessage:
        self.denials.extend(o.denial for o in outcomes if o.denial is not None)
        blocks = [o.result for o in outcomes]
        structured = [o.tool_use_result for o in outcomes]
        tool_use_result = structured[0] if len(structured) == 1 else structured
        entry = await self.session.append_message(
            "user", {"role": "user", "content": blocks}, toolUseResult=tool_use_result
        )
        content = blocks_from_content(blocks)
        return UserMessage(
            content=content,
            uuid=entry["uuid"],
            tool_use_result=tool_use_result if isinstance(tool_use_result, dict) else None,
        )

    async def _result(
        self,
        subtype: str,
        *,
        text: str | None = None,
        errors: list[str] | None = None,
        stop_reason: str | None = None,
        api_status: int | None = None,
    ) -> ResultMessage:
        session = self.session
        state = make_meta_entry(
            "cost-state",
            session_id=session.session_id,
            totalCostUSD=self.cost,
            usage=dict(self.usage),
            modelUsage=self.model_usage,
        )
        await session.append_entries([state])
        session.totals = {"totalCostUSD": self.cost, "usage": dict(self.usage), "modelUsage": self.model_usage}
        is_error = subtype != "success"
        return ResultMessage(
            subtype=subtype,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            duration_api_ms=int(self.api_seconds * 1000),
            is_error=is_error,
            num_turns=self.num_turns,
            session_id=session.session_id,
            stop_reason=stop_reason,
            total_cost_usd=self.cost,
            usage=dict(self.usage),
            result=text if not is_error else "; ".join(errors or []),
            model_usage={k: dict(v) for k, v in self.model_usage.items()},
            permission_denials=list(self.denials),
            errors=list(errors or []),
            api_error_status=api_status,
            uuid=new_uuid(),
        )


def _resolve_cwd(cwd: str | Path | None) -> str:
    path = Path(cwd).expanduser() if cwd is not None else Path.cwd()
    if not path.is_dir():
        raise ConfigurationError(f"cwd {str(path)!r} is not an existing directory")
    return str(path.resolve())


async def _newest_session_id(store: SessionStore, cwd: str) -> str | None:
    """The most recently modified session of the project at `cwd`, if any."""
    project_key = project_key_for_directory(cwd)
    list_page = getattr(store, "list_page", None)
    if list_page is not None:
        page = await list_page(project_key, limit=1)
        return page.items[0]["session_id"] if page.items else None
    list_sessions = getattr(store, "list_sessions", None)
    if list_sessions is None:
        raise ConfigurationError(
            f"continue_conversation needs a store that can list sessions; {type(store).__name__} cannot"
        )
    sessions = await list_sessions(project_key)
    return max(sessions, key=lambda s: s["mtime"])["session_id"] if sessions else None
