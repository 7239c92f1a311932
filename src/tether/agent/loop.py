"""The agent loop: model turn -> assistant message -> tool calls -> tool results -> next turn.

`Agent` holds one open session. `open()` resolves the model and the store and opens (starts,
resumes or forks) the session before anything is yielded; `run(prompt)` runs one user prompt to
its `ResultMessage`. Every message is appended to the session store before it is yielded.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, nullcontext
from pathlib import Path
from typing import Any, cast

import anyio

from tether._background import Background
from tether._version import __version__
from tether.agent.checkpoints import FileCheckpoints
from tether.agent.compaction import (
    CompactionPolicy,
    CompactJob,
    Compactor,
    compact_command,
    is_prompt_too_long,
    request_tokens,
)
from tether.agent.hooks import check_hooks
from tether.agent.overrides import model_override
from tether.agent.permissions import PermissionPolicy
from tether.agent.prompts import (
    ResolvedSystemPrompt,
    resolve_system_prompt,
    session_system_prompt,
    system_prompt_record,
)
from tether.agent.subagents import SubagentHost, SubagentSetup, check_agents
from tether.agent.tool_runner import SessionTools, ToolOutcome
from tether.errors import ConfigurationError, ModelError, SessionError
from tether.messages import (
    AssistantMessage,
    Message,
    ModelUsage,
    RateLimitEvent,
    RateLimitInfo,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    UserMessage,
    blocks_from_content,
)
from tether.models import resolve_model
from tether.models.base import (
    DEFAULT_TIMEOUTS,
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RateLimited,
    RawStreamEvent,
    Timeouts,
    ToolSpec,
    add_usage,
    check_settings,
    empty_usage,
    keep_connected,
)
from tether.models.guard import guarded_stream
from tether.models.limits import limits_for
from tether.models.settings import structured_output, structured_output_retry_prompt
from tether.options import AgentOptions, check_options, replays_user_messages
from tether.sessions.capabilities import StoreDeadline, store_access
from tether.sessions.entries import make_meta_entry, new_uuid
from tether.sessions.keys import project_key_for_directory
from tether.sessions.lease import SessionLease, check_lease_options
from tether.sessions.session import INTERRUPTED_TOOL_RESULT, Session
from tether.sessions.store import SessionStore
from tether.sessions.urls import open_store, opened_for_caller
from tether.settings import ClaudeSettings
from tether.tools.agent import AGENT_TOOL, AGENT_TOOL_NAMES
from tether.tools.base import Tool

__all__ = ["Agent"]

DEFAULT_MAX_TOKENS = 8192
STRUCTURED_OUTPUT_RETRIES = 1
"""How often a final answer that does not match `output_format`'s schema is asked for again."""


