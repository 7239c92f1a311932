"""`run_environment`: the process's environment under a run's `env`, kept decoded between runs."""

from __future__ import annotations

import pytest

from tether._vocabulary.environment import run_environment


def test_options_env_wins_over_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_TEST_VAR", "process")

    assert run_environment({"TETHER_TEST_VAR": "options"})["TETHER_TEST_VAR"] == "options"
    assert run_environment()["TETHER_TEST_VAR"] == "process"


def test_a_change_to_the_process_environment_shows_at_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_TEST_VAR", "before")
    assert run_environment()["TETHER_TEST_VAR"] == "before"

    monkeypatch.setenv("TETHER_TEST_VAR", "after")
    monkeypatch.setenv("TETHER_TEST_ADDED", "1")
    seen = run_environment()
    assert (seen["TETHER_TEST_VAR"], seen["TETHER_TEST_ADDED"]) == ("after", "1")

    monkeypatch.delenv("TETHER_TEST_ADDED")
    assert "TETHER_TEST_ADDED" not in run_environment()


def test_each_run_gets_its_own_dict() -> None:
    first = run_environment()
    first["TETHER_TEST_SCRIBBLE"] = "x"

    assert "TETHER_TEST_SCRIBBLE" not in run_environment()
