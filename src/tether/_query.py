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

import os
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import anyio
import anyio.lowlevel

from tether._background import Background
from tether._version import __version__
from tether._vocabulary.control import ContextUsageResponse, Transport
from tether._vocabulary.mcp import McpServerStatus, McpStatusResponse
from tether._vocabulary.options import warn_if_can_use_tool_shadowed
from tether._vocabulary.permissions import PermissionMode, validate_permission_mode
from tether.agent.context_window import estimate_tokens
from tether.agent.loop import Agent
from tether.errors import CLIConnectionError, ConfigurationError, UnsupportedOptionError
from tether.messages import Message, ResultMessage
from tether.models import resolve_model
from tether.options import AgentOptions
from tether.tools.base import Tool
from tether.tools.mcp import McpServers, load_mcp_servers, mcp_tool_name

__all__ = ["AgentClient", "ClaudeSDKClient", "query"]

Prompt = str | list[dict[str, Any]]
_T = TypeVar("_T")
_NOT_CONNECTED = "Not connected. Call connect() first (or use `async with`)."


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
    if isinstance(prompt, str):
        async with Agent(options) as agent:
            async for message in agent.run(prompt):
                yield message
        return
    conversation = _Conversation(options or AgentOptions())
    await conversation.open()
    try:
        conversation.feed(prompt, end=True)
        while (received := await conversation.receive()) is not None:
            yield received
    finally:
        with anyio.CancelScope(shield=True):
            await conversation.close()


async def _send_each(stream: AsyncIterable[dict[str, Any]], send: Callable[[Prompt], None]) -> None:
    """`send` each prompt of `stream`; the stream is closed when this stops, even on a bad item."""
    try:
        async for item in stream:
            send(_prompt_of(item))
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()


