"""Helpers of the subagent tests: one scripted model that plays the main agent and its subagents.

A `Team` routes each model request by its system prompt: requests whose system prompt starts with
an agent's prompt go to that agent's script, the others to the main agent's. A script is a function
of the request that returns a reply (`tether.testing` replies); `turn(request)` says how many
assistant turns the request already holds, so a script can answer turn by turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tether import Message, ResultMessage
from tether.models.base import ModelRequest, ModelResponse
from tether.testing import FunctionModel, Reply, tool_use_reply

Script = Callable[[ModelRequest], Reply | Awaitable[Reply]]


def turn(request: ModelRequest) -> int:
    """How many assistant replies the request's history holds."""
    return sum(1 for message in request.messages if message["role"] == "assistant")


def tool_results(request: ModelRequest) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last message."""
    content = request.messages[-1]["content"]
    return [block for block in content if isinstance(block, dict) and block.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    """The text of a tool_result block."""
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def delegate(subagent_type: str, prompt: str, *, description: str = "a task", id: str | None = None) -> ModelResponse:
    """A main-agent reply that calls the Agent tool."""
    return tool_use_reply(
        "Agent", {"description": description, "prompt": prompt, "subagent_type": subagent_type}, id=id
    )


class Team:
    """A `FunctionModel` that answers as the main agent or as a subagent, by system prompt."""

    def __init__(self, main: Script, agents: Mapping[str, Script], *, model_name: str = "team-model", **kwargs: Any):
        self.main = main
        self.agents = dict(agents)
        self.model = FunctionModel(self._route, model_name=model_name, **kwargs)

    async def _route(self, request: ModelRequest) -> Reply:
        script = next((s for prompt, s in self.agents.items() if (request.system or "").startswith(prompt)), self.main)
        reply = script(request)
        return await reply if isinstance(reply, Awaitable) else reply

    def requests_of(self, prompt: str) -> list[ModelRequest]:
        """The requests made by the agent whose system prompt starts with `prompt`."""
        return [request for request in self.model.requests if (request.system or "").startswith(prompt)]


def result_of(messages: list[Message]) -> ResultMessage:
    """The run's `ResultMessage` (its last message)."""
    last = messages[-1]
    assert isinstance(last, ResultMessage), last
    return last
