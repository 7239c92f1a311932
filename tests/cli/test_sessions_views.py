"""What `tether sessions list` and `show` print about tags, forks, working directories and thinking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.cli.clirun import Tether

from tether.messages import ThinkingBlock


def start(tether: Tether, project: Path, prompt: str, reply: object, *more: str) -> str:
    run = tether("-p", prompt, "--output-format", "json", "--cwd", str(project), *more, replies=[reply])
    assert run.code == 0, run.err
    return str(run.json()["session_id"])


def test_the_list_shows_tags_forks_and_on_wide_terminals_the_directory(
    tether: Tether, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = start(tether, project, "Plan the launch", "Friday.")
    fork = start(tether, project, "Or Monday?", "Monday.", "--resume", source, "--fork-session")
    assert tether("sessions", "tag", source, "keep").code == 0
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a terminal, as rich sees one
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")

    narrow = re.sub(r"\x1b\[[0-9;]*m", "", tether("sessions", "list").out)  # styles aside
    assert "Tag" in narrow and "keep" in narrow
    assert "⑂" in narrow.split(fork[:8])[1].splitlines()[0]  # the fork's row is marked
    assert "⑂" not in narrow.split(source[:8])[1].splitlines()[0]
    assert "Cwd" not in narrow and fork not in narrow  # ids as unique prefixes
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert "Plan the launch" in narrow and "…" not in narrow  # at 80 columns the titles fit

    assert fork in tether("sessions", "list", "--full-ids").out

    monkeypatch.setenv("COLUMNS", "200")
    wide = tether("sessions", "list").out
    assert "Cwd" in wide and str(project.resolve()) in wide


def test_the_list_off_a_terminal_is_one_tab_separated_line_per_session(tether: Tether, project: Path) -> None:
    source = start(tether, project, "Plan the launch of the new product line for the autumn season", "Friday.")
    assert tether("sessions", "tag", source, "keep").code == 0
    listed = tether("sessions", "list")  # the test runner's stdout is no terminal, like a pipe
    assert listed.code == 0, listed.err
    [line] = listed.out.splitlines()
    session_id, modified, count, title, tag, cwd = line.split("\t")
    assert session_id == source and count == "2" and tag == "keep" and cwd == str(project.resolve())
    assert title == "Plan the launch of the new product line for the autumn season"  # nothing cut
    assert modified.endswith("Z") and "T" in modified


def test_show_says_where_a_fork_comes_from_and_its_tag(tether: Tether, project: Path) -> None:
    source = start(tether, project, "Plan the launch", "Friday.")
    fork = start(tether, project, "Or Monday?", "Monday.", "--resume", source, "--fork-session")
    assert tether("sessions", "tag", fork, "maybe").code == 0
    shown = tether("sessions", "show", fork)
    assert shown.code == 0, shown.err
    assert f"forked from {source}" in shown.out and "tag maybe" in shown.out
    assert shown.out.index("Plan the launch") < shown.out.index("Or Monday?") < shown.out.index("Monday.")


def test_show_folds_thinking_unless_full(tether: Tether, project: Path) -> None:
    thought = "The user wants a date; Friday suits the team best of all the days they listed."
    session_id = start(
        tether, project, "When?", [ThinkingBlock(thought, signature="sig"), {"type": "text", "text": "Friday."}]
    )
    folded = tether("sessions", "show", session_id).out
    assert "(thinking: The user wants a date" in folded and thought not in folded
    assert thought in tether("sessions", "show", session_id, "--full").out
