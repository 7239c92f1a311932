"""What the compaction tests share: a fake provider with a small context window, and helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes import ErrorReply, FakeAnthropicServer, Reply
from tests.fakes.script import ScriptItem

from tether import AgentOptions, Message, ResultMessage, SystemMessage, UserMessage
from tether._vocabulary.store import SessionKey, SessionStore
from tether.agent.compaction import SUMMARY_PROMPT

CLAUDE = "claude-sonnet-4-5"
WINDOW_ENV = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"
ASKS_FOR_SUMMARY = SUMMARY_PROMPT.splitlines()[0]


def fake_tokens(body: dict[str, Any]) -> int:
    """The fake provider's own count of a request: a token per 3 characters of its JSON (more than
    tether's estimate of 4, so the agent must go by the provider's counts)."""
    return len(json.dumps([body.get("system"), body.get("messages"), body.get("tools")])) // 3


def asks_for_summary(body: dict[str, Any]) -> bool:
    return ASKS_FOR_SUMMARY in json.dumps(body.get("messages"))


def texts_of(body: dict[str, Any]) -> str:
    """Every text of a request's messages, joined (to look for what it holds)."""
    return json.dumps(body.get("messages"))


@dataclass
class SmallWindow:
    """A provider whose context holds `window` tokens (`fake_tokens`): past it, the request gets
    Anthropic's 400 "prompt is too long: N tokens > M maximum" (OpenAI's wording with
    `wording="openai"`); a request for a summary gets one; any other gets `Answer n.`. Every reply
    reports the fake's own count as its usage."""

    window: int
    wording: str = "anthropic"
    counts: list[int] = field(default_factory=list)
    too_long: int = 0
    summaries: int = 0
    answers: int = 0

    def __call__(self, body: dict[str, Any]) -> ScriptItem:
        tokens = fake_tokens(body)
        self.counts.append(tokens)
        if tokens > self.window:
            self.too_long += 1
            return ErrorReply(400, self.too_long_message(tokens), "invalid_request_error")
        if asks_for_summary(body):
            self.summaries += 1
            return Reply(f"<summary>SUMMARY {self.summaries}: the user told numbers.</summary>", input_tokens=tokens)
        self.answers += 1
        return Reply(f"Answer {self.answers}.", input_tokens=tokens, output_tokens=4)

    def too_long_message(self, tokens: int) -> str:
        if self.wording == "openai":
            return (
                f"This model's maximum context length is {self.window} tokens. However, your messages "
                f"resulted in {tokens} tokens. Please reduce the length of the messages."
            )
        return f"prompt is too long: {tokens} tokens > {self.window} maximum"


def small_window_server(provider: SmallWindow, calls: int = 3000) -> FakeAnthropicServer:
    return FakeAnthropicServer([provider] * calls)


def claude_options(
    server: FakeAnthropicServer, project: Path, store: SessionStore | str | None, **extra: Any
) -> AgentOptions:
    """A Claude run on the fake server, with no tools (the window is small) and `extra` env/options."""
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key", **extra.pop("env", {})}
    return AgentOptions(model=CLAUDE, env=env, cwd=project, tools=[], session_store=store, **extra)


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def session_id_of(messages: list[Message]) -> str:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return str(first.data["session_id"])


def boundaries(messages: Iterable[Message]) -> list[SystemMessage]:
    return [m for m in messages if isinstance(m, SystemMessage) and m.subtype == "compact_boundary"]


def statuses(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [m.data for m in messages if isinstance(m, SystemMessage) and m.subtype == "status"]


def summaries(messages: Iterable[Message]) -> list[UserMessage]:
    return [
        m
        for m in messages
        if isinstance(m, UserMessage) and isinstance(m.content, str) and m.content.startswith("This session is")
    ]


async def entries_of(store: SessionStore, project: Path, session_id: str) -> list[dict[str, Any]]:
    from tether.sessions.keys import project_key_for_directory

    entries = await store.load(SessionKey(project_key=project_key_for_directory(project), session_id=session_id))
    assert entries is not None
    return entries


async def collect(stream: AsyncIterator[Message]) -> list[Message]:
    return [message async for message in stream]
