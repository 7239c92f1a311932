"""`tether ui` as a user runs it: its URL (with the token) is its first line, and it serves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest


def test_the_first_line_is_the_url_with_its_token_and_it_serves_only_with_it(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sessions.db'}"
    command = [sys.executable, "-m", "tether.cli", "ui", "--store", store, "--port", "0", "--no-open"]
    env = {**os.environ, "TETHER_HOME": str(tmp_path)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            parts = urlsplit(url)
            assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port
            assert parts.query.startswith("token=") and len(parts.query) > len("token=") + 20
            with urlopen(url, timeout=30) as page:
                assert page.status == 200 and "No sessions" in page.read().decode()
            with pytest.raises(HTTPError) as refused:
                urlopen(f"http://127.0.0.1:{parts.port}/", timeout=30)
            refused.value.close()
            assert refused.value.code == 403
            with pytest.raises(HTTPError) as rebound:
                urlopen(Request(url, headers={"Host": f"rebound.example:{parts.port}"}), timeout=30)
            rebound.value.close()
            assert rebound.value.code == 403
        finally:
            server.terminate()
            server.wait(30)


def test_a_port_out_of_range_is_an_error_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tether.cli", "ui", "--port", "70000", "--no-open"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TETHER_HOME": str(tmp_path)},
    )
    assert done.returncode == 1 and "--port must be between 0 and 65535" in done.stderr