class Agent:
    """One agent bound to one session. Use `async with Agent(options) as agent`."""

    def __init__(self, options: AgentOptions | None = None, *, subagent: SubagentSetup | None = None) -> None:
        # A copy: set_model / set_permission_mode change this agent, never the caller's options.
        self.options = dataclasses.replace(options) if options is not None else AgentOptions()
        self._subagent = subagent
        """Set for a subagent: the model, store, session, prompt and tools it takes from its parent."""
        self.subagents: SubagentHost | None = None
        """The agents of `options.agents` and the Agent tool that runs them (None without agents)."""
        self._session: Session | None = None
        self._model: Model | None = None
        self.settings = ModelSettings()
        """What the run asks of the model besides the conversation (from the options, at `open()`)."""
        self._tools: dict[str, Tool] = {}
        self._mcp_status: list[dict[str, Any]] = []
        self._tooling: SessionTools | None = None
        self._exit_stack = AsyncExitStack()
        self._interrupted = False
        self._turn: _Turn | None = None
        self._owns_store = False
        self._store: SessionStore | None = None
        self._system_prompt = ""
        self.timeouts = DEFAULT_TIMEOUTS
        """How long model calls and runs may take (the options' timeouts, from `open()`)."""
        self.compactor = Compactor(CompactionPolicy())
        """When and how the session is compacted, and the context meter (from `open()`)."""
        self._env: dict[str, str] = {}
        self.claude_settings = ClaudeSettings()
        """What Claude Code's files (settings, CLAUDE.md, commands, skills, agents, plugins) add (from `open()`)."""
        self._prompt_models: dict[str, Model] = {}
        """Models named by commands' front matter, by name, connected at their first prompt."""
        self.lease: SessionLease | None = None
        """The session's turn lease (None when nothing is persisted); held while a prompt runs."""
        self.store_deadline = StoreDeadline()
        """How long the session's store calls may take: `store_timeout`, and within a run `run_timeout`."""

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

    @property
    def tools(self) -> dict[str, Tool]:
        """The session's tools by name, as the model is offered them (after `open()`)."""
        return self._tools

    @property
    def system_prompt(self) -> str:
        """The system prompt the session sends (after `open()`)."""
        return self._system_prompt

    @property
    def permissions(self) -> PermissionPolicy:
        """The permission policy that decides the session's tool calls (after `open()`)."""
        if self._tooling is None:
            raise RuntimeError("the agent is not open yet: call open() or use `async with`")
        return self._tooling.policy

    @property
    def env(self) -> dict[str, str]:
        """The environment of the run: the process's, updated with `options.env` (after `open()`)."""
        return self._env

    @property
    def file_checkpoints(self) -> FileCheckpoints | None:
        """The session's file backups (`enable_file_checkpointing`; after `open()`), else None."""
        return self._tooling.checkpoints if self._tooling is not None else None

    @property
    def echoes_prompts(self) -> bool:
        """Whether each prompt is yielded as a `UserMessage` once stored (not for a subagent)."""
        return self._subagent is None and replays_user_messages(self.options)

    @property
    def mcp_status(self) -> list[dict[str, Any]]:
        """`[{"name", "status"}]` of the MCP servers, as the `init` message lists them."""
        return self._mcp_status

    async def __aenter__(self) -> Agent:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> Session:
        """Check the options, pick model and store, and open the session (nothing is yielded yet)."""
        options = self.options
        check_options(options)
        self.timeouts = Timeouts.from_options(options)  # a bad timeout fails here, before any write
        check_lease_options(options.session_lease_ttl, options.session_busy_timeout)
        check_hooks(options.hooks)  # an event tether does not fire fails here, before a session is created
        cwd = _resolve_cwd(options.cwd)
        self.claude_settings = ClaudeSettings.load(options, cwd)  # a malformed file fails here, naming it
        self.options = options = self.claude_settings.apply(options)  # tether.settings: rules, hooks, memory...
        definitions = check_agents(options.agents)  # those of the options and of .claude/agents files
        env = {**os.environ, **options.env}
        subagent = self._subagent
        if subagent is not None:
            self._model = subagent.model
        else:
            self._model = model_override.get() or resolve_model(
                options.model, fallback_model=options.fallback_model, env=env
            )
        self.settings = _model_settings(options, env)
        check_settings(self._model, self.settings)  # an option the model cannot honour fails before any write
        self._env = env
        self.compactor = Compactor(  # a bad setting fails before any write
            self._compaction_policy(self._model),
            None if options.compact_model is None else resolve_model(options.compact_model, env=env),
        )
        if subagent is None:
            opened = open_store(options.session_store, env=env, shared=True)
            self._owns_store = opened_for_caller(opened, options.session_store)
            store: SessionStore | None = opened
        else:
            store = subagent.store  # the parent's, which the parent closes
        self._store = store
        self.store_deadline = StoreDeadline(options.store_timeout, options.run_timeout)
        self.store_deadline.start_run()  # opening is part of the first run
        try:
            await self._exit_stack.enter_async_context(keep_connected(self._model))  # one connection per run
            if subagent is not None:  # its transcript, under the parent's session (no lease: the parent holds it)
                self._session = await subagent.open_session()
                self._system_prompt = subagent.system_prompt
            else:
                assert store is not None
                prompt = resolve_system_prompt(options.system_prompt, cwd=cwd)
                self._session = session = await self._open_session(store, cwd, prompt)
                if session.access is not None:
                    self.lease = SessionLease(session.access, session.key, ttl=options.session_lease_ttl)
                self._system_prompt = session_system_prompt(prompt, self._session.meta)
            # tools, permissions, hooks and MCP servers (tether.agent.tool_runner)
            self._tooling = await SessionTools.open(
                options,
                cwd=self._session.cwd,
                session_id=self._session.session_id,
                session_source=self._session.origin.source,
                exit_stack=self._exit_stack,
                model_name=self._model.model_name,
                session=self._session,
                inherited=subagent.tools if subagent is not None else None,
                subagent=subagent.context if subagent is not None else None,
            )
            self._tools = self._tooling.tools
            if subagent is not None:  # the parent's allow, deny and ask rules, as in Claude Code
                self._tooling.policy.share_rules(subagent.permissions)
            self.claude_settings.equip(self._tools, self._tooling.policy, options.tools)  # Skill tool, `ask` rules
            self._mcp_status = self._tooling.mcp_status
            if definitions:  # the Agent tool (tether.agent.subagents)
                self.subagents = SubagentHost(self, definitions)
                self._tools[AGENT_TOOL] = self.subagents.tool
        except BaseException:
            await self.close()
            raise
        return self._session

    async def _open_session(self, store: SessionStore, cwd: str, prompt: ResolvedSystemPrompt) -> Session:
        options = self.options
        resuming = bool(options.resume or options.continue_conversation)
        deadline = anyio.fail_after(options.load_timeout_ms / 1000) if resuming else nullcontext()
        try:
            with deadline:
                return await self._start_or_resume(store, cwd, prompt)
        except TimeoutError as error:
            raise SessionError(
                f"the session store did not answer within load_timeout_ms ({options.load_timeout_ms} ms) "
                "while loading the session to resume"
            ) from error

    async def _start_or_resume(self, store: SessionStore, cwd: str, prompt: ResolvedSystemPrompt) -> Session:
        options = self.options
        persist = options.persist_session
        source_id = options.resume
        if options.continue_conversation:
            source_id = await _newest_session_id(store, cwd)
        mode = options.permission_mode or "default"
        if source_id is None:
            return await Session.start(
                store if persist else None,
                cwd=cwd,
                session_id=options.session_id,
                permission_mode=mode,
                metadata=system_prompt_record(prompt),
                deadline=self.store_deadline,
            )
        if options.fork_session:
            return await Session.fork(
                store,
                source_id,
                cwd=cwd,
                new_session_id=options.session_id,
                at_uuid=options.resume_session_at,
                persist=persist,
                drops_turn=options.resume_drops_turn,
                deadline=self.store_deadline,
            )
        return await Session.resume(  # calls left unanswered are closed at the first turn, under the lease
            store,
            source_id,
            cwd=cwd,
            at_uuid=options.resume_session_at,
            persist=persist,
            close_unanswered=False,
            drops_turn=options.resume_drops_turn,
            deadline=self.store_deadline,
        )

    async def use_model(self, model: Model) -> None:
        """Run the next prompts on `model` (its connection, too, is kept until the agent closes)."""
        check_settings(model, self.settings)
        self._compaction_policy(model)  # a bad setting fails before the switch
        await self._exit_stack.enter_async_context(keep_connected(model))
        self._switch_model(model)

    def _switch_model(self, model: Model) -> None:
        """Run on `model` from now on (already connected)."""
        self._model = model
        self.compactor.policy = self._compaction_policy(model)
        self.compactor.meter.reset()  # another model counts tokens its own way

    def _compaction_policy(self, model: Model) -> CompactionPolicy:
        limits = limits_for(model.model_name, self.settings.betas)
        window = self.options.context_window
        if window is not None:
            if isinstance(window, bool) or not isinstance(window, int) or window < 1:
                raise ConfigurationError(f"context_window must be a positive number of tokens, not {window!r}")
            limits = dataclasses.replace(limits, context_window=window)
        return CompactionPolicy.for_model(limits, self._env)

    async def close(self) -> None:
        """Release tools, connections and the store (if the agent opened it)."""
        await self._exit_stack.aclose()
        if self._owns_store and self._store is not None:
            await store_access(self._store).close()
        self._store = None

    def interrupt(self) -> None:
        """Stop the running prompt at the next step; its session stays consistent and resumable."""
        self._interrupted = True

    async def close_interrupted(self) -> list[Message]:
        """Finish the prompt whose run was cancelled (cut mid-reply or mid-tool by the client).

        Call it outside the cancelled scope. The partial reply is stored as an assistant message,
        tool calls left unanswered get an error result, and a user entry `[Request interrupted by
        user]` (`... for tool use]`) marks the cut, as Claude Code writes it, so the session goes
        on with a valid history. Returns the partial reply (if any) and an error `ResultMessage`
        with `terminal_reason` `aborted_streaming` or `aborted_tools`.
        """
        turn, self._turn = self._turn, None
        return [] if turn is None else await turn.close_interrupted()

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
            "agents": list(self.subagents.definitions) if self.subagents is not None else [],
            **self.claude_settings.init_data(),  # slash_commands, skills, plugins
            "output_style": "default",
            "claude_code_version": __version__,  # no Claude Code here: tether's version (docs/compatibility.md)
            "version": __version__,
            "source": session.origin.source,
            "project_key": session.project_key,
        }
        if session.origin.forked_from is not None:
            data["forked_from"] = session.origin.forked_from
        if self.settings.betas:
            data["betas"] = list(self.settings.betas)
        return SystemMessage(subtype="init", data=data)

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Run one user prompt: yields `init`, the conversation, and a final `ResultMessage`."""
        self._interrupted = False
        command = self.claude_settings.command_run(prompt, verbatim=self.options.verbatim_prompts)
        if command is not None:  # `/name args`: the command's prompt runs, with its allowed-tools
            prompt = command.prompt
        if self._tooling is not None:
            self._tooling.policy.start_prompt(command.allowed_tools if command is not None else ())
        yield self.init_message()
        session_model = self.model
        if command is not None and command.command.model:  # the command's `model` runs this prompt
            self._switch_model(await self._prompt_model(command.command.model, command.command.path))
        lease = self.lease  # another process's turn on this session: wait for it, or SessionBusyError
        self.store_deadline.start_run()
        try:
            waited = lease is not None and await lease.acquire(self.options.session_busy_timeout)
            await self.session.catch_up(reread=waited)  # the turn waited for; calls a dead turn left open
            self._turn = turn = _Turn(self)
            async for message in turn.run(prompt):
                for hook_message in turn.tooling.hook_messages():  # hooks that ran before this message
                    yield hook_message
                yield message
        finally:
            if self.model is not session_model:
                self._switch_model(session_model)
            self.store_deadline.end_run()
            if lease is not None:
                with anyio.CancelScope(shield=True):
                    await lease.release()

    async def _prompt_model(self, name: str, source: Path) -> Model:
        """The model a command's front matter names (connected once per agent, then reused)."""
        model = self._prompt_models.get(name)
        if model is None:
            try:
                model = resolve_model(name, env=self._env)
                check_settings(model, self.settings)
            except ConfigurationError as error:
                raise ConfigurationError(f"{source}: model {name!r}: {error}") from error
            await self._exit_stack.enter_async_context(keep_connected(model))
            self._prompt_models[name] = model
        return model


