"""`docs/compatibility.md` `## Options`: one row per SDK option field, and its status agrees with the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import claude_agent_sdk

from tether.options import NOT_APPLICABLE_OPTIONS, UNSUPPORTED_OPTIONS

DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"
STATUSES = {"same", "tether semantics", "not applicable", "not yet"}
ROW = re.compile(r"^\|\s*`([A-Za-z_]+)`\s*\|\s*([a-z ]+?)\s*\|\s*(.+?)\s*\|\s*$")


def option_rows() -> list[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3)))
    return rows


def test_there_is_one_row_per_sdk_option_field() -> None:
    names = [name for name, _, _ in option_rows()]
    sdk_fields = [f.name for f in dataclasses.fields(claude_agent_sdk.ClaudeAgentOptions)]

    assert len(names) == len(set(names))
    assert set(names) == set(sdk_fields)


def test_each_status_is_one_of_four_and_matches_what_the_code_does() -> None:
    statuses = {name: status for name, status, _ in option_rows()}

    assert set(statuses.values()) <= STATUSES
    assert {name for name, status in statuses.items() if status == "not yet"} == set(UNSUPPORTED_OPTIONS)
    for name in NOT_APPLICABLE_OPTIONS:
        assert statuses[name] == "not applicable", name


def test_every_row_says_how_or_why() -> None:
    for name, _, how in option_rows():
        assert len(how) > 20, name
