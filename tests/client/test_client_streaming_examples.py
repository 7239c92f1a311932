"""The SDK's client examples run on tether with only the import lines changed.

`streaming_mode.py` (each of its ten examples), `streaming_mode_trio.py` and the snippets of
`streaming_mode_ipython.py` (run cell by cell as IPython runs them, by `ipython_cells.py`) are
taken from the SDK's sdist at test time and run by the harness of `tests/sdk_examples/`, each in a
process of its own, all at once (they mostly wait: the examples sleep between steps). Every
question an example asks is answered by the fake Anthropic API, and each test checks that the
example printed that answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import Reply, ToolUse
from tests.sdk_examples.conftest import sdk_examples_source  # noqa: F401 - the shared fixture
from tests.sdk_examples.harness import ExampleRun, Examples, Step, system_text

DRIVER = Path(__file__).with_name("ipython_cells.py")


@dataclass
class Held:
    """A model that takes its time: the request is answered only once `release` is set (the run
    has ended), so an example that interrupts or times out meets a model still thinking."""

    text: str
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.release.wait(timeout=120)
        return Reply(self.text)


class CellExamples(Examples):
    """The harness, running a ported snippet file through `ipython_cells.py`."""

    def ported(self, name: str) -> Path:
        snippets = super().ported(name)
        launcher = snippets.with_name(f"run_{snippets.name}")
        launcher.write_text(
            f"import runpy, sys\nsys.argv = [{str(DRIVER)!r}, {str(snippets)!r}]\n"
            f"runpy.run_path({str(DRIVER)!r}, run_name='__main__')\n",
            encoding="utf-8",
        )
        return launcher


@dataclass
class Spec:
    example: str
    args: tuple[str, ...]
    script: Mapping[str, Sequence[Step]]
    cells: bool = False


BASH_ECHO = Reply([ToolUse("Bash", {"command": "echo 'Hello from bash!'"})])
WRITE_HELLO = Reply([ToolUse("Write", {"file_path": "hello.txt", "content": "Hello there!"})])


def specs() -> dict[str, Spec]:
    """Each run, longest first (they run side by side)."""
    mode = "streaming_mode.py"
    return {
        "async_iterable_prompt": Spec(
            mode,
            ("async_iterable_prompt",),
            {
                "Hello! I have multiple questions.": ["Hello! Ask away."],
                "capital of Japan": ["The capital of Japan is Tokyo."],
                "15% of 200": ["15% of 200 is 30."],
            },
        ),
        "concurrent_responses": Spec(
            mode,
            ("concurrent_responses",),
            {"What is 2 + 2?": ["4"], "square root of 144": ["12"], "10% of 80": ["8"]},
        ),
        "ipython": Spec(
            "streaming_mode_ipython.py",
            (),
            {
                "What is 2+2?": ["2+2 is 4."],
                "Tell me a short joke": ["A short joke: I told my computer a joke; it did not get it."],
                "Now tell me a fun fact": ["Fun fact: octopuses have three hearts."],
                "What's 2+2?": ["Four."],
                "What's 10*10?": ["One hundred."],
                # The prompt after an interrupt follows the cut one in the same user message
                # (nothing was said in between), so it is looked for first.
                "Just say 'Hello! I was interrupted.'": ["Hello! I was interrupted."],
                "Count from 1 to 100, run bash sleep": [Held("1, 2, 3")],
                "Run a bash sleep command for 60 seconds": ["I will not wait a minute; here is the answer now."],
                "I have two math questions.": ["Sure, ask them."],
                "What is 25 * 4?": ["100"],  # asked, but the snippet reads only the first answer
                "What is 100 / 5?": ["20"],
                "What are the primary colors?": ["Red, yellow and blue."],
            },
            cells=True,
        ),
        "error_handling": Spec(mode, ("error_handling",), {"Run a bash sleep command for 5 seconds": [Held("Slept.")]}),
        "with_interrupt": Spec(
            mode,
            ("with_interrupt",),
            {
                "Never mind, just tell me a quick joke": ["Why do programmers prefer dark mode? Light attracts bugs."],
                "Count from 1 to 100 slowly": [Held("1... 2... 3...")],
            },
        ),
        "control_protocol": Spec(
            mode,
            ("control_protocol",),
            {"Just say 'Hello!'": ["Hello!"], "Count from 1 to 20 slowly": [Held("1... 2...")]},
        ),
        "basic_streaming": Spec(mode, ("basic_streaming",), {"What is 2+2?": ["2 + 2 = 4"]}),
        "multi_turn_conversation": Spec(
            mode,
            ("multi_turn_conversation",),
            {
                "What's the capital of France?": ["The capital of France is Paris."],
                "What's the population of that city?": ["Paris has about 2.1 million inhabitants."],
            },
        ),
        "manual_message_handling": Spec(
            mode,
            ("manual_message_handling",),
            {
                "List 5 programming languages": [
                    "Python: data. JavaScript: web. Go: servers. Rust: systems. Java: apps."
                ]
            },
        ),
        "with_options": Spec(
            mode,
            ("with_options",),
            {"Create a simple hello.txt file": [WRITE_HELLO, "I created hello.txt with a greeting."]},
        ),
        "bash_command": Spec(
            mode,
            ("bash_command",),
            {"Run a bash echo command": [BASH_ECHO, "I was not allowed to run Bash."]},
        ),
        "trio": Spec(
            "streaming_mode_trio.py",
            (),
            {
                "What's 15 + 27?": ["15 + 27 = 42"],
                "Now multiply that result by 2": ["42 * 2 = 84"],
                "Divide that by 7": ["84 / 7 = 12.00"],
            },
        ),
    }


def run_one(source: Path, root: Path, spec: Spec) -> ExampleRun:
    workdir, home = root / "project", root / "home"
    workdir.mkdir()
    home.mkdir()
    examples = (CellExamples if spec.cells else Examples)(source, workdir, home)
    try:
        return examples.run(spec.example, *spec.args, script=spec.script)
    finally:
        for steps in spec.script.values():
            for step in steps:
                if isinstance(step, Held):
                    step.release.set()


@pytest.fixture(scope="module")
def runs(sdk_examples_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # noqa: F811
    """Every run, started side by side; each test looks at its own (an exception if it failed)."""
    pytest.importorskip("trio")
    outcomes: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {
            name: pool.submit(run_one, sdk_examples_source, tmp_path_factory.mktemp(name), spec)
            for name, spec in specs().items()
        }
        for name, future in futures.items():
            try:
                outcomes[name] = future.result()
            except Exception as error:  # reported by the test of that run
                outcomes[name] = error
    yield outcomes


def finished(runs: dict[str, Any], name: str) -> ExampleRun:
    outcome = runs[name]
    if isinstance(outcome, Exception):
        raise outcome
    assert isinstance(outcome, ExampleRun)
    # A request cut while it was being sent (an interrupt, a disconnect) reaches the fake server
    # without its body; the server records it as an empty request, which no script answers.
    outcome.misses[:] = [miss for miss in outcome.misses if miss != "turn 0 of ''"]
    return outcome.check()


def said(run: ExampleRun) -> list[str]:
    return [line.removeprefix("Claude: ") for line in run.stdout.splitlines() if line.startswith("Claude: ")]


def test_basic_streaming(runs: dict[str, Any]) -> None:
    run = finished(runs, "basic_streaming")
    assert "User: What is 2+2?\nClaude: 2 + 2 = 4\nResult ended\n" in run.stdout


def test_multi_turn_conversation_keeps_the_context(runs: dict[str, Any]) -> None:
    run = finished(runs, "multi_turn_conversation")
    assert said(run) == ["The capital of France is Paris.", "Paris has about 2.1 million inhabitants."]
    (follow_up,) = run.requests_for("population of that city")
    assert [m["role"] for m in follow_up["messages"]] == ["user", "assistant", "user"]


def test_concurrent_responses_answers_every_question(runs: dict[str, Any]) -> None:
    """The SDK's client keeps reading: questions sent while a reader runs are all answered."""
    run = finished(runs, "concurrent_responses")
    assert said(run) == ["4", "12", "8"]
    assert run.stdout.count("Result ended") == 3