class _Turn:
    """The state of one prompt's run: counters, usage, denials."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.session = agent.session
        self.options = agent.options
        self.started = time.monotonic()
        self.timeouts = agent.timeouts.for_run()
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
        self.partial: list[dict[str, Any]] | None = None
        """The raw events of the model reply being streamed (None when no reply is streaming)."""
        self.structured_retries = 0
        """Final answers asked for again because they did not match `output_format`'s schema."""
        self.last_text: str | None = None
        """The text of the latest reply that had some (the run's `result`)."""
        self.stop_hook_active = False
        """True once a Stop hook made the agent go on."""
        self.compaction: CompactJob | None = None
        """The run's latest compaction (attempt)."""

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        instructions = compact_command(prompt, verbatim=self.options.verbatim_prompts)
        if instructions is not None:  # `/compact [instructions]`: compact now, no model turn
            async for message in self._compact_now(instructions):
                yield message
            return
        ended = False
        async for message in self._open(prompt):
            ended = isinstance(message, ResultMessage)
            yield message
        if not ended:
            async for message in self._turns():
                yield message

    async def _open(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Prompt hooks, a call the last run deferred, then the prompt stored (ends with a
        `ResultMessage` when the run ends here)."""
        prepared = await self.tooling.prepare_prompt(prompt)  # SessionStart and UserPromptSubmit hooks
        if prepared.blocked is not None:
            yield await self._result("error_during_execution", errors=[prepared.blocked])
            return
        deferred_call = await self.tooling.reopen_deferred()  # a call deferred by the last run goes first
        if deferred_call is not None:
            outcomes: list[ToolOutcome] = []
            async for message in self._run_calls([deferred_call], outcomes, deferred=True):  # a subagent's messages
                yield message
            if outcomes[0].deferred is not None:
                yield await self._deferred(outcomes[0])
                return
            yield await self._store_tool_results(outcomes)
            if outcomes[0].interrupt:
                yield await self._result("error_during_execution", errors=[outcomes[0].stop_reason or "interrupted"])
                return
        entry = await self.session.append_message("user", {"role": "user", "content": prepared.prompt})
        if self.tooling.checkpoints is not None:
            self.tooling.checkpoints.start_prompt(entry)
        if self.agent.echoes_prompts:  # extra_args={"replay-user-messages": None}, as the CLI does
            yield UserMessage(content=blocks_from_content(prepared.prompt), uuid=entry["uuid"])

    async def _turns(self) -> AsyncIterator[Message]:
        """Model turns until the run ends (with a `ResultMessage`)."""
        while True:
            stopped = self._stopped()  # interrupted, or past run_timeout
            if stopped is not None:
                yield await self._result("error_during_execution", errors=[stopped])
                return
            if self.options.max_turns is not None and self.num_turns >= self.options.max_turns:
                yield await self._result("error_max_turns", errors=[f"reached max_turns ({self.options.max_turns})"])
                return
            self.num_turns += 1
            response: ModelResponse | None = None
            try:
                async for event in self._call_model():
                    if isinstance(event, ModelResponse):
                        response = event
                    else:
                        yield event
            except ModelError as error:
                yield await self._model_failed(error)
                return
            assert response is not None
            self._count(response)
            yield await self._store_assistant(response)
            texts = [b.get("text", "") for b in response.content if b.get("type") == "text"]
            if texts:
                self.last_text = "".join(texts)
            calls = [b for b in response.content if b.get("type") == "tool_use"]
            if not calls and response.stop_reason == "pause_turn":
                continue  # a server tool paused the turn: sending the reply back lets the model go on
            ended = False
            async for message in self._final(response, texts) if not calls else self._use_tools(calls):
                ended = isinstance(message, ResultMessage)
                yield message
            if ended:
                return

    async def _final(self, response: ModelResponse, texts: list[str]) -> AsyncIterator[Message]:
        """A reply without tool calls: the answer asked for again (structured output), a Stop hook
        that makes the agent go on, or the run's `ResultMessage`."""
        value, violation = self._structured_output(texts)
        if violation is not None:
            if self.structured_retries < STRUCTURED_OUTPUT_RETRIES:
                self.structured_retries += 1
                yield await self._ask_for_structured_output(violation)
                return
            yield await self._structured_output_failed(violation)
            return
        feedback = await self.tooling.stop_feedback(self.stop_hook_active)  # a Stop hook may say go on
        if feedback is not None:
            self.stop_hook_active = True
            entry = await self.session.append_message("user", {"role": "user", "content": feedback})
            yield UserMessage(content=feedback, uuid=entry["uuid"])
            return
        yield await self._result(
            "success", text=self.last_text, stop_reason=response.stop_reason, structured_output=value
        )

    async def _use_tools(self, calls: list[dict[str, Any]]) -> AsyncIterator[Message]:
        """Run the reply's tool calls and store their results (a `ResultMessage` when the run ends)."""
        outcomes: list[ToolOutcome] = []
        async for message in self._run_calls(calls, outcomes):  # subagents' messages, as they come
            yield message
        if outcomes[0].deferred is not None:  # a PreToolUse hook deferred the (only) call
            yield await self._deferred(outcomes[0])
            return
        yield await self._store_tool_results(outcomes)
        if any(outcome.interrupt for outcome in outcomes):
            reason = next((o.stop_reason for o in outcomes if o.stop_reason), "a tool call was denied with interrupt")
            yield await self._result("error_during_execution", errors=[reason])
            return
        budget = self.options.max_budget_usd
        if budget is not None and self.cost is not None and self.cost >= budget:
            yield await self._result("error_max_budget_usd", errors=[f"reached max_budget_usd ({budget})"])

    async def _run_calls(
        self, calls: list[dict[str, Any]], outcomes: list[ToolOutcome], *, deferred: bool = False
    ) -> AsyncIterator[Message]:
        """Run the calls (the one a past run `deferred`) into `outcomes`; while Agent calls run,
        yield their subagents' messages."""

        async def run_all() -> list[ToolOutcome]:
            return [await self.runner.run_deferred(calls[0])] if deferred else await self._run_all(calls)

        host = self.agent.subagents
        if host is None or not any(call.get("name") in AGENT_TOOL_NAMES for call in calls):
            outcomes.extend(await run_all())
            return
        send, receive = anyio.create_memory_object_stream[Message](math.inf)
        failed: list[Exception] = []

        async def run() -> None:
            with send, host.delegating(send, self.add_subagent_result):
                try:
                    outcomes.extend(await run_all())
                except Exception as error:  # raised below, in the run's own task
                    failed.append(error)

        # A task of its own, not a task group around `yield`: a caller that stops reading this
        # generator (and has it closed from another task) must not have its own task cancelled.
        calls_task = Background.start(run)
        finished = False
        try:
            with receive:
                async for message in receive:
                    yield message
            finished = True
        finally:
            if not finished:
                calls_task.cancel()
            with anyio.CancelScope(shield=True):
                await calls_task.wait()
        if failed:
            raise failed[0]

    async def _run_all(self, calls: list[dict[str, Any]]) -> list[ToolOutcome]:
        lease = self.agent.lease
        if lease is None:
            return await self.runner.run_all(calls)
        # tool calls may run for minutes: the lease is renewed meanwhile
        return await lease.during(lambda: self.runner.run_all(calls))

    def add_subagent_result(self, result: ResultMessage) -> None:
        """Count a subagent's usage, cost and model time as this run's."""
        add_usage(self.usage, result.usage or {})
        for model, usage in (result.model_usage or {}).items():
            per_model = self.model_usage.setdefault(model, {})
            for key, value in usage.items():
                if key == "costUSD":
                    known = value is not None and per_model.get("costUSD", 0.0) is not None
                    per_model["costUSD"] = per_model.get("costUSD", 0.0) + value if known else None
                elif key in ("contextWindow", "maxOutputTokens") or not isinstance(value, int):
                    per_model[key] = value
                else:
                    per_model[key] = per_model.get(key, 0) + value
        if result.total_cost_usd is None or self.cost is None:
            self.cost = None
        else:
            self.cost += result.total_cost_usd
        self.api_seconds += result.duration_api_ms / 1000

    async def _model_failed(self, error: ModelError) -> ResultMessage:
        """The run's end after a failed model call (`terminal_reason` `prompt_too_long` for that)."""
        problem = self.compaction.problem if self.compaction is not None else None
        errors = [str(error)] + ([problem] if problem and is_prompt_too_long(error) else [])
        result = await self._result("error_during_execution", errors=errors, api_status=error.status_code)
        if is_prompt_too_long(error):
            result.terminal_reason = "prompt_too_long"
        return result

    # -- compaction (tether.agent.compaction) --

    async def _call_model(self) -> AsyncIterator[Message | ModelResponse]:
        """One model call, compacted first when the request would reach the threshold, and compacted
        and made once more when the provider says the prompt is too long."""
        compactor = self.agent.compactor
        request = self._request()
        estimate = request_tokens(request)
        tokens = compactor.meter.tokens(estimate)
        if compactor.due(tokens):
            async for message in self._compact("auto", None, request, tokens):
                yield message
            request = self._request()
            estimate = request_tokens(request)
        try:
            async for event in self._stream_model(request, estimate):
                yield event
            return
        except ModelError as error:
            if self.partial or not compactor.recovers(error, estimate):
                raise
            too_long = error
        async for message in self._compact("auto", None, request, compactor.meter.tokens(estimate)):
            yield message
        if self.compaction is None or not self.compaction.done:
            raise too_long
        request = self._request()
        async for event in self._stream_model(request, request_tokens(request)):
            yield event

    async def _compact(
        self, trigger: str, instructions: str | None, request: ModelRequest, tokens: int
    ) -> AsyncIterator[Message]:
        """Compact the session (see `Compactor.run`) before `request` (of `tokens` tokens); the summary
        calls count as the run's."""
        agent = self.agent
        job = CompactJob(
            session=self.session,
            model=agent.model,
            settings=agent.settings,
            hooks=self.tooling.hooks,
            trigger=trigger,
            instructions=instructions,
            pre_tokens=tokens,
            system=request.system,
            tools=request.tools,
            call=self._summary_call,
        )
        self.compaction = job
        try:
            async for message in agent.compactor.run(job):
                yield message
        finally:
            for response in job.responses:
                self._count(response)
            self.api_seconds += job.api_seconds

    async def _compact_now(self, instructions: str) -> AsyncIterator[Message]:
        """`/compact [instructions]`: compact at once; the `ResultMessage` says whether it did."""
        request = self._request()
        tokens = self.agent.compactor.meter.tokens(request_tokens(request))
        async for message in self._compact("manual", instructions or None, request, tokens):
            yield message
        job = self.compaction
        if job is not None and job.done:
            yield await self._result("success", text="Compacted")
        else:
            yield await self._result(
                "error_during_execution", errors=[job.problem if job and job.problem else "not compacted"]
            )

    async def _summary_call(self, model: Model, request: ModelRequest) -> ModelResponse:
        """One summary call, held to the run's timeouts like every model call."""
        response: ModelResponse | None = None
        async for event in guarded_stream(model, dataclasses.replace(request, timeouts=self.timeouts)):
            await self._keep_lease()
            if isinstance(event, ModelResponse):
                response = event
        if response is None:
            raise ModelError(f"the model {model.model_name!r} ended its stream without a response")
        return response

    async def _keep_lease(self) -> None:
        """Renew the session's lease when due (a streaming reply renews it as it goes)."""
        if self.agent.lease is not None:
            await self.agent.lease.keep_alive()

    def _stopped(self) -> str | None:
        """Why the run must stop before its next model call, if it must."""
        if self.agent._interrupted:
            return "the run was interrupted"
        return self.timeouts.run_expired_message() if self.timeouts.run_expired() else None

    def _request(self) -> ModelRequest:
        """The next model request: the session's history, system prompt, tools and settings."""
        agent, session = self.agent, self.session
        return ModelRequest(
            messages=list(session.messages),  # providers treat the request as read-only: no deep copy
            system=agent._system_prompt,
            tools=[ToolSpec(t.name, t.description, t.input_schema) for t in agent._tools.values()],
            max_tokens=self.options.max_tokens or _default_max_tokens(agent.settings),
            session_id=session.session_id,
            settings=agent.settings,
            timeouts=self.timeouts,
        )

    async def _stream_model(
        self, request: ModelRequest, estimate: int
    ) -> AsyncIterator[StreamEvent | RateLimitEvent | ModelResponse]:
        """Stream one model call (`estimate`: the request's estimated tokens, for the context meter)."""
        agent, session = self.agent, self.session
        started = time.monotonic()
        response: ModelResponse | None = None
        self.partial = partial = []
        try:
            async for event in guarded_stream(agent.model, request):  # typed errors, a valid response, in time
                await self._keep_lease()
                if isinstance(event, RawStreamEvent):
                    partial.append(event.event)
                    if self.options.include_partial_messages:
                        yield StreamEvent(uuid=new_uuid(), session_id=session.session_id, event=event.event)
                elif isinstance(event, RateLimited):
                    yield _rate_limit_event(event, session.session_id)
                elif isinstance(event, ModelResponse):
                    response = event
        finally:
            self.api_seconds += time.monotonic() - started
        self.partial = None
        if response is None:
            raise ModelError(f"the model {agent.model.model_name!r} ended its stream without a response")
        agent.compactor.meter.observe(estimate, response)  # the provider's count of the context
        yield response

    async def close_interrupted(self) -> list[Message]:
        """See `Agent.close_interrupted`."""
        session = self.session
        partial = _partial_text(self.partial or [])
        in_tools = bool(_unanswered_calls(session.messages))
        await self._resync()
        messages: list[Message] = []
        if partial:
            text = [{"type": "text", "text": partial}]
            cut = ModelResponse(content=text, model=self.agent.model.model_name, stop_reason=None)
            messages.append(await self._store_assistant(cut))
        marker = INTERRUPTED_FOR_TOOL_USE if in_tools else INTERRUPTED
        await session.append_message("user", {"role": "user", "content": [{"type": "text", "text": marker}]})
        result = await self._result("error_during_execution", errors=[marker])
        result.terminal_reason = "aborted_tools" if in_tools else "aborted_streaming"
        messages.append(result)
        return messages

    async def _resync(self) -> None:
        """After a cut, read the session back: a write in flight may or may not have landed.

        Tool calls left without a result get an error result (as on every resume).
        """
        session = self.session
        if session.store is not None:
            await session.reload()
            return
        calls = _unanswered_calls(session.messages)
        if calls:
            closed = {"type": "tool_result", "content": INTERRUPTED_TOOL_RESULT, "is_error": True}
            results = [{**closed, "tool_use_id": c.get("id")} for c in calls]
            await session.append_message("user", {"role": "user", "content": results})

    def _structured_output(self, texts: list[str]) -> tuple[Any, str | None]:
        """The structured output of a final answer, or what is wrong with it (None, None without a schema)."""
        schema = self.agent.settings.output_schema
        return (None, None) if schema is None else structured_output("".join(texts), schema)

    async def _ask_for_structured_output(self, violation: str) -> UserMessage:
        """Tell the model what is wrong with its answer; the turn goes on."""
        schema = self.agent.settings.output_schema or {}
        content = [{"type": "text", "text": structured_output_retry_prompt(violation, schema)}]
        entry = await self.session.append_message("user", {"role": "user", "content": content})
        return UserMessage(content=blocks_from_content(content), uuid=entry["uuid"])

    async def _structured_output_failed(self, violation: str) -> ResultMessage:
        answers = self.structured_retries + 1
        error = f"the answer does not match the schema of output_format after {answers} answers: {violation}"
        result = await self._result("error_max_structured_output_retries", errors=[error])
        result.terminal_reason = "structured_output_retry_exhausted"
        return result

    async def _deferred(self, outcome: ToolOutcome) -> ResultMessage:
        """End the run at a deferred call; the session keeps it for its next run (see tool_runner)."""
        failed = outcome.deferred_unavailable
        errors = [str(outcome.result["content"])] if failed else None
        subtype = "error_during_execution" if failed else "success"
        result = await self._result(subtype, errors=errors, stop_reason=outcome.stop_reason)
        return await self.tooling.record_deferral(result, outcome)

    def _count(self, response: ModelResponse) -> None:
        add_usage(self.usage, response.usage)
        per_model = self.model_usage.setdefault(response.model, {})
        for key, name in _MODEL_USAGE_COUNTERS.items():
            per_model[name] = per_model.get(name, 0) + _counter(response.usage, key)
        searches = _counter(response.usage.get("server_tool_use"), "web_search_requests")
        per_model["webSearchRequests"] = per_model.get("webSearchRequests", 0) + searches
        per_model.setdefault("costUSD", 0.0)
        limits = limits_for(response.model, self.agent.settings.betas)
        per_model.update(contextWindow=limits.context_window, maxOutputTokens=limits.max_output_tokens)
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
        structured_output: Any = None,
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
            structured_output=structured_output,
            model_usage={k: cast(ModelUsage, dict(v)) for k, v in self.model_usage.items()},
            permission_denials=list(self.denials),
            errors=list(errors or []),
            api_error_status=api_status,
            uuid=new_uuid(),
        )


