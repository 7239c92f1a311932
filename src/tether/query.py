"""`query()` and `AgentClient` (alias `ClaudeSDKClient`): thin drivers of the agent loop."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from tether.agent.loop import Agent
from tether.errors import ConfigurationError
from tether.messages import Message, ResultMessage
from tether.models import resolve_model
from tether.options import AgentOptions

__all__ = ["AgentClient", "ClaudeSDKClient", "query"]

Prompt = str | list[dict[str, Any]]


async def query(
    *, prompt: str | AsyncIterable[dict[str, Any]], options: AgentOptions | None = None
) -> AsyncIterator[Message]:
    """Ask an agent something; yields its messages, `init` (with the session id) first.

    `prompt` is a string, or an async iterable of user-message dicts
    (`{"type": "user", "message": {"role": "user", "content": ...}}`), each run in turn.
    """
    async with Agent(options) as agent:
        if isinstance(prompt, str):
            async for message in agent.run(prompt):
                yield message
            return
        async for item in prompt:
            async for message in agent.run(_prompt_of(item)):
                yield message


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


class AgentClient:
    """A conversation held open across many prompts, on one session.

    ```python
    async with AgentClient(AgentOptions(model=...)) as client:
        print(client.session_id)          # known as soon as it is connected
        await client.query("Hello")
        async for message in client.receive_response():
            print(message)
    ```
    """

    def __init__(self, options: AgentOptions | None = None) -> None:
        self.options = options or AgentOptions()
        self._agent: Agent | None = None
        self._pending: deque[Prompt] = deque()

    @property
    def session_id(self) -> str:
        """The id of the connected session."""
        return self._connected().session.session_id

    def _connected(self) -> Agent:
        if self._agent is None:
            raise ConfigurationError("the client is not connected: call connect() or use `async with`")
        return self._agent

    async def connect(self, prompt: str | AsyncIterable[dict[str, Any]] | None = None) -> None:
        """Open the session (start, resume or fork, as the options say); optionally send a prompt."""
        if self._agent is not None:
            return
        agent = Agent(self.options)
        await agent.open()
        self._agent = agent
        if isinstance(prompt, str):
            await self.query(prompt)
        elif prompt is not None:
            async for item in prompt:
                self._pending.append(_prompt_of(item))

    async def query(self, prompt: str | AsyncIterable[dict[str, Any]], session_id: str = "default") -> None:
        """Send a prompt; read the answer with `receive_response()`.

        `session_id` exists for compatibility with the Claude SDK and does not select a session:
        a client holds exactly one session (`client.session_id`).
        """
        self._connected()
        if isinstance(prompt, str):
            self._pending.append(prompt)
            return
        async for item in prompt:
            self._pending.append(_prompt_of(item))

    async def receive_messages(self) -> AsyncIterator[Message]:
        """Every message of every prompt sent so far, running them in order."""
        agent = self._connected()
        while self._pending:
            async for message in agent.run(self._pending.popleft()):
                yield message

    async def receive_response(self) -> AsyncIterator[Message]:
        """The messages of the next prompt, up to and including its `ResultMessage`."""
        agent = self._connected()
        if not self._pending:
            return
        async for message in agent.run(self._pending.popleft()):
            yield message
            if isinstance(message, ResultMessage):
                return

    async def interrupt(self) -> None:
        """Stop the running prompt after its current step (the session stays resumable)."""
        self._connected().interrupt()

    async def set_model(self, model: str | None = None) -> None:
        """Use another model for the next prompts."""
        agent = self._connected()
        resolved = resolve_model(
            model, fallback_model=agent.options.fallback_model, env={**os.environ, **agent.options.env}
        )
        agent.options.model = model
        await agent.use_model(resolved)

    async def set_permission_mode(self, mode: str) -> None:
        """Change the permission mode for the next prompts."""
        self._connected().options.permission_mode = mode  # type: ignore[assignment]

    async def disconnect(self) -> None:
        """Close the session's resources. Everything said so far is already stored."""
        if self._agent is not None:
            agent, self._agent = self._agent, None
            await agent.close()

    async def __aenter__(self) -> AgentClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()


ClaudeSDKClient = AgentClient
