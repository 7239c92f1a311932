"""What a prompt's run (`tether.agent.turn.Turn`) uses of its open agent (`tether.agent.loop.Agent`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tether.agent.compaction import Compactor
from tether.agent.session_tools import SessionTools
from tether.agent.subagents import SubagentHost
from tether.models.base import Model, ModelSettings, Timeouts
from tether.options import AgentOptions
from tether.sessions.lease import SessionLease
from tether.sessions.session import Session
from tether.tools.base import Tool

__all__ = ["TurnContext"]


@dataclass(frozen=True)
class TurnContext:
    """What a prompt's run uses of its open agent."""

    session: Session
    options: AgentOptions
    timeouts: Timeouts
    """The agent's timeouts (the run's deadline starts when the turn does)."""
    settings: ModelSettings
    system_prompt: str
    tools: dict[str, Tool]
    tooling: SessionTools
    compactor: Compactor
    lease: SessionLease | None
    subagents: SubagentHost | None
    echoes_prompts: bool
    """Whether the stored prompt is yielded as a `UserMessage`."""
    model: Callable[[], Model]
    """The model in use now (`set_model` may switch it between two calls)."""
    interrupted: Callable[[], bool]
    """Whether the agent was asked to stop the run."""
    agent_name: str = "tether"
    """Who runs (a subagent's type), for its trace."""
