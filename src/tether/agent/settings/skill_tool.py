"""The Skill tool: Claude Code's way for the model to load a skill's instructions.

Its description lists the skills the model may use (name and description); a call
`Skill{skill, args?}` answers with the skill's SKILL.md body (arguments filled in as for a slash
command) and its base directory, so the model can follow it and read the files next to it.
Calls go through the permission policy like any other tool's: `skills="all"` allows every skill,
`skills=[names]` allows `Skill(name)` for each, and `allowed_tools=["Skill(name)"]` does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tether.agent.permission_rules import SKILL_TOOL_NAME
from tether.agent.permissions import PermissionPolicy
from tether.agent.settings.commands import Skill, expand_arguments
from tether.tools.base import ToolContext, ToolResult

__all__ = ["SkillTool"]


class SkillTool:
    """The Skill tool over a fixed set of skills (those the model may invoke)."""

    name: ClassVar[str] = SKILL_TOOL_NAME
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "description": "The name of the skill to use, as listed."},
            "args": {"type": "string", "description": "Arguments for the skill, if it takes any."},
        },
        "required": ["skill"],
        "additionalProperties": False,
    }

    def __init__(self, skills: Mapping[str, Skill], policy: PermissionPolicy | None = None) -> None:
        self.skills = dict(skills)
        self.policy = policy
        """Where a loaded skill's `allowed-tools` are allowed until the next prompt (None: nowhere)."""

    @property
    def description(self) -> str:
        """What the tool does and the skills it offers."""
        listing = "\n".join(f"- {skill.name}: {skill.description}" for skill in self.skills.values())
        return (
            "Load a skill: instructions (and files next to them) for a kind of task. When a task matches "
            "a skill's description, call this tool with its name first, then follow the instructions it "
            f"returns.\n\nAvailable skills:\n{listing}"
        )

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """The skill's instructions, or an error result naming the skills there are."""
        name = str(input.get("skill", "")).strip().removeprefix("/")
        skill = self.skills.get(name)
        if skill is None:
            known = ", ".join(self.skills) or "none"
            return ToolResult(f"Unknown skill: {name}. The skills are: {known}", is_error=True)
        if self.policy is not None:
            self.policy.allow_for_prompt(skill.allowed_tools)
        arguments = str(input.get("args") or "").strip()
        body = expand_arguments(skill.body, arguments).strip()
        text = f"Launching skill: {skill.name}\n\nBase directory for this skill: {skill.directory}\n\n{body}"
        return ToolResult(text, structured={"success": True, "commandName": skill.name})
