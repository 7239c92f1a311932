"""Claude Code's transcript files as `JsonlStore` writes and reads them: JSON lines, owner-only
files, strictly rising modification times, and the `.meta.json` sidecar of a subagent's transcript."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not locked
    fcntl = None  # type: ignore[assignment]

from tether._vocabulary.store import (
    SessionStoreEntry,
)
from tether.errors import (
    SessionExistsError,
)
from tether.sessions.stores._core import (
    private_dir,
)

__all__ = [
    "AGENT_METADATA",
    "agent_meta",
    "agent_meta_path",
    "encode_lines",
    "parse_lines",
    "stamp",
    "write_all",
    "write_new_transcript",
    "write_private",
]

AGENT_METADATA = "agent_metadata"
"""The entry type that stands, in a store, for the `agent-<id>.meta.json` sidecar of a subagent's transcript."""


def encode_lines(entries: list[SessionStoreEntry]) -> bytes:
    """Entries as JSONL bytes (compact, UTF-8); raises TypeError for anything but JSON objects."""
    lines: list[bytes] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise TypeError(f"a transcript entry must be a JSON object (dict), not {type(entry).__name__}")
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        try:
            lines.append(text.encode() + b"\n")
        except UnicodeEncodeError:  # a lone surrogate: keep it as a JSON escape
            lines.append(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
    return b"".join(lines)


_clock_lock = threading.Lock()
_last_mtime_ns = 0


def stamp(path: Path) -> None:
    """Give a written file an mtime after every other this process wrote (whole milliseconds).

    Listing orders sessions by mtime; two appends within one millisecond would otherwise tie.
    """
    global _last_mtime_ns
    with _clock_lock:
        now = time.time_ns() // 1_000_000 * 1_000_000
        _last_mtime_ns = max(now, _last_mtime_ns + 1_000_000)
        stamp = _last_mtime_ns
    os.utime(path, ns=(stamp, stamp))


def parse_lines(data: bytes, skipped: list[str] | None = None) -> list[SessionStoreEntry]:
    """The JSON objects of the lines of `data`; a torn, corrupt, too deeply nested or non-object line
    is left out (and described in `skipped`, if given): other programs edit these files."""
    entries: list[SessionStoreEntry] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if skipped is not None:
                skipped.append(f"line {number}: {type(exc).__name__}")
            continue
        if isinstance(value, dict) and isinstance(value.get("uuid"), (str, type(None))):
            entries.append(value)
        elif skipped is not None:
            skipped.append(f"line {number}: not an object with a string uuid")
    return entries


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new or truncated file that only its owner can read (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_new_transcript(path: Path, entries: list[SessionStoreEntry]) -> None:
    """Write a new transcript file (owner-only); `SessionExistsError` if there is one already."""
    data = encode_lines(entries)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise SessionExistsError(path.stem) from None
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    stamp(path)


def agent_meta_path(transcript: Path) -> Path:
    return transcript.with_name(transcript.name.removesuffix(".jsonl") + ".meta.json")


def agent_meta(transcript: Path) -> SessionStoreEntry | None:
    """The `.meta.json` sidecar of a subagent's transcript as an `agent_metadata` entry (None when
    there is none, or it is not a JSON object: an unusable sidecar is an absent one)."""
    if not transcript.name.startswith("agent-"):
        return None
    try:
        meta = json.loads(agent_meta_path(transcript).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return {**meta, "type": AGENT_METADATA} if isinstance(meta, dict) else None
