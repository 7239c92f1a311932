"""The SDK's `examples/include_partial_messages.py` on tether: stream events before the whole message."""

from __future__ import annotations

from tests.fakes import Reply, Text, Thinking
from tests.sdk_examples.harness import ExampleRun, Examples

PROMPT = "Think of three jokes, then tell one"
JOKE = "Why did the chicken cross the road? To get to the other side."


def run_example(examples: Examples) -> ExampleRun:
    reply = Reply([Thinking("Three jokes: chicken, atom, skeleton."), Text(JOKE)])
    return examples.run("include_partial_messages.py", script={PROMPT: [reply]}).check()


def test_include_partial_messages(examples: Examples) -> None:
    run = run_example(examples)
    lines = run.stdout.splitlines()
    printed = [line.split("(", 1)[0] for line in lines[5:]]

    assert lines[:5] == ["Partial Message Streaming Example", "=" * 50, f"Prompt: {PROMPT}", "", "=" * 50]
    assert printed[-1] == "ResultMessage" and lines[-1].startswith("ResultMessage(subtype='success'")
    assert printed.index("StreamEvent") < printed.index("AssistantMessage") < printed.index("ResultMessage")
    events = [line for line in lines if line.startswith("StreamEvent(")]
    assert "'type': 'message_start'" in events[0] and "'type': 'message_stop'" in events[-1]
    assert any("'type': 'thinking_delta'" in line for line in events)
    streamed = "".join(line.split("'text': '", 1)[1].split("'", 1)[0] for line in events if "text_delta" in line)
    assert streamed == JOKE.replace("'", "\\'")
    (assistant,) = (line for line in lines if line.startswith("AssistantMessage("))
    assert "ThinkingBlock(thinking='Three jokes: chicken, atom, skeleton.'" in assistant
    assert f"TextBlock(text='{JOKE}')" in assistant


def test_include_partial_messages_asks_for_thinking(examples: Examples) -> None:
    """The example sets `env={"MAX_THINKING_TOKENS": "8000"}`, which turns extended thinking on."""
    run = run_example(examples)
    (request,) = run.requests_for(PROMPT)
    assert request.get("thinking") == {"type": "enabled", "budget_tokens": 8000}, run.report()
