"""Workspace snapshots: their time in a large workspace and the bytes they store.

    .venv/bin/python -m bench.workspace [--files 10000] [--changed 10] [--turns 100] [--repeat 9]

1. Snapshot after a Bash call in a workspace of N files (100 directories, 1 KiB each, last
   modified an hour ago) where 10 files changed: the full scan a Bash call gets (stat of every
   file, the 10 read and hashed, their blobs and the manifest entry written to a SQLiteStore).
   Beside it, the bare floor of the same scan: `os.scandir` + `lstat` of every file, nothing
   read. Figures are medians; the goal is under 50 ms. Measured twice: without a `.gitignore`,
   and with a typical one at the root (10 rules; nothing of the 10,000 files matches, so the scan
   still stats them all and checks each against the rules).
2. Bytes stored for 100 turns of edits: a workspace of 200 files of 4 KiB; each turn edits one
   line of one file and takes a snapshot. Stored = new blob bytes + manifest entry bytes (JSON);
   beside it, the bytes of the file versions the edits produced (what changed, whole files).
3. 100 snapshots over an unchanged 10 MiB file: how many blobs (goal: one).

`make bench` runs it as a worker (`python -m bench.workspace '{"files": N, ...}'`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from bench.workload import emit
from tether._vocabulary.store import SessionKey
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.workspace.snapshots import SnapshotTaker
from tether.sessions.workspace.tree import Scanner

HOUR_AGO = time.time() - 3600
GITIGNORE = "__pycache__/\n*.pyc\nnode_modules/\nbuild/\ndist/\n.venv/\n*.egg-info/\n.mypy_cache/\n*.log\n.env\n"


def _taker(
    root: Path, access: StoreAccess, written: list[int], *, key: SessionKey | None = None, index: Path | None = None
) -> SnapshotTaker:
    key = key or SessionKey(project_key="-bench", session_id=str(uuid.uuid4()))

    async def append(entries: list[dict[str, Any]]) -> None:
        written.append(sum(len(json.dumps(entry).encode()) for entry in entries))
        await access.append(key, entries)

    taker = SnapshotTaker(Scanner(root, index_file=index), access, append, key["session_id"])
    taker.key = key  # type: ignore[attr-defined]
    return taker


def _make_files(root: Path, files: int, size: int) -> list[Path]:
    paths = []
    for index in range(files):
        directory = root / f"pkg{index % 100:02d}"
        directory.mkdir(exist_ok=True)
        path = directory / f"module_{index}.py"
        line = f"# file {index}\n".encode()
        path.write_bytes((line * (size // len(line) + 1))[:size])
        os.utime(path, (HOUR_AGO, HOUR_AGO))
        paths.append(path)
    return paths


def _bare_scan(root: Path) -> int:
    """The floor: every entry of the tree listed and stat'ed, nothing read."""
    count, pending = 0, [root]
    while pending:
        with os.scandir(pending.pop()) as children:
            for child in children:
                if child.is_dir(follow_symlinks=False):
                    pending.append(Path(child.path))
                else:
                    child.stat(follow_symlinks=False)
                    count += 1
    return count


