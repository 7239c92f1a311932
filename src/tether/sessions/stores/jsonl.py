"""`JsonlStore`: sessions in Claude Code's own files, `<root>/projects/<project>/<id>.jsonl`.

Point it at `~/.claude` (or `$CLAUDE_CONFIG_DIR`) to resume Claude Code sessions with tether,
or at any directory to write transcripts that the Claude Code CLI can `--resume`:

```python
store = JsonlStore("~/.claude")
async for message in query(prompt="Go on", options=AgentOptions(resume=session_id, session_store=store)):
    ...
```

Layout: `<root>/projects/<project key>/<session id>.jsonl` (the project key is the working
directory encoded as Claude Code does, see `project_key_for_directory`); sub-transcripts such as
`subagents/agent-<id>` live under `<root>/projects/<project key>/<session id>/<subpath>.jsonl`.

Behaviour and limits:

- `append` writes each batch with one `write` on a file opened `O_APPEND` (mode 0600), under an
  advisory `flock` on the transcript. `expected_leaf` is checked under that lock, so tether
  writers never interleave; a process that does not take the lock (the Claude Code CLI itself)
  is not stopped, `flock` may not hold across machines on network filesystems, and there is no
  lock at all where `fcntl` does not exist (Windows). A batch is
  durable against a crash of the process, not of the machine, unless `fsync=True`.
- `load` parses every line, skipping lines that are not JSON objects (a torn last line from a
  crash mid-write is dropped, the rest kept). Reading what Claude Code writes (metadata lines,
  per-block assistant entries, compaction, branches) is `entries.active_chain`'s job.
- `list_page` (what tether's listings and `--continue` read) lists as the Claude Agent SDK's
  `list_sessions` does: a subagent's transcript or one with nothing to show is left out, and
  across projects an id is listed once (its newest copy); `list_sessions` and
  `list_session_summaries` (the SDK's store protocol) list every transcript.
- Listing reads at most the first and last 64 KiB of each file (`HEAD_TAIL_BYTES`): titles,
  tags and cost come from the tail, cwd, first prompt and creation time from the head. For a
  larger file `message_count` is None, and metadata written only in the middle is not seen.
- `fork` copies the source's lines verbatim (a file format has nothing to share), keeping their
  uuids as the Claude Code CLI's `--fork-session` does, and records the fork point in
  `<fork id>/tether-fork.json`; the copied lines keep the source's `sessionId` (the store
  contract is that a fork's view equals its source's). `copy_for_fork` makes the other kind of
  copy, the Claude Agent SDK's `fork_session` one (fresh uuids, `forkedFrom` on each line).
- Every write gives the file an mtime later than any this process wrote before, so listings
  order sessions by write even within one millisecond.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from stat import S_ISREG
from typing import Any

import anyio.to_thread

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not locked
    fcntl = None  # type: ignore[assignment]

from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import (
    ConfigurationError,
    EntryNotFoundError,
    SessionConflictError,
    SessionExistsError,
    SessionNotFoundError,
    is_uuid,
)
from tether.sessions.entries import leaf_of
from tether.sessions.keys import validate_session_id
from tether.sessions.store import NO_LEAF, SessionPage, StoredSession
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._blobs import JsonlBlobs
from tether.sessions.stores._core import (
    DamageLog,
    GuardedStore,
    KeyParts,
    decode_position,
    guarded,
    private_dir,
    quote_part,
)
from tether.sessions.stores._jsonl_files import (
    AGENT_METADATA,
    agent_meta,
    agent_meta_path,
    encode_lines,
    parse_lines,
    stamp,
    write_all,
    write_private,
)
from tether.sessions.stores.transcripts import is_listed, listing_facts
from tether.sessions.summary import fold_summary, fork_summary

__all__ = [
    "FORK_SIDECAR",
    "HEAD_TAIL_BYTES",
    "JsonlStore",
    "from_url",
]

HEAD_TAIL_BYTES = 64 * 1024
"""How much of the start and of the end of a transcript listing reads."""

FORK_SIDECAR = "tether-fork.json"
"""File under `<id>/` recording where a fork made by `JsonlStore.fork` came from."""

_PROJECT = re.compile(r"[A-Za-z0-9_.-]{1,255}")
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_Row = tuple[int, str, str, Path, os.stat_result]
"""A main transcript in a listing: `(mtime, session id, project key, path, stat)`."""
FROM_START = "*"
"""A `list_page` cursor: the first page again, of the listing a page of which was just made (the
same snapshot of the files, as a next page's)."""
_LISTING_REUSE = 2.0
"""Seconds the files of a listing are reused for its next pages (one directory scan a listing)."""
_SESSION_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.jsonl")
"""The file name of a main transcript: a session id (see `validate_session_id`) and `.jsonl`."""


class JsonlStore(JsonlBlobs, GuardedStore):
    """A `SessionStore` over Claude Code's transcript directory (see the module doc).

    Directories and files it creates are owner-only (0700/0600); file system errors raise `StoreError`.
    """

    driver_errors = (OSError,)

    def __init__(
        self, root: str | os.PathLike[str] = "~/.claude", *, fsync: bool = False, uuid_names_only: bool = False
    ) -> None:
        self.root = Path(root).expanduser()
        self.uuid_names_only = uuid_names_only
        """List only transcripts named by a UUID, as the Claude SDK lists Claude Code's (the default store's layer)."""
        self.projects = self.root / "projects"
        self._projects_text = str(self.projects)
        self.fsync = fsync
        self._summaries: dict[Path, tuple[int, int, dict[str, Any]]] = {}
        self._listings: dict[str | None, tuple[float, list[_Row]]] = {}
        self._damage = DamageLog()

    def __repr__(self) -> str:
        return f"JsonlStore({str(self.root)!r})"

    # -- paths ----------------------------------------------------------------------------------

    def _project_dir(self, project_key: str) -> Path:
        self._check_project_key(project_key)
        return self.projects / project_key

    def main_transcript_file(self, project_key: str, session_id: str) -> str:
        """`path_of` a session's main transcript, as text (no `Path` built: checked for every new session)."""
        self._check_project_key(project_key)
        return os.path.join(self._projects_text, project_key, f"{validate_session_id(session_id)}.jsonl")

    @staticmethod
    def _check_project_key(project_key: str) -> None:
        if not isinstance(project_key, str) or not _PROJECT.fullmatch(project_key) or set(project_key) == {"."}:
            raise ConfigurationError(f"invalid project key {project_key!r} for a JSONL store")

    def path_of(self, key: SessionKey) -> Path:
        """The file holding the transcript of `key`."""
        directory = self._project_dir(key["project_key"])
        session_id = validate_session_id(key["session_id"])
        subpath = key.get("subpath")
        if not subpath:
            return directory / f"{session_id}.jsonl"
        parts = subpath.split("/")
        if any(not _PART.fullmatch(part) or ".." in part for part in parts):
            raise ConfigurationError(f"invalid transcript subpath {subpath!r}")
        return directory.joinpath(session_id, *parts[:-1], f"{parts[-1]}.jsonl")

    def transcript_path(self, key: SessionKey) -> str:
        """The file holding the transcript of `key`, as text (the `transcript_path` capability)."""
        return str(self.path_of(key))

    def _main_files(self, project_key: str | None) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(project key, path, stat) of every non-empty main transcript, in one project or all (one
        `stat` a file)."""
        if project_key is not None:
            directories = [self._project_dir(project_key)]
        elif self.projects.is_dir():
            directories = sorted(p for p in self.projects.iterdir() if p.is_dir())
        else:
            directories = []
        for directory in directories:
            try:
                found = sorted(os.scandir(directory), key=lambda entry: entry.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in found:
                name = entry.name
                if name.startswith("agent-") or not _SESSION_FILE.fullmatch(name) or ".." in name[:-6]:
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                if stat.st_size > 0 and S_ISREG(stat.st_mode):
                    yield directory.name, Path(entry.path), stat

    # -- reading --------------------------------------------------------------------------------

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return data or None

    def _load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        path = self.path_of(key)
        data = self._read(path)
        meta = agent_meta(path) if key.get("subpath") else None
        if data is None:
            return [meta] if meta is not None else None
        skipped: list[str] = []
        entries = parse_lines(data, skipped)
        if skipped:
            parts = KeyParts("", key["project_key"], key["session_id"], key.get("subpath") or "")
            self._damage.record(self, parts, skipped)
        return entries if meta is None else [*entries, meta]  # after the entries, as the SDK imports it

    @staticmethod
    def _tail_leaf(path: Path) -> str | None:
        """The uuid of the last main-chain entry, reading backwards from the end of the file."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        window = HEAD_TAIL_BYTES
        with path.open("rb") as file:
            while True:
                start = max(0, size - window)
                file.seek(start)
                data = file.read(size - start)
                lines = data.split(b"\n")
                if start > 0:
                    lines = lines[1:]  # the first line of the window may be cut
                leaf = leaf_of(parse_lines(b"\n".join(lines)))
                if leaf is not None or start == 0:
                    return leaf
                window *= 4

    @staticmethod
    def _read_bounded(path: Path, start: int, size: int) -> tuple[list[SessionStoreEntry], bool]:
        """The entries of bytes `start..size`: all of them if that is small, else its head and tail."""
        head, tail, whole = JsonlStore._head_tail(path, start, size)
        return (head, True) if whole else (head + tail, False)

    @staticmethod
    def _head_tail(path: Path, start: int, size: int) -> tuple[list[SessionStoreEntry], list[SessionStoreEntry], bool]:
        """The entries of the first and last `HEAD_TAIL_BYTES` of bytes `start..size` (both all of
        them, and True, when that is at most twice as long)."""
        with path.open("rb") as file:
            file.seek(start)
            if size - start <= 2 * HEAD_TAIL_BYTES:
                entries = parse_lines(file.read(size - start))
                return entries, entries, True
            head = file.read(HEAD_TAIL_BYTES).rsplit(b"\n", 1)[0]
            file.seek(size - HEAD_TAIL_BYTES)
            tail = file.read(HEAD_TAIL_BYTES).split(b"\n", 1)[-1]
            return parse_lines(head), parse_lines(tail), False

    def _summary(self, path: Path, stat: os.stat_result | None = None) -> dict[str, Any]:
        """The listing summary of a transcript, from its head and tail only (cached by mtime and size).

        The fields a listing shows are read as the Claude Agent SDK reads them
        (`transcripts.listing_facts`). A fork made by `fork` starts from the summary recorded when
        it was made, and folds in what was appended since.
        """
        stat = stat or path.stat()
        cached = self._summaries.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return dict(cached[2])
        sidecar = self._sidecar(path)
        base = sidecar.get("summary") if isinstance(sidecar.get("summary"), dict) else None
        recorded = sidecar.get("size")
        offset = recorded if base is not None and isinstance(recorded, int) else 0
        if offset > stat.st_size:
            base, offset = None, 0
        head, tail, whole = self._head_tail(path, 0, stat.st_size)
        if offset:
            entries, whole = self._read_bounded(path, offset, stat.st_size)
        else:
            entries = head if whole else head + tail
        summary = fold_summary(base, entries)
        if not whole:
            summary["message_count"] = None
        summary["file_size"] = stat.st_size
        summary.update(listing_facts(head, tail))
        if not summary.get("tag"):
            summary.pop("tag", None)
        origins = [e["forkedFrom"] for e in head + tail if isinstance(e.get("forkedFrom"), dict)]
        if isinstance(sidecar.get("forkedFrom"), dict):
            summary["forked_from"] = dict(sidecar["forkedFrom"])
        elif origins:  # a fork the Claude SDK wrote: from its first entry's session, at its last entry's source
            summary["forked_from"] = {
                "sessionId": origins[0].get("sessionId"),
                "messageUuid": origins[-1].get("messageUuid"),
            }
        self._summaries[path] = (stat.st_mtime_ns, stat.st_size, summary)
        return dict(summary)

    @staticmethod
    def _sidecar(path: Path) -> dict[str, Any]:
        try:
            data = json.loads((path.with_suffix("") / FORK_SIDECAR).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _mtime(path: Path) -> int:
        return path.stat().st_mtime_ns // 1_000_000

    def _find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        session_id = validate_session_id(session_id)
        found: list[tuple[bool, int, str, Path]] = []
        if self.projects.is_dir():
            for path in self.projects.glob(f"*/{session_id}.jsonl"):
                with contextlib.suppress(FileNotFoundError):
                    if path.is_file() and path.stat().st_size > 0:
                        found.append((path.parent.name == project_key, self._mtime(path), path.parent.name, path))
        if not found:
            return None
        _, mtime, project_key, path = max(found)
        key = SessionKey(project_key=project_key, session_id=session_id)
        return StoredSession(
            key=key,
            leaf=self._tail_leaf(path),
            mtime=mtime,
            summary=self._summary(path),
            skipped_entries=self._damage.skipped("", project_key, session_id),
        )

    def _list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        return [SessionStoreListEntry(session_id=row[1], mtime=row[0]) for row in self._sorted_files(project_key)]

    def _summary_entry(self, row: _Row) -> SessionSummaryEntry:
        mtime, session_id, project_key, path, stat = row
        return SessionSummaryEntry(
            session_id=session_id, mtime=mtime, data=self._summary(path, stat), project_key=project_key
        )

    def _sorted_files(self, project_key: str | None) -> list[_Row]:
        rows = [
            (stat.st_mtime_ns // 1_000_000, path.stem, project, path, stat)
            for project, path, stat in self._main_files(project_key)
        ]
        rows.sort(key=lambda row: row[:3], reverse=True)
        return rows

    def _is_listed(self, row: _Row) -> bool:
        if self.uuid_names_only and not is_uuid(row[1]):
            return False
        try:
            return is_listed(self._summary(row[3], row[4]))
        except FileNotFoundError:
            return False

    def _listed(self, project_key: str | None, cursor: str | None = None) -> Iterator[_Row]:
        """Listed transcripts newest first, after `cursor`: as the SDK lists, a subagent's or one with
        nothing to show is left out, and across projects an id is listed once (its newest copy).
        Summaries are read only as far as the listing goes."""
        held = self._listings.get(project_key)
        if cursor == FROM_START:
            cursor = None
        elif not cursor:
            held = None
        if held is not None and time.monotonic() - held[0] < _LISTING_REUSE:
            rows = held[1]  # the next page of a listing just made: the same snapshot
        else:
            rows = self._sorted_files(project_key)
            self._listings[project_key] = (time.monotonic(), rows)
        start = 0
        if cursor:
            after = decode_position(cursor)
            start = next((i for i, row in enumerate(rows) if row[:3] < after), len(rows))
        copies: dict[str, list[_Row]] = {}
        if project_key is None:
            for row in rows:
                copies.setdefault(row[1], []).append(row)
        for row in rows[start:]:
            if len(copies.get(row[1], ())) > 1:
                if row is next((r for r in copies[row[1]] if self._is_listed(r)), None):
                    yield row
            elif self._is_listed(row):
                yield row

    def _list_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        return [self._summary_entry(row) for row in self._sorted_files(project_key)]

    def _list_page(self, project_key: str | None, limit: int, cursor: str | None) -> SessionPage:
        rows = self._listed(project_key, cursor)
        page = list(itertools.islice(rows, max(1, int(limit)) + 1))
        next_cursor = None
        if len(page) > max(1, int(limit)):
            page = page[:-1]
            mtime, session_id, project, _, _ = page[-1]
            next_cursor = f"{mtime}:{session_id}:{quote_part(project)}"
        return SessionPage(items=[self._summary_entry(row) for row in page], next_cursor=next_cursor)

    def _list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        base = self._project_dir(key["project_key"]) / validate_session_id(key["session_id"])
        if not base.is_dir():
            return []
        return sorted(path.relative_to(base).with_suffix("").as_posix() for path in base.rglob("*.jsonl"))

    # -- writing --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open_locked(self, path: Path) -> Iterator[int]:
        private_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # also releases the lock

    def _append(self, key: SessionKey, entries: list[SessionStoreEntry], expected_leaf: str | None) -> None:
        path = self.path_of(key)
        if key.get("subpath") and path.name.startswith("agent-"):
            entries = self._write_agent_meta(path, entries)
        data = encode_lines(entries)
        existed = path.is_file() and path.stat().st_size > 0
        if not existed and not entries:
            if expected_leaf not in (None, NO_LEAF):
                raise SessionConflictError(key["session_id"], expected_leaf, None)
            return
        with self._open_locked(path) as fd:
            size = os.fstat(fd).st_size
            if expected_leaf is not None:
                actual = self._tail_leaf(path) if size else None
                if (actual or NO_LEAF) != expected_leaf:
                    raise SessionConflictError(key["session_id"], expected_leaf or None, actual)
            if not entries:
                return
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # never glue a line onto a torn one
            write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
        stamp(path)

    @staticmethod
    def _write_agent_meta(path: Path, entries: list[SessionStoreEntry]) -> list[SessionStoreEntry]:
        """Write the last `agent_metadata` entry as the transcript's `.meta.json` sidecar, as Claude
        Code keeps it; the other entries, to append."""
        metas = [entry for entry in entries if isinstance(entry, dict) and entry.get("type") == AGENT_METADATA]
        if not metas:
            return entries
        encode_lines(entries)  # nothing is written of a batch that cannot be
        private_dir(path.parent)
        content = {name: value for name, value in metas[-1].items() if name != "type"}
        write_private(agent_meta_path(path), json.dumps(content, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        return [entry for entry in entries if not (isinstance(entry, dict) and entry.get("type") == AGENT_METADATA)]

    def _write_new(self, path: Path, data: bytes) -> None:
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        stamp(path)

    def _fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None) -> None:
        entries = self._load(source_key)
        if entries is None:
            raise SessionNotFoundError(source_key["session_id"])
        new_id = validate_session_id(new_key["session_id"])
        path = self.path_of(SessionKey(project_key=new_key["project_key"], session_id=new_id))
        if path.exists() and path.stat().st_size > 0:
            raise SessionExistsError(new_id)
        if at_uuid is None:
            leaf = leaf_of(entries)
        else:
            positions = [i for i, entry in enumerate(entries) if entry.get("uuid") == at_uuid]
            if not positions:
                raise EntryNotFoundError(source_key["session_id"], at_uuid)
            entries, leaf = entries[: positions[-1] + 1], at_uuid
        origin = {"sessionId": source_key["session_id"], "messageUuid": leaf}
        count = sum(1 for entry in entries if entry.get("uuid"))
        summary = fork_summary(self._summary(self.path_of(source_key)), forked_from=origin, message_count=count)
        data = encode_lines(entries)
        sidecar = path.with_suffix("") / FORK_SIDECAR
        private_dir(sidecar.parent)
        record = {"forkedFrom": origin, "summary": summary, "size": len(data)}
        write_private(sidecar, json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        try:
            self._write_new(path, data)
        except BaseException:
            shutil.rmtree(sidecar.parent, ignore_errors=True)
            raise

    def _delete(self, key: SessionKey) -> None:
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        self._summaries.pop(path, None)
        if not key.get("subpath"):
            shutil.rmtree(path.with_suffix(""), ignore_errors=True)

    # -- the SessionStore protocol --------------------------------------------------------------

    @guarded("append")
    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries to the transcript file (creating it); checks `expected_leaf` under a lock."""
        await anyio.to_thread.run_sync(self._append, key, list(entries), expected_leaf)

    @guarded("load")
    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """Every parseable line of the transcript, or None when there is no such file (or it is empty)."""
        return await anyio.to_thread.run_sync(self._load, key)

    @guarded("load_tail")
    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries (the file is read whole)."""
        entries = await self.load(key)
        if entries is None:
            return None
        return entries[-limit:] if limit > 0 else []

    @guarded("fork")
    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Copy the source's entries (cut after `at_uuid`) into the fork's file, as they are.

        The copy keeps every uuid (as Claude Code's own `--fork-session` does) so the fork's
        view is the source's, as the store contract says; where it came from is recorded in
        `<fork id>/tether-fork.json`.
        """
        await anyio.to_thread.run_sync(self._fork, source_key, new_key, at_uuid)

    @guarded("find")
    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """The transcript of `session_id`: `project_key`'s if that project has one, else the newest of any project."""
        return await anyio.to_thread.run_sync(self._find, session_id, project_key)

    @guarded("list_sessions")
    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """The project's sessions (main transcripts), newest first."""
        return await anyio.to_thread.run_sync(self._list_sessions, project_key)

    @guarded("list_session_summaries")
    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """The project's session summaries, newest first (head and tail reads)."""
        return await anyio.to_thread.run_sync(self._list_summaries, project_key)

    @guarded("list_page")
    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first, `limit` at a time (all projects when `project_key` is None)."""
        return await anyio.to_thread.run_sync(self._list_page, project_key, limit, cursor)

    @guarded("delete")
    async def delete(self, key: SessionKey) -> None:
        """Delete the transcript; the main key also removes `<id>/` (sub-transcripts)."""
        await anyio.to_thread.run_sync(self._delete, key)

    @guarded("list_subkeys")
    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths under a session, e.g. `subagents/agent-1`."""
        return await anyio.to_thread.run_sync(self._list_subkeys, key)

    async def close(self) -> None:
        """Forget cached summaries and listings (nothing else is held open)."""
        self._summaries.clear()
        self._listings.clear()


def from_url(url: StoreUrl) -> JsonlStore:
    """`jsonl:///abs/dir` or `jsonl://~/.claude`: a store over that Claude Code directory."""
    url.only()
    if url.netloc not in ("", "~"):
        raise ConfigurationError(f"invalid JSONL URL {url.shown!r}: use jsonl:///absolute/dir or jsonl://~/.claude")
    if url.path in ("", "/") and url.netloc != "~":
        raise ConfigurationError(f"invalid JSONL URL {url.shown!r}: name the directory, e.g. jsonl://~/.claude")
    root = Path(f"~{url.path}").expanduser() if url.netloc == "~" else Path("/" + url.path.lstrip("/"))
    return JsonlStore(root)