INTERRUPTED = "[Request interrupted by user]"
"""The user entry that marks a reply cut by an interrupt (Claude Code's words)."""
INTERRUPTED_FOR_TOOL_USE = "[Request interrupted by user for tool use]"
"""The user entry that marks tool calls cut by an interrupt."""


_MODEL_USAGE_COUNTERS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_input_tokens": "cacheReadInputTokens",
    "cache_creation_input_tokens": "cacheCreationInputTokens",
}
"""API usage keys -> the camelCase keys of `ModelUsage` (`ResultMessage.model_usage[model]`)."""


def _counter(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _default_max_tokens(settings: ModelSettings) -> int:
    """Room for a reply of the default size after a fixed thinking budget, which counts toward it."""
    budget = settings.thinking.get("budget_tokens") if settings.thinking is not None else None
    return DEFAULT_MAX_TOKENS + budget if isinstance(budget, int) else DEFAULT_MAX_TOKENS


def _model_settings(options: AgentOptions, env: dict[str, str]) -> ModelSettings:
    """The run's `ModelSettings` from its options and env (`ConfigurationError` naming a malformed one)."""
    return ModelSettings.from_options(
        env=env,
        output_format=options.output_format,
        thinking=options.thinking,
        max_thinking_tokens=options.max_thinking_tokens,
        effort=options.effort,
        betas=options.betas,
        task_budget=options.task_budget,
        client_app=options.client_app,
    )


def _rate_limit_event(event: RateLimited, session_id: str) -> RateLimitEvent:
    """The SDK's `RateLimitEvent` of a provider's 429: the limit is hit (`rejected`) until `resets_at`."""
    raw: dict[str, Any] = {"headers": dict(event.headers), "retry_after": event.retry_after}
    info = RateLimitInfo(status="rejected", resets_at=event.resets_at, raw=raw)
    return RateLimitEvent(rate_limit_info=info, uuid=new_uuid(), session_id=session_id)


def _partial_text(events: list[dict[str, Any]]) -> str:
    """The text a cut stream had delivered (text only: a half-streamed tool call is dropped)."""
    deltas = (e.get("delta") for e in events if e.get("type") == "content_block_delta")
    return "".join(str(d.get("text", "")) for d in deltas if isinstance(d, dict) and d.get("type") == "text_delta")


def _unanswered_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of the last message when it is an assistant message (so not answered yet)."""
    if not messages or messages[-1].get("role") != "assistant":
        return []
    return [b for b in messages[-1].get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"]


def _resolve_cwd(cwd: str | Path | None) -> str:
    path = Path(cwd).expanduser() if cwd is not None else Path.cwd()
    if not path.is_dir():
        raise ConfigurationError(f"cwd {str(path)!r} is not an existing directory")
    return str(path.resolve())


async def _newest_session_id(store: SessionStore, cwd: str) -> str | None:
    """The most recently modified session of the project at `cwd`, if any."""
    return await store_access(store).newest_session_id(project_key_for_directory(cwd))
