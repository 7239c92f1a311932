"""Durable turns of a held-open conversation (`AgentClient`, or `query()` with streamed prompts).

The conversation's own agent opens the session (started, resumed, continued or forked, as the
options say) and stays open for the client's controls; each prompt then runs as a durable turn
(`tether.durable.turns.run_durable`) on that session, and the agent re-reads the session after
it. A prompt's turn id is the one given with it (`AgentClient.query(..., turn_id=...)`), else
`<options.turn_id>:<n>` for the n-th prompt of the connection (so a client that reconnects with the
same `turn_id` and sends its prompts again runs each once, following those that ran), else new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from tether.agent.loop import Agent
from tether.durable.turns import check_persisted, run_durable
from tether.errors import ConfigurationError
from tether.messages import Message
from tether.options import AgentOptions

__all__ = ["DurableConversationTurns", "check_durable_conversation"]


def check_durable_conversation(options: AgentOptions) -> None:
    """Refuse, before anything is opened, the options a durable conversation cannot honour."""
    check_persisted(options)
    if options.resume_session_at:
        raise ConfigurationError(
            "durable turns run on the session's latest message: resume_session_at is not supported with durable=True"
        )


class DurableConversationTurns:
    """Runs each prompt of one conversation as a durable turn on the conversation agent's session."""

    def __init__(self, options: AgentOptions) -> None:
        self.options = options
        self.prompts = 0

    def turn_id(self, given: str | None) -> str | None:
        """The next prompt's turn id (see the module doc); None lets the turn pick a new one."""
        self.prompts += 1
        if given is not None:
            return given
        return f"{self.options.turn_id}:{self.prompts}" if self.options.turn_id else None

    async def run(
        self, agent: Agent, prompt: str | list[dict[str, Any]], turn_id: str | None
    ) -> AsyncIterator[Message]:
        """The messages of the prompt's durable turn, as a plain `agent.run` yields them."""
        current = agent.options  # the client's set_model and set_permission_mode change these
        options = dataclasses.replace(
            self.options,
            resume=agent.session.session_id,
            session_id=None,
            continue_conversation=False,
            fork_session=False,
            cwd=agent.session.cwd,
            turn_id=turn_id,
            model=current.model,
            permission_mode=current.permission_mode,
        )
        async for message in run_durable(prompt, options):
            yield message
        await agent.session.catch_up(reread=True)  # the turn wrote through an agent of its own
