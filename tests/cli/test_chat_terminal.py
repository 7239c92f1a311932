"""The interactive chat, driven through a real pseudo-terminal.

The chat runs in a child process (`python -c WRAPPER`) whose model is a test model set with
`override_model`; the test types into the terminal and reads what the chat prints.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tether.sessions.helpers import get_session_info, get_session_messages, list_sessions

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

WRAPPER = """
import os, sys, anyio
from tether.cli import main
from tether.testing import FunctionModel, ScriptedModel, override_model

def echo(request):
    said = [b["text"] for m in request.messages for b in m["content"] if b.get("type") == "text"]
    return "heard: " + " / ".join(said)

async def gated(request):
    # Answers only once the test creates the gate file: the chat is mid-answer until then.
    while not os.path.exists(os.environ["TETHER_TEST_GATE"]):
        await anyio.sleep(0.02)
    return "through the gate"

script = sys.argv[1]
if script == "ECHO":
    model = FunctionModel(echo)
elif script == "GATED":
    model = FunctionModel(gated)
else:
    model = ScriptedModel(script.split("|"))
sys.argv = ["tether", *sys.argv[2:]]
with override_model(model, session_store="sqlite://"):  # the default file, which the test reads
    main()
"""

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?|[\r\x07]")
GUARD_SECONDS = 60  # only so that a broken chat fails instead of hanging the suite


class Terminal:
    """A child process on a pseudo-terminal: type lines, wait for text."""

    def __init__(self, script: str, *args: str, cwd: Path) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "40"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, script, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.seen = ""
        self.position = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not data:
            return False
        self.seen += ANSI.sub("", data.decode(errors="replace"))
        return True

    def expect(self, text: str) -> str:
        """Wait until `text` is printed (after what was already matched); returns what came before it."""
        deadline = time.monotonic() + GUARD_SECONDS
        while text not in self.seen[self.position :]:
            if not self._read(deadline):
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.seen[self.position :]}")
        found = self.seen.index(text, self.position)
        before = self.seen[self.position : found]
        self.position = found + len(text)
        return before

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        """Read until the child exits; its exit status."""
        deadline = time.monotonic() + GUARD_SECONDS
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(min(deadline, time.monotonic() + 0.2))
        while self._read(time.monotonic() + 0.1):
            pass
        code = self.process.wait(timeout=GUARD_SECONDS)
        os.close(self.master)
        return code


@pytest.fixture
def terminal(project: Path) -> object:
    opened: list[Terminal] = []

    def open_terminal(script: str, *args: str) -> Terminal:
        term = Terminal(script, *args, cwd=project)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()


def test_chat_streams_answers_forks_lists_and_exits(terminal: object, project: Path) -> None:
    term = terminal("Hello, human!|Second answer|Third", "--cwd", str(project))  # type: ignore[operator]
    term.expect("tether chat")
    term.expect("> ")
    term.send("hi there")
    term.expect("Hello, human!")
    term.expect("> ")
    term.send("/fork side quest")
    before = term.expect("; /resume")
    source, fork = re.search(r"Forked (\S+) → (\S+)", before).groups()  # type: ignore[union-attr]
    term.expect("> ")
    term.send("more")
    term.expect("Second answer")
    term.expect("> ")
    term.send("/sessions")
    listing = term.expect("> ")
    assert fork[:8] in listing and source[:8] in listing and "side quest" in listing  # ids as unique prefixes
    term.send("/id")
    assert fork in term.expect("> ")
    term.send("/bogus")
    assert "Unknown command /bogus" in term.expect("> ")
    term.send("/resume 00000000-0000-4000-8000-000000000000")
    assert "Error: no session" in term.expect("> ")
    term.send("/exit")
    assert term.finish() == 0

    assert {info.session_id for info in list_sessions()} == {source, fork}
    fork_info = get_session_info(fork)
    assert fork_info is not None
    assert fork_info.forked_from == {
        "sessionId": source,
        "messageUuid": get_session_messages(source)[-1].uuid,
    }
    assert fork_info.title == "side quest"
    contents = [m.message["content"] for m in get_session_messages(fork)]
    assert contents[0] == "hi there" and contents[2] == "more"
    assert len(get_session_messages(source)) == 2


def test_chat_resumes_a_session_and_leaves_on_ctrl_d(terminal: object, project: Path) -> None:
    first = terminal("ECHO", "-p", "remember the number 7", "--cwd", str(project))  # type: ignore[operator]
    first.expect("heard: remember the number 7")
    assert first.finish() == 0
    session_id = list_sessions()[0].session_id

    term = terminal("ECHO", "--resume", session_id[:8], "--cwd", str(project))  # type: ignore[operator]
    term.expect(f"Resumed session {session_id}")
    term.expect("> ")
    term.send("what number?")
    line = term.expect("> ")
    assert "heard: remember the number 7 / heard: remember the number 7 / what number?" in line
    os.write(term.master, b"\x04")  # Ctrl-D
    assert term.finish() == 0
    assert len(get_session_messages(session_id)) == 4


def test_chat_with_an_unknown_session_fails_with_one_line(terminal: object, project: Path) -> None:
    term = terminal("unused", "--resume", "00000000-0000-4000-8000-000000000000")  # type: ignore[operator]
    term.expect("Error: no session with id")
    assert term.finish() == 1
    assert "Traceback" not in term.seen


def test_ctrl_c_during_an_answer_interrupts_it_and_the_chat_goes_on(
    terminal: object, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("TETHER_TEST_GATE", str(gate))
    term = terminal("GATED", "--cwd", str(project))  # type: ignore[operator]
    term.expect("> ")
    term.send("take your time")
    term.expect("Thinking")  # the spinner: the chat took the line, and the model waits at the gate
    term.process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the chat
    term.expect("Interrupting")
    term.expect("Interrupted.")  # at once: the model is still waiting at the gate
    term.expect("> ")
    gate.touch()
    term.send("/exit")
    assert term.finish() == 0
    session = list_sessions()[0]
    prompt, marker = get_session_messages(session.session_id)
    assert (prompt.type, marker.type) == ("user", "user")
    assert "[Request interrupted by user]" in str(marker.message)


def test_ctrl_c_in_a_durable_chat_says_the_turn_runs_to_its_end(
    terminal: object, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("TETHER_TEST_GATE", str(gate))
    term = terminal("GATED", "--cwd", str(project), "--durable")  # type: ignore[operator]
    term.expect("> ")
    term.send("take your time")
    term.expect("Thinking")
    term.process.send_signal(signal.SIGINT)
    term.expect("runs to its end")
    gate.touch()
    term.expect("through the gate")  # the turn was not cut
    term.expect("> ")
    term.send("/exit")
    assert term.finish() == 0
    prompt, answer = get_session_messages(list_sessions()[0].session_id)
    assert (prompt.type, answer.type) == ("user", "assistant")


def test_continue_with_nothing_to_continue_starts_a_new_session(terminal: object, project: Path) -> None:
    term = terminal("fresh", "--continue", "--cwd", str(project))  # type: ignore[operator]
    term.expect("No session to continue in this directory")
    term.expect("> ")
    term.send("hello")
    term.expect("fresh")
    term.expect("> ")
    term.send("/exit")
    assert term.finish() == 0
    assert [m.type for m in get_session_messages(list_sessions()[0].session_id)] == ["user", "assistant"]
