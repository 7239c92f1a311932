"""The SDK's `examples/system_prompt.py` on tether: no system prompt, a string, the preset, preset + append."""

from __future__ import annotations

from typing import Any

from tests.sdk_examples.harness import Examples, system_text

from tether.agent.prompts import DEFAULT_SYSTEM_PROMPT

APPEND = "Always end your response with a fun fact."


def answer(body: dict[str, Any]) -> str:
    system = system_text(body)
    if "pirate" in system:
        return "Arr, 'tis 4!"
    if system.endswith(APPEND):
        return "4. Fun fact: 4 is the only number whose English name has as many letters."
    return "4"


def test_system_prompt(examples: Examples) -> None:
    run = examples.run("system_prompt.py", script={"What is 2 + 2?": [answer]}).check()

    assert run.stdout.split("\n\n") == [
        "=== No System Prompt (Vanilla Claude) ===\nClaude: 4",
        "=== String System Prompt ===\nClaude: Arr, 'tis 4!",
        "=== Preset System Prompt (Default) ===\nClaude: 4",
        "=== Preset System Prompt with Append ===\n"
        "Claude: 4. Fun fact: 4 is the only number whose English name has as many letters.",
        "",
    ], run.report()
    vanilla, string, preset, appended = (system_text(body) for body in run.requests)
    assert string == "You are a pirate assistant. Respond in pirate speak."
    assert preset and appended.startswith(preset) and appended.endswith(APPEND)
    # With none given, the SDK's CLI sends a minimal one-line prompt; tether sends its own one-liner.
    assert vanilla == DEFAULT_SYSTEM_PROMPT and "\n" not in vanilla
