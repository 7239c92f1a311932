"""What the CLI tests share: the result of one in-process `tether` run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
