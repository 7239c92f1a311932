"""The SDK's `examples/max_budget_usd.py` on tether: no budget, a roomy one, and one the first call overruns."""

from __future__ import annotations

import re

from tests.fakes import Reply, Text, ToolUse
from tests.sdk_examples.harness import Examples

SUMMARIZE = "Read the README.md file and summarize it"


def test_max_budget_usd(examples: Examples) -> None:
    (examples.workdir / "README.md").write_text("# Demo\n\nA demo project.\n")
    expensive = Reply([Text("Let me read it."), ToolUse("Read", {"file_path": "README.md"})], input_tokens=3000)
    run = examples.run(
        "max_budget_usd.py",
        script={"What is 2 + 2?": ["4"], SUMMARIZE: [expensive, "A demo project."]},
    ).check()
    sections = run.stdout.split("\n\n")

    assert sections[0] == "This example demonstrates using max_budget_usd to control API costs."
    titles = ["=== Without Budget Limit ===", "=== With Reasonable Budget ($0.10) ==="]
    for section, title in zip(sections[1:3], titles, strict=True):
        assert re.fullmatch(rf"{re.escape(title)}\nClaude: 4\nTotal cost: \$0\.\d{{4}}\nStatus: success", section)
    tight = sections[3]
    assert tight.startswith("=== With Tight Budget ($0.0001) ===\nClaude: Let me read it.\n"), run.report()
    assert "Status: error_max_budget_usd\n⚠️  Budget limit exceeded!\n" in tight
    assert re.search(r"Total cost: \$0\.\d{4}\n", tight)
    # the budget is checked after the call that overran it: the model is not asked again
    assert len(run.requests_for(SUMMARIZE)) == 1
