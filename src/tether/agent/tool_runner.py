"""Running the tool calls of one model response: validate, run, turn the outcome into results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from tether.tools.base import Tool, ToolContext, ToolResult

__all__ = ["ToolOutcome", "ToolRunner"]


@dataclass
class ToolOutcome:
    """The result block for one call, plus what the loop must know about it."""

    result: dict[str, Any]
    """A `tool_result` content block for the model."""
    tool_use_result: Any = None
    """Structured result kept in the transcript entry (`toolUseResult`)."""
    denial: dict[str, Any] | None = None
    """Set when permission was refused: `{"tool_name", "tool_use_id", "tool_input"}`."""
    interrupt: bool = False
    """True when the run must stop after this call."""


@dataclass
class ToolRunner:
    """Runs tool calls against the tools of a session."""

    tools: dict[str, Tool]
    cwd: Path
    session_id: str
    session_state: dict[str, Any] = field(default_factory=dict)

    async def run(self, call: dict[str, Any]) -> ToolOutcome:
        """Run one `tool_use` block; never raises for a tool's own failure."""
        tool_use_id = str(call.get("id"))
        name = str(call.get("name"))
        tool_input = call.get("input")
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return _error(tool_use_id, f"No such tool available: {name}. Available tools: {known}")
        if not isinstance(tool_input, dict):
            return _error(tool_use_id, f"InputValidationError: {name} expects a JSON object as input")
        problem = _validation_problem(tool.input_schema, tool_input)
        if problem:
            return _error(tool_use_id, f"InputValidationError: {name} was called with invalid input: {problem}")
        context = ToolContext(
            cwd=self.cwd, session_id=self.session_id, tool_use_id=tool_use_id, session_state=self.session_state
        )
        try:
            outcome = await tool.call(tool_input, context)
        except Exception as error:  # a tool's failure is the model's information, not the loop's end
            return _error(tool_use_id, f"{type(error).__name__}: {error}")
        return _result(tool_use_id, outcome)


def _validation_problem(schema: dict[str, Any], value: dict[str, Any]) -> str | None:
    validator_class = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _result(tool_use_id: str, outcome: ToolResult) -> ToolOutcome:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": outcome.content}
    if outcome.is_error:
        block["is_error"] = True
    return ToolOutcome(result=block, tool_use_result=outcome.content)


def _error(tool_use_id: str, message: str) -> ToolOutcome:
    return _result(tool_use_id, ToolResult(content=message, is_error=True))
