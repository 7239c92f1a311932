"""The SDK's `examples/hooks.py` on tether, one run per example it offers (`hooks.py <name>`)."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import ExampleRun, Examples, result_text, tool_results

NAMES = ["PreToolUse", "UserPromptSubmit", "PostToolUse", "DecisionFields", "ContinueControl"]


def bash(command: str) -> Reply:
    return Reply([ToolUse("Bash", {"command": command})])


def write(path: str) -> Reply:
    return Reply([ToolUse("Write", {"file_path": path, "content": "test data"})])


def report_result(body: dict[str, Any]) -> str:
    """The model says what the tool gave back, so stdout shows it."""
    (block,) = tool_results(body)
    outcome = "failed" if block.get("is_error") else "succeeded"
    return f"The tool {outcome}: {result_text(block)}"


def the_result(run: ExampleRun, prompt: str) -> dict[str, Any]:
    """The tool result sent back to the model for `prompt`."""
    (block,) = tool_results(run.requests_for(prompt)[1])
    return block


def test_without_arguments_it_lists_the_examples(examples: Examples) -> None:
    run = examples.run("hooks.py", script={}).check()
    assert "Usage: python hooks.py <example_name>" in run.stdout
    assert all(f"  {name}\n" in run.stdout for name in NAMES)
    assert run.requests == []


def test_pre_tool_use_blocks_one_command_and_allows_another(examples: Examples) -> None:
    blocked, allowed = "./foo.sh --help", "echo 'Hello from hooks example!'"
    run = examples.run(
        "hooks.py",
        "PreToolUse",
        script={blocked: [bash(blocked), report_result], "Hello from hooks": [bash(allowed), report_result]},
    ).check()

    denial = the_result(run, blocked)
    assert denial.get("is_error") and "Command contains invalid pattern: foo.sh" in result_text(denial)
    assert "Blocked command: ./foo.sh --help" in run.stderr
    assert "Claude: The tool failed: " in run.stdout and "Command contains invalid pattern: foo.sh" in run.stdout
    assert the_result(run, "Hello from hooks")["content"] in (
        "Hello from hooks example!",
        "Hello from hooks example!\n",
    )
    assert "Claude: The tool succeeded: Hello from hooks example!" in run.stdout
    assert run.stdout.count("Result ended\n") == 2


def test_user_prompt_submit(examples: Examples) -> None:
    run = examples.run(
        "hooks.py", "UserPromptSubmit", script={"What's my favorite color?": ["Your favorite color is hot pink."]}
    ).check()

    assert "User: What's my favorite color?\nClaude: Your favorite color is hot pink.\nResult ended\n" in run.stdout
    assert len(run.requests) == 1


def test_post_tool_use_reviews_a_failing_command(examples: Examples) -> None:
    command = "ls /nonexistent_directory"
    run = examples.run("hooks.py", "PostToolUse", script={command: [bash(command), report_result]}).check()

    failure = the_result(run, command)
    assert failure.get("is_error") and "No such file or directory" in result_text(failure)
    assert "Claude: The tool failed: " in run.stdout and run.stdout.count("Result ended\n") == 1


def test_decision_fields_deny_one_write_and_allow_another(examples: Examples) -> None:
    run = examples.run(
        "hooks.py",
        "DecisionFields",
        script={
            "important_config.txt": [write("important_config.txt"), report_result],
            "regular_file.txt": [write("regular_file.txt"), report_result],
        },
    ).check()

    denial = the_result(run, "important_config.txt")
    assert denial.get("is_error") and "Security policy blocks writes to important files" in result_text(denial)
    assert "Blocked Write to: important_config.txt" in run.stderr
    assert not (run.cwd / "important_config.txt").exists()
    assert not the_result(run, "regular_file.txt").get("is_error")
    assert (run.cwd / "regular_file.txt").read_text() == "test data"
    named = re.findall(r'model="([^"]+)"', (examples.source / "hooks.py").read_text(encoding="utf-8"))
    assert named and {body["model"] for body in run.requests} == set(named)  # the model the example names
    assert run.stdout.count("Claude: The tool ") == 2 and run.stdout.count("Result ended\n") == 2


def test_continue_control_stops_after_a_critical_error(examples: Examples) -> None:
    command = "echo 'CRITICAL ERROR: system failure'"
    run = examples.run("hooks.py", "ContinueControl", script={"CRITICAL ERROR": [bash(command), report_result]}).check()

    assert "Critical error detected - stopping execution" in run.stderr
    assert len(run.requests) == 1  # the hook's continue_=False ends the run before the model is asked again
    assert "User: Run a command that outputs 'CRITICAL ERROR'\nResult ended\n" in run.stdout
