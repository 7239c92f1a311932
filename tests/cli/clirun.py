"""What the CLI tests share: the result of one in-process `tether` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from tether.testing import ScriptedModel


@dataclass
class Run:
    """One `tether` invocation: exit code, stdout, stderr, and the model it talked to."""

    result: Result
    model: ScriptedModel

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def sent(self, request: int = 0) -> list[tuple[str, str]]:
        """(role, text) of every text block the model was sent in one request."""
        return [
            (message["role"], block["text"])
            for message in self.model.requests[request].messages
            for block in message["content"]
            if block.get("type") == "text"
        ]


Tether = Callable[..., Run]
"""The `tether` fixture: `tether(*args, replies=[...], store=None, input=None) -> Run`."""


TETHER_COMMAND = Path(sys.executable).with_name("tether")
"""The `tether` command installed beside this Python (the package's console script)."""


def run_tether_command(*args: str, cwd: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `tether` command as a user runs it, its output piped, at 80 columns (skipped
    when the package is not installed with its command)."""
    if not TETHER_COMMAND.exists():
        pytest.skip(f"no installed tether command at {TETHER_COMMAND}")
    environ = {**os.environ, "COLUMNS": "80", **env}
    return subprocess.run(
        [str(TETHER_COMMAND), *args], cwd=cwd, env=environ, input=stdin, capture_output=True, text=True, timeout=120
    )
