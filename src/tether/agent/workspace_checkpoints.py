"""Workspace checkpoints (`AgentOptions.workspace_snapshots`, tether's own, off by default):
the whole working directory snapshotted into the session store around file-changing tools, so
`rewind_files` undoes Bash, MCP tools and subagents too (`tether.sessions.workspace`).

A prompt's turn takes a snapshot before its first file-changing tool (always written: it is the
workspace "as of the prompt", outside changes included), and one after each file-changing tool
(written only when something changed; after Write or Edit only the file it names is looked at).
Read-only tools (Read, Glob, Grep, web tools, ...) take none.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from tether._vocabulary.store import SessionStore
from tether.agent.permission_rules import EDIT_FAMILY
from tether.options import AgentOptions
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.keys import project_key_for_directory, validate_session_id
from tether.sessions.stores._sqlite_file import default_sqlite_path
from tether.sessions.workspace.snapshots import Manifests, SnapshotTaker, restore_tree
from tether.sessions.workspace.travel import materialise_for_fork
from tether.sessions.workspace.tree import Scanner, index_file_for
from tether.tools._common import resolve_path
from tether.tools.agent import AGENT_TOOL_NAMES

__all__ = ["CHANGES_FILES", "WorkspaceCheckpoints", "changes_files", "materialise_fork", "workspace_scanner"]

logger = logging.getLogger(__name__)

CHANGES_FILES = frozenset({*EDIT_FAMILY, "Bash", "NotebookEdit", *AGENT_TOOL_NAMES})
"""Built-in tools that may change the working directory (MCP tools, `mcp__*`, count too)."""


def changes_files(tool_name: str) -> bool:
    """Whether a call of `tool_name` may change files (so it is snapshotted around)."""
    return tool_name in CHANGES_FILES or tool_name.startswith("mcp__")


def workspace_scanner(options: AgentOptions, cwd: str | Path) -> Scanner:
    """The scanner of the session's working directory, as `options` configure it; its index is kept
    under tether's home directory (beside the default SQLite file)."""
    index = index_file_for(cwd, default_sqlite_path({**os.environ, **options.env}).parent)
    return Scanner(
        cwd, max_file_bytes=options.workspace_max_file_bytes, ignore=options.workspace_ignore, index_file=index
    )


async def materialise_fork(store: SessionStore, source_id: str, options: AgentOptions, cwd: str) -> str:
    """The working directory of a fork: `cwd`, or with `fork_workspace` that directory, holding the
    source's workspace as of the fork point (`resume_session_at`, else its latest snapshot).
    `ConfigurationError` when the source has no snapshot or the directory is not empty."""
    if options.fork_workspace is None:
        return cwd
    access = store_access(store)
    found = await access.locate(validate_session_id(source_id), project_key_for_directory(cwd))
    return str(await materialise_for_fork(access, found.key, options.resume_session_at, options.fork_workspace))


class WorkspaceCheckpoints:
    """The workspace snapshots of one session whose working directory is `scanner.root`."""

    def __init__(
        self,
        scanner: Scanner,
        blobs: StoreAccess,
        append: Callable[[list[dict[str, Any]]], Awaitable[None]],
        entries: Callable[[], Awaitable[list[dict[str, Any]]]],
        session_id: str,
    ) -> None:
        self.scanner = scanner
        self.blobs = blobs
        self._entries = entries
        self._session_id = session_id
        self._taker = SnapshotTaker(scanner, blobs, append, session_id)
        self._adopted = False
        self._prompts_started: set[str] = set()

    def snapshots_around(self, tool_name: str) -> bool:
        """Whether a call of `tool_name` is snapshotted around (`changes_files`)."""
        return changes_files(tool_name)

    def covers(self, path: Path) -> bool:
        """Whether `path` lies in the snapshotted directory."""
        return path.resolve().is_relative_to(self.scanner.root)

    async def _adopt(self) -> None:
        if not self._adopted:
            self._taker.adopt(await self._entries())
            self._adopted = True

    async def before_tool(self, prompt: str | None, tool_name: str) -> None:
        """Before a call: the prompt's "before" snapshot, if this is its turn's first file-changing tool."""
        if not changes_files(tool_name) or prompt in self._prompts_started:
            return
        await self._adopt()
        await self._taker.take(message_id=prompt, phase="before", force=True)
        if prompt is not None:
            self._prompts_started.add(prompt)

    async def after_tool(
        self, prompt: str | None, tool_name: str, tool_input: Mapping[str, Any], cwd: Path, tool_use_id: str
    ) -> None:
        """After a call: an "after" snapshot of what it changed (a failure is logged: the call ran)."""
        if not changes_files(tool_name):
            return
        only: list[str] | None = None
        raw_path = tool_input.get("file_path")
        if tool_name in EDIT_FAMILY and isinstance(raw_path, str):
            path = resolve_path(cwd, raw_path).resolve()
            if not path.is_relative_to(self.scanner.root):
                return
            only = [path.relative_to(self.scanner.root).as_posix()]
        try:
            await self._adopt()
            await self._taker.take(message_id=prompt, phase="after", tool_use_id=tool_use_id, only=only)
        except Exception:
            logger.warning("the workspace snapshot after the %s call %s failed", tool_name, tool_use_id, exc_info=True)

    async def rewind(self, entries: list[dict[str, Any]], prompt: str) -> list[Path] | None:
        """Make the directory what it was at `prompt`: the paths written or removed, or None (and
        nothing done) when no snapshot holds it."""
        manifests = Manifests(entries, self.blobs.name)
        snapshot = manifests.at(prompt, self._session_id)
        if snapshot is None:
            return None
        return await restore_tree(self.blobs, self.scanner, manifests.tree(snapshot), self.scanner.root)
