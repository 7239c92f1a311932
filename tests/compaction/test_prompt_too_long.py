"""Reactive compaction: a provider's "prompt is too long" compacts the session and the request is
made once more, on the Anthropic and OpenAI-compatible wire protocols."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.compaction.support import (
    SmallWindow,
    asks_for_summary,
    boundaries,
    claude_options,
    fake_tokens,
    result_of,
    small_window_server,
    statuses,
)
from tests.fakes import FakeOpenAIServer

from tether import (
    AgentClient,
    AgentOptions,
    HookContext,
    HookInput,
    HookMatcher,
    MemoryStore,
    Message,
    ResultMessage,
    SyncHookJSONOutput,
)
from tether._vocabulary.store import SessionStore

pytestmark = pytest.mark.anyio

WINDOW = 2_500
PROMPT = "Turn {n}: the colour of the day is colour{n}. " + "A sentence that takes room in the context. " * 5


async def talk(options: AgentOptions, count: int) -> list[list[Message]]:
    """`count` prompts on one client: the messages of each run."""
    runs: list[list[Message]] = []
    async with AgentClient(options) as client:
        for n in range(count):
            await client.query(PROMPT.format(n=n))
            runs.append([message async for message in client.receive_response()])
    return runs


async def test_prompt_too_long_compacts_and_the_retried_request_succeeds(project: Path, store: SessionStore) -> None:
    provider = SmallWindow(WINDOW)  # the agent believes the model's 200k window: it learns the real one
    with small_window_server(provider) as server:
        runs = await talk(claude_options(server, project, store), 40)
        bodies = server.requests

    refused = [i for i, body in enumerate(bodies) if fake_tokens(body) > WINDOW]
    assert provider.too_long == len(refused) == 1
    # The refused request was followed by summary requests (in parts: the history was past the
    # window), each within the window, then the same turn made again, accepted.
    first = refused[0]
    after = bodies[first + 1 :]
    asked = [body for body in after[:3] if asks_for_summary(body)]
    retry = after[len(asked)]
    assert asked and not asks_for_summary(retry) and fake_tokens(retry) <= WINDOW
    retried = retry["messages"]
    assert json.dumps(retried).count("This session is being continued") == 1
    assert json.dumps(bodies[first]["messages"][-1]) in json.dumps(retried)  # the same prompt, sent again
    # The caller was told: that run streamed the compaction, then answered; every run succeeded.
    told = next(run for run in runs if boundaries(run))
    assert [s["status"] for s in statuses(told)] == ["compacting", None]
    assert boundaries(told)[0].data["compact_metadata"]["trigger"] == "auto"
    assert all(result_of(run).subtype == "success" for run in runs)
    # Having learned the window, the agent compacted before the window from then on.
    assert len([run for run in runs if boundaries(run)]) >= 2


async def test_on_an_openai_compatible_server_too(project: Path) -> None:
    provider = SmallWindow(WINDOW, wording="openai")
    with FakeOpenAIServer([provider] * 500) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
        options = AgentOptions(model="openai:gpt-4o", env=env, cwd=project, tools=[], session_store=MemoryStore())
        runs = await talk(options, 45)
    assert provider.too_long == 1
    assert all(result_of(run).subtype == "success" for run in runs)
    assert len([run for run in runs if boundaries(run)]) >= 2


async def test_without_automatic_compaction_the_run_ends_with_prompt_too_long(project: Path) -> None:
    provider = SmallWindow(WINDOW)
    calls: list[str] = []

    async def veto(input_data: HookInput, tool_use_id: str | None, context: HookContext) -> SyncHookJSONOutput:
        assert input_data["hook_event_name"] == "PreCompact"
        calls.append(input_data["trigger"])
        return {"decision": "block", "reason": "no summaries here"}

    with small_window_server(provider) as server:
        for extra in ({"env": {"DISABLE_AUTO_COMPACT": "1"}}, {"hooks": {"PreCompact": [HookMatcher(hooks=[veto])]}}):
            options = claude_options(server, project, MemoryStore(), **extra)
            runs = await talk(options, 30)
            failed = [result_of(run) for run in runs if result_of(run).is_error]
            assert failed, "the history outgrew the window"
            result = failed[0]
            assert isinstance(result, ResultMessage) and result.terminal_reason == "prompt_too_long"
            assert result.api_error_status == 400 and "prompt is too long" in (result.result or "")
            assert not any(boundaries(run) for run in runs)
    assert calls and set(calls) == {"auto"}
    assert "no summaries here" in " ".join(failed[0].errors or [])
