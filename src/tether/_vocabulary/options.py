"""The Claude Agent SDK's option vocabulary: the small Literals and TypedDicts that `AgentOptions`
fields take (system prompt forms, thinking, effort, sandbox, plugins, betas), `AgentDefinition`
(a subagent of `AgentOptions.agents`) and `seconds_option`, the check of an option given in seconds.
Like every TypedDict they are plain dicts at runtime.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, Protocol, TypeAlias, TypedDict

from tether._vocabulary.permissions import PermissionMode
from tether.errors import ConfigurationError

__all__ = [
    "AgentDefinition",
    "CanUseToolShadowedWarning",
    "EffortLevel",
    "SandboxIgnoreViolations",
    "SandboxNetworkConfig",
    "SandboxSettings",
    "SdkBeta",
    "SdkPluginConfig",
    "SettingSource",
    "SystemPromptCustom",
    "SystemPromptFile",
    "SystemPromptPreset",
    "TaskBudget",
    "ThinkingConfig",
    "ThinkingConfigAdaptive",
    "ThinkingConfigDisabled",
    "ThinkingConfigEnabled",
    "ThinkingDisplay",
    "ToolsPreset",
    "can_use_tool_shadowed_warning",
    "seconds_option",
    "warn_if_can_use_tool_shadowed",
    "whole_tool_allowed",
]

SdkBeta = Literal["context-1m-2025-08-07"]
"""Beta features that `AgentOptions.betas` names."""

SettingSource = Literal["user", "project", "local"]
"""Settings files `AgentOptions.setting_sources` may load."""

EffortLevel: TypeAlias = Literal["low", "medium", "high", "xhigh", "max"]
"""How hard the model works on a response (`AgentOptions.effort`)."""

ThinkingDisplay = Literal["summarized", "omitted"]
"""Whether thinking comes back as summarized text or is omitted (signature only)."""


class SystemPromptPreset(TypedDict):
    """`system_prompt={"type": "preset", "preset": "claude_code", "append": ...}`."""

    type: Literal["preset"]
    preset: Literal["claude_code"]
    append: NotRequired[str]
    exclude_dynamic_sections: NotRequired[bool]
    snapshot: NotRequired[bool]


class SystemPromptCustom(TypedDict):
    """`system_prompt={"type": "custom", "prompt": ...}`: a prompt of your own."""

    type: Literal["custom"]
    prompt: str
    snapshot: NotRequired[bool]


class SystemPromptFile(TypedDict):
    """`system_prompt={"type": "file", "path": ...}`: the prompt is the text of a file."""

    type: Literal["file"]
    path: str


class TaskBudget(TypedDict):
    """`task_budget={"total": tokens}`: the token budget the model is told it has for the task."""

    total: int


class ToolsPreset(TypedDict):
    """`tools={"type": "preset", "preset": "claude_code"}`: every built-in tool."""

    type: Literal["preset"]
    preset: Literal["claude_code"]


class ThinkingConfigAdaptive(TypedDict):
    """`thinking={"type": "adaptive"}`: the model decides when and how much to think."""

    type: Literal["adaptive"]
    display: NotRequired[ThinkingDisplay]


class ThinkingConfigEnabled(TypedDict):
    """`thinking={"type": "enabled", "budget_tokens": n}`: thinking with a fixed budget."""

    type: Literal["enabled"]
    budget_tokens: int
    display: NotRequired[ThinkingDisplay]


class ThinkingConfigDisabled(TypedDict):
    """`thinking={"type": "disabled"}`: no extended thinking."""

    type: Literal["disabled"]


ThinkingConfig = ThinkingConfigAdaptive | ThinkingConfigEnabled | ThinkingConfigDisabled


class SdkPluginConfig(TypedDict):
    """A plugin of `AgentOptions.plugins` (local directories only)."""

    type: Literal["local"]
    path: str


class SandboxNetworkConfig(TypedDict, total=False):
    """The network part of `SandboxSettings`."""

    allowedDomains: list[str]
    deniedDomains: list[str]
    allowManagedDomainsOnly: bool
    allowUnixSockets: list[str]
    allowAllUnixSockets: bool
    allowLocalBinding: bool
    allowMachLookup: list[str]
    httpProxyPort: int
    socksProxyPort: int


SandboxIgnoreViolations: TypeAlias = dict[str, list[str]]
"""Violations to leave unreported: a command pattern (`"*"` for all) to substrings of the violation."""


class SandboxSettings(TypedDict, total=False):
    """`AgentOptions.sandbox`: isolation of the commands the Bash tool runs."""

    enabled: bool
    autoAllowBashIfSandboxed: bool
    excludedCommands: list[str]
    allowUnsandboxedCommands: bool
    network: SandboxNetworkConfig
    ignoreViolations: SandboxIgnoreViolations
    enableWeakerNestedSandbox: bool


@dataclass
class AgentDefinition:
    """A subagent of `AgentOptions.agents`: what it is for, its prompt, tools and model.

    The camelCase field names are the SDK's (they are the wire names).
    """

    description: str
    prompt: str
    tools: list[str] | None = None
    disallowedTools: list[str] | None = None
    model: str | None = None
    skills: list[str] | None = None
    memory: Literal["user", "project", "local"] | None = None
    mcpServers: list[str | dict[str, Any]] | None = None
    initialPrompt: str | None = None
    maxTurns: int | None = None
    background: bool | None = None
    effort: EffortLevel | int | None = None
    permissionMode: PermissionMode | None = None


class CanUseToolShadowedWarning(UserWarning):
    """`can_use_tool` is set, but some tool calls are allowed before it is asked.

    For example `permission_mode="bypassPermissions"`, or an `allowed_tools` entry that allows a
    whole tool. Silence it with `warnings.filterwarnings("ignore", category=...)`.
    """


def whole_tool_allowed(entry: str) -> str | None:
    """The tool an `allowed_tools` entry allows for every input (`Read`, `Read()`, `Read(*)`), else None.

    An entry with a real specifier (`Bash(ls:*)`), a blank or a malformed one allows no whole tool.
    """
    if not entry.strip():
        return None
    name, parenthesis, specifier = entry.partition("(")
    if not parenthesis:
        return entry
    if not name or not specifier.endswith(")"):
        return None
    return name if specifier[:-1] in ("", "*") else None


def can_use_tool_shadowed_warning(permission_mode: str | None, allowed_tools: Sequence[str]) -> str | None:
    """What `CanUseToolShadowedWarning` says for this mode and these allow rules, or None when
    `can_use_tool` is asked about every call they leave open."""
    if permission_mode == "bypassPermissions":
        return (
            "can_use_tool will not be invoked: permission_mode 'bypassPermissions' allows every tool call "
            "(but those denied by rules) before the callback is asked. To decide every call, use a PreToolUse hook."
        )
    tools = dict.fromkeys(tool for tool in map(whole_tool_allowed, allowed_tools) if tool is not None)
    if not tools:
        return None
    return (
        f"can_use_tool will not be invoked for: {', '.join(tools)}. An allowed_tools entry naming a whole "
        "tool allows its calls before the callback is asked. To decide every call, use a PreToolUse hook, or "
        "narrow the entry (`Bash(git *)`) so other calls reach can_use_tool. Allow rules of settings files "
        "can shadow the callback too but are not visible here."
    )


class _PermissionOptions(Protocol):
    can_use_tool: Any
    permission_mode: Any
    allowed_tools: list[str]
    skills: list[str] | str | None


def warn_if_can_use_tool_shadowed(options: _PermissionOptions) -> None:
    """Emit `CanUseToolShadowedWarning` when `options.can_use_tool` is set but some calls are allowed
    before it is asked (as the SDK does when a query or a client starts). `skills="all"` allows the
    whole Skill tool."""
    if options.can_use_tool is None:
        return
    allowed = list(options.allowed_tools or ())
    if options.skills == "all" and "Skill" not in allowed:
        allowed.append("Skill")
    message = can_use_tool_shadowed_warning(options.permission_mode, allowed)
    if message is not None:
        warnings.warn(message, CanUseToolShadowedWarning, stacklevel=2)


def seconds_option(name: str, value: object, *, zero_ok: bool = False) -> float:
    """An option given in seconds as a float; `ConfigurationError` naming it unless it is a finite
    number above zero (or zero, with `zero_ok`)."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or not (value >= 0 if zero_ok else value > 0):  # type: ignore[operator]
        least = ">= 0" if zero_ok else "a positive number of"
        raise ConfigurationError(f"{name} must be {least} seconds, not {value!r}")
    return float(value)  # type: ignore[arg-type]
