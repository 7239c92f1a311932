"""Hand-made transcripts in the shapes the Claude Code CLI writes (shared by the tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SESSION = "7f3c9a52-1b2d-4c8e-9f00-aa11bb22cc33"
CWD = "/home/dev/webapp"
PROJECT = "-home-dev-webapp"  # Claude Code's encoding of CWD


class Transcript:
    """Builds lines as Claude Code 2.x writes them."""

    def __init__(self, session_id: str = SESSION) -> None:
        self.session_id = session_id
        self.lines: list[dict[str, Any]] = []
        self.clock = 0

    def _stamp(self) -> str:
        self.clock += 1
        return f"2026-03-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"

    def chain(self, kind: str, uuid: str, parent: str | None, **fields: Any) -> dict[str, Any]:
        line = {
            "parentUuid": parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": CWD,
            "sessionId": self.session_id,
            "version": "2.1.327",
            "gitBranch": "main",
            "entrypoint": "cli",
            "type": kind,
            "uuid": uuid,
            "timestamp": self._stamp(),
            **fields,
        }
        self.lines.append(line)
        return line

    def user(self, uuid: str, parent: str | None, content: Any, **fields: Any) -> dict[str, Any]:
        return self.chain("user", uuid, parent, message={"role": "user", "content": content}, **fields)

    def assistant(self, uuid: str, parent: str | None, message_id: str, block: dict[str, Any]) -> dict[str, Any]:
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [block],
            "stop_reason": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
        return self.chain("assistant", uuid, parent, message=message, requestId=f"req_{message_id}")

    def meta(self, kind: str, **fields: Any) -> None:
        self.lines.append({"type": kind, **fields, "sessionId": self.session_id})

    def write(self, root: Path, *, torn_tail: bool = False) -> Path:
        path = root / "projects" / PROJECT / f"{self.session_id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(line) + "\n" for line in self.lines)
        if torn_tail:
            text += '{"parentUuid":"a6","isSidechain":false,"type":"assistant","message":{"id":"msg_E","con'
        path.write_text(text)
        return path


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def tool_result(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": output}


def repo_tour(*, siblings: bool = False) -> Transcript:
    """Parallel tool calls (one entry per block), metadata, a rewind branch, a torn tail."""
    t = Transcript()
    t.meta("queue-operation", operation="enqueue", content="List the files and read the README", timestamp="x")
    t.meta("queue-operation", operation="dequeue", timestamp="x")
    t.meta("file-history-snapshot", messageId="u1", snapshot={"trackedFileBackups": {}}, isSnapshotUpdate=False)
    t.chain("attachment", "at1", None, attachment={"type": "date", "date": "2026-03-01"})
    t.user("u1", "at1", "List the files and read the README", promptId="p1", permissionMode="default")
    t.assistant("a1", "u1", "msg_A", {"type": "thinking", "thinking": "Two tools at once.", "signature": "sig"})
    t.assistant("a2", "a1", "msg_A", text("I'll look."))
    t.assistant("a3", "a2", "msg_A", tool_use("toolu_1", "Bash", command="ls"))
    t.assistant("a4", "a2" if siblings else "a3", "msg_A", tool_use("toolu_2", "Read", file_path="README.md"))
    t.chain("progress", "pr1", "a3", data={"type": "bash_progress", "output": "README.md\nsrc"})
    t.user("r1", "a3", [tool_result("toolu_1", "README.md\nsrc")], toolUseResult={"stdout": "README.md\nsrc"})
    t.user("r2", "a4", [tool_result("toolu_2", "# Webapp")], sourceToolAssistantUUID="a4")
    t.assistant("b1", "r2", "msg_B", text("There is a README and src/."))
    t.chain("system", "sy1", "b1", subtype="turn_duration", durationMs=1200, isMeta=False)
    t.meta("custom-title", customTitle="Repo tour")
    t.meta("ai-title", aiTitle="Exploring a web app")
    t.meta("tag", tag="work")
    t.meta("cost-state", totalCostUSD=0.125, modelUsage={}, totalAPIDuration=900)
    t.meta("last-prompt", lastPrompt="List the files and read the README", leafUuid="sy1")
    t.user("u2a", "sy1", "Summarise it", promptId="p2")
    t.assistant("a5", "u2a", "msg_C", text("Summary, take one."))
    # The user rewinds to before "Summarise it" and asks again: a sibling branch of u2a.
    t.user("u2b", "sy1", "Summarise it in one line", promptId="p3")
    t.assistant("a6", "u2b", "msg_D", text("A web app with a README."))
    t.chain("user", "side1", "a6", isSidechain=True, message={"role": "user", "content": "sidechain noise"})
    t.meta("last-prompt", lastPrompt="Summarise it in one line", leafUuid="a6")
    return t


TOUR_HISTORY = [
    {
        "role": "user",
        "content": [text("List the files and read the README")],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Two tools at once.", "signature": "sig"},
            text("I'll look."),
            tool_use("toolu_1", "Bash", command="ls"),
            tool_use("toolu_2", "Read", file_path="README.md"),
        ],
    },
    {"role": "user", "content": [tool_result("toolu_1", "README.md\nsrc"), tool_result("toolu_2", "# Webapp")]},
    {"role": "assistant", "content": [text("There is a README and src/.")]},
    {"role": "user", "content": [text("Summarise it in one line")]},
    {"role": "assistant", "content": [text("A web app with a README.")]},
]