def _prompt_of(item: Any) -> Prompt:
    """The content of a streamed user-message dict (or a bare string)."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        message = item.get("message", item)
        if isinstance(message, dict) and message.get("role", "user") == "user":
            content = message.get("content")
            if isinstance(content, (str, list)):
                return content
    raise ConfigurationError(
        f"a streamed prompt must be a user-message dict like "
        f'{{"type": "user", "message": {{"role": "user", "content": "..."}}}}, not {item!r}'
    )


# -- the background machinery -----------------------------------------------------------------


class _Mailbox(Generic[_T]):
    """An unbounded queue between tasks; `get()` sleeps until an item arrives or the box closes.

    An item leaves the queue only when a reader takes it, so a reader cancelled while waiting
    (a timeout around `receive_response()`) loses nothing.
    """

    def __init__(self) -> None:
        self._items: deque[_T] = deque()
        self._arrived = anyio.Event()
        self._closed = False

    @property
    def pending(self) -> bool:
        """Whether items are waiting to be taken."""
        return bool(self._items)

    @property
    def drained(self) -> bool:
        """Whether the box is closed and empty: `get()` would return None at once."""
        return self._closed and not self._items

    def put(self, item: _T) -> bool:
        """Queue `item`; False (and nothing queued) when the box is closed."""
        if self._closed:
            return False
        self._items.append(item)
        self._arrived.set()
        return True

    def close(self, *, discard: bool = False) -> None:
        """No more items: readers get what is queued (nothing with `discard`), then None."""
        self._closed = True
        if discard:
            self._items.clear()
        self._arrived.set()

    async def get(self) -> _T | None:
        """The next item, waiting for it; None once the box is closed and empty."""
        await anyio.lowlevel.checkpoint()
        while not self._items:
            if self._closed:
                return None
            if self._arrived.is_set():
                self._arrived = anyio.Event()
            await self._arrived.wait()
        return self._items.popleft()


@dataclass
class _Failure:
    """An exception on its way to the reader of the message stream."""

    error: Exception


class _Conversation:
    """The running side of a client: a background task that owns the agent (see the module doc)."""

    def __init__(self, options: AgentOptions) -> None:
        self.options = options
        self.agent: Agent | None = None
        """The usage of the latest model response (what the context held then)."""
        self._prompts: _Mailbox[Prompt | _Failure] = _Mailbox()
        self._messages: _Mailbox[Message | _Failure] = _Mailbox()
        self._opened = anyio.Event()
        self._open_error: Exception | None = None
        self._running: anyio.CancelScope | None = None
        self._interrupt_next = False
        self._worker: Background | None = None
        self._feeders: list[Background] = []

    async def open(self) -> Agent:
        """Start the background task; returns once the session is open (or raises why not)."""
        self._worker = worker = Background.start(self._serve)
        try:
            await self._opened.wait()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.close()
            raise
        if self.agent is None:
            await worker.wait()
            raise self._open_error or CLIConnectionError("the session could not be opened")
        return self.agent

    async def _serve(self) -> None:
        try:
            async with Agent(self.options) as agent:
                self.agent = agent
                self._opened.set()
                while (prompt := await self._prompts.get()) is not None:
                    if isinstance(prompt, _Failure):  # a prompt stream failed: said in its place
                        self._messages.put(prompt)
                    else:
                        await self._answer(agent, prompt)
        except Exception as error:  # reported to connect() or to the reader, never lost
            if self.agent is None:
                self._open_error = error
            else:
                self._messages.put(_Failure(error))
        finally:
            self._opened.set()
            self._prompts.close(discard=True)
            self._messages.close()

    async def _answer(self, agent: Agent, prompt: Prompt) -> None:
        with anyio.CancelScope() as scope:
            self._running = scope
            if self._interrupt_next:
                self._interrupt_next = False
                scope.cancel()
            try:
                async for message in agent.run(prompt):
                    self._deliver(message)
            except Exception as error:
                self._messages.put(_Failure(error))
        if scope.cancelled_caught:  # interrupted, or the client is closing
            with anyio.CancelScope(shield=True):
                try:
                    for message in await agent.close_interrupted():
                        self._deliver(message)
                except Exception as error:
                    self._messages.put(_Failure(error))
        self._running = None

    def _deliver(self, message: Message) -> None:
        self._messages.put(message)

    def send(self, prompt: Prompt) -> None:
        """Queue a prompt for the background task."""
        if not self._prompts.put(prompt):
            raise CLIConnectionError("the conversation has ended: it takes no more prompts")

    def feed(self, stream: AsyncIterable[dict[str, Any]], *, end: bool) -> None:
        """Queue the prompts of `stream` as they come, in a task; with `end`, the stream's end ends
        the conversation (after the answers to what it sent)."""

        async def read() -> None:
            try:
                await _send_each(stream, self.send)
            except Exception as error:
                self._prompts.put(_Failure(error))
            finally:
                if end:
                    self._prompts.close()

        self._feeders.append(Background.start(read))

    @property
    def ended(self) -> bool:
        """Whether every message has been read and no more will come."""
        return self._messages.drained

    async def receive(self) -> Message | None:
        """The next message (waiting for it), None once the conversation has ended."""
        item = await self._messages.get()
        if isinstance(item, _Failure):
            raise item.error
        return item

    def interrupt(self) -> None:
        """Cut the running prompt; with none running, the next queued prompt as it starts."""
        if self._running is not None:
            self._running.cancel()
        elif self._prompts.pending:
            self._interrupt_next = True

    async def close(self) -> None:
        """Cut the running prompt, drop those not started, end the stream, close the agent."""
        self._prompts.close(discard=True)
        if self._running is not None:
            self._running.cancel()
        for feeder in self._feeders:
            feeder.cancel()
        for task in [*self._feeders, *([self._worker] if self._worker else [])]:
            await task.wait()


# -- MCP servers changed by the client ------------------------------------------------------------


class _McpControl:
    """The client's changes to a session's MCP servers: servers turned off, servers reconnected.

    A reconnected server is a new connection, held open by a task of its own until the client
    disconnects; its tools replace those of the old connection.
    """

    def __init__(self, agent: Agent, options: AgentOptions) -> None:
        self._agent = agent
        self._options = options
        self._configs = load_mcp_servers(options.mcp_servers)
        self._parked: dict[str, dict[str, Tool]] = {}
        self._reconnected: dict[str, tuple[Background, anyio.Event, dict[str, Any]]] = {}

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:
            known = ", ".join(repr(n) for n in self._configs) or "none"
            raise ConfigurationError(f"no MCP server is named {name!r}; the servers are {known}")
        return self._configs[name]

    def _tools_of(self, name: str) -> list[str]:
        prefix = mcp_tool_name(name, "")
        return [tool for tool in self._agent.tools if tool.startswith(prefix)]

    def _state(self, name: str) -> dict[str, Any]:
        if name in self._reconnected:
            return self._reconnected[name][2]
        return next((s for s in self._agent.mcp_status if s["name"] == name), {"name": name, "status": "failed"})

    def status(self) -> McpStatusResponse:
        """Every configured server with its status, config (without secrets) and tools."""
        servers: list[McpServerStatus] = []
        for name, config in self._configs.items():
            entry = dict(self._state(name))
            entry["config"] = _public_config(name, config)
            if name in self._parked:
                entry["status"] = "disabled"
            elif entry["status"] == "connected":
                prefix = mcp_tool_name(name, "")
                tools = self._agent.tools
                entry["tools"] = [
                    {"name": tool.removeprefix(prefix), "description": tools[tool].description}
                    for tool in self._tools_of(name)
                ]
            servers.append(cast(McpServerStatus, entry))
        return {"mcpServers": servers}

    async def reconnect(self, name: str) -> None:
        """Connect the server anew and use the new connection's tools; raises when it fails."""
        config = self._config(name)
        await self._drop(name)
        closing, opened = anyio.Event(), anyio.Event()
        found: list[McpServers] = []

        async def hold() -> None:
            try:
                async with McpServers({name: config}, cwd=self._agent.session.cwd, env=self._options.env) as servers:
                    found.append(servers)
                    opened.set()
                    await closing.wait()
            finally:
                opened.set()

        holder = Background.start(hold)
        await opened.wait()
        if not found or found[0].status[0]["status"] != "connected":
            closing.set()
            await holder.wait()
            reason = found[0].errors.get(name, "unknown error") if found else "the connection was cancelled"
            raise ConfigurationError(f"the MCP server {name!r} did not reconnect: {reason}")
        servers = found[0]
        self._reconnected[name] = (holder, closing, servers.details[0])
        fresh = {tool.name: tool for tool in servers.tools}
        if name in self._parked:
            self._parked[name] = fresh
        else:
            for tool in self._tools_of(name):
                del self._agent.tools[tool]
            self._agent.tools.update(fresh)

    async def toggle(self, name: str, enabled: bool) -> None:
        """Turn a server's tools off (the model is no longer offered them) or on again."""
        self._config(name)
        if not enabled:
            if name not in self._parked:
                self._parked[name] = {tool: self._agent.tools.pop(tool) for tool in self._tools_of(name)}
            return
        parked = self._parked.pop(name, None)
        if parked is not None:
            self._agent.tools.update(parked)
        if self._state(name)["status"] != "connected":
            await self.reconnect(name)

    async def _drop(self, name: str) -> None:
        held = self._reconnected.pop(name, None)
        if held is not None:
            holder, closing, _ = held
            closing.set()
            await holder.wait()

    async def close(self) -> None:
        """Close the connections made by `reconnect`."""
        for name in list(self._reconnected):
            await self._drop(name)


