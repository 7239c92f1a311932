"""Run a file of IPython snippets as IPython would, cell by cell: `python ipython_cells.py FILE`.

The cells are the sections between `# ====` banner comments. Each runs with top-level `await`
allowed, as a task of its own on one asyncio event loop (IPython's `autoawait`), in a namespace
shared by all cells. Each cell's output follows a line `### cell: <title>`; a cell that raises
prints its traceback and the run exits with status 1 after the last cell.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import traceback
from pathlib import Path
from typing import Any

_BANNER = re.compile(r"^# =+\n# (?P<title>.+)\n# =+\n", re.MULTILINE)


def cells(source: str) -> list[tuple[str, str]]:
    """`(title, code)` of each section after a banner; what comes before the first is dropped."""
    found = list(_BANNER.finditer(source))
    ends = [match.start() for match in found[1:]] + [len(source)]
    return [(match["title"].strip(), source[match.end() : end]) for match, end in zip(found, ends, strict=True)]


def run_cell(loop: asyncio.AbstractEventLoop, code: str, filename: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if inspect.iscoroutine(result):
        loop.run_until_complete(loop.create_task(result))


def main(path: str) -> int:
    source = Path(path).read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    loop = asyncio.new_event_loop()
    failed = False
    try:
        for title, code in cells(source):
            print(f"### cell: {title}", flush=True)
            try:
                run_cell(loop, code, path, namespace)
            except Exception:
                traceback.print_exc()
                failed = True
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
