"""The Claude Agent SDK's permission vocabulary: permission modes, the `can_use_tool` callback, its
context and answers, and the `PermissionUpdate`s it may return (see `tether.agent.permissions` for
how tether decides tool calls)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from tether.errors import ConfigurationError

__all__ = [
    "PERMISSION_MODES",
    "CanUseTool",
    "PermissionBehavior",
    "PermissionMode",
    "PermissionResult",
    "PermissionResultAllow",
    "PermissionResultDeny",
    "PermissionRuleValue",
    "PermissionUpdate",
    "PermissionUpdateDestination",
    "ToolPermissionContext",
    "validate_permission_mode",
]

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"]
"""How tool calls that no rule decides are treated (see `tether.agent.permissions`)."""
PERMISSION_MODES: tuple[PermissionMode, ...] = get_args(PermissionMode)

PermissionBehavior = Literal["allow", "deny", "ask"]

PermissionUpdateDestination = Literal["userSettings", "projectSettings", "localSettings", "session"]
"""Where a `PermissionUpdate` would be kept."""


def validate_permission_mode(mode: object) -> PermissionMode:
    """`mode` as a `PermissionMode`; `ConfigurationError` naming the valid modes otherwise."""
    for known in PERMISSION_MODES:
        if mode == known:
            return known
    raise ConfigurationError(f"unknown permission mode {mode!r}; use one of {', '.join(PERMISSION_MODES)}")


@dataclass
class PermissionRuleValue:
    """One rule: a tool name and an optional specifier (`Bash` + `git status`)."""

    tool_name: str
    rule_content: str | None = None


_UPDATE_FIELDS: dict[str, tuple[str, ...]] = {
    "addRules": ("rules", "behavior"),
    "replaceRules": ("rules", "behavior"),
    "removeRules": ("rules", "behavior"),
    "setMode": ("mode",),
    "addDirectories": ("directories",),
    "removeDirectories": ("directories",),
}
"""Each kind of `PermissionUpdate` and the fields it needs."""


@dataclass
class PermissionUpdate:
    """A change to the permissions of the running session, returned by `can_use_tool`.

    `destination` is accepted for compatibility (`None` is sent as `"session"`); tether applies
    every update to the session only.
    """

    type: Literal["addRules", "replaceRules", "removeRules", "setMode", "addDirectories", "removeDirectories"]
    rules: list[PermissionRuleValue] | None = None
    behavior: PermissionBehavior | None = None
    mode: PermissionMode | None = None
    directories: list[str] | None = None
    destination: PermissionUpdateDestination | None = None

    def to_dict(self) -> dict[str, Any]:
        """The control-protocol form, as the SDK sends it: camelCase rule fields, no `ruleContent`
        for a whole-tool rule, `destination` `"session"` when unset.

        `ConfigurationError` (a `ValueError`) for an unknown `type` or a field its type needs left unset.
        """
        needed = _UPDATE_FIELDS.get(self.type)
        if needed is None:
            raise ConfigurationError(
                f"PermissionUpdate has type {self.type!r}, which this version of tether cannot send; "
                f"use one of {', '.join(_UPDATE_FIELDS)}"
            )
        result: dict[str, Any] = {"type": self.type, "destination": self.destination or "session"}
        for name in needed:
            value = getattr(self, name)
            if value is None:
                raise ConfigurationError(f"PermissionUpdate(type={self.type!r}) has no {name}, which that type needs")
            result[name] = [_rule_dict(rule) for rule in value] if name == "rules" else value
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PermissionUpdate:
        """Inverse of `to_dict`."""
        rules = None
        if data.get("rules") is not None:
            rules = [PermissionRuleValue(r["toolName"], r.get("ruleContent")) for r in data["rules"]]
        return cls(
            type=data["type"],
            rules=rules,
            behavior=data.get("behavior"),
            mode=data.get("mode"),
            directories=data.get("directories"),
            destination=data.get("destination"),
        )


def _rule_dict(rule: PermissionRuleValue) -> dict[str, str]:
    wire = {"toolName": rule.tool_name}
    if rule.rule_content is not None:
        wire["ruleContent"] = rule.rule_content
    return wire


@dataclass
class ToolPermissionContext:
    """What `can_use_tool` is told besides the tool name and input."""

    signal: Any | None = None
    suggestions: list[PermissionUpdate] = field(default_factory=list)
    """Updates that would allow calls like this one from now on (return them in `updated_permissions`)."""
    tool_use_id: str | None = None
    agent_id: str | None = None
    blocked_path: str | None = None
    """The path outside cwd and `add_dirs` that made the call need permission, if any."""
    decision_reason: str | None = None
    """Why the call was not decided by rules and modes (or the reason of a hook's `ask`)."""
    title: str | None = None
    display_name: str | None = None
    description: str | None = None


@dataclass
class PermissionResultAllow:
    """`can_use_tool`'s answer to let the call run, optionally with a changed input."""

    behavior: Literal["allow"] = "allow"
    updated_input: dict[str, Any] | None = None
    updated_permissions: list[PermissionUpdate] | None = None


@dataclass
class PermissionResultDeny:
    """`can_use_tool`'s answer to refuse the call: `message` is told to the model; `interrupt`
    ends the run."""

    behavior: Literal["deny"] = "deny"
    message: str = ""
    interrupt: bool = False


PermissionResult = PermissionResultAllow | PermissionResultDeny
CanUseTool = Callable[[str, dict[str, Any], ToolPermissionContext], Awaitable[PermissionResult]]
