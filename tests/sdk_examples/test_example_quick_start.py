"""The SDK's `examples/quick_start.py` on tether: three queries, the last one writing a file."""

from __future__ import annotations

import re

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import Examples, system_text


def test_quick_start(examples: Examples) -> None:
    run = examples.run(
        "quick_start.py",
        script={
            "What is 2 + 2?": ["2 + 2 = 4"],
            "Explain what Python is": ["Python is a readable programming language."],
            "Create a file called hello.txt": [
                Reply([ToolUse("Write", {"file_path": "hello.txt", "content": "Hello, World!"})]),
                "I created hello.txt.",
            ],
        },
    ).check()

    assert run.stdout.splitlines()[:3] == ["=== Basic Example ===", "Claude: 2 + 2 = 4", ""]
    assert "=== With Options Example ===\nClaude: Python is a readable programming language.\n" in run.stdout
    assert "=== With Tools Example ===\nClaude: I created hello.txt.\n" in run.stdout
    assert re.search(r"\nCost: \$\d+\.\d{4}\n", run.stdout), run.report()
    assert (run.cwd / "hello.txt").read_text() == "Hello, World!"
    (explain,) = run.requests_for("Explain what Python is")
    assert system_text(explain) == "You are a helpful assistant that explains things simply."
    assert [len(run.requests_for(p)) for p in ("What is 2 + 2?", "Create a file called hello.txt")] == [1, 2]
