"""`interrupt()` ends a model call that hangs, before the headers or mid-stream, at once."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from tests.fakes.faults import Events, FaultyAnthropicServer, Hang, anthropic_events
from tests.faults.conftest import claude, history, options

from tether import AgentClient, Message, ResultMessage, StreamEvent

pytestmark = pytest.mark.anyio


async def wait_for_requests(server: FaultyAnthropicServer, count: int) -> None:
    while len(server.requests) < count:
        await anyio.sleep(0.01)


async def wait_for_text(seen: list[Message]) -> None:
    """Until the client has received some of the reply's text (the cut comes mid-stream)."""
    while not any(isinstance(m, StreamEvent) and m.event.get("type") == "content_block_delta" for m in seen):
        await anyio.sleep(0.01)


CUT = "[Request interrupted by user]"


@pytest.mark.parametrize(
    ("fault", "sent"),
    [
        (Hang(), [("user", f"Hello? | {CUT} | Still there?")]),
        (
            Events(anthropic_events("Half a reply")[:5], then="hang"),
            [("user", "Hello?"), ("assistant", "Half a reply"), ("user", f"{CUT} | Still there?")],
        ),
    ],
    ids=["before-headers", "mid-stream"],
)
async def test_interrupt_ends_a_hung_model_call_and_the_client_goes_on(
    project: Path, fault: object, sent: list[tuple[str, str]]
) -> None:
    with FaultyAnthropicServer([fault, "Here now."]) as server:
        agent_options = options(  # only the interrupt ends it
            claude(server), project, stream_idle_timeout=60, include_partial_messages=True
        )
        async with AgentClient(agent_options) as client:
            await client.query("Hello?")
            seen: list[Message] = []
            async with anyio.create_task_group() as group:

                async def read() -> None:
                    async for message in client.receive_response():
                        seen.append(message)

                group.start_soon(read)
                await wait_for_requests(server, 1)
                if any(role == "assistant" for role, _ in sent):
                    await wait_for_text(seen)
                await client.interrupt()
            await client.query("Still there?")
            answer = [m async for m in client.receive_response()]

    cut = seen[-1]
    assert isinstance(cut, ResultMessage) and cut.terminal_reason == "aborted_streaming"
    assert isinstance(answer[-1], ResultMessage) and answer[-1].result == "Here now."
    assert history(server.requests[-1]) == sent  # what had streamed is kept, and the cut is marked
