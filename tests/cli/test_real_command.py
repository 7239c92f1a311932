"""The installed `tether` command as a user runs it: piped, at 80 columns, against the fake Anthropic
server and a SQLite file of the test's own."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.clirun import run_tether_command
from tests.fakes import FakeAnthropicServer, Reply, Text


def test_piped_runs_say_on_stderr_which_session_and_listings_are_plain_lines(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    store = f"sqlite:///{tmp_path / 'sessions.db'}"
    with FakeAnthropicServer() as server:
        server.add(Reply([Text("Lisbon is lovely.")]), Reply([Text("Porto too.")]))
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key", "TETHER_STORE_URL": store}
        claude = ("--model", "claude-sonnet-4-5")
        first = run_tether_command("-p", "Plan a trip", "--continue", *claude, cwd=project, **env)
        assert first.returncode == 0, first.stderr
        assert first.stdout == "Lisbon is lovely.\n"  # stdout: the answer alone
        assert "No session to continue in" in first.stderr  # --continue with nothing: said, then a new session
        session_id = re.search(r"Session ([0-9a-f-]{36}) · go on with: tether --resume \1 -p", first.stderr)
        assert session_id is not None, first.stderr

        again = run_tether_command("-p", "And then?", "--continue", *claude, cwd=project, **env)
        assert again.returncode == 0 and again.stdout == "Porto too.\n"
        assert f"Session {session_id.group(1)}" in again.stderr  # continued the same session

        listed = run_tether_command("sessions", "list", cwd=project, **env)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()  # off a terminal: one tab-separated line a session, nothing cut
    fields = line.split("\t")
    assert fields[0] == session_id.group(1) and fields[2] == "4" and fields[3] == "Plan a trip"
    assert fields[5] == str(project.resolve())

    declined = run_tether_command("sessions", "rm", session_id.group(1)[:8], cwd=project, stdin="n\n", **env)
    assert declined.returncode == 0 and "Nothing deleted." in declined.stdout
