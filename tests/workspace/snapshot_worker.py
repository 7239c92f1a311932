"""A worker process for the kill -9 tests (run as a script, never collected).

python snapshot_worker.py URL PROJECT_KEY SESSION_ID WORKSPACE loop
    rewrite every file of WORKSPACE with the round's number, snapshot it, print "ack ROUND", forever
python snapshot_worker.py URL PROJECT_KEY SESSION_ID WORKSPACE die-before-manifest
    change the files and snapshot them, but die (SIGKILL) once the blobs are written, before the entry
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey
from tether.sessions.capabilities import store_access
from tether.sessions.urls import open_store
from tether.sessions.workspace.snapshots import SnapshotTaker
from tether.sessions.workspace.tree import Scanner

FILES = 40
SIZE = 64 * 1024


def write_round(workspace: Path, round_number: int) -> None:
    for index in range(FILES):
        line = f"round {round_number} file {index}\n".encode()
        (workspace / f"f{index:02d}.txt").write_bytes(line * (SIZE // len(line)))


async def main(url: str, project_key: str, session_id: str, workspace: str, mode: str) -> None:
    access = store_access(open_store(url))
    key = SessionKey(project_key=project_key, session_id=session_id)

    async def append(entries: list[dict[str, Any]]) -> None:
        if mode == "die-before-manifest":
            os.kill(os.getpid(), signal.SIGKILL)
        await access.append(key, entries)

    taker = SnapshotTaker(Scanner(workspace), access, append, session_id)
    taker.adopt(await access.load(key) or [])
    round_number = 0
    while True:
        round_number += 1
        write_round(Path(workspace), round_number)
        await taker.take(message_id=None, phase="after")
        sys.stdout.write(f"ack {round_number}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    url, project_key, session_id, workspace, mode = sys.argv[1:6]
    anyio.run(main, url, project_key, session_id, workspace, mode)
