"""The command line: `/compact` in the chat, and `tether sessions show` marking boundaries (`--expand`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from tests.cli.clirun import Tether
from tests.cli.conftest import cli_store, tether
from tests.cli.test_chat_terminal import Terminal

from tether.sessions.helpers import get_session_messages

__all__ = ["cli_store", "tether"]

SUMMARY = "<summary>The user asked about apples and pears.</summary>"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_compact_in_the_chat(project: Path) -> None:
    script = f"Apples are red.|Pears are green.|{SUMMARY}|Plums are purple."
    term = Terminal(script, "--cwd", str(project), cwd=project)
    try:
        term.expect("tether chat")
        term.expect("> ")
        term.send("/help")
        assert "/compact" in term.expect("> ")
        term.send("What colour are apples?")
        term.expect("Apples are red.")
        term.expect("> ")
        term.send("And pears?")
        term.expect("Pears are green.")
        term.expect("> ")
        term.send("/compact keep the fruit")
        shown = term.expect("> ")
        assert "Conversation compacted (manual)" in shown and "Error" not in shown
        term.send("And plums?")
        term.expect("Plums are purple.")
        term.expect("> ")
        term.send("/id")
        session_id = term.expect("> ").strip().splitlines()[-1].strip()
        term.send("/exit")
        assert term.finish() == 0
    finally:
        if term.process.poll() is None:
            term.process.kill()
    active = get_session_messages(session_id)
    assert "apples and pears" in str(active[0].message["content"])
    full = get_session_messages(session_id, full_history=True)
    assert [m.message["content"] for m in full if m.type == "user"] == [
        "What colour are apples?",
        "And pears?",
        "And plums?",
    ]


def start(tether: Tether, store: Any, project: Path, *prompts_and_replies: tuple[str, str]) -> str:
    session_id = ""
    for prompt, reply in prompts_and_replies:
        more = ("--resume", session_id) if session_id else ()
        args = ("-p", prompt, "--output-format", "json", "--cwd", str(project), *more)
        run = tether(*args, replies=[reply], store=store)
        assert run.code == 0, run.err
        session_id = str(run.json()["session_id"])
    return session_id


def test_sessions_show_marks_boundaries_and_expands_them(tether: Tether, cli_store: Any, project: Path) -> None:
    session_id = start(
        tether,
        cli_store,
        project,
        ("Tell me about apples.", "Apples are red."),
        ("And pears?", "Pears are green."),
        ("/compact", SUMMARY),
        ("And plums?", "Plums are purple."),
    )
    shown = tether("sessions", "show", session_id, store=cli_store)
    assert shown.code == 0, shown.err
    out = shown.out.split("messages 9", 1)[1]  # the transcript, after the header (titled by the first prompt)
    assert "── compacted (manual)" in out and "--expand shows it" in out
    assert "Tell me about apples." not in out  # replaced by the summary...
    assert out.index("── compacted") < out.index("The user asked about apples and pears.") < out.index("And plums?")

    expanded = tether("sessions", "show", session_id, "--expand", store=cli_store).out.split("messages 9", 1)[1]
    assert "Tell me about apples." in expanded and "The user asked about apples" not in expanded
    marks = ("Tell me about apples.", "Pears are green.", "── compacted", "And plums?")
    order = [expanded.index(text) for text in marks]
    assert order == sorted(order)
    as_json = tether("sessions", "show", session_id, "--expand", "--json", store=cli_store).json()
    assert [m["message"]["content"] for m in as_json if m["type"] == "user"] == [
        "Tell me about apples.",
        "And pears?",
        "And plums?",
    ]
    page = tether("sessions", "show", session_id, "--expand", "--offset", "3", "-n", "2", store=cli_store).out
    assert "Pears are green." in page and "── compacted" in page and "Plums are purple." not in page
