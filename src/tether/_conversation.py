"""One connected conversation of `AgentClient`: the background task that owns the agent, runs the
prompts one after the other and puts every message on one stream (see `tether._query`)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import anyio.lowlevel

from tether._background import Background
from tether.agent.loop import Agent
from tether.errors import CLIConnectionError, ConfigurationError, UnsupportedOptionError
from tether.messages import Message
from tether.options import AgentOptions

if TYPE_CHECKING:
    from tether.durable.client import DurableConversationTurns

__all__ = ["NOT_CONNECTED", "Conversation", "Failure", "Mailbox", "Prompt", "prompt_of", "send_each"]


Prompt = str | list[dict[str, Any]]
_T = TypeVar("_T")
NOT_CONNECTED = "Not connected. Call connect() first (or use `async with`)."


async def send_each(stream: AsyncIterable[dict[str, Any]], send: Callable[[Prompt], None]) -> None:
    """`send` each prompt of `stream`; the stream is closed when this stops, even on a bad item."""
    try:
        async for item in stream:
            send(prompt_of(item))
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()


def prompt_of(item: Any) -> Prompt:
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


class Mailbox(Generic[_T]):
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
class Failure:
    """An exception on its way to the reader of the message stream."""

    error: Exception


@dataclass
class DurablePrompt:
    """A prompt of a durable conversation, with the id of the turn that answers it."""

    prompt: Prompt
    turn_id: str | None


class Conversation:
    """The running side of a client: a background task that owns the agent (see the module doc)."""

    def __init__(self, options: AgentOptions) -> None:
        self.options = options
        self.agent: Agent | None = None
        """The usage of the latest model response (what the context held then)."""
        self._prompts: Mailbox[Prompt | DurablePrompt | Failure] = Mailbox()
        self._messages: Mailbox[Message | Failure] = Mailbox()
        self._opened = anyio.Event()
        self._open_error: Exception | None = None
        self._running: anyio.CancelScope | None = None
        self._interrupt_next = False
        self._worker: Background | None = None
        self._feeders: list[Background] = []
        self._durable: DurableConversationTurns | None = None
        if options.durable:  # each prompt a durable turn (tether.durable.client)
            from tether.durable.client import DurableConversationTurns, check_durable_conversation

            check_durable_conversation(options)
            self._durable = DurableConversationTurns(options)

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
                    if isinstance(prompt, Failure):  # a prompt stream failed: said in its place
                        self._messages.put(prompt)
                    else:
                        await self._answer(agent, prompt)
        except Exception as error:  # reported to connect() or to the reader, never lost
            if self.agent is None:
                self._open_error = error
            else:
                self._messages.put(Failure(error))
        finally:
            self._opened.set()
            self._prompts.close(discard=True)
            self._messages.close()

    async def _answer(self, agent: Agent, prompt: Prompt | DurablePrompt) -> None:
        with anyio.CancelScope() as scope:
            self._running = scope
            if self._interrupt_next:
                self._interrupt_next = False
                scope.cancel()
            try:
                async for message in self._run(agent, prompt):
                    self._deliver(message)
            except Exception as error:
                self._messages.put(Failure(error))
        if scope.cancelled_caught and self._durable is None:  # interrupted, or the client is closing
            with anyio.CancelScope(shield=True):
                try:
                    for message in await agent.close_interrupted():
                        self._deliver(message)
                except Exception as error:
                    self._messages.put(Failure(error))
        self._running = None

    def _run(self, agent: Agent, prompt: Prompt | DurablePrompt) -> AsyncIterator[Message]:
        if isinstance(prompt, DurablePrompt) and self._durable is not None:
            return self._durable.run(agent, prompt.prompt, prompt.turn_id)  # a cut leaves the turn running
        assert not isinstance(prompt, DurablePrompt)
        return agent.run(prompt)

    def _deliver(self, message: Message) -> None:
        self._messages.put(message)

    def send(self, prompt: Prompt, turn_id: str | None = None) -> None:
        """Queue a prompt for the background task (`turn_id`: the durable turn's, see tether.durable.client)."""
        queued: Prompt | DurablePrompt = prompt
        if self._durable is not None:
            queued = DurablePrompt(prompt, self._durable.turn_id(turn_id))
        elif turn_id is not None:
            raise ConfigurationError("turn_id needs durable=True (a turn id names a durable turn)")
        if not self._prompts.put(queued):
            raise CLIConnectionError("the conversation has ended: it takes no more prompts")

    def feed(self, stream: AsyncIterable[dict[str, Any]], *, end: bool) -> None:
        """Queue the prompts of `stream` as they come, in a task; with `end`, the stream's end ends
        the conversation (after the answers to what it sent)."""

        async def read() -> None:
            try:
                await send_each(stream, self.send)
            except Exception as error:
                self._prompts.put(Failure(error))
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
        if isinstance(item, Failure):
            raise item.error
        return item

    def interrupt(self) -> None:
        """Cut the running prompt; with none running, the next queued prompt as it starts."""
        if self._durable is not None:
            raise UnsupportedOptionError(
                "durable", "a durable turn runs to its end: it cannot be interrupted (disconnect stops reading it)"
            )
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