def test_with_interrupt_cuts_the_count_and_tells_the_joke(runs: dict[str, Any]) -> None:
    run = finished(runs, "with_interrupt")
    assert "[After 2 seconds, sending interrupt...]" in run.stdout
    assert said(run) == ["Why do programmers prefer dark mode? Light attracts bugs."]
    assert run.stdout.count("Result ended") == 2  # the interrupted count, then the joke
    (joke,) = run.requests_for("Never mind")
    assert "[Request interrupted by user]" in str(joke["messages"][-1]["content"])


def test_manual_message_handling_finds_the_languages(runs: dict[str, Any]) -> None:
    run = finished(runs, "manual_message_handling")
    for language in ("Python", "JavaScript", "Java", "Go", "Rust"):
        assert f"Found language: {language}\n" in run.stdout
    assert "Total languages mentioned: 5" in run.stdout


def test_with_options_writes_the_file(runs: dict[str, Any]) -> None:
    run = finished(runs, "with_options")
    assert said(run) == ["I created hello.txt with a greeting."]
    assert "Tools used: Write" in run.stdout
    assert (run.cwd / "hello.txt").read_text() == "Hello there!"
    assert [system_text(body) for body in run.requests_for("hello.txt")] == ["You are a helpful coding assistant."] * 2


def test_async_iterable_prompt_answers_each_message(runs: dict[str, Any]) -> None:
    run = finished(runs, "async_iterable_prompt")
    assert said(run) == ["Hello! Ask away.", "The capital of Japan is Tokyo.", "15% of 200 is 30."]
    assert run.stdout.count("Result ended") == 3  # then it waits for more until its 30 s timeout


