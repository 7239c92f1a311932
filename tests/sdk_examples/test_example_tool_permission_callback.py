"""The SDK's `examples/tool_permission_callback.py` on tether: `can_use_tool` allows, redirects, logs."""

from __future__ import annotations

import sys
from typing import Any

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import Examples, result_text, tool_results

PROMPT = "List the files in the current directory"
RUN_IT = f"{sys.executable} safe_output/hello.py"


def report_output(body: dict[str, Any]) -> str:
    (block,) = tool_results(body)
    return f"The script printed: {result_text(block).strip()}"


def test_tool_permission_callback(examples: Examples) -> None:
    (examples.workdir / "notes.md").write_text("notes\n")
    run = examples.run(
        "tool_permission_callback.py",
        script={
            PROMPT: [
                Reply([ToolUse("Glob", {"pattern": "*"})]),
                Reply([ToolUse("Write", {"file_path": "hello.py", "content": "print('Hello, World!')\n"})]),
                Reply([ToolUse("Bash", {"command": RUN_IT})]),
                report_output,
            ]
        },
    ).check()
    out = run.stdout

    # Glob reads only: allowed without asking (the callback is for what the rules leave open)
    requests = run.requests_for(PROMPT)
    assert "notes.md" in result_text(tool_results(requests[1])[0])
    assert "Tool Permission Request: Glob" not in out
    # the write is redirected by the callback's updated_input
    assert "🔧 Tool Permission Request: Write\n" in out
    assert "⚠️  Redirecting write from hello.py to ./safe_output/hello.py\n" in out
    assert (run.cwd / "safe_output" / "hello.py").read_text() == "print('Hello, World!')\n"
    assert not (run.cwd / "hello.py").exists()
    assert f"✅ Allowing bash command: {RUN_IT}\n" in out
    assert "💬 Claude: The script printed: Hello, World!\n" in out
    assert "✅ Task completed!\n   Duration: " in out and "   Cost: $0.0" in out
    summary = out[out.index("Tool Usage Summary") :]
    assert "1. Tool: Write" in summary and "2. Tool: Bash" in summary and "3. Tool" not in summary
