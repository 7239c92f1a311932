"""`ClaudeSettings`: everything Claude Code's files configure for one run, and how it changes the options.

`ClaudeSettings.load(options, cwd)` reads the files of `options.setting_sources`, the
`settings` option and `plugins`; `apply(options)` returns the options the run uses (the memory
files' text, `memory_text`, the agent appends to the system prompt it resolves). What comes
from the files never overrides what the options say: explicit options win, and lists (rules,
hooks) are added to.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether._vocabulary.hooks import HookMatcher
from tether._vocabulary.options import AgentDefinition
from tether.agent.permission_rules import SKILL_TOOL_NAME, PermissionRule
from tether.agent.permissions import PermissionPolicy
from tether.agent.settings._files import parse_json_object, read_text
from tether.agent.settings.command_hooks import command_hook_matchers
from tether.agent.settings.commands import (
    CommandRun,
    PromptCommand,
    Skill,
    expand_arguments,
    file_mentions,
    parse_command,
)
from tether.agent.settings.discovery import Discovered, discovery_cache
from tether.agent.settings.memory import MemoryFile, memory_prompt
from tether.agent.settings.plugins import Plugin, load_plugin, missing_plugin, plugin_directory
from tether.agent.settings.settings_file import MergedSettings, SettingsFile, merge_settings
from tether.agent.settings.skill_tool import SkillTool
from tether.errors import ConfigurationError
from tether.messages import SystemInitPluginError
from tether.options import AgentOptions, copy_options
from tether.tools.base import Tool

__all__ = ["BUILTIN_COMMANDS", "SETTING_SOURCES", "SKILLS_ALL", "ClaudeSettings", "effective_sources"]

SETTING_SOURCES: tuple[str, ...] = ("user", "project", "local")
"""The setting sources, lowest precedence first; `setting_sources=None` loads all of them."""
SKILLS_ALL = "all"
"""The `skills` value that enables every discovered skill."""
BUILTIN_COMMANDS: tuple[str, ...] = ("compact",)
"""The slash commands tether itself handles (listed first in the `init` message)."""

logger = logging.getLogger("tether.agent.settings")


def effective_sources(options: AgentOptions) -> tuple[str, ...]:
    """The sources to read: the option's, else all of them, or `user` and `project` when
    `skills` is set (as the SDK does); `ConfigurationError` for a source that does not exist."""
    sources = options.setting_sources
    if sources is None:
        return ("user", "project") if options.skills is not None else SETTING_SOURCES
    if not isinstance(sources, (list, tuple)):
        raise ConfigurationError(f"setting_sources must be a list of 'user', 'project', 'local', not {sources!r}")
    unknown = [source for source in sources if source not in SETTING_SOURCES]
    if unknown:
        raise ConfigurationError(
            f"setting_sources: unknown source(s) {', '.join(map(repr, unknown))}; the sources are "
            f"{', '.join(SETTING_SOURCES)}"
        )
    return tuple(source for source in SETTING_SOURCES if source in sources)


def _config_dir(env: Mapping[str, str]) -> Path:
    """Claude Code's user directory: `$CLAUDE_CONFIG_DIR` (of `env`, else of the process), else `~/.claude`."""
    configured = env["CLAUDE_CONFIG_DIR"] if "CLAUDE_CONFIG_DIR" in env else os.environ.get("CLAUDE_CONFIG_DIR")
    return _config_dir_at(configured or "", os.environ.get("HOME"))


@functools.lru_cache(maxsize=16)
def _config_dir_at(configured: str, home: str | None) -> Path:
    """`_config_dir` for a `$CLAUDE_CONFIG_DIR` value and a `$HOME` (what `~` and `Path.home()` read)."""
    return Path(configured).expanduser() if configured else Path.home() / ".claude"


_path_of = functools.lru_cache(maxsize=64)(Path)
"""`Path(text)`, built once per text (a run's cwd is the same, run after run)."""


def _check_skills(skills: object) -> None:
    if skills is None or skills == SKILLS_ALL:
        return
    if not isinstance(skills, list) or not all(isinstance(name, str) and name.strip() for name in skills):
        raise ConfigurationError(f"skills must be 'all' or a list of skill names, not {skills!r}")
    for name in skills:
        if name != name.strip() or any(char in name for char in "(), ") or name.startswith("/") or "*" in name:
            raise ConfigurationError(
                f"skills: invalid skill name {name!r}; give the exact name (the SKILL.md name or directory, "
                "or 'plugin:skill'), without spaces, parentheses, commas, wildcards or a leading '/'"
            )


