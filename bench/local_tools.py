"""How often the embedded model (`local:smollm2`) does a small tool task right, through `query()`.

    PYTHONPATH=$PWD/src .venv/bin/python -m bench.local_tools [--only read,glob,grep,write] [--json]

Four kinds of task, five wordings each, in a temporary project: read a named file, list files by
pattern, grep a word, write a file. The agent runs with the built-in tools, the local model and
`permission_mode="bypassPermissions"`, at most 4 turns. A task succeeds when:

- the task's tool was called with real arguments (the named file, a pattern that finds the files
  asked for, the word searched for, the file written with the text asked for), and
- the final `ResultMessage.result` is a non-empty text answer, not tool-call JSON.

It prints one line per task and the success rate. Needs the `local` extra and the SmolLM2 weights.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether import AgentOptions, AssistantMessage, ResultMessage, ToolUseBlock, query

FILES = {
    "notes.txt": "The launch code is PURPLE-42.\nMeeting on Friday.\n",
    "README.md": "# Orchard\n\nA tiny app that counts apples.\n",
    "todo.md": "- buy milk\n- fix the banana bug\n",
    "src/app.py": "def main():\n    # TODO: count pears too\n    return 'apples'\n",
    "src/util.py": "def banana():\n    return 'yellow'\n",
    "config.json": '{"name": "orchard", "debug": false}\n',
}

Check = Callable[[Path, list[ToolUseBlock]], bool]


@dataclass(frozen=True)
class Task:
    kind: str
    prompt: str
    check: Check


def _calls(calls: list[ToolUseBlock], name: str) -> list[dict[str, Any]]:
    return [call.input for call in calls if call.name == name]


def _reads(filename: str) -> Check:
    def check(project: Path, calls: list[ToolUseBlock]) -> bool:
        return any(str(args.get("file_path", "")).endswith(filename) for args in _calls(calls, "Read"))

    return check


def _globs(expected: str) -> Check:
    """A Glob call whose pattern (from its `path`, default the project) finds `expected`."""

    def check(project: Path, calls: list[ToolUseBlock]) -> bool:
        for args in _calls(calls, "Glob"):
            pattern = str(args.get("pattern", "")).lstrip("/")
            base = project / str(args.get("path") or ".").lstrip("/")
            try:
                found = {path.resolve() for path in base.glob(pattern)} if pattern else set()
            except (ValueError, OSError):
                continue
            if (project / expected).resolve() in found:
                return True
        return False

    return check


def _greps(word: str) -> Check:
    def check(project: Path, calls: list[ToolUseBlock]) -> bool:
        return any(word.lower() in str(args.get("pattern", "")).lower() for args in _calls(calls, "Grep"))

    return check


def _writes(filename: str, text: str) -> Check:
    def check(project: Path, calls: list[ToolUseBlock]) -> bool:
        written = project / filename
        return written.is_file() and text.lower() in written.read_text().lower()

    return check


TASKS = [
    Task("read", "Read the file notes.txt and tell me what it says.", _reads("notes.txt")),
    Task("read", "What is in README.md?", _reads("README.md")),
    Task("read", "Show me the contents of config.json.", _reads("config.json")),
    Task("read", "Open todo.md and read it to me.", _reads("todo.md")),
    Task("read", "Read src/util.py.", _reads("src/util.py")),
    Task("glob", "List the Python files in this project.", _globs("src/app.py")),
    Task("glob", "Find all files matching *.md.", _globs("README.md")),
    Task("glob", "Which .json files are there?", _globs("config.json")),
    Task("glob", "List the files in the src directory.", _globs("src/util.py")),
    Task("glob", "Find every .txt file.", _globs("notes.txt")),
    Task("grep", "Search the files for the word banana.", _greps("banana")),
    Task("grep", "Grep for TODO in the code.", _greps("TODO")),
    Task("grep", "Which files contain the word apples?", _greps("apples")),
    Task("grep", "Search for PURPLE in the project files.", _greps("PURPLE")),
    Task("grep", "Find where the word yellow appears.", _greps("yellow")),
    Task("write", "Write the text hello world to a file named greeting.txt.", _writes("greeting.txt", "hello world")),
    Task("write", "Create a file notes2.txt containing: buy bread.", _writes("notes2.txt", "bread")),
    Task("write", "Save the word pineapple into fruit.txt.", _writes("fruit.txt", "pineapple")),
    Task("write", "Write a file called poem.txt with the line roses are red.", _writes("poem.txt", "roses")),
    Task("write", "Create hello.py that prints hi.", _writes("hello.py", "print")),
]

_TOOL_JSON = re.compile(r'^\s*\{\s*"(tool|input|name|file_path|pattern)"\s*:')


def looks_like_tool_json(text: str) -> bool:
    """A final answer that is a tool call (or its arguments) written out as JSON."""
    if _TOOL_JSON.match(text):
        return True
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and ("tool" in value or "input" in value)


def _project(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


async def run_task(task: Task) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tether-local-tools-") as tmp:
        project = _project(Path(tmp))
        options = AgentOptions(
            model="local:smollm2",
            cwd=str(project),
            permission_mode="bypassPermissions",
            max_turns=4,
            session_store="memory://",
        )
        calls: list[ToolUseBlock] = []
        result: ResultMessage | None = None
        started = time.monotonic()
        async for message in query(prompt=task.prompt, options=options):
            if isinstance(message, AssistantMessage):
                calls += [block for block in message.content if isinstance(block, ToolUseBlock)]
            elif isinstance(message, ResultMessage):
                result = message
        tool_ok = task.check(project, calls)
    text = (result.result or "") if result else ""
    answer_ok = bool(text.strip()) and not looks_like_tool_json(text) and not (result and result.is_error)
    return {
        "kind": task.kind,
        "prompt": task.prompt,
        "calls": [f"{call.name}({json.dumps(call.input)})" for call in calls],
        "result": text,
        "tool_ok": tool_ok,
        "answer_ok": answer_ok,
        "ok": tool_ok and answer_ok,
        "seconds": round(time.monotonic() - started, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="", help="comma-separated kinds: read,glob,grep,write")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    kinds = set(filter(None, args.only.split(",")))
    rows = [await run_task(task) for task in TASKS if not kinds or task.kind in kinds]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mark = "ok " if row["ok"] else "BAD"
            calls = "; ".join(row["calls"]) or "no tool call"
            answer = " ".join(row["result"].split())[:70]
            print(f"{mark} {row['kind']:5} {row['seconds']:5}s {row['prompt'][:45]:45} | {calls[:90]} | {answer}")
    ok = sum(row["ok"] for row in rows)
    tools = sum(row["tool_ok"] for row in rows)
    answers = sum(row["answer_ok"] for row in rows)
    json_answers = sum(looks_like_tool_json(row["result"]) for row in rows)
    print(
        f"success {ok}/{len(rows)} ({100 * ok // max(1, len(rows))}%); right tool call {tools}/{len(rows)}; "
        f"text answer {answers}/{len(rows)}; tool JSON as the answer {json_answers}/{len(rows)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
