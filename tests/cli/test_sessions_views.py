"""What `tether sessions list` and `show` print about tags, forks, working directories and thinking."""

from __future__ import annotations

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

    narrow = tether("sessions", "list").out
    assert "Tag" in narrow and "keep" in narrow
    assert "⑂" in narrow.split(fork)[1].splitlines()[0]  # the fork's row is marked
    assert "⑂" not in narrow.split(source)[1].splitlines()[0]
    assert "Cwd" not in narrow

    monkeypatch.setenv("COLUMNS", "200")
    wide = tether("sessions", "list").out
    assert "Cwd" in wide and str(project.resolve()) in wide


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