@dataclass
class ClaudeSettings:
    """What the settings files, memory, commands, skills, agents and plugins of a run provide."""

    sources: tuple[str, ...] = ()
    files: list[SettingsFile] = field(default_factory=list)
    memory: list[MemoryFile] = field(default_factory=list)
    commands: dict[str, PromptCommand] = field(default_factory=dict)
    skills: dict[str, Skill] = field(default_factory=dict)
    """Every discovered skill, by name."""
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    plugins: list[Plugin] = field(default_factory=list)
    plugin_errors: list[SystemInitPluginError] = field(default_factory=list)
    """The `plugins` entries that did not load (a directory that does not exist)."""
    skills_option: list[str] | str | None = None
    cwd: Path = field(default_factory=Path.cwd)
    """The session's working directory (where a command's `@path` mentions are read from)."""
    policy: PermissionPolicy | None = None
    """The session's permission policy (from `equip`): its deny rules keep files from commands' mentions."""
    _merged: tuple[tuple[SettingsFile, ...], MergedSettings] | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(cls, options: AgentOptions, cwd: str | Path) -> ClaudeSettings:
        """Read the files `options` asks for (`ConfigurationError` naming the file and line for a
        malformed one); nothing is read with `setting_sources=[]` and no `settings` or `plugins`."""
        _check_skills(options.skills)
        sources = effective_sources(options)
        project = _path_of(cwd) if isinstance(cwd, str) else Path(cwd)
        config_dir = _config_dir(options.env)
        found = discovery_cache.get(sources, project, config_dir) if sources else Discovered()
        loaded = cls(
            sources=sources,
            files=list(found.files),
            memory=list(found.memory),
            commands=dict(found.commands),
            skills=dict(found.skills),
            agents=dict(found.agents),
            skills_option=options.skills,
            cwd=project,
        )
        if options.settings is not None:
            loaded.files.append(_flag_settings(options.settings, project))
        plugin_env = {**merge_settings(loaded.files).env, **options.env} if options.plugins else {}
        for index, config in enumerate(options.plugins):
            root = plugin_directory(config, project)
            if not root.is_dir():  # listed in `init`, and the run goes on (as Claude Code does)
                loaded.plugin_errors.append(missing_plugin(index, root))
                logger.warning("plugins[%d]: the plugin directory %s does not exist; it is left out", index, root)
                continue
            plugin = load_plugin(root, plugin_env)
            loaded.plugins.append(plugin)
            loaded.agents = {**plugin.agents, **loaded.agents}
            loaded.commands.update((c.name, c) for c in plugin.commands)
            loaded.skills.update((s.name, s) for s in plugin.skills)
        return loaded

    # -- what the run sees --

    @property
    def visible_skills(self) -> dict[str, Skill]:
        """The skills the `skills` option lets the run see (all of them unless it names some)."""
        if self.skills_option is None or self.skills_option == SKILLS_ALL:
            return dict(self.skills)
        return {name: skill for name, skill in self.skills.items() if name in self.skills_option}

    @property
    def slash_commands(self) -> dict[str, PromptCommand]:
        """The prompt commands a user can run: the command files, then user-invocable skills."""
        skills = {name: s.as_command() for name, s in self.visible_skills.items() if s.user_invocable}
        return {**skills, **self.commands}

    def apply(self, options: AgentOptions) -> AgentOptions:
        """The options of the run: `options` with what the files add (see the module docstring)."""
        merged = self.merged()
        env = {**merged.env, **options.env}
        changes: dict[str, Any] = {
            "allowed_tools": [*options.allowed_tools, *merged.allow, *self._skill_rules(options)],
            "disallowed_tools": [*options.disallowed_tools, *merged.deny],
            "add_dirs": [*options.add_dirs, *merged.additional_directories],
            "env": env,
            "hooks": self._hooks(options, env, hooks_disabled=merged.hooks_disabled),
        }
        if options.permission_mode is None and merged.default_mode is not None:
            changes["permission_mode"] = merged.default_mode
        if options.model is None and merged.model is not None:
            changes["model"] = merged.model
        if self.agents:
            changes["agents"] = {**self.agents, **(options.agents or {})}
        applied = copy_options(options)  # `dataclasses.replace` would check every field again (~25 µs)
        for name, value in changes.items():
            setattr(applied, name, value)
        return applied

    def merged(self) -> MergedSettings:
        """The settings files merged (once for `apply` and `equip`, while `files` holds the same files)."""
        kept = self._merged
        if (
            kept is None
            or len(kept[0]) != len(self.files)
            or any(a is not b for a, b in zip(kept[0], self.files, strict=True))
        ):
            kept = self._merged = (tuple(self.files), merge_settings(self.files))
        return kept[1]

    @property
    def memory_text(self) -> str | None:
        """What the memory files (CLAUDE.md) add after the system prompt (None without any); the
        agent appends it when it resolves the prompt."""
        return memory_prompt(self.memory)

    def _skill_rules(self, options: AgentOptions) -> list[str]:
        if options.skills == SKILLS_ALL:
            return [SKILL_TOOL_NAME]
        return [f"{SKILL_TOOL_NAME}({name})" for name in options.skills or []]

    def _hooks(
        self, options: AgentOptions, env: Mapping[str, str], *, hooks_disabled: bool
    ) -> dict[str, list[Any]] | None:
        hooks: dict[str, list[Any]] = {event: list(matchers) for event, matchers in (options.hooks or {}).items()}
        added: list[tuple[str, list[HookMatcher]]] = []
        if not hooks_disabled:
            for settings in self.files:
                added += command_hook_matchers(settings.hooks, where=settings.where, env=env).items()
        for plugin in self.plugins:
            added += plugin.hooks.items()
        for event, matchers in added:
            hooks.setdefault(event, []).extend(matchers)
        return hooks if hooks or options.hooks is not None else None

    def equip(self, tools: dict[str, Tool], policy: PermissionPolicy, tools_option: object) -> None:
        """Give the session what the files add besides options: settings' `ask` rules to its
        permission `policy`, and to its `tools` the Skill tool, when there are skills the model may
        load and `tools_option` (`AgentOptions.tools`) does not restrict the built-in tools to a list."""
        self.policy = policy
        policy.ask.extend(PermissionRule.parse(rule) for rule in self.merged().ask)
        skills = {name: skill for name, skill in self.visible_skills.items() if skill.model_invocable}
        if skills and not isinstance(tools_option, (list, tuple)):
            tools[SKILL_TOOL_NAME] = SkillTool(skills, policy)

    def init_data(self) -> dict[str, Any]:
        """The `init` message's `slash_commands`, `skills`, `plugins` and, when a plugin failed to
        load, `plugin_errors`."""
        data: dict[str, Any] = {
            "slash_commands": list(dict.fromkeys([*BUILTIN_COMMANDS, *self.slash_commands])),
            "skills": list(self.visible_skills),
            "plugins": [plugin.init_entry() for plugin in self.plugins],
        }
        if self.plugin_errors:
            data["plugin_errors"] = list(self.plugin_errors)
        return data

    def command_run(self, prompt: str | list[dict[str, Any]], *, verbatim: bool = False) -> CommandRun | None:
        """The slash command a prompt `/name args` runs, expanded; None for any other prompt
        (and for every prompt with `verbatim_prompts`)."""
        text = _single_text(prompt)
        if verbatim or text is None:
            return None
        parsed = parse_command(text)
        if parsed is None or parsed[0] in BUILTIN_COMMANDS:
            return None
        command = self.slash_commands.get(parsed[0])
        if command is None:
            return None
        expanded = expand_arguments(command.body, parsed[1]).strip()
        attached = file_mentions(expanded, self.cwd, self._readable)  # `@path`: the file, as Claude Code attaches it
        return CommandRun(command, parsed[1], [{"type": "text", "text": expanded}, *attached] if attached else expanded)

    def _readable(self, path: Path) -> bool:
        """Whether no deny rule keeps Read from `path` (a file a command mentions)."""
        policy = self.policy
        return policy is None or policy.first_match(policy.deny, "Read", {"file_path": str(path)}) is None


def _single_text(prompt: str | list[dict[str, Any]]) -> str | None:
    if isinstance(prompt, str):
        return prompt
    if len(prompt) == 1 and prompt[0].get("type") == "text" and isinstance(prompt[0].get("text"), str):
        return str(prompt[0]["text"])
    return None


def _flag_settings(value: str, cwd: Path) -> SettingsFile:
    """The `settings` option: inline JSON, or the path of a JSON file (relative to `cwd`)."""
    if value.lstrip().startswith("{"):
        return SettingsFile.parse(parse_json_object(value, "settings (inline JSON)"), "settings (inline JSON)")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else cwd / path
    return SettingsFile.parse(parse_json_object(read_text(path), str(path)), str(path))
