"""The interactive chat in-process: lines typed on stdin, what it prints, and what the store then holds.

`tests/cli/test_chat_terminal.py` drives the chat on a real pseudo-terminal (spinner, Ctrl-C,
Ctrl-D); here each test types a whole conversation at once through typer's CliRunner, with a
scripted model, and checks the answers, the slash commands and the sessions they leave.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.clirun import Run, Tether

from tether.errors import ModelError
from tether.sessions.helpers import get_session_info, get_session_messages, list_sessions
from tether.sessions.stores.memory import MemoryStore
from tether.testing import tool_use_reply


def chat(tether: Tether, project: Path, lines: list[str], replies: list[object], *args: str) -> Run:
    """Run the chat in `project`, typing `lines` (then end of input)."""
    return tether("--cwd", str(project), *args, replies=replies, input="".join(f"{line}\n" for line in lines))


def texts(session_id: str, role: str) -> list[str]:
    """The texts of one role in a session of the default store."""
    found = []
    for message in get_session_messages(session_id):
        content = message.message["content"]
        if message.type == role:
            found.append(content if isinstance(content, str) else " ".join(b.get("text", "") for b in content))
    return found


def session_id_in(output: str) -> str:
    """The session id `/id` printed (the last line that is one)."""
    ids: list[str] = re.findall(r"^> ([0-9a-f]{8}-[0-9a-f-]{27})$", output, re.M)
    assert ids, output
    return ids[-1]


def test_each_line_is_a_turn_of_one_session(tether: Tether, project: Path) -> None:
    run = chat(tether, project, ["Hello", "", "How are you?", "/id", "/exit"], ["Hi, human!", "Fine."])
    assert run.code == 0, run.err
    assert "tether chat" in run.out and "Hi, human!" in run.out and "Fine." in run.out
    session_id = session_id_in(run.out)
    assert texts(session_id, "user") == ["Hello", "How are you?"]  # the empty line was no turn
    assert texts(session_id, "assistant") == ["Hi, human!", "Fine."]
    assert len(run.model.requests) == 2


def test_commands_that_need_a_session_say_so_before_the_first_prompt(tether: Tether, project: Path) -> None:
    run = chat(tether, project, ["/id", "/fork", "/resume", "/sessions", "/bogus", "/help"], [])
    assert run.code == 0, run.err
    assert "no session yet: say something first" in run.out
    assert "Nothing to fork yet" in run.out
    assert "Usage: /resume ID" in run.out
    assert "No sessions in this project yet." in run.out
    assert "Unknown command /bogus" in run.out
    assert "/compact [NOTES]" in run.out and "/exit" in run.out
    assert run.model.requests == [] and list_sessions(str(project)) == []


def test_fork_continues_in_a_branch_and_resume_goes_back(tether: Tether, project: Path) -> None:
    lines = ["Remember 7", "/id", "/fork side quest", "Now 8", "/id", "/sessions", "/resume SOURCE", "Back?", "/quit"]
    first = chat(tether, project, lines[:2], ["Noted 7."])
    source = session_id_in(first.out)
    lines[6] = f"/resume {source[:8]}"
    run = chat(tether, project, lines[2:], ["Noted 8.", "Back."], "--resume", source)
    assert run.code == 0, run.err
    assert f"Resumed session {source}" in run.out
    forked = re.search(r"Forked (\S+) → (\S+);", run.out)
    assert forked is not None and forked.group(1) == source
    branch = forked.group(2)
    assert session_id_in(run.out) == branch  # /id in the branch
    assert texts(branch, "user") == ["Remember 7", "Now 8"]
    assert texts(source, "user") == ["Remember 7", "Back?"]  # the branch left the source as it was
    info = get_session_info(branch)
    assert info is not None and info.custom_title == "side quest"
    assert "side quest" in run.out  # /sessions lists the branch by its title


def test_tool_calls_and_their_results_are_shown_folded(tether: Tether, project: Path) -> None:
    (project / "notes.txt").write_text("the launch is on Friday\n")
    replies = [tool_use_reply("Read", {"file_path": str(project / "notes.txt")}), "On Friday."]
    run = chat(tether, project, ["When is the launch?"], replies, "--allowed-tools", "Read")
    assert run.code == 0, run.err
    assert "⚙ Read(file_path=" in run.out
    assert "↳" in run.out and "the launch is on Friday" in run.out
    assert "On Friday." in run.out


def test_a_failed_answer_prints_one_error_and_the_chat_goes_on(tether: Tether, project: Path) -> None:
    failure = ModelError("the provider is down", status_code=503)
    run = chat(tether, project, ["First?", "Second?", "/id"], [failure, "Back up."])
    assert run.code == 0, run.err
    assert "Error:" in run.out and "the provider is down" in run.out
    assert "Back up." in run.out
    assert texts(session_id_in(run.out), "user") == ["First?", "Second?"]  # the session stayed usable


def test_continue_resumes_the_newest_session_of_the_directory(tether: Tether, project: Path) -> None:
    fresh = chat(tether, project, ["One", "/id"], ["Uno."], "--continue")
    assert "No session to continue in this directory: starting a new one." in fresh.out
    session_id = session_id_in(fresh.out)
    again = chat(tether, project, ["Two", "/id"], ["Dos."], "--continue")
    assert f"Resumed session {session_id}" in again.out
    assert session_id_in(again.out) == session_id
    assert texts(session_id, "user") == ["One", "Two"]
    forked = chat(tether, project, ["Three", "/id"], ["Tres."], "--continue", "--fork-session")
    assert "Forked into session" in forked.out and f"(forked from {session_id})" in forked.out
    assert session_id_in(forked.out) != session_id
    assert texts(session_id, "user") == ["One", "Two"]


def test_compact_summarises_the_conversation_so_far(tether: Tether, project: Path) -> None:
    summary = "<summary>The user asked about apples.</summary>"
    run = chat(tether, project, ["Apples?", "/compact keep the fruit", "/id"], ["Red.", summary])
    assert run.code == 0, run.err
    assert "Conversation compacted (manual)" in run.out and "Error" not in run.out
    assert "apples" in str(get_session_messages(session_id_in(run.out))[0].message["content"])


def test_an_unknown_session_or_store_fails_with_one_line(tether: Tether, project: Path) -> None:
    missing = chat(tether, project, ["Hi"], [], "--resume", "00000000-0000-4000-8000-000000000000")
    assert missing.code == 1 and "Error: no session" in missing.err and missing.model.requests == []
    bad_store = chat(tether, project, ["Hi"], [], "--store", "nosuch://x")
    assert bad_store.code == 1 and "Error:" in bad_store.err


def test_a_store_object_handed_to_the_app_is_the_one_used(tether: Tether, project: Path) -> None:
    store = MemoryStore()
    run = tether("--cwd", str(project), replies=["Stored."], store=store, input="Keep this\n/id\n")
    assert run.code == 0, run.err
    session_id = session_id_in(run.out)
    assert get_session_info(session_id) is None  # not in the default store
    assert get_session_info(session_id, store=store) is not None


def test_the_banner_names_the_model_and_leaving_says_how_to_go_on(tether: Tether, project: Path) -> None:
    run = chat(tether, project, ["Hello", "/id"], ["Hi, human!"])
    assert run.code == 0, run.err
    banner = run.out.splitlines()[0]
    assert "tether chat · model scripted-model · session new" in banner
    session_id = session_id_in(run.out)
    assert run.out.rstrip().endswith(f"Session {session_id} · go on with: tether --resume {session_id}")

    resumed = chat(tether, project, ["/exit"], [], "--continue")
    assert f"session {session_id}" in resumed.out.splitlines()[0] or f"session {session_id}" in resumed.out


def test_a_model_that_cannot_be_used_fails_at_start_not_at_each_prompt(project: Path) -> None:
    from typer.testing import CliRunner

    from tether.cli import app

    result = CliRunner().invoke(app, ["--cwd", str(project), "--model", "claude-sonnet-4-5"], input="Hello\n")
    assert result.exit_code == 1 and result.stdout == ""  # no prompt was offered
    assert result.stderr.startswith("Error: ") and "ANTHROPIC_API_KEY" in result.stderr
    assert list_sessions(str(project)) == []
