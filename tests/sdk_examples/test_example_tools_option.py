"""The SDK's `examples/tools_option.py` on tether: `tools=` as a list, empty, and the preset."""

from __future__ import annotations

import ast
from typing import Any

from tests.sdk_examples.harness import Examples

PROMPT = "What tools do you have available?"


def list_the_tools(body: dict[str, Any]) -> str:
    names = [tool["name"] for tool in body.get("tools", [])]
    return f"I have: {', '.join(names)}." if names else "I have no tools."


def test_tools_option(examples: Examples) -> None:
    run = examples.run("tools_option.py", script={PROMPT: [list_the_tools]}).check()
    out = run.stdout

    assert "Tools from system message: ['Read', 'Glob', 'Grep']\n" in out
    assert "Claude: I have: Read, Glob, Grep.\n" in out
    empty = out.index("=== Tools Empty Array Example ===")
    assert "Tools from system message: []\n" in out[empty:]
    assert "Claude: I have no tools.\n" in out[empty:]

    preset = out[out.index("=== Tools Preset Example ===") :]
    header = preset.split("Tools from system message (", 1)[1].split("\n", 1)[0]
    count, first_five = header.split(" tools): ")
    assert first_five.endswith("...")
    preset_tools = ast.literal_eval(first_five.removesuffix("..."))
    assert {"Read", "Write", "Edit", "Bash"} & set(preset_tools) and int(count) >= 6

    requests = run.requests_for(PROMPT)
    assert [[t["name"] for t in body.get("tools", [])] for body in requests[:2]] == [["Read", "Glob", "Grep"], []]
    assert len(requests[2]["tools"]) == int(count)
    assert out.count("\nCost: $") == 3
