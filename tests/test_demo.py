"""`make demo` (examples/demo.py) as a reader sees it: three processes, one session resumed and forked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


@pytest.mark.local_model
def test_the_demo_resumes_and_forks_in_new_processes_and_the_model_answers_from_the_history(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    env = {**os.environ, "TETHER_STORE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "COLUMNS": "200"}
    env.pop("TETHER_MODEL", None)
    done = subprocess.run([sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    processes = set(re.findall(r"\((?:process) (\d+)\)", out))
    assert len(processes) == 3  # start, resume and fork each ran in a process of its own
    sessions = re.findall(r"session ([0-9a-f-]{36}) \(model local:", out)
    assert len(sessions) == 3 and sessions[0] == sessions[1] != sessions[2]  # resumed as itself, forked anew
    assert f"forked from {sessions[0]}" in out
    assert out.count("✓ the answer names 'Sunrise'") == 2  # the resume and the fork answered from the history
    assert "the model is sent 3 message(s)" in out and "the model is sent 5 message(s)" in out
    assert not [line for line in out.splitlines() if len(line) > 200]
