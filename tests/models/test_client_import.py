"""The provider's SDK is imported off the event loop, inside the run's limits (issue 20, item 5).

The client module of these models is a real module on `sys.path` whose import blocks until the
test lets it finish: a cold start on a loaded machine, made as slow as the test needs.
"""

from __future__ import annotations

import sys
import threading
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fakes import FakeAnthropicServer, Reply

from tether import AgentOptions, Message, ResultMessage, SystemMessage, query
from tether.models.anthropic import AnthropicModel
from tether.testing import run_query

pytestmark = pytest.mark.anyio

SLOW_MODULE = """
import sys, threading
gate = sys.modules[__name__ + "_gate"]
gate.importers.append(threading.get_ident())
gate.started.set()
gate.release.wait(60)
gate.done.set()
"""


class Gate(types.ModuleType):
    """What the slow module reports to (it finds it in `sys.modules`), and what it waits for."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.importers: list[int] = []
        """The threads that imported the slow module."""
        self.started, self.release, self.done = threading.Event(), threading.Event(), threading.Event()


@dataclass
class SlowImport:
    """A client module whose import waits for `gate.release`."""

    name: str
    gate: Gate

    def model(self, server: FakeAnthropicServer) -> AnthropicModel:
        slow: type[AnthropicModel] = type("SlowClientClaude", (AnthropicModel,), {"client_module": self.name})
        return slow("claude-sonnet-4-6", api_key="test-key", base_url=server.url, retry_delay=0.001)


@pytest.fixture
def slow_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowImport]:
    name = f"slow_client_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    gate = Gate(f"{name}_gate")
    sys.modules[gate.__name__] = gate
    try:
        yield SlowImport(name, gate)
    finally:
        gate.release.set()
        gate.done.wait(30)
        sys.modules.pop(name, None)
        sys.modules.pop(gate.__name__, None)


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"request_timeout": 0.5}, "request_timeout (0.5 s)"),
        ({"run_timeout": 0.5, "request_timeout": None}, "run_timeout (0.5 s)"),
    ],
)
async def test_a_slow_client_import_ends_the_run_at_its_timeout(
    slow_import: SlowImport, tmp_path: Path, limits: dict[str, Any], named: str
) -> None:
    with FakeAnthropicServer([Reply("Hello after a cold start.")]) as server:
        model = slow_import.model(server)
        failed = (await run_query("Hello?", AgentOptions(model=model, cwd=tmp_path, **limits))).messages

        result = failed[-1]
        assert isinstance(result, ResultMessage) and result.is_error
        assert named in " ".join(result.errors or [])
        assert not slow_import.gate.release.is_set()  # the run ended while the import was still under way
        assert slow_import.gate.importers != [threading.get_ident()]  # imported in a worker thread
        assert server.requests == []

        slow_import.gate.release.set()  # the import finishes in the background...
        slow_import.gate.done.wait(30)
        first = failed[0]
        assert isinstance(first, SystemMessage)
        resumed = (
            await run_query("Still there?", AgentOptions(model=model, cwd=tmp_path, resume=first.data["session_id"]))
        ).messages
    assert isinstance(resumed[-1], ResultMessage) and resumed[-1].result == "Hello after a cold start."
    assert slow_import.gate.importers[:1] == slow_import.gate.importers  # ...once: the next run found it loaded


async def test_a_run_cancelled_during_the_client_import_does_not_wait_for_it(
    slow_import: SlowImport, tmp_path: Path
) -> None:
    messages: list[Message] = []
    with FakeAnthropicServer([]) as server:
        options = AgentOptions(model=slow_import.model(server), cwd=tmp_path)
        async with anyio.create_task_group() as group:

            async def consume() -> None:
                async for message in query(prompt="Hello?", options=options):
                    messages.append(message)

            group.start_soon(consume)
            await anyio.to_thread.run_sync(slow_import.gate.started.wait, 30)
            group.cancel_scope.cancel()

    assert not slow_import.gate.release.is_set()  # the cancel acted while the import was still under way
    assert isinstance(messages[0], SystemMessage) and not any(isinstance(m, ResultMessage) for m in messages)
