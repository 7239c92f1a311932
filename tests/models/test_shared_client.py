"""The provider client of an event loop: kept between queries, closed when idle or when its loop ends."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fakes import FakeAnthropicServer, FakeOpenAIServer, Reply
from tests.fakes.server import FakeServer

from tether import AgentOptions, ResultMessage
from tether.models import http_provider
from tether.models.http_provider import SharedClient
from tether.testing import run_query


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


def claude(server: FakeServer, project: Path) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model="claude-sonnet-4-5", env=env, cwd=project)


def openai(server: FakeServer, project: Path) -> AgentOptions:
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
    return AgentOptions(model="openai:gpt-fake", env=env, cwd=project)


def wait_until_closed(server: FakeServer) -> int:
    deadline = time.monotonic() + 5
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.open_connections


async def answer(prompt: str, options: AgentOptions) -> str | None:
    result = (await run_query(prompt, options)).messages[-1]
    assert isinstance(result, ResultMessage) and not result.is_error, result
    return result.result


@pytest.mark.parametrize(("fake", "options"), [(FakeAnthropicServer, claude), (FakeOpenAIServer, openai)])
def test_queries_on_one_loop_share_a_connection_closed_without_warnings_when_the_loop_ends(
    project: Path, fake: type[FakeServer], options: Any
) -> None:
    with fake([Reply("One."), Reply("Two."), Reply("Three.")]) as server:

        async def three_queries() -> tuple[list[str | None], int]:
            answers = [await answer(prompt, options(server, project)) for prompt in ("1?", "2?", "3?")]
            return answers, server.open_connections

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answers, open_while_running = asyncio.run(three_queries())
            gc.collect()
        assert answers == ["One.", "Two.", "Three."]
        assert server.connections_opened == 1 and open_while_running == 1  # kept for the next query
        assert wait_until_closed(server) == 0  # the loop's end closed it
    assert not [warning for warning in caught if issubclass(warning.category, ResourceWarning)]


@pytest.mark.anyio
async def test_a_client_unused_for_a_while_is_closed_and_the_next_query_connects_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_provider, "KEEP_IDLE", 0.05)
    with FakeAnthropicServer([Reply("One."), Reply("Two.")]) as server:
        assert await answer("1?", claude(server, project)) == "One."
        with anyio.fail_after(5):
            while server.open_connections:
                await anyio.sleep(0.01)
        assert await answer("2?", claude(server, project)) == "Two."
        assert server.connections_opened == 2


@pytest.mark.anyio
async def test_models_of_different_endpoints_or_keys_do_not_share_a_client(project: Path) -> None:
    with FakeAnthropicServer([Reply("One."), Reply("Two.")]) as first, FakeAnthropicServer([Reply("Three.")]) as other:
        assert await answer("1?", claude(first, project)) == "One."
        options = claude(first, project)
        options.env["ANTHROPIC_API_KEY"] = "another-key"
        assert await answer("2?", options) == "Two."
        assert await answer("3?", claude(other, project)) == "Three."
        assert (first.connections_opened, other.connections_opened) == (2, 1)
        assert [headers["x-api-key"] for headers in first.headers] == ["test-key", "another-key"]


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.anyio
async def test_without_asyncio_the_client_closes_with_its_last_user(project: Path) -> None:
    pytest.importorskip("trio")
    with FakeAnthropicServer([Reply("One."), Reply("Two.")]) as server:
        assert await answer("1?", claude(server, project)) == "One."
        assert await answer("2?", claude(server, project)) == "Two."
        assert server.connections_opened == 2
        assert wait_until_closed(server) == 0


class Client:
    made = 0

    def __init__(self) -> None:
        Client.made += 1
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def test_shared_clients_of_one_key_give_one_client_per_loop_closed_at_its_end() -> None:
    first, second = SharedClient(Client, lambda: "key"), SharedClient(Client, lambda: "key")

    async def use_both() -> tuple[Client, Client]:
        async with first.use() as one:
            pass
        async with second.use() as two:
            return one, two

    one, two = asyncio.run(use_both())
    assert one is two and one.closed
    three, _ = asyncio.run(use_both())
    assert three is not one and three.closed
