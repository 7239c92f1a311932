"""Listing tether's sessions and Claude Code's together: `tether sessions list` over 1,000 of each.

    .venv/bin/python -m bench.claude_code_listing [--sessions 1000] [--repeat 5]

A fresh CLAUDE_CONFIG_DIR holds `--sessions` Claude Code transcripts (4 turns each, as the CLI
writes them: metadata lines, chain entries, a last-prompt) in 10 projects, and a fresh TETHER_HOME
as many tether sessions; the default store (no store option) lists both. Figures, medians in ms:
`tether sessions list` as a command (a new process: imports, the first read of every transcript's
head and tail), `list_sessions()` of everything in a process that has not read them yet (a new
store each time) and again with its summaries cached, and the first page of 20 (what the command
shows by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from bench.sessions import median_ms


def claude_transcript(path: Path, session_id: str, cwd: str, turns: int = 4) -> None:
    lines: list[dict[str, Any]] = [{"type": "permission-mode", "permissionMode": "default", "sessionId": session_id}]
    parent = None
    for turn in range(turns):
        for kind, content in (("user", f"question {turn} about {session_id[:8]}"), ("assistant", "an answer " * 40)):
            entry_id = str(uuid.uuid4())
            message = {"role": kind, "content": content if kind == "user" else [{"type": "text", "text": content}]}
            lines.append(
                {
                    "parentUuid": parent, "isSidechain": False, "type": kind, "message": message, "uuid": entry_id,
                    "timestamp": "2026-01-01T00:00:00.000Z", "sessionId": session_id, "cwd": cwd, "version": "2.1.0",
                    "gitBranch": "main", "userType": "external", "entrypoint": "cli",
                }
            )  # fmt: skip
            parent = entry_id
    lines.append({"type": "last-prompt", "lastPrompt": "question 3", "leafUuid": parent, "sessionId": session_id})
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))


async def seed(root: Path, sessions: int) -> None:
    from tether import project_key_for_directory
    from tether.sessions.entries import make_entry
    from tether.sessions.stores.sqlite import SQLiteStore
    from tether.types import SessionKey

    for index in range(sessions):
        cwd = f"/work/project-{index % 10}"
        directory = root / "claude" / "projects" / project_key_for_directory(cwd)
        directory.mkdir(parents=True, exist_ok=True)
        session_id = str(uuid.uuid4())
        claude_transcript(directory / f"{session_id}.jsonl", session_id, cwd)
    store = SQLiteStore(root / "tether" / "sessions.db")
    try:
        for index in range(sessions):
            session_id, cwd = str(uuid.uuid4()), f"/work/project-{index % 10}"
            key = SessionKey(project_key=project_key_for_directory(cwd), session_id=session_id)
            user = make_entry(
                "user", {"role": "user", "content": f"tether {index}"}, session_id=session_id, parent_uuid=None, cwd=cwd
            )
            await store.append(key, [user])
    finally:
        await store.close()


def timed(call: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tether-cc-listing-") as scratch:
        root = Path(scratch)
        os.environ.update(TETHER_HOME=str(root / "tether"), CLAUDE_CONFIG_DIR=str(root / "claude"))
        anyio.run(seed, root, args.sessions)
        from tether.sessions.helpers import list_sessions
        from tether.sessions.stores.jsonl import JsonlStore
        from tether.sessions.stores.layered import LayeredStore
        from tether.sessions.stores.sqlite import SQLiteStore

        total = len(list_sessions())
        assert total == 2 * args.sessions, total
        command = [sys.executable, "-m", "tether.cli", "sessions", "list", "--limit", "0"]
        cli = timed(lambda: subprocess.run(command, check=True, capture_output=True), args.repeat)

        def cold() -> None:
            store = LayeredStore(SQLiteStore.shared(), JsonlStore(root / "claude"))
            list_sessions(store=store)

        rows = {
            f"tether sessions list --limit 0 ({total} sessions, a new process)": cli,
            "list_sessions(), every session, nothing cached": timed(cold, args.repeat),
            "list_sessions(), every session, summaries cached": timed(list_sessions, args.repeat),
            "list_sessions(limit=20), the command's first page": timed(lambda: list_sessions(limit=20), args.repeat),
        }
    print(f"{args.sessions} Claude Code sessions + {args.sessions} tether sessions; medians of {args.repeat}, ms")
    for name, value in rows.items():
        print(f"{name:<72} {value:9.1f}")


if __name__ == "__main__":
    main()
