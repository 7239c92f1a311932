"""`tether -p`: answers, output formats, resume, continue, fork, resume-at, and one-line errors."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from tests.cli.clirun import Tether

from tether._vocabulary.store import SessionStore
from tether.sessions.helpers import get_session_info, get_session_messages, list_sessions
from tether.testing import tool_use_reply


def test_print_mode_prints_the_answer(tether: Tether, project: Path) -> None:
    run = tether("-p", "Say hi", "--cwd", str(project), replies=["Hi there!"])
    assert run.code == 0, run.err
    assert run.out == "Hi there!\n"
    assert run.sent() == [("user", "Say hi")]


def test_json_output_is_the_result_with_the_session_id(tether: Tether, project: Path) -> None:
    run = tether("-p", "hello", "--output-format", "json", "--cwd", str(project), replies=["world"])
    assert run.code == 0
    result = run.json()
    assert result["type"] == "result" and result["subtype"] == "success" and result["is_error"] is False
    assert result["result"] == "world"
    info = get_session_info(result["session_id"])  # in the default store, under TETHER_HOME
    assert info is not None and info.first_prompt == "hello" and info.cwd == str(project.resolve())


def test_stream_json_is_one_line_per_message(tether: Tether, project: Path) -> None:
    replies = [tool_use_reply("Nope", {"x": 1}), "done"]
    run = tether("-p", "go", "--output-format", "stream-json", "--cwd", str(project), replies=replies)
    lines = run.lines()
    assert lines[0]["type"] == "system" and lines[0]["subtype"] == "init"
    session_id = lines[0]["session_id"]
    assert lines[-1]["type"] == "result" and lines[-1]["session_id"] == session_id
    assert [line["type"] for line in lines] == ["system", "assistant", "user", "assistant", "result"]
    call, answer = lines[1], lines[2]
    assert call["message"]["content"][0]["type"] == "tool_use" and call["session_id"] == session_id
    assert answer["message"]["content"][0]["type"] == "tool_result" and answer["session_id"] == session_id
    assert lines[3]["message"]["content"] == [{"type": "text", "text": "done"}]
    assert all(line["type"] != "stream_event" for line in lines)
    partial = tether(
        "-p", "go", "--output-format", "stream-json", "--include-partial-messages", "--cwd", str(project),
        replies=["streamed"],
    )  # fmt: skip
    events = [line["event"]["type"] for line in partial.lines() if line["type"] == "stream_event"]
    assert events[0] == "message_start" and "content_block_delta" in events and events[-1] == "message_stop"


def test_resume_continue_and_fork(tether: Tether, cli_store: SessionStore, project: Path) -> None:
    store = cli_store
    first = tether(
        "-p", "My name is Ada", "--output-format", "json", "--cwd", str(project), replies=["Hi Ada"], store=store
    )
    session_id = first.json()["session_id"]

    resumed = tether("-p", "Who am I?", "--resume", session_id, "--cwd", str(project), replies=["Ada"], store=store)
    assert resumed.out == "Ada\n"
    assert resumed.sent() == [("user", "My name is Ada"), ("assistant", "Hi Ada"), ("user", "Who am I?")]

    continued = tether("-p", "Still there?", "-c", "--cwd", str(project), replies=["Yes"], store=store)
    assert continued.sent()[-3:] == [("user", "Who am I?"), ("assistant", "Ada"), ("user", "Still there?")]

    forked = tether(
        "-p", "Call me Grace", "--resume", session_id, "--fork-session", "--session-id", "grace-branch",
        "--output-format", "json", "--cwd", str(project), replies=["Hi Grace"], store=store,
    )  # fmt: skip
    assert forked.json()["session_id"] == "grace-branch"
    assert forked.sent()[-1] == ("user", "Call me Grace") and len(forked.sent()) == 7
    fork_info = get_session_info("grace-branch", store=store)
    assert fork_info is not None and fork_info.forked_from is not None
    assert fork_info.forked_from["sessionId"] == session_id
    # The source did not move.
    assert [m.type for m in get_session_messages(session_id, store=store)] == ["user", "assistant"] * 3

    first_answer = get_session_messages(session_id, store=store)[1].uuid
    rewound = tether(
        "-p", "Forget that", "--resume", session_id, "--resume-at", first_answer, "--cwd", str(project),
        replies=["Forgotten"], store=store,
    )  # fmt: skip
    assert rewound.sent() == [("user", "My name is Ada"), ("assistant", "Hi Ada"), ("user", "Forget that")]
    assert {i.session_id for i in list_sessions(store=store)} == {session_id, "grace-branch"}


def test_resume_works_across_invocations_on_the_default_store(tether: Tether, project: Path) -> None:
    session_id = tether("-p", "x=1", "--output-format", "json", "--cwd", str(project), replies=["ok"]).json()[
        "session_id"
    ]
    again = tether("-p", "x?", "--resume", session_id, "--cwd", str(project), replies=["1"])
    assert again.sent() == [("user", "x=1"), ("assistant", "ok"), ("user", "x?")]


def test_the_prompt_can_come_from_stdin(tether: Tether, project: Path) -> None:
    run = tether("-p", "-", "--cwd", str(project), replies=["read it"], input="a long prompt\nover lines\n")
    assert run.out == "read it\n" and run.sent() == [("user", "a long prompt\nover lines\n")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume", "00000000-0000-4000-8000-000000000000"], "no session with id"),
        (["--resume", "../../etc/passwd"], "invalid session id"),
        (["--session-id", "bad id with spaces"], "invalid session id"),
        (["--resume", "abc", "--continue"], "cannot be used together"),
        (["--fork-session"], "--fork-session needs --resume ID or --continue"),
        (["--cwd", "/no/such/directory"], "is not an existing directory"),
    ],
)
def test_errors_are_one_red_line_and_exit_1(tether: Tether, project: Path, args: list[str], message: str) -> None:
    run = tether("-p", "hi", *args, replies=["unused"])
    assert run.code == 1
    assert run.out == ""
    assert run.err.startswith("Error: ") and message in run.err
    assert len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err
    assert run.model.requests == []


def test_an_unusable_model_is_a_one_line_error(project: Path) -> None:
    from typer.testing import CliRunner

    from tether.cli import app

    result = CliRunner().invoke(app, ["-p", "hi", "--model", "no-such-provider:thing", "--cwd", str(project)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert list_sessions() == []  # nothing was stored


def test_a_failed_run_exits_1_with_the_reason(tether: Tether, project: Path) -> None:
    run = tether("-p", "hi", "--cwd", str(project), replies=[])  # the scripted model has nothing to say
    assert run.code == 1 and run.out == ""
    assert run.err.startswith("Error: ") and "no reply left" in run.err
    as_json = tether("-p", "hi", "--output-format", "json", "--cwd", str(project), replies=[])
    assert as_json.code == 1 and as_json.json()["is_error"] is True


def test_output_format_needs_print_mode(tether: Tether) -> None:
    run = tether("--output-format", "json")
    assert run.code == 1 and "--output-format needs -p" in run.err


def test_text_mode_says_on_stderr_which_session_it_was_and_how_to_go_on(tether: Tether, project: Path) -> None:
    run = tether("-p", "hi", "--cwd", str(project), replies=["Hello."])
    assert run.code == 0 and run.out == "Hello.\n"  # stdout: the answer alone
    [session] = list_sessions(str(project))
    assert f"Session {session.session_id}" in run.err and f"tether --resume {session.session_id} -p" in run.err


def test_continue_with_nothing_to_continue_says_so_and_a_fork_of_nothing_fails(tether: Tether, project: Path) -> None:
    started = tether("-p", "hi", "--continue", "--cwd", str(project), replies=["Hello."])
    assert started.code == 0 and started.out == "Hello.\n"
    assert f"No session to continue in {project}: starting a new one." in " ".join(started.err.split())
    assert len(list_sessions(str(project))) == 1

    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    forked = tether("-p", "hi", "--continue", "--fork-session", "--cwd", str(elsewhere), replies=["unused"])
    assert forked.code == 1 and forked.err.startswith("Error: --fork-session: there is no session to continue")
    assert forked.model.requests == [] and list_sessions(str(elsewhere)) == []


def test_a_busy_session_names_the_flag_that_waits_for_it(tether: Tether, project: Path) -> None:
    from tether.sessions.capabilities import store_access
    from tether.sessions.keys import project_key_for_directory
    from tether.sessions.urls import open_store
    from tether.types import SessionKey

    started = tether("-p", "hi", "--cwd", str(project), replies=["Hello."])
    [session] = list_sessions(str(project))
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session.session_id)
    now = int(time.time() * 1000)
    lease = store_access(open_store(None)).swap_lease  # another machine's turn holds the session
    anyio.run(lambda: lease(key, "another-machine:4242:abcd", now + 60_000, now_ms=now))
    busy = tether("-p", "again", "--resume", session.session_id, "--cwd", str(project), replies=["unused"])
    assert started.code == 0 and busy.code == 1 and busy.model.requests == []
    assert busy.err.startswith("Error: ") and "is busy" in busy.err and "--session-busy-timeout SECONDS" in busy.err
    flags = [line for line in tether("--help").out.splitlines() if "--continue" in line or "--fork-session" in line]
    assert flags and not any("<bool>" in line for line in flags)  # plain flags take no value
