"""The SDK's `examples/mcp_calculator.py` on tether: `@tool` tools served by `create_sdk_mcp_server`."""

from __future__ import annotations

from typing import Any

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import Examples, result_text, tool_results

CALC_TOOLS = ["add", "subtract", "multiply", "divide", "sqrt", "power"]


def call(name: str, **arguments: float) -> Reply:
    return Reply([ToolUse(f"mcp__calc__{name}", arguments)])


def echo_result(body: dict[str, Any]) -> str:
    (block,) = tool_results(body)
    return f"The result: {result_text(block)}"


def list_tools(body: dict[str, Any]) -> str:
    return "My tools: " + ", ".join(tool["name"] for tool in body["tools"] if tool["name"].startswith("mcp__"))


def test_mcp_calculator(examples: Examples) -> None:
    run = examples.run(
        "mcp_calculator.py",
        script={
            "List your tools": [list_tools],
            "Calculate 15 + 27": [call("add", a=15, b=27), echo_result],
            "What is 100 divided by 7?": [call("divide", a=100, b=7), echo_result],
            "Calculate the square root of 144": [call("sqrt", n=144), echo_result],
            "What is 2 raised to the power of 8?": [call("power", base=2, exponent=8), echo_result],
            "Calculate (12 + 8) * 3 - 10": [
                call("add", a=12, b=8),
                call("multiply", a=20, b=3),
                call("subtract", a=60, b=10),
                echo_result,
            ],
        },
    ).check()
    out = run.stdout

    assert "Claude: My tools: " + ", ".join(f"mcp__calc__{name}" for name in CALC_TOOLS) + "\n" in out
    assert "Using tool: mcp__calc__add\n  Input: {'a': 15, 'b': 27}\n" in out
    for shown in ["15 + 27 = 42", "100 ÷ 7 = 14.285714285714286", "√144 = 12.0", "2^8 = 256", "60 - 10 = 50"]:
        assert f"Tool Result: [{{'type': 'text', 'text': '{shown}'}}]...\n" in out, run.report()
        assert f"Claude: The result: {shown}\n" in out, run.report()
    assert "Using tool: mcp__calc__multiply\n  Input: {'a': 20, 'b': 3}\n" in out
    assert out.count("Result ended\n") == 6 and out.count("Cost: $") == 6

    (listing,) = run.requests_for("List your tools")
    schemas = {tool["name"]: tool["input_schema"] for tool in listing["tools"]}
    assert schemas["mcp__calc__power"] == {
        "type": "object",
        "properties": {"base": {"type": "number"}, "exponent": {"type": "number"}},
        "required": ["base", "exponent"],
    }