async def snapshot_after_bash(files: int, changed: int, repeat: int, *, gitignore: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tether-bench-workspace-") as scratch:
        root = Path(scratch) / "work"
        root.mkdir()
        paths = _make_files(root, files, 1024)
        if gitignore:
            (root / ".gitignore").write_text(GITIGNORE)
            os.utime(root / ".gitignore", (HOUR_AGO, HOUR_AGO))
        store = SQLiteStore(Path(scratch) / "sessions.db")
        try:
            access = store_access(store)
            index_file = Path(scratch) / "index.json"
            taker = _taker(root, access, [], index=index_file)
            taker.adopt([])
            started = time.perf_counter()
            await taker.take(message_id=None, phase="before", force=True)
            first = time.perf_counter() - started
            timings, floors = [], []
            for round_number in range(repeat + 1):
                for index in range(changed):  # what a Bash call (`sed -i` on 10 files) leaves
                    path = paths[(round_number * changed + index * 997) % files]
                    path.write_bytes(path.read_bytes() + f"# round {round_number}\n".encode())
                started = time.perf_counter()
                entry = await taker.take(message_id=None, phase="after")
                elapsed = time.perf_counter() - started
                assert entry is not None and len(entry["changed"]) == changed
                started = time.perf_counter()
                assert _bare_scan(root) == files + gitignore
                floor = time.perf_counter() - started
                if round_number:  # the first round warms the caches: not counted
                    timings.append(elapsed)
                    floors.append(floor)
            for path in paths[:changed]:
                path.write_bytes(path.read_bytes() + b"# a new process\n")
            resumed = _taker(root, access, [], key=taker.key, index=index_file)  # type: ignore[attr-defined]
            started = time.perf_counter()
            resumed.adopt(await access.load(taker.key) or [])  # type: ignore[attr-defined]
            entry = await resumed.take(message_id=None, phase="before", force=True)
            new_process = time.perf_counter() - started
            assert entry is not None and len(entry["changed"]) == changed
        finally:
            await store.close()
    snapshot, floor = statistics.median(timings), statistics.median(floors)
    return {
        "files": files,
        "changed": changed,
        "first_snapshot_s": first,
        "new_process_snapshot_s": new_process,
        "snapshot_s": snapshot,
        "floor_s": floor,
    }


async def bytes_for_turns(turns: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tether-bench-workspace-") as scratch:
        root = Path(scratch) / "work"
        root.mkdir()
        paths = _make_files(root, 200, 4096)
        store = SQLiteStore(Path(scratch) / "sessions.db")
        access = store_access(store)
        try:
            written: list[int] = []
            taker = _taker(root, access, written)
            taker.adopt([])
            await taker.take(message_id=None, phase="before", force=True)
            baseline_blobs = await _blob_bytes(access)
            baseline_entries = sum(written)
            changed_bytes = 0
            for turn in range(turns):
                path = paths[(turn * 37) % len(paths)]
                lines = path.read_bytes().splitlines(keepends=True)
                lines[turn % len(lines)] = f"# edited in turn {turn}\n".encode()
                path.write_bytes(b"".join(lines))
                changed_bytes += path.stat().st_size
                await taker.take(message_id=None, phase="after")
            blob_bytes = await _blob_bytes(access) - baseline_blobs
            entry_bytes = sum(written) - baseline_entries
            big = root / "big.bin"
            big.write_bytes(os.urandom(10 * 1024 * 1024))
            os.utime(big, (HOUR_AGO, HOUR_AGO))
            before = len(await access.list_blobs())
            for _ in range(turns):
                await taker.take(message_id=None, phase="after")
            big_blobs = len(await access.list_blobs()) - before
        finally:
            await store.close()
    return {
        "turns": turns,
        "changed_bytes": changed_bytes,
        "blob_bytes": blob_bytes,
        "entry_bytes": entry_bytes,
        "initial_bytes": baseline_blobs + baseline_entries,
        "unchanged_10mib_blobs": big_blobs,
    }


async def _blob_bytes(access: StoreAccess) -> int:
    return sum(len(data) for data in (await access.get_blobs(await access.list_blobs())).values())


async def measure(files: int, changed: int, turns: int, repeat: int) -> dict[str, Any]:
    ignoring = await snapshot_after_bash(files, changed, repeat, gitignore=True)
    return {
        **await snapshot_after_bash(files, changed, repeat),
        "gitignore_snapshot_s": ignoring["snapshot_s"],
        "gitignore_floor_s": ignoring["floor_s"],
        **await bytes_for_turns(turns),
    }


def workspace_table(results: dict[str, Any]) -> list[str]:
    """The rows of the figures, as `bench/report.py` renders them."""
    snapshot, floor = results["snapshot_s"], results["floor_s"]
    stored = results["blob_bytes"] + results["entry_bytes"]
    return [
        "| workspace snapshots | figure | beside it | ratio |",
        "|---|---|---|---|",
        f"| snapshot after a Bash call, {results['files']:,} files, {results['changed']} changed "
        f"| {snapshot * 1000:.1f} ms | bare scandir+lstat of the tree: {floor * 1000:.1f} ms "
        f"| {snapshot / floor:.2f}x (goal: under 50 ms) |",
        *_gitignore_row(results),
        f"| first snapshot of that workspace (every file read) | {results['first_snapshot_s'] * 1000:.0f} ms | | |",
        f"| first snapshot in a new process (the saved index; loads the session's snapshots) "
        f"| {results['new_process_snapshot_s'] * 1000:.0f} ms | | |",
        f"| bytes stored for {results['turns']} turns of one-line edits (blobs + manifests) "
        f"| {stored / 1024:,.0f} KiB ({results['blob_bytes'] / 1024:,.0f} + {results['entry_bytes'] / 1024:,.0f}) "
        f"| edited file versions: {results['changed_bytes'] / 1024:,.0f} KiB "
        f"| {stored / results['changed_bytes']:.2f}x |",
        f"| blobs for {results['turns']} snapshots over an unchanged 10 MiB file "
        f"| {results['unchanged_10mib_blobs']} | | |",
    ]


def _gitignore_row(results: dict[str, Any]) -> list[str]:
    snapshot, floor = results.get("gitignore_snapshot_s"), results.get("gitignore_floor_s")
    if not (snapshot and floor):  # results of a run before this row existed
        return []
    return [
        f"| the same with a 10-rule `.gitignore` at the root | {snapshot * 1000:.1f} ms "
        f"| bare scandir+lstat of the tree: {floor * 1000:.1f} ms | {snapshot / floor:.2f}x |"
    ]


def main(argv: list[str]) -> None:
    if len(argv) == 1 and argv[0].startswith("{"):  # a worker of `make bench`
        arguments = json.loads(argv[0])
        emit(
            anyio.run(
                measure,
                int(arguments.get("files", 10_000)),
                int(arguments.get("changed", 10)),
                int(arguments.get("turns", 100)),
                int(arguments.get("repeat", 9)),
            )
        )
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args(argv)
    results = anyio.run(measure, options.files, options.changed, options.turns, options.repeat)
    print("\n".join(workspace_table(results)))


if __name__ == "__main__":
    main(sys.argv[1:])
