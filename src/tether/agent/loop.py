"""The agent loop: model turn -> assistant message -> tool calls -> tool results -> next turn.

`Agent` holds one open session. `open()` resolves the model and the store and opens (starts,
resumes or forks) the session before anything is yielded; `run(prompt)` runs one user prompt to
its `ResultMessage`. Every message is appended to the session store before it is yielded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from tether._version import __version__
from tether._vocabulary.environment import run_environment
from tether._vocabulary.options import AgentDefinition
from tether._vocabulary.store import SessionStore
from tether.agent.checkpoints import FileCheckpoints
from tether.agent.compaction import Compactor
from tether.agent.context_window import CompactionPolicy
from tether.agent.hooks import check_hooks
from tether.agent.overrides import run_model
from tether.agent.permissions import PermissionPolicy
from tether.agent.prompts import (
    ResolvedSystemPrompt,
    resolve_system_prompt,
    session_system_prompt,
    system_prompt_record,
)
from tether.agent.session_tools import SessionTools
from tether.agent.settings import ClaudeSettings
from tether.agent.subagent_definitions import check_agents
from tether.agent.subagents import SubagentHost, SubagentSetup
from tether.agent.turn import Turn, TurnContext
from tether.errors import ConfigurationError, SessionError
from tether.messages import (
    Message,
    SystemMessage,
)
from tether.models import resolve_model
from tether.models.base import (
    DEFAULT_TIMEOUTS,
    Model,
    ModelSettings,
    Timeouts,
    check_settings,
    keep_connected,
)
from tether.models.limits import limits_for
from tether.options import AgentOptions, check_options, copy_options, replays_user_messages
from tether.sessions.capabilities import store_access
from tether.sessions.entries import new_uuid
from tether.sessions.keys import project_key_for_directory, project_key_for_real_path
from tether.sessions.lease import SessionLease, check_lease_options
from tether.sessions.session import Session
from tether.sessions.store_capabilities import StoreDeadline
from tether.sessions.urls import open_store, opened_for_caller
from tether.tools.agent import AGENT_TOOL
from tether.tools.base import Tool

__all__ = ["Agent"]


class Agent:
    """One agent bound to one session. Use `async with Agent(options) as agent`."""

    def __init__(self, options: AgentOptions | None = None, *, subagent: SubagentSetup | None = None) -> None:
        # A copy: set_model / set_permission_mode change this agent, never the caller's options.
        self.options = copy_options(options) if options is not None else AgentOptions()
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
        self._turn: Turn | None = None
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
        opening = self._check_before_writing()
        self.store_deadline = StoreDeadline(self.options.store_timeout, self.options.run_timeout)
        self.store_deadline.start_run()  # opening is part of the first run
        try:
            await self._exit_stack.enter_async_context(keep_connected(self.model))  # one connection per run, kept
            if self._subagent is None:
                self._session = await self._open_main(opening.cwd, opening.prompt)
            else:
                self._session = await self._open_subagent(self._subagent)
            await self._equip(opening.definitions)
        except BaseException:
            await self.close()
            raise
        return self._session

    def _check_before_writing(self) -> _Opening:
        """Every check of the options, settings and model, before anything is opened or written."""
        options = self.options
        check_options(options)
        self.timeouts = Timeouts.from_options(options)
        check_lease_options(options.session_lease_ttl, options.session_busy_timeout)
        check_hooks(options.hooks)  # an event tether does not fire
        cwd = _resolve_cwd(options.cwd)
        self.claude_settings = ClaudeSettings.load(options, cwd)  # a malformed file, named
        self.options = options = self.claude_settings.apply(options)  # tether.agent.settings: rules, hooks, agents...
        # the system prompt, resolved once: a bad shape or an unreadable file fails here
        prompt = resolve_system_prompt(options.system_prompt, cwd=cwd).followed_by(self.claude_settings.memory_text)
        definitions = check_agents(options.agents)  # those of the options and of .claude/agents files
        self._env = env = run_environment(options.env)
        if self._subagent is not None:
            self._model = self._subagent.model
        else:
            self._model = run_model(options, env)
        self.settings = _model_settings(options, env)
        check_settings(self._model, self.settings)  # an option the model cannot honour
        self.compactor = Compactor(
            self._compaction_policy(self._model),
            None if options.compact_model is None else resolve_model(options.compact_model, env=env),
        )
        return _Opening(cwd, definitions, prompt)

    async def _open_main(self, cwd: str, prompt: ResolvedSystemPrompt) -> Session:
        """The main agent's path: its store, its session (started, resumed or forked), lease and prompt."""
        options = self.options
        store = open_store(options.session_store, env=self._env, shared=True)
        self._owns_store = opened_for_caller(store, options.session_store)
        self._store = store
        session = await self._open_session(store, cwd, prompt)
        if session.access is not None:
            self.lease = SessionLease(session.access, session.key, ttl=options.session_lease_ttl)
        self._system_prompt = session_system_prompt(prompt, session.meta)
        return session

    async def _open_subagent(self, subagent: SubagentSetup) -> Session:
        """A subagent's path: its transcript under the parent's session, in the parent's store (which
        the parent closes); no lease, the parent holds it."""
        self._store = subagent.store
        self._system_prompt = subagent.system_prompt
        return await subagent.open_session()

    async def _equip(self, definitions: dict[str, AgentDefinition]) -> None:
        """Tools, permissions, hooks and MCP servers (tether.agent.tool_runner), and the Agent tool."""
        session, subagent = self.session, self._subagent
        self._tooling = tooling = await SessionTools.open(
            self.options,
            cwd=session.cwd,
            session_id=session.session_id,
            session_source=session.origin.source,
            exit_stack=self._exit_stack,
            model_name=self.model.model_name,
            session=session,
            inherited=subagent.tools if subagent is not None else None,
            subagent=subagent.context if subagent is not None else None,
        )
        self._tools = tooling.tools
        if subagent is not None:  # the parent's allow, deny and ask rules, as in Claude Code
            tooling.policy.share_rules(subagent.permissions)
        self.claude_settings.equip(self._tools, tooling.policy, self.options.tools)  # Skill tool, `ask` rules
        self._mcp_status = tooling.mcp_status
        if definitions:  # the Agent tool (tether.agent.subagents)
            self.subagents = SubagentHost(self, definitions, lambda options, setup: Agent(options, subagent=setup))
            self._tools[AGENT_TOOL] = self.subagents.tool

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
                project_key=project_key_for_real_path(cwd),  # `cwd` is real already (`_resolve_cwd`)
            )
        if options.fork_session:
            return await Session.fork(
                store,
                source_id,
                cwd=await _fork_cwd(store, source_id, options, cwd),
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
            self._turn = turn = Turn(self._turn_context())
            async for message in turn.run(prompt):
                for hook_message in turn.tooling.hook_messages():  # hooks that ran before this message
                    yield hook_message
                yield message
        finally:
            if self._turn is not None:
                self._turn.trace.close()  # the run's span ends, even when the run did not reach its result
            if self.model is not session_model:
                self._switch_model(session_model)
            self.store_deadline.end_run()
            if lease is not None:
                with anyio.CancelScope(shield=True):
                    await lease.release()

    def _turn_context(self) -> TurnContext:
        if self._tooling is None:
            raise RuntimeError("the agent is not open yet: call open() or use `async with`")
        return TurnContext(
            session=self.session,
            options=self.options,
            timeouts=self.timeouts,
            settings=self.settings,
            system_prompt=self._system_prompt,
            tools=self._tools,
            tooling=self._tooling,
            compactor=self.compactor,
            lease=self.lease,
            subagents=self.subagents,
            echoes_prompts=self.echoes_prompts,
            model=lambda: self.model,
            interrupted=lambda: self._interrupted,
            agent_name=self._subagent.context.agent_type if self._subagent is not None else "tether",
        )

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


def _resolve_cwd(cwd: str | Path | None) -> str:
    """`cwd` (default: the process's) as a real path; `os.path`, not `pathlib` (a third of the time)."""
    path = os.path.normpath(os.path.expanduser(os.fspath(cwd))) if cwd is not None else os.getcwd()
    real = _real_directory(path)
    if real is not None:
        return real
    if not os.path.isdir(path):
        raise ConfigurationError(f"cwd {path!r} is not an existing directory")
    return os.path.realpath(path)


def _real_directory(path: str) -> str | None:
    """The real path of the directory `path` as the kernel resolves it (Linux: three system calls
    where `os.path.realpath` makes one per part of the path), else None (then ask `os.path`)."""
    if not _O_PATH:
        return None
    try:
        descriptor = os.open(path, _O_PATH | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        real = os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return real if real.startswith("/") and not real.endswith(" (deleted)") else None


_O_PATH: int = getattr(os, "O_PATH", 0)


async def _newest_session_id(store: SessionStore, cwd: str) -> str | None:
    """The most recently modified session of the project at `cwd`, if any."""
    return await store_access(store).newest_session_id(project_key_for_directory(cwd))


@dataclass(frozen=True)
class _Opening:
    """What the checks before any write found, for the rest of `Agent.open`."""

    cwd: str
    definitions: dict[str, AgentDefinition]
    prompt: ResolvedSystemPrompt


async def _fork_cwd(store: SessionStore, source_id: str, options: AgentOptions, cwd: str) -> str:
    """The fork's working directory: `fork_workspace`, holding the source's files, else `cwd`."""
    if options.fork_workspace is None:
        return cwd
    from tether.agent.workspace_checkpoints import materialise_fork

    return await materialise_fork(store, source_id, options, cwd)
