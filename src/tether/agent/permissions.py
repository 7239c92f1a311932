"""Which tool calls may run: the policy that applies permission rules (`tether.agent.permission_rules`),
permission modes and the `can_use_tool` callback.

How a call is decided, first match wins:

1. a `disallowed_tools` rule matching the call denies it (deny always beats allow);
2. a PreToolUse hook's `permissionDecision` of `deny` denies it;
3. in `plan` mode, a tool that is not read-only is denied; then, when no hook decided, an `ask`
   rule matching the call (settings' `permissions.ask`) acts as a hook's `ask`;
4. a hook's `allow` allows it; `bypassPermissions` mode allows everything else;
5. an `allowed_tools` rule matching the call allows it; a bare tool name allows only paths
   inside cwd and `add_dirs`, paths outside need a rule naming them;
6. Read, Glob and Grep inside cwd and `add_dirs` are allowed in every mode; Edit and Write there
   too in `acceptEdits` and `auto` mode, and in `auto` mode any tool that declares itself
   read-only (`readOnlyHint`);
7. in `dontAsk` mode the call is denied without asking anyone;
8. `can_use_tool`, when given, decides (a hook's `ask` goes straight here);
9. otherwise the call is denied: there is no human to ask.

`auto` is a model classifier in Claude Code. tether has no classifier, so it approves what such a
classifier treats as low risk (reads, edits inside the working directories, read-only tools),
hands every other call to `can_use_tool`, and denies it when there is none.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tether._vocabulary.permissions import (
    CanUseTool,
    PermissionMode,
    PermissionResultAllow,
    PermissionResultDeny,
    PermissionRuleValue,
    PermissionUpdate,
    ToolPermissionContext,
    validate_permission_mode,
)
from tether.agent.permission_rules import (
    EDIT_FAMILY,
    READ_FAMILY,
    SKILL_TOOL_NAME,
    PermissionRule,
    command_matches,
    skill_matches,
    split_shell_command,
    without_assignments,
)
from tether.tools._common import resolve_path
from tether.tools._globbing import glob_regex
from tether.tools.agent import AGENT_TOOL_NAMES
from tether.tools.glob import glob_search_root
from tether.tools.registry import READ_ONLY_TOOL_NAMES

__all__ = ["PermissionDecision", "PermissionPolicy"]


# --- Decisions ------------------------------------------------------------------------------------


@dataclass
class PermissionDecision:
    """What the loop does with one tool call."""

    behavior: Literal["allow", "deny"]
    tool_input: dict[str, Any]
    """The input to run the tool with (possibly changed by `can_use_tool`)."""
    message: str = ""
    """For a denial: the reason, told to the model as an `is_error` tool result."""
    interrupt: bool = False
    """For a denial: end the run after this call."""
    decided_by: str = ""
    """What decided, for logs and tests: `rule Bash(git *)`, `mode acceptEdits`, `can_use_tool`, ..."""

    @property
    def allowed(self) -> bool:
        """True when the call may run."""
        return self.behavior == "allow"

    def denial_record(self, tool_name: str, tool_use_id: str) -> dict[str, Any]:
        """The entry of `ResultMessage.permission_denials` for this call."""
        return {"tool_name": tool_name, "tool_use_id": tool_use_id, "tool_input": self.tool_input}


# --- The policy -----------------------------------------------------------------------------------


class PermissionPolicy:
    """Decides tool calls for one session from rules, mode, working directories and `can_use_tool`.

    Mutable while the session runs: `mode` (see `set_permission_mode`) and the rules and
    directories changed by `PermissionUpdate`s that `can_use_tool` returns.
    """

    def __init__(
        self,
        *,
        cwd: str | Path,
        allowed_tools: Iterable[str] = (),
        disallowed_tools: Iterable[str] = (),
        mode: str | None = "default",
        can_use_tool: CanUseTool | Callable[..., Any] | None = None,
        add_dirs: Iterable[str | Path] = (),
        on_mode_change: Callable[[PermissionMode], None] | None = None,
    ) -> None:
        self.cwd = Path(cwd)
        self.on_mode_change = on_mode_change
        """Called when a `setMode` update from `can_use_tool` changes the mode."""
        self.allow = [PermissionRule.parse(rule) for rule in allowed_tools]
        self.deny = [PermissionRule.parse(rule) for rule in disallowed_tools]
        self._prompt_rules: list[PermissionRule] = []
        self.ask: list[PermissionRule] = []
        """Rules whose calls are asked about (`can_use_tool`) whatever allow rules and modes say
        (settings' `permissions.ask`; deny rules still win)."""
        self.mode = validate_permission_mode(mode or "default")
        self.can_use_tool = can_use_tool
        self.directories = [self.cwd, *(resolve_path(self.cwd, str(d)) for d in add_dirs)]
        self.agent_id: str | None = None
        """The subagent whose calls this policy decides (None for the main agent): `can_use_tool` is told."""

    @property
    def mode(self) -> PermissionMode:
        """The permission mode (`tether.options.PermissionMode`); setting an unknown one raises."""
        return self._mode

    @mode.setter
    def mode(self, value: PermissionMode) -> None:
        self._mode = validate_permission_mode(value)

    # -- paths --

    def paths_of(self, tool_name: str, tool_input: Mapping[str, Any]) -> list[Path]:
        """The file system paths a call of a built-in tool touches (none for other tools)."""
        if tool_name in ("Read", "Write", "Edit") and isinstance(tool_input.get("file_path"), str):
            return [resolve_path(self.cwd, tool_input["file_path"])]
        if tool_name == "Glob" and isinstance(tool_input.get("pattern"), str):
            path = tool_input.get("path")
            root, _ = glob_search_root(self.cwd, tool_input["pattern"], path if isinstance(path, str) else None)
            return [root]
        if tool_name == "Grep":
            path = tool_input.get("path")
            return [resolve_path(self.cwd, path) if isinstance(path, str) and path else self.cwd]
        return []

    def is_inside(self, path: Path) -> bool:
        """Whether `path` (symbolic links resolved) is inside cwd or one of `add_dirs`."""
        real = os.path.realpath(path)
        for directory in self.directories:
            base = os.path.realpath(directory)
            if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
                return True
        return False

    def _path_matches(self, pattern: str, path: Path) -> bool:
        if pattern.startswith("//"):
            base, body = Path("/"), pattern[2:]
        elif pattern.startswith("~/"):
            base, body = Path.home(), pattern[2:]
        else:
            base, body = self.cwd, pattern.removeprefix("./").lstrip("/")
        body = body.rstrip("/") or "**"
        bodies = [body, body[:-3]] if body.endswith("/**") else [body]  # `dir/**` covers `dir` itself
        candidates = {os.path.normpath(path), os.path.realpath(path)}
        for candidate in candidates:
            try:
                relative = Path(candidate).relative_to(base).as_posix()
            except ValueError:
                continue
            pieces = relative.split("/")
            prefixes = ["/".join(pieces[: k + 1]) for k in range(len(pieces))]
            for pattern_body in bodies:
                if "/" not in pattern_body:
                    if any(glob_regex(pattern_body).match(piece) for piece in pieces):
                        return True
                elif any(glob_regex(pattern_body).match(prefix) for prefix in prefixes):
                    return True
        return False

    # -- rules --

    def _rule_allows(
        self, rule: PermissionRule, tool_name: str, tool_input: Mapping[str, Any], paths: list[Path]
    ) -> bool:
        if not rule.names_tool(tool_name):
            return False
        if rule.content is None:
            return all(self.is_inside(path) for path in paths)
        if tool_name == "Bash":
            command = str(tool_input.get("command", "")).strip()
            parts, nested = split_shell_command(command)
            if nested:  # inner commands are invisible to patterns: only the exact command line allows it
                return rule.content == command
            if len(parts) == 1:
                return command_matches(rule.content, parts[0])
            return all(self._bash_allowed_part(part) for part in parts)
        if tool_name in READ_FAMILY | EDIT_FAMILY:
            return bool(paths) and all(self._path_matches(rule.content, path) for path in paths)
        if tool_name in AGENT_TOOL_NAMES:  # `Agent(code-reviewer)` names a subagent type
            return rule.content == tool_input.get("subagent_type")
        return tool_name == SKILL_TOOL_NAME and skill_matches(rule.content, tool_input)

    def _bash_allowed_part(self, part: str) -> bool:
        for rule in self.allow:
            if rule.tool_name == "Bash" and (rule.content is None or command_matches(rule.content, part)):
                return True
        return False

    def _rule_denies(
        self, rule: PermissionRule, tool_name: str, tool_input: Mapping[str, Any], paths: list[Path]
    ) -> bool:
        if not rule.names_tool(tool_name):
            return False
        if rule.content is None:
            return True
        if tool_name == "Bash":
            command = str(tool_input.get("command", ""))
            parts, _ = split_shell_command(command)
            candidates = {command.strip(), *parts, *(without_assignments(part) for part in parts)}
            return any(command_matches(rule.content, candidate) for candidate in candidates)
        if tool_name in READ_FAMILY | EDIT_FAMILY:
            return any(self._path_matches(rule.content, path) for path in paths)
        if tool_name in AGENT_TOOL_NAMES:  # `Agent(code-reviewer)` names a subagent type
            return rule.content == tool_input.get("subagent_type")
        return tool_name == SKILL_TOOL_NAME and skill_matches(rule.content, tool_input)

    def first_match(
        self, rules: Iterable[PermissionRule], tool_name: str, tool_input: Mapping[str, Any]
    ) -> PermissionRule | None:
        """The first of `rules` that matches the call the way a deny rule does (a compound
        command matches when any part does), or None; for settings' `ask` rules."""
        paths = self.paths_of(tool_name, tool_input)
        return next((rule for rule in rules if self._rule_denies(rule, tool_name, tool_input, paths)), None)

    def share_rules(self, parent: PermissionPolicy) -> None:
        """Decide by `parent`'s rules, as a Claude Code subagent does: the same allow, deny and ask
        lists (those of the options and settings files, and those a `PermissionUpdate` adds at run
        time on either side); the working directories start as the parent's. The mode stays this
        policy's own."""
        self.allow, self.deny, self.ask = parent.allow, parent.deny, parent.ask
        self.directories = list(dict.fromkeys([*self.directories, *parent.directories]))

    def start_prompt(self, rules: Iterable[str] = ()) -> None:
        """A new prompt starts: the rules allowed for the previous one are withdrawn, `rules` (a
        slash command's `allowed-tools`) are allowed until the next."""
        self.allow[:] = [rule for rule in self.allow if rule not in self._prompt_rules]
        self._prompt_rules = []
        self.allow_for_prompt(rules)

    def allow_for_prompt(self, rules: Iterable[str]) -> None:
        """Allow calls matching `rules` (rule strings) until the next prompt starts (a loaded
        skill's `allowed-tools`)."""
        added = [rule for rule in map(PermissionRule.parse, rules) if rule not in self.allow]
        self._prompt_rules += added
        self.allow.extend(added)

    # -- deciding --

    async def decide(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        *,
        tool_use_id: str = "",
        read_only: bool | None = None,
        hook_decision: str | None = None,
        hook_reason: str | None = None,
    ) -> PermissionDecision:
        """Decide one call. `read_only` says whether the tool only reads (default: built-in
        Read/Glob/Grep); `hook_decision` is a PreToolUse hook's `permissionDecision`."""
        if read_only is None:
            read_only = tool_name in READ_ONLY_TOOL_NAMES
        paths = self.paths_of(tool_name, tool_input)
        for rule in self.deny:
            if self._rule_denies(rule, tool_name, tool_input, paths):
                return _deny(
                    tool_input, f"Permission to use {tool_name} was denied by the rule {rule}.", f"rule {rule}"
                )
        if hook_decision == "deny":
            reason = hook_reason or "a PreToolUse hook denied it"
            return _deny(tool_input, f"Permission to use {tool_name} was denied: {reason}", "hook")
        if self.mode == "plan" and not read_only:
            return _deny(
                tool_input,
                f"Permission to use {tool_name} was denied: the session is in plan mode, where nothing may be "
                "changed (no edits, no commands, no other side effects). Present the plan instead.",
                "mode plan",
            )
        if hook_decision is None:
            hook_decision, hook_reason = self._ask_rule(tool_name, tool_input)
        if hook_decision == "allow":
            return PermissionDecision("allow", tool_input, decided_by="hook")
        outside = [path for path in paths if not self.is_inside(path)]
        if hook_decision != "ask":
            if self.mode == "bypassPermissions":
                return PermissionDecision("allow", tool_input, decided_by="mode bypassPermissions")
            for rule in self.allow:
                if self._rule_allows(rule, tool_name, tool_input, paths):
                    return PermissionDecision("allow", tool_input, decided_by=f"rule {rule}")
            if not outside and self._mode_allows(tool_name, read_only):
                return PermissionDecision("allow", tool_input, decided_by=f"mode {self.mode}")
        if self.mode == "dontAsk":
            return _deny(tool_input, self._refusal(tool_name, tool_input, outside), "mode dontAsk")
        if self.can_use_tool is not None:
            return await self._ask_callback(tool_name, tool_input, tool_use_id, outside, hook_reason)
        return self._unanswered(tool_name, tool_input, outside, hook_decision, hook_reason)

    def _ask_rule(self, tool_name: str, tool_input: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """`("ask", why)` when an `ask` rule matches the call, else `(None, None)`."""
        asked = self.first_match(self.ask, tool_name, tool_input)
        return ("ask", f"the rule {asked} says to ask first") if asked is not None else (None, None)

    def _unanswered(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        outside: list[Path],
        hook_decision: str | None,
        hook_reason: str | None,
    ) -> PermissionDecision:
        """The denial of a call that needed someone to ask when there is nobody."""
        if hook_decision == "ask":  # a hook or an `ask` rule wants someone asked
            reason = f" ({hook_reason})" if hook_reason else ""
            message = f"Permission to use {tool_name} must be asked for{reason}; nobody can answer."
            return _deny(tool_input, message, "ask")
        return _deny(tool_input, self._refusal(tool_name, tool_input, outside), "no rule")

    def _mode_allows(self, tool_name: str, read_only: bool) -> bool:
        """Whether the mode alone allows a call that stays inside the working directories."""
        if tool_name in READ_ONLY_TOOL_NAMES or tool_name in AGENT_TOOL_NAMES:  # a subagent's calls are checked
            return True
        if self.mode in ("acceptEdits", "auto") and tool_name in EDIT_FAMILY:
            return True
        return self.mode == "auto" and read_only

    async def _ask_callback(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        outside: list[Path],
        hook_reason: str | None,
    ) -> PermissionDecision:
        assert self.can_use_tool is not None
        context = ToolPermissionContext(
            suggestions=self._suggestions(tool_name, tool_input, outside),
            tool_use_id=tool_use_id or None,
            agent_id=self.agent_id,
            blocked_path=str(outside[0]) if outside else None,
            decision_reason=hook_reason
            or (f"{outside[0]} is outside the working directories" if outside else "no permission rule matches"),
        )
        try:
            answer = self.can_use_tool(tool_name, dict(tool_input), context)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as error:  # the user's callback failed: refuse, and say why
            return _deny(tool_input, f"can_use_tool raised {type(error).__name__}: {error}", "can_use_tool")
        if isinstance(answer, PermissionResultAllow):
            if answer.updated_permissions:
                self.apply(answer.updated_permissions)
            new_input = answer.updated_input if answer.updated_input is not None else tool_input
            return PermissionDecision("allow", dict(new_input), decided_by="can_use_tool")
        if isinstance(answer, PermissionResultDeny):
            message = answer.message or f"Permission to use {tool_name} was denied."
            return PermissionDecision("deny", tool_input, message, answer.interrupt, "can_use_tool")
        return _deny(
            tool_input,
            f"can_use_tool returned {answer!r}; it must return PermissionResultAllow or PermissionResultDeny",
            "can_use_tool",
        )

    def _suggestions(
        self, tool_name: str, tool_input: Mapping[str, Any], outside: list[Path]
    ) -> list[PermissionUpdate]:
        content: str | None = None
        if tool_name == "Bash" and isinstance(tool_input.get("command"), str):
            content = tool_input["command"].strip()
        suggestions = [
            PermissionUpdate("addRules", [PermissionRuleValue(tool_name, content)], "allow", destination="session")
        ]
        if outside:
            directories = sorted({str(p if p.is_dir() else p.parent) for p in outside})
            suggestions.append(PermissionUpdate("addDirectories", directories=directories, destination="session"))
        return suggestions

    def _refusal(self, tool_name: str, tool_input: Mapping[str, Any], outside: list[Path]) -> str:
        if outside:
            where = ", ".join(str(p) for p in outside)
            return (
                f"Permission to use {tool_name} on {where} was not granted: it is outside the working directory "
                f"{self.cwd} and the added directories, and no rule allows it."
            )
        subject = (
            f"{tool_name} ({tool_input['command']!r})" if tool_name == "Bash" and "command" in tool_input else tool_name
        )
        return (
            f"Permission to use {subject} was not granted: no allowed_tools rule matches it in {self.mode} mode "
            "and there is nobody to ask."
        )

    def apply(self, updates: Iterable[PermissionUpdate]) -> None:
        """Apply permission updates to this session (rules, mode, directories)."""
        for update in updates:
            rules = [PermissionRule.from_value(v) for v in update.rules or []]
            target = self.deny if update.behavior == "deny" else self.allow if update.behavior == "allow" else None
            if update.type == "addRules" and target is not None:
                target.extend(rule for rule in rules if rule not in target)
            elif update.type == "replaceRules" and target is not None:
                target[:] = rules
            elif update.type == "removeRules" and target is not None:
                target[:] = [rule for rule in target if rule not in rules]
            elif update.type == "setMode" and update.mode is not None:
                self.mode = update.mode
                if self.on_mode_change is not None:
                    self.on_mode_change(self.mode)
            elif update.type == "addDirectories":
                for directory in update.directories or []:
                    resolved = resolve_path(self.cwd, directory)
                    if resolved not in self.directories:
                        self.directories.append(resolved)
            elif update.type == "removeDirectories":
                removed = {resolve_path(self.cwd, d) for d in update.directories or []}
                self.directories = [d for d in self.directories if d == self.cwd or d not in removed]


def _deny(tool_input: dict[str, Any], message: str, decided_by: str) -> PermissionDecision:
    return PermissionDecision("deny", tool_input, message, False, decided_by)