def _public_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A server config as a status shows it: no environment, no headers (they hold secrets)."""
    kind = config.get("type", "stdio")
    if kind == "stdio":
        return {"type": "stdio", "command": config.get("command"), "args": list(config.get("args", []))}
    if kind == "sdk":
        return {"type": "sdk", "name": config.get("name", name)}
    return {"type": kind, "url": config.get("url")}


# -- control answers ------------------------------------------------------------------------------


def _server_info(agent: Agent) -> dict[str, Any]:
    """What `get_server_info()` reports: commands, output styles, the model, account, mode."""
    init = agent.init_message().data
    model = str(init["model"])
    return {
        "commands": [],  # tether has no slash commands
        "agents": [],
        "output_style": "default",
        "available_output_styles": ["default"],
        "models": [{"value": model, "displayName": model, "description": "The model of this session"}],
        "account": {"apiKeySource": init["apiKeySource"]},
        "current_permission_mode": init["permissionMode"],
        "session_id": init["session_id"],
        "tether_version": __version__,
    }


def _context_usage(agent: Agent) -> ContextUsageResponse:
    """Tokens in the context by category, against the model's window.

    The parts are estimated (four characters per token); the messages take at least what the
    provider counted in its latest response (since the last compaction), less the system prompt
    and tools. A model whose window tether does not know reports `maxTokens` 0.
    """
    session = agent.session
    system = estimate_tokens(agent.system_prompt)
    schemas = {name: estimate_tokens([tool.description, tool.input_schema]) for name, tool in agent.tools.items()}
    mcp = {name: count for name, count in schemas.items() if name.startswith("mcp__")}
    builtin = sum(schemas.values()) - sum(mcp.values())
    measured = agent.compactor.meter.measured or 0
    messages = max(estimate_tokens(list(session.messages)), measured - system - sum(schemas.values()))
    total = system + sum(schemas.values()) + messages
    window_fields = agent.compactor.window_fields()
    window = int(window_fields["rawMaxTokens"])  # 0: unknown
    categories = [
        {"name": "System prompt", "tokens": system, "color": "promptBorder"},
        {"name": "System tools", "tokens": builtin, "color": "inactive"},
        {"name": "MCP tools", "tokens": sum(mcp.values()), "color": "cyan"},
        {"name": "Messages", "tokens": messages, "color": "purple"},
        {"name": "Free space", "tokens": max(int(window_fields["maxTokens"]) - total, 0), "color": "subtle"},
    ]
    return cast(
        ContextUsageResponse,
        {
            "categories": categories,
            "totalTokens": total,
            **window_fields,
            "percentage": round(100 * total / window, 2) if window else 0.0,
            "model": agent.model.model_name,
            "memoryFiles": [],
            "mcpTools": [
                {"name": name, "serverName": name.split("__")[1], "tokens": count, "isLoaded": True}
                for name, count in mcp.items()
            ],
            "agents": [],
            "gridRows": [],
            "systemTools": [{"name": n, "tokens": c} for n, c in schemas.items() if n not in mcp],
        },
    )


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
        self._conversation: _Conversation | None = None
        self._mcp: _McpControl | None = None

    def _live(self) -> _Conversation:
        if self._conversation is None:
            raise CLIConnectionError(_NOT_CONNECTED)
        return self._conversation

    def _readable(self) -> _Conversation:
        conversation = self._live()
        if conversation.ended:  # reading on would return at once, again and again
            raise CLIConnectionError("the conversation has ended (its prompt stream ended): nothing more to receive")
        return conversation

    def _agent(self) -> Agent:
        agent = self._live().agent
        if agent is None:  # pragma: no cover - a conversation is stored only once its agent is open
            raise CLIConnectionError(_NOT_CONNECTED)
        return agent

    def _mcp_control(self) -> _McpControl:
        if self._mcp is None:
            self._mcp = _McpControl(self._agent(), self.options)
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
        conversation = _Conversation(self.options)
        await conversation.open()
        self._conversation = conversation
        if isinstance(prompt, str):
            conversation.send(prompt)
        elif prompt is not None:
            conversation.feed(prompt, end=True)

    async def query(self, prompt: str | AsyncIterable[dict[str, Any]], session_id: str = "default") -> None:
        """Send a prompt (or each prompt of an async iterable); read the answers with `receive_*()`.

        Prompts are answered in the order sent, one `ResultMessage` each. `session_id` exists
        for the SDK's signature and does not select a session: a client holds exactly one
        (`client.session_id`).
        """
        conversation = self._live()
        if isinstance(prompt, str):
            conversation.send(prompt)
            return
        await _send_each(prompt, conversation.send)

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
            model, fallback_model=agent.options.fallback_model, env={**os.environ, **agent.options.env}
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
        return _context_usage(self._agent())

    async def get_server_info(self) -> dict[str, Any] | None:
        """Commands, output styles, models, account and permission mode of the connected agent."""
        return _server_info(self._agent())

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
