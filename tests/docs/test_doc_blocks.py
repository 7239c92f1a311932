"""Every ```python block of README.md and docs/*.md runs as written, each in a fresh process.

A block runs as a script in a new Python process, in an empty project directory, with a HOME and a
TETHER_HOME of its own that hold one stored session each (a session in the default store, another
in `~/.claude`, Claude Code's layout), and with Claude answered by a fake Anthropic server on
127.0.0.1 (`ANTHROPIC_BASE_URL`, a test key) that says "OK." to every request.

A block that cannot run so is marked in the Markdown by an HTML comment on the line before its
fence, which readers do not see: `<!-- not run: why -->`; the test is then skipped with that reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from tests.fakes import FakeAnthropicServer, Reply

from tether import AgentOptions, JsonlStore, SQLiteStore, query
from tether.testing import ScriptedModel

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = "```python\n"
BLOCK = re.compile(r"^(?:<!--\s*not run:\s*(?P<reason>.*?)\s*-->\n)?```python\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
GUARD_SECONDS = 120  # only so that a hanging block fails instead of stopping the suite


@dataclass(frozen=True)
class DocBlock:
    """One ```python block: where it is, its code, and why it is not run (None: it is run)."""

    document: Path
    line: int
    code: str
    not_run: str | None

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def doc_blocks(document: Path) -> list[DocBlock]:
    text = document.read_text(encoding="utf-8")
    return [
        DocBlock(document, text.count("\n", 0, match.start("code")), match["code"], match["reason"])
        for match in BLOCK.finditer(text)
    ]


BLOCKS = [block for document in DOCUMENTS for block in doc_blocks(document)]


def test_every_python_block_is_collected_and_every_skip_says_why() -> None:
    for document in DOCUMENTS:
        fences = document.read_text(encoding="utf-8").count(FENCE)
        assert len(doc_blocks(document)) == fences, f"a ```python block of {document.name} is not collected"
    assert len(BLOCKS) >= 10
    assert [block.name for block in BLOCKS if block.not_run is not None and not block.not_run] == []


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The project directory a block runs in, and its environment (one session stored in each place)."""
    project, home, tether_home = tmp_path / "project", tmp_path / "home", tmp_path / "tether-home"
    for directory in (project, home / ".claude", tether_home):
        directory.mkdir(parents=True)
    seeds: list[tuple[SQLiteStore | JsonlStore, str]] = [
        (SQLiteStore(tether_home / "sessions.db"), "Plan the bakery's web app"),
        (JsonlStore(home / ".claude"), "A Claude Code session"),
    ]
    for store, prompt in seeds:
        options = AgentOptions(model=ScriptedModel(["Noted."]), cwd=str(project), session_store=store)

        async def seed(prompt: str = prompt, options: AgentOptions = options) -> None:
            async for _ in query(prompt=prompt, options=options):
                pass

        anyio.run(seed)
        anyio.run(store.close)
    env = {**os.environ, "HOME": str(home), "TETHER_HOME": str(tether_home), "ANTHROPIC_API_KEY": "test-key"}
    return project, env


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(block, id=block.name, marks=[pytest.mark.skip(reason=block.not_run)] if block.not_run else [])
        for block in BLOCKS
    ],
)
def test_the_block_runs_as_written(block: DocBlock, sandbox: tuple[Path, dict[str, str]]) -> None:
    project, env = sandbox
    script = project.parent / "block.py"
    script.write_text(block.code, encoding="utf-8")
    with FakeAnthropicServer([Reply("OK.") for _ in range(50)]) as server:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=project,
            env={**env, "ANTHROPIC_BASE_URL": server.url},
            capture_output=True,
            text=True,
            timeout=GUARD_SECONDS,
        )
    assert done.returncode == 0, f"{block.name} failed:\n{block.code}\n{done.stderr}"
