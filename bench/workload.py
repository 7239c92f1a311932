"""The shared workload and helpers of every bench worker (standard library only: peers import it too).

One session holds N items appended as *turns of 4 items* (the workload of the peer comparison
in `shared/reference/session-systems.md` §4): a user message (about 220 characters), an
assistant tool call, the tool's output (about 230 characters) and an assistant text (about 230
characters). The same texts are rendered in each system's own shape: Claude Code transcript
entries (tether, claude-agent-sdk), Responses-API items (OpenAI Agents), LangChain messages
(LangGraph, built by its worker from `turn_texts`).

Workers print their result as one line `RESULT {json}` on stdout; `emit` writes it.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ITEMS_PER_TURN = 4
MODEL = "claude-sonnet-4-5"
RESULT_PREFIX = "RESULT "

_WORDS = (
    "session store fork resume append branch history model tool result agent message turn "
    "latency memory cursor page token stream event leaf parent chain entry summary project "
    "write read load list index commit file cache queue worker thread process server client"
).split()


def text_of(rng: random.Random, length: int) -> str:
    """Deterministic filler text of about `length` characters."""
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length]


def turn_texts(index: int) -> dict[str, str]:
    """The texts of turn `index`: prompt, tool call id/arguments, tool output, answer."""
    rng = random.Random(index)
    return {
        "prompt": f"[turn {index}] " + text_of(rng, 210),
        "call_id": f"toolu_bench{index:08d}",
        "tool": "Read",
        "arguments": json.dumps({"file_path": f"/project/src/module_{index % 97}.py"}),
        "output": text_of(rng, 230),
        "answer": text_of(rng, 230),
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def claude_turn(index: int, *, session_id: str, parent_uuid: str | None, cwd: str) -> list[dict[str, Any]]:
    """Turn `index` as 4 Claude Code transcript entries chained by `parentUuid`."""
    texts = turn_texts(index)
    tool_input = json.loads(texts["arguments"])
    messages: list[tuple[str, dict[str, Any]]] = [
        ("user", {"role": "user", "content": texts["prompt"]}),
        (
            "assistant",
            {
                "id": f"msg_bench{index:08d}a",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [{"type": "tool_use", "id": texts["call_id"], "name": texts["tool"], "input": tool_input}],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {"input_tokens": 120, "output_tokens": 24},
            },
        ),
        (
            "user",
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": texts["call_id"], "content": texts["output"]}],
            },
        ),
        (
            "assistant",
            {
                "id": f"msg_bench{index:08d}b",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [{"type": "text", "text": texts["answer"]}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 180, "output_tokens": 60},
            },
        ),
    ]
    entries = []
    for kind, message in messages:
        entry_uuid = str(uuid.uuid4())
        entries.append(
            {
                "parentUuid": parent_uuid,
                "isSidechain": False,
                "userType": "external",
                "cwd": cwd,
                "sessionId": session_id,
                "version": "bench",
                "type": kind,
                "message": message,
                "uuid": entry_uuid,
                "timestamp": now_iso(),
            }
        )
        parent_uuid = entry_uuid
    return entries


def claude_session(turns: int, *, session_id: str, cwd: str) -> list[dict[str, Any]]:
    """A whole session of `turns` turns as Claude Code transcript entries."""
    entries: list[dict[str, Any]] = []
    parent: str | None = None
    for index in range(turns):
        turn = claude_turn(index, session_id=session_id, parent_uuid=parent, cwd=cwd)
        parent = turn[-1]["uuid"]
        entries.extend(turn)
    return entries


def responses_turn(index: int) -> list[dict[str, Any]]:
    """Turn `index` as 4 OpenAI Responses-API input items (what `SQLiteSession` stores)."""
    texts = turn_texts(index)
    return [
        {"role": "user", "content": texts["prompt"]},
        {
            "type": "function_call",
            "call_id": texts["call_id"],
            "name": texts["tool"],
            "arguments": texts["arguments"],
            "id": f"fc_bench{index:08d}",
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": texts["call_id"], "output": texts["output"]},
        {
            "type": "message",
            "role": "assistant",
            "id": f"msg_bench{index:08d}",
            "status": "completed",
            "content": [{"type": "output_text", "text": texts["answer"], "annotations": []}],
        },
    ]


def json_size(items: Iterable[Any]) -> int:
    """Bytes of the items as compact JSON, one document each (the baseline for bytes on disk)."""
    return sum(len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()) for item in items)


# -- measuring --------------------------------------------------------------------------------


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call of `function` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(values: list[float]) -> dict[str, Any]:
    """Median, min, max and count of a list of seconds (None when empty)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process now (VmRSS), 0 if it is gone."""
    return _status_field(pid, "VmRSS")


def peak_rss_bytes(pid: int | str = "self") -> int:
    """Peak resident memory of a process (VmHWM), 0 if it is gone."""
    return _status_field(pid, "VmHWM")


def _status_field(pid: int | str, name: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant process of `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and all its descendants."""
    return rss_bytes(pid) + sum(rss_bytes(child) for child in descendants(pid))


def checkpoint_sqlite(path: Path) -> int:
    """Bytes a SQLite database uses: its pages, less the free ones, after folding in the WAL.

    Free pages (left by deleted rows, such as the bench's own cleanup of fork copies) are reused
    by later writes, so they are not counted; the file can be larger by that much.
    """
    import sqlite3

    if not path.exists():
        return 0
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        connection.close()
    return int(page_size * (pages - free))


def emit(result: dict[str, Any]) -> None:
    """Print the worker's result line and flush."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def worker_args() -> dict[str, Any]:
    """The JSON argument a worker was started with (argv[1])."""
    return dict(json.loads(sys.argv[1])) if len(sys.argv) > 1 else {}
