"""File checkpoints (`enable_file_checkpointing`): backups taken before built-in tools change
files, so that `AgentClient.rewind_files(user_message_id)` can put the files back as they were
at a prompt.

Before Write or Edit changes a file for the first time in a prompt's turn, the file's bytes (or
the fact that it did not exist) are appended to the session as a `file-history-snapshot`
metadata entry keyed by the prompt's user-message uuid, durably, before the tool runs. The entry
has Claude Code's envelope (`messageId`, `snapshot: {messageId, trackedFileBackups, timestamp}`,
`isSnapshotUpdate`), but each tracked backup holds the content itself (`backupContent`, base64;
null for a file that did not exist) where Claude Code names a file under `~/.claude/file-history`.
So the backups live in the session store, and any process that reaches the store can rewind.

Rewinding to a prompt restores every file changed at or after that prompt to its first backup
stored after the prompt (in store order, which is the order the changes happened), and deletes
the files that did not exist then. Not tracked, as in Claude Code: changes made by Bash, by MCP
tools, by subagents, or outside the agent. A rewind is not itself recorded.

With workspace snapshots (`AgentOptions.workspace_snapshots=True`, tether's own and opt-in:
`tether.agent.workspace_checkpoints`), the whole working directory is recorded
too, Bash and every other file-changing tool included, and a rewind makes it what it was at the
prompt (the Write/Edit backups, still written in Claude Code's shape, then restore only files
outside the working directory).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from tether.agent.permission_rules import EDIT_FAMILY
from tether.errors import ConfigurationError, EntryNotFoundError, StoreError, ToolError
from tether.options import AgentOptions
from tether.sessions.capabilities import store_access
from tether.sessions.entries import is_prompt, make_meta_entry, now_iso
from tether.sessions.session import Session
from tether.sessions.stores.memory import MemoryStore
from tether.tools._common import resolve_path

if TYPE_CHECKING:
    from tether.agent.workspace_checkpoints import WorkspaceCheckpoints

__all__ = ["FILE_HISTORY_SNAPSHOT", "FileCheckpoints"]

FILE_HISTORY_SNAPSHOT = "file-history-snapshot"
"""The type of the metadata entry holding a prompt's file backups (Claude Code's name)."""


class FileCheckpoints:
    """The file backups of one session: taken before file-changing tools run, used to rewind."""

    def __init__(self, session: Session, options: AgentOptions | None = None) -> None:
        self._session = session
        self._prompt: str | None = None
        """The uuid of the prompt whose turn is running (backups are keyed by it)."""
        self._backed_up: set[tuple[str, str]] = set()
        """(prompt uuid, path) pairs already backed up: only a turn's first change of a file counts."""
        self._local: list[dict[str, Any]] = []
        """The prompts and snapshots of this process, in order, when the session is not persisted."""
        self.workspace: WorkspaceCheckpoints | None = None
        """The workspace snapshots (None: Write/Edit backups only)."""
        if options is not None and options.workspace_snapshots is True:
            from tether.agent.workspace_checkpoints import WorkspaceCheckpoints, workspace_scanner

            blobs = session.access if session.access is not None else store_access(MemoryStore())
            scanner = workspace_scanner(options, session.cwd)
            self.workspace = WorkspaceCheckpoints(scanner, blobs, self._record, self._entries, session.session_id)

    def start_prompt(self, entry: dict[str, Any]) -> None:
        """A prompt's entry was stored: the changes that follow are backed up against it."""
        self._prompt = entry["uuid"]
        if self._session.access is None:
            self._local.append(entry)

    async def before_tool(self, tool_name: str, tool_input: Mapping[str, Any], cwd: Path) -> None:
        """Back up the file a Write or Edit call is about to change, once per prompt's turn.

        Raises `OSError` when the file exists but cannot be read (the call must not run then).
        With workspace snapshots, takes the prompt's "before" snapshot of the whole directory.
        """
        raw_path = tool_input.get("file_path")
        backs_up = tool_name in EDIT_FAMILY and isinstance(raw_path, str)
        snapshots = self.workspace is not None and self.workspace.snapshots_around(tool_name)
        if not (backs_up or snapshots):
            return
        prompt = self._prompt or await self._latest_prompt()
        if self.workspace is not None:
            await self.workspace.before_tool(prompt, tool_name)
        if not backs_up:
            return
        path = resolve_path(cwd, str(raw_path))
        file = anyio.Path(path)
        if prompt is None or (prompt, str(path)) in self._backed_up or await file.is_dir():
            return
        content = await file.read_bytes() if await file.exists() else None
        backup = {
            "backupContent": base64.b64encode(content).decode("ascii") if content is not None else None,
            "version": 1,
            "backupTime": now_iso(),
        }
        entry = make_meta_entry(
            FILE_HISTORY_SNAPSHOT,
            session_id=self._session.session_id,
            messageId=prompt,
            snapshot={"messageId": prompt, "trackedFileBackups": {str(path): backup}, "timestamp": now_iso()},
            isSnapshotUpdate=False,
        )
        await self._record([entry])
        self._backed_up.add((prompt, str(path)))

    async def after_tool(self, tool_name: str, tool_input: Mapping[str, Any], cwd: Path, tool_use_id: str) -> None:
        """After a call ran: with workspace snapshots, record what it changed (never raises)."""
        if self.workspace is not None and self.workspace.snapshots_around(tool_name):
            prompt = self._prompt or await self._latest_prompt()
            await self.workspace.after_tool(prompt, tool_name, tool_input, cwd, tool_use_id)

    async def _record(self, entries: list[dict[str, Any]]) -> None:
        """Append entries to the session, durably (and keep them here when it is not persisted)."""
        await self._session.append_entries(entries)
        if self._session.access is None:
            self._local.extend(entries)

    async def rewind(self, user_message_id: str) -> list[Path]:
        """Put every tracked file back as it was when prompt `user_message_id` was sent.

        Returns the paths restored or deleted. An id that is not a message of the session raises
        `EntryNotFoundError`; a message that is not a prompt raises `ConfigurationError`; a
        damaged backup raises `StoreError` before any file is touched; a file that cannot be
        written raises `ToolError` naming it (the files restored before it stay restored).
        """
        entries = await self._entries()
        position = _prompt_position(entries, user_message_id, self._session.session_id)
        states: dict[str, bytes | None] = {}
        for entry in entries[position + 1 :]:
            if entry.get("type") != FILE_HISTORY_SNAPSHOT or entry.get("uuid"):
                continue
            for path, backup in _backups_of(entry):
                if path not in states:
                    states[path] = self._decoded(path, backup.get("backupContent"))
        workspace = self.workspace
        restored = None if workspace is None else await workspace.rewind(entries, user_message_id)
        if workspace is not None and restored is not None:
            states = {path: content for path, content in states.items() if not workspace.covers(Path(path))}
        for path, content in states.items():
            try:
                await _restore(Path(path), content)
            except OSError as error:
                raise ToolError(f"rewind_files could not restore {path}: {error}") from error
        return (restored or []) + [Path(path) for path in states]

    def _decoded(self, path: str, encoded: Any) -> bytes | None:
        """A backup's bytes (None: the file did not exist); `StoreError` when it is damaged."""
        if encoded is None:
            return None
        try:
            if not isinstance(encoded, str):
                raise ValueError(f"not a string but {type(encoded).__name__}")
            return base64.b64decode(encoded, validate=True)
        except ValueError as error:
            store = type(self._session.store).__name__
            reason = f"the {FILE_HISTORY_SNAPSHOT} backup of {path} is damaged ({error})"
            raise StoreError(store, "rewind_files", reason) from error

    async def _entries(self) -> list[dict[str, Any]]:
        """The session's entries in store order (those seen here, for a session not persisted)."""
        access = self._session.access
        if access is None:
            return list(self._local)
        return await access.load(self._session.key) or []

    async def _latest_prompt(self) -> str | None:
        """The newest prompt of the stored session (for a call that runs before this process stored one)."""
        if self._session.access is None:
            return None
        prompts = [e["uuid"] for e in await self._entries() if is_prompt(e)]
        return prompts[-1] if prompts else None


def _prompt_position(entries: list[dict[str, Any]], user_message_id: str, session_id: str) -> int:
    """Where the prompt `user_message_id` is among `entries`; raises if it is not a prompt there."""
    for position, entry in enumerate(entries):
        if entry.get("uuid") != user_message_id:
            continue
        if not is_prompt(entry):
            raise ConfigurationError(
                f"message {user_message_id!r} is not a prompt: files rewind to the user message of a prompt "
                "(the UserMessage echoing it, with extra_args={'replay-user-messages': None})"
            )
        return position
    raise EntryNotFoundError(session_id, user_message_id)


def _backups_of(entry: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    snapshot = entry.get("snapshot")
    backups = snapshot.get("trackedFileBackups") if isinstance(snapshot, Mapping) else None
    if not isinstance(backups, Mapping):
        return []
    return [(str(path), backup) for path, backup in backups.items() if isinstance(backup, Mapping)]


async def _restore(path: Path, content: bytes | None) -> None:
    """Write `content` back to `path`, or delete the file when it did not exist (None)."""
    target = anyio.Path(path)
    if content is None:
        if await target.is_file() or await target.is_symlink():
            await target.unlink()
        return
    await target.parent.mkdir(parents=True, exist_ok=True)
    await target.write_bytes(content)
