"""`query()` and `AgentClient` (alias `ClaudeSDKClient`): drivers of the agent loop.

`AgentClient` runs as the Claude Agent SDK's client does. `connect()` opens the session in a
background task that owns the agent: it runs the prompts sent with `query()` one after the
other and puts every message on one stream. `receive_messages()` reads that stream for as long
as the client is connected, answers to prompts sent while reading included; `receive_response()`
reads it up to and including the next `ResultMessage`, waiting for it if need be. A failure
reaches the reader as the exception it was. Readers sleep until a message arrives: no path
polls. `interrupt()` cuts the running prompt at once, mid-reply or mid-tool: the partial reply
is stored marked as interrupted, the prompt ends with an error `ResultMessage` whose
`terminal_reason` says so, and the client goes on with the next prompt. `disconnect()` (or
leaving `async with`) cuts the running prompt the same way, drops prompts not started yet, ends
the stream and closes the session's resources.

The background task is not tied to the caller's task group, so a client connected in one task
may be used and closed from another (as IPython runs each cell in a task of its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel

from tether._control import McpControl, context_usage, server_info
from tether._conversation import NOT_CONNECTED, Conversation, send_each
from tether._vocabulary.control import ContextUsageResponse, Transport
from tether._vocabulary.environment import run_environment
from tether._vocabulary.mcp import McpStatusResponse
from tether._vocabulary.options import warn_if_can_use_tool_shadowed
from tether._vocabulary.permissions import PermissionMode, validate_permission_mode
from tether.agent.loop import Agent
from tether.errors import CLIConnectionError, ConfigurationError, UnsupportedOptionError
from tether.messages import Message, ResultMessage
from tether.models import resolve_model
from tether.options import AgentOptions
from tether.sessions.follow import follow

__all__ = ["AgentClient", "ClaudeSDKClient", "query"]


def _refuse_transport(transport: Transport | None) -> None:
    if transport is not None:
        raise UnsupportedOptionError(
            "transport", "tether runs the agent in this process; there is no Claude Code CLI transport to replace"
        )


async def query(
    *,
    prompt: str | AsyncIterable[dict[str, Any]],
    options: AgentOptions | None = None,
    transport: Transport | None = None,
) -> AsyncIterator[Message]:
    """Ask an agent something; yields its messages, `init` (with the session id) first.

    `prompt` is a string, or an async iterable of user-message dicts
    (`{"type": "user", "message": {"role": "user", "content": ...}}`): those are read as they
    come, while earlier ones are answered, each answered in turn; the stream ends after the
    answer to the last one. `transport` exists for the Claude SDK's signature: tether has no CLI
    transport, so any value but None raises `UnsupportedOptionError`.
    """
    warn_if_can_use_tool_shadowed(options or AgentOptions())
    _refuse_transport(transport)
    if options is not None and options.durable and isinstance(prompt, str):  # a turn that survives its worker
        from tether.durable.turns import run_durable

        async for message in run_durable(prompt, options):
            yield message
        return
    if isinstance(prompt, str):
        async with Agent(options) as agent:
            async for message in agent.run(prompt):
                yield message
        return
    conversation = Conversation(options or AgentOptions())
    await conversation.open()
    try:
        conversation.feed(prompt, end=True)
        while (received := await conversation.receive()) is not None:
            yield received
    finally:
        with anyio.CancelScope(shield=True):
            await conversation.close()


# -- the client -----------------------------------------------------------------------------------


class AgentClient:
    """A conversation held open across many prompts, on one session (the SDK's `ClaudeSDKClient`).

    ```python
    async with AgentClient(AgentOptions(model=...)) as client:
        print(client.session_id)          # known as soon as it is connected
        await client.query("Hello")
        async for message in client.receive_response():
            print(message)
    ```

    Using a client that is not connected raises `CLIConnectionError`. `transport` exists for the
    SDK's signature; tether has no CLI transport, so any value but None raises
    `UnsupportedOptionError`.
    """

    def __init__(self, options: AgentOptions | None = None, transport: Transport | None = None) -> None:
        _refuse_transport(transport)
        self.options = options or AgentOptions()
        self._conversation: Conversation | None = None
        self._mcp: McpControl | None = None

    def _live(self) -> Conversation:
        if self._conversation is None:
            raise CLIConnectionError(NOT_CONNECTED)
        return self._conversation

    def _readable(self) -> Conversation:
        conversation = self._live()
        if conversation.ended:  # reading on would return at once, again and again
            raise CLIConnectionError("the conversation has ended (its prompt stream ended): nothing more to receive")
        return conversation

    def _agent(self) -> Agent:
        agent = self._live().agent
        if agent is None:  # pragma: no cover - a conversation is stored only once its agent is open
            raise CLIConnectionError(NOT_CONNECTED)
        return agent

    def _mcp_control(self) -> McpControl:
        if self._mcp is None:
            self._mcp = McpControl(self._agent(), self.options)
        return self._mcp

    @property
    def session_id(self) -> str:
        """The id of the connected session (tether addition: the SDK's client cannot tell it)."""
        return self._agent().session.session_id

    async def connect(self, prompt: str | AsyncIterable[dict[str, Any]] | None = None) -> None:
        """Open the session (start, resume or fork, as the options say) and its background task.

        A string prompt is sent at once. An async iterable of user-message dicts is read in the
        background, each prompt sent as it comes; when it ends, the conversation ends after the
        answers (as in the SDK, where the end of the input closes the CLI's input).
        """
        if self._conversation is not None:
            return
        warn_if_can_use_tool_shadowed(self.options)
        conversation = Conversation(self.options)
        await conversation.open()
        self._conversation = conversation
        if isinstance(prompt, str):
            conversation.send(prompt)
        elif prompt is not None:
            conversation.feed(prompt, end=True)

    async def query(
        self, prompt: str | AsyncIterable[dict[str, Any]], session_id: str = "default", *, turn_id: str | None = None
    ) -> None:
        """Send a prompt (or each prompt of an async iterable); read the answers with `receive_*()`.

        Prompts are answered in the order sent, one `ResultMessage` each. `session_id` exists
        for the SDK's signature and does not select a session: a client holds exactly one
        (`client.session_id`). `turn_id` (tether addition, with `durable`) names the prompt's
        durable turn: a turn id sent twice runs once, the second prompt following the first.
        """
        conversation = self._live()
        if isinstance(prompt, str):
            conversation.send(prompt, turn_id)
            return
        if turn_id is not None:
            raise ConfigurationError("turn_id names one prompt's turn: send a string prompt with it")
        await send_each(prompt, conversation.send)

    async def receive_messages(self) -> AsyncIterator[Message]:
        """Every message, as it comes, for as long as the client is connected."""
        conversation = self._readable()
        while (message := await conversation.receive()) is not None:
            yield message

    async def receive_response(self) -> AsyncIterator[Message]:
        """The next messages, waiting for them, up to and including a `ResultMessage`."""
        conversation = self._readable()
        while (message := await conversation.receive()) is not None:
            yield message
            if isinstance(message, ResultMessage):
                return

    async def follow(
        self, session_id: str | None = None, *, from_start: bool = False, timeout: float | None = None
    ) -> AsyncIterator[Message]:
        """The messages of a session's running turn as they are stored (tether addition: see
        `tether.follow`), by any process, up to its `ResultMessage`: of `session_id`, else of the
        connected session, else of `options.resume`; in the client's store (no connection needed)."""
        store = self.options.session_store
        if self._conversation is not None and self._conversation.agent is not None:
            session = self._conversation.agent.session
            session_id = session_id or session.session_id
            store = session.access.store if session.access is not None else store
        target = session_id or self.options.resume
        if target is None:
            raise ConfigurationError("follow() needs a session id: pass one, connect first, or set options.resume")
        followed = follow(target, options=self.options, session_store=store, from_start=from_start, timeout=timeout)
        async for message in followed:
            yield message

    async def interrupt(self) -> None:
        """Cut the running prompt now, mid-reply or mid-tool (or, with none running, the next one).

        Its partial reply is stored marked as interrupted and it ends with an error
        `ResultMessage` (`terminal_reason` `aborted_streaming` or `aborted_tools`); the session
        stays valid and the next prompt runs as usual.
        """
        self._live().interrupt()

    async def set_permission_mode(self, mode: PermissionMode) -> None:
        """Use permission mode `mode` from the next prompt on (`ConfigurationError` if unknown)."""
        self._agent().options.permission_mode = validate_permission_mode(mode)

    async def set_model(self, model: str | None = None) -> None:
        """Use another model for the next prompts (None: the default model)."""
        agent = self._agent()
        resolved = resolve_model(
            model, fallback_model=agent.options.fallback_model, env=run_environment(agent.options.env)
        )
        agent.options.model = model
        await agent.use_model(resolved)

    async def rewind_files(self, user_message_id: str) -> None:
        """Put the files that Write and Edit changed back as they were when a prompt was sent.

        `user_message_id` is the `uuid` of a prompt's `UserMessage` (prompts are echoed with
        `extra_args={"replay-user-messages": None}`), from this client or from an earlier process
        on the same session: the backups are in the session store. Files created since are deleted.
        Needs `enable_file_checkpointing=True` (`ConfigurationError` otherwise); an id that is not
        a message of the session raises `EntryNotFoundError`, one that is not a prompt
        `ConfigurationError`. See `tether.agent.checkpoints` for what is not tracked.
        """
        checkpoints = self._agent().file_checkpoints
        if checkpoints is None:
            raise ConfigurationError(
                f"rewind_files({user_message_id!r}) needs file checkpoints: "
                "connect with AgentOptions(enable_file_checkpointing=True)"
            )
        await checkpoints.rewind(user_message_id)

    async def reconnect_mcp_server(self, server_name: str) -> None:
        """Connect an MCP server anew (after it failed, say); raises `ConfigurationError` if it fails."""
        await self._mcp_control().reconnect(server_name)

    async def toggle_mcp_server(self, server_name: str, enabled: bool) -> None:
        """Stop offering an MCP server's tools to the model, or offer them again (reconnecting it
        if it is not connected)."""
        await self._mcp_control().toggle(server_name, enabled)

    async def stop_task(self, task_id: str) -> None:
        """Stop a background task. tether runs none yet, so every id is unknown (`ConfigurationError`)."""
        self._live()
        raise ConfigurationError(f"there is no running task {task_id!r}: tether runs no background tasks yet")

    async def get_mcp_status(self) -> McpStatusResponse:
        """`{"mcpServers": [...]}`: each MCP server's status, config and tools."""
        return self._mcp_control().status()

    async def get_context_usage(self) -> ContextUsageResponse:
        """How much of the model's context window the session uses, by category."""
        return context_usage(self._agent())

    async def get_server_info(self) -> dict[str, Any] | None:
        """Commands, output styles, models, account and permission mode of the connected agent."""
        return server_info(self._agent())

    async def disconnect(self) -> None:
        """Cut the running prompt, end the message stream and close the session's resources.

        Everything said so far is already stored. Safe to call twice, and from any task.
        """
        conversation, self._conversation = self._conversation, None
        mcp, self._mcp = self._mcp, None
        with anyio.CancelScope(shield=True):
            if conversation is not None:
                await conversation.close()
            if mcp is not None:
                await mcp.close()

    async def __aenter__(self) -> AgentClient:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        await self.disconnect()
        return False


ClaudeSDKClient = AgentClient
