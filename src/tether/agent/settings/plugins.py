"""Local plugins (`plugins=[{"type": "local", "path": ...}]`), laid out as Claude Code's:

```
my-plugin/
  .claude-plugin/plugin.json   {"name": "my-plugin", "version": "1.0.0", ...} (name: default the directory's)
  commands/*.md                slash commands, run as /my-plugin:<command>
  agents/*.md                  subagents, named my-plugin:<agent>
  skills/<name>/SKILL.md       skills, named my-plugin:<name>
  hooks/hooks.json             {"hooks": {...}}: command hooks, as in settings.json
```

The manifest may name more command, agent and skill directories (`"commands": "./extra"` or a
list) and other hook files or inline hooks (`"hooks"`). In hook commands `${CLAUDE_PLUGIN_ROOT}`
is the plugin's directory (also in their environment). An entry whose directory does not exist
is left out and reported in the `init` message's `plugin_errors` (`missing_plugin`), as Claude
Code reports it; a malformed manifest or hooks file raises `ConfigurationError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether._vocabulary.hooks import HookMatcher
from tether._vocabulary.options import AgentDefinition
from tether.agent.settings._files import read_json_object
from tether.agent.settings.agents import load_agents
from tether.agent.settings.command_hooks import command_hook_matchers
from tether.agent.settings.commands import PromptCommand, Skill, load_commands, load_skills
from tether.errors import ConfigurationError
from tether.messages import SystemInitPluginError

__all__ = ["Plugin", "load_plugin", "missing_plugin", "plugin_directory"]

MANIFEST = Path(".claude-plugin") / "plugin.json"
HOOKS_FILE = Path("hooks") / "hooks.json"


@dataclass
class Plugin:
    """A loaded plugin: its manifest's name and version, and what it provides."""

    name: str
    path: Path
    version: str | None = None
    commands: list[PromptCommand] = field(default_factory=list)
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    skills: list[Skill] = field(default_factory=list)
    hooks: dict[str, list[HookMatcher]] = field(default_factory=dict)

    def init_entry(self) -> dict[str, str]:
        """The plugin as the `init` message lists it (`SystemInitPlugin`)."""
        entry = {"name": self.name, "path": str(self.path)}
        if self.version is not None:
            entry["version"] = self.version
        return entry


def plugin_directory(config: object, cwd: Path) -> Path:
    """The directory of one `plugins` entry (a relative path is taken from `cwd`), which may not
    exist; `ConfigurationError` for an entry that is not `{'type': 'local', 'path': ...}`."""
    if not isinstance(config, Mapping) or config.get("type") != "local" or not isinstance(config.get("path"), str):
        raise ConfigurationError(
            f"plugins: each entry must be {{'type': 'local', 'path': <directory>}} "
            f"(only local plugins exist), not {config!r}"
        )
    root = Path(config["path"]).expanduser()
    return (root if root.is_absolute() else cwd / root).resolve()


def missing_plugin(index: int, root: Path) -> SystemInitPluginError:
    """The `init` message's `plugin_errors` entry of the `index`-th `plugins` entry, whose directory
    does not exist (the SDK's positional tag and failure type)."""
    return {
        "plugin": f"inline[{index}]",
        "type": "path-not-found",
        "message": f"the plugin directory {root} does not exist",
        "path": str(root),
    }


def load_plugin(root: Path, env: Mapping[str, str]) -> Plugin:
    """The plugin in the existing directory `root` (`ConfigurationError` naming the file when its
    manifest or hooks are malformed)."""
    manifest = read_json_object(root / MANIFEST) if (root / MANIFEST).is_file() else {}
    name = manifest.get("name", root.name)
    version = manifest.get("version")
    if not isinstance(name, str) or not name.strip() or (version is not None and not isinstance(version, str)):
        raise ConfigurationError(f"{root / MANIFEST}: 'name' must be text (and 'version', when given)")
    plugin = Plugin(name, root, version)
    prefix = f"{name}:"
    for directory in _directories(root, manifest, "commands"):
        plugin.commands += load_commands(directory, prefix)
    for directory in _directories(root, manifest, "agents"):
        plugin.agents.update(load_agents(directory, prefix))
    for directory in _directories(root, manifest, "skills"):
        plugin.skills += load_skills(directory, prefix)
    plugin_env = {**env, "CLAUDE_PLUGIN_ROOT": str(root)}
    for where, hooks in _hook_sources(root, manifest):
        for event, matchers in command_hook_matchers(_with_root(hooks, root), where=where, env=plugin_env).items():
            plugin.hooks.setdefault(event, []).extend(matchers)
    return plugin


def _directories(root: Path, manifest: Mapping[str, Any], kind: str) -> list[Path]:
    extra = manifest.get(kind, [])
    paths = [extra] if isinstance(extra, str) else extra
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        raise ConfigurationError(f"{root / MANIFEST}: {kind!r} must be a path or a list of paths")
    return [root / kind, *((root / path).resolve() for path in paths)]


def _hook_sources(root: Path, manifest: Mapping[str, Any]) -> list[tuple[str, object]]:
    sources: list[tuple[str, object]] = []
    files = [root / HOOKS_FILE] if (root / HOOKS_FILE).is_file() else []
    declared = manifest.get("hooks")
    for entry in declared if isinstance(declared, list) else [declared] if declared is not None else []:
        if isinstance(entry, str):
            files.append((root / entry).resolve())
        elif isinstance(entry, Mapping):
            sources.append((str(root / MANIFEST), entry.get("hooks", entry)))
        else:
            raise ConfigurationError(f"{root / MANIFEST}: 'hooks' must be a path, an object or a list of them")
    for path in dict.fromkeys(files):
        sources.append((str(path), read_json_object(path).get("hooks", {})))
    return sources


def _with_root(value: object, root: Path) -> object:
    """`value` with `${CLAUDE_PLUGIN_ROOT}` replaced by the plugin's directory in every string."""
    if isinstance(value, str):
        return value.replace("${CLAUDE_PLUGIN_ROOT}", str(root))
    if isinstance(value, list):
        return [_with_root(item, root) for item in value]
    if isinstance(value, Mapping):
        return {key: _with_root(item, root) for key, item in value.items()}
    return value