def test_bash_command_shows_the_tool_use_and_its_result(runs: dict[str, Any]) -> None:
    run = finished(runs, "bash_command")
    assert "Tool Use: Bash (id: " in run.stdout
    assert "  Command: echo 'Hello from bash!'\n" in run.stdout
    assert "Tool Result (id: " in run.stdout  # refused: no rule allows Bash in the default mode
    assert said(run) == ["I was not allowed to run Bash."]
    types = run.stdout.split("Message types received: ")[1].splitlines()[0]
    assert set(types.split(", ")) == {"SystemMessage", "AssistantMessage", "UserMessage", "ResultMessage"}


def test_control_protocol_gets_server_info_and_interrupts(runs: dict[str, Any]) -> None:
    run = finished(runs, "control_protocol")
    assert "✓ Server info retrieved successfully!" in run.stdout
    assert "  - Output style: default" in run.stdout
    assert "✓ Interrupt sent successfully" in run.stdout
    assert said(run) == ["Hello!"]


def test_error_handling_times_out_gracefully(runs: dict[str, Any]) -> None:
    """The model is still thinking after the example's 3 s timeout: the reader stops, the client
    disconnects (cutting the run), and the example ends normally."""
    run = finished(runs, "error_handling")
    assert "Response timeout after 3 seconds - demonstrating graceful handling" in run.stdout
    assert "Received 1 messages before timeout" in run.stdout  # the init message
    assert "Connection error" not in run.stdout and "Unexpected error" not in run.stdout


def test_trio_multi_turn_conversation(runs: dict[str, Any]) -> None:
    run = finished(runs, "trio")
    assert said(run) == ["15 + 27 = 42", "42 * 2 = 84", "84 / 7 = 12.00"]
    assert "Conversation complete!" in run.stdout
    (last,) = run.requests_for("Divide that by 7")
    assert len(last["messages"]) == 5


def cell_outputs(run: ExampleRun) -> dict[str, str]:
    parts = run.stdout.split("### cell: ")[1:]
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in parts}


def test_ipython_snippets(runs: dict[str, Any]) -> None:
    run = finished(runs, "ipython")
    cells = cell_outputs(run)
    assert list(cells) == [
        "BASIC STREAMING",
        "STREAMING WITH REAL-TIME DISPLAY",
        "PERSISTENT CLIENT FOR MULTIPLE QUESTIONS",
        "WITH INTERRUPT CAPABILITY",
        "ERROR HANDLING PATTERN",
        "SENDING ASYNC ITERABLE OF MESSAGES",
        "COLLECTING ALL MESSAGES INTO A LIST",
    ]
    assert "Claude: 2+2 is 4." in cells["BASIC STREAMING"]
    display = cells["STREAMING WITH REAL-TIME DISPLAY"]
    assert "Claude: A short joke" in display and "Claude: Fun fact: octopuses have three hearts." in display
    assert "Claude: Four.\n" in cells["PERSISTENT CLIENT FOR MULTIPLE QUESTIONS"]
    assert "Claude: One hundred.\n" in cells["PERSISTENT CLIENT FOR MULTIPLE QUESTIONS"]
    interrupt = cells["WITH INTERRUPT CAPABILITY"]
    assert "--- Sending interrupt ---" in interrupt and "Claude: Hello! I was interrupted." in interrupt
    assert "Claude: I will not wait a minute" in cells["ERROR HANDLING PATTERN"]
    assert "Request timed out" not in cells["ERROR HANDLING PATTERN"]
    # The snippet reads one response, the answer to its first message, then disconnects.
    assert "Claude: Sure, ask them." in cells["SENDING ASYNC ITERABLE OF MESSAGES"]
    collected = cells["COLLECTING ALL MESSAGES INTO A LIST"]
    assert "Claude: Red, yellow and blue." in collected and "Total messages: 3" in collected
