"""Claude Code's settings.json: the keys tether honours, checked, and how several files combine.

Honoured keys (`HONOURED_KEYS`):

- `permissions.allow`, `permissions.deny`, `permissions.ask`: rules as in `allowed_tools`
  (`"Bash(npm test:*)"`, `"Read(./src/**)"`); `ask` sends matching calls to `can_use_tool`;
- `permissions.defaultMode`: the permission mode when the options set none;
- `permissions.additionalDirectories`: added to `add_dirs`;
- `hooks`: command hooks (`tether.agent.settings.command_hooks`); `disableAllHooks: true` turns off the
  hooks of the settings files and plugins (not those of the options);
- `env`: variables for tool subprocesses (Bash, stdio MCP servers, hook commands) and tether's
  own lookups, under the options' `env`; the host's `os.environ` is not changed;
- `model`: the model when the options name none.

Any other key is ignored, as a newer Claude Code's keys are. Files combine in precedence order
(user, project, local, then the `settings` option): lists are joined, `env` merged key by key,
and for `model` and `defaultMode` the last file that sets one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tether._vocabulary.permissions import PermissionMode, validate_permission_mode
from tether.agent.permission_rules import PermissionRule
from tether.errors import ConfigurationError

__all__ = ["HONOURED_KEYS", "MergedSettings", "SettingsFile", "merge_settings"]

HONOURED_KEYS: tuple[str, ...] = (
    "permissions.allow",
    "permissions.deny",
    "permissions.ask",
    "permissions.defaultMode",
    "permissions.additionalDirectories",
    "hooks",
    "disableAllHooks",
    "env",
    "model",
)
"""The settings.json keys tether acts on."""


def _strings(value: object, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"{where}: {key} must be a list of strings")
    return list(value)


def _rules(value: object, key: str, where: str) -> list[str]:
    rules = _strings(value, key, where)
    for rule in rules:
        try:
            PermissionRule.parse(rule)
        except ConfigurationError as error:
            raise ConfigurationError(f"{where}: {key}: {error}") from error
    return rules


@dataclass(frozen=True)
class SettingsFile:
    """The honoured keys of one settings file (or of the `settings` option); `where` names it."""

    where: str
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    default_mode: PermissionMode | None = None
    additional_directories: list[str] = field(default_factory=list)
    hooks: Mapping[str, Any] = field(default_factory=dict)
    hooks_disabled: bool = False
    env: dict[str, str] = field(default_factory=dict)
    model: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any], where: str) -> SettingsFile:
        """The honoured keys of `data`, checked (`ConfigurationError` naming `where` and the key)."""
        permissions = data.get("permissions", {})
        if not isinstance(permissions, Mapping):
            raise ConfigurationError(f"{where}: 'permissions' must be an object")
        mode = permissions.get("defaultMode")
        try:
            default_mode = validate_permission_mode(mode) if mode is not None else None
        except ConfigurationError as error:
            raise ConfigurationError(f"{where}: permissions.defaultMode: {error}") from error
        env = data.get("env", {})
        if not isinstance(env, Mapping) or not all(isinstance(v, (str, int, float, bool)) for v in env.values()):
            raise ConfigurationError(f"{where}: 'env' must be an object of variable names to values")
        model, hooks, disabled = data.get("model"), data.get("hooks", {}), data.get("disableAllHooks", False)
        if model is not None and not isinstance(model, str):
            raise ConfigurationError(f"{where}: 'model' must be a model name")
        if not isinstance(hooks, Mapping):
            raise ConfigurationError(f"{where}: 'hooks' must be an object of events")
        if not isinstance(disabled, bool):
            raise ConfigurationError(f"{where}: 'disableAllHooks' must be true or false")
        return cls(
            where=where,
            allow=_rules(permissions.get("allow"), "permissions.allow", where),
            deny=_rules(permissions.get("deny"), "permissions.deny", where),
            ask=_rules(permissions.get("ask"), "permissions.ask", where),
            default_mode=default_mode,
            additional_directories=_strings(
                permissions.get("additionalDirectories"), "permissions.additionalDirectories", where
            ),
            hooks=hooks,
            hooks_disabled=disabled,
            env={str(k): _env_value(v) for k, v in env.items()},
            model=model,
        )


def _env_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class MergedSettings:
    """The settings of several files together (the module docstring says how they combine)."""

    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    default_mode: PermissionMode | None = None
    additional_directories: list[str] = field(default_factory=list)
    hooks_disabled: bool = False
    env: dict[str, str] = field(default_factory=dict)
    model: str | None = None


def merge_settings(files: Iterable[SettingsFile]) -> MergedSettings:
    """`files` (lowest precedence first) combined."""
    files = list(files)

    def joined(field_of: Callable[[SettingsFile], list[str]]) -> list[str]:
        return list(dict.fromkeys(item for settings in files for item in field_of(settings)))

    env: dict[str, str] = {}
    for settings in files:
        env.update(settings.env)
    modes = [settings.default_mode for settings in files if settings.default_mode is not None]
    models = [settings.model for settings in files if settings.model is not None]
    return MergedSettings(
        allow=joined(lambda settings: settings.allow),
        deny=joined(lambda settings: settings.deny),
        ask=joined(lambda settings: settings.ask),
        default_mode=modes[-1] if modes else None,
        additional_directories=joined(lambda settings: settings.additional_directories),
        hooks_disabled=any(settings.hooks_disabled for settings in files),
        env=env,
        model=models[-1] if models else None,
    )
