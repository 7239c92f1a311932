"""The SDK's `examples/stderr_callback_example.py` on tether.

`stderr=` receives the CLI subprocess's stderr in the SDK; tether has no subprocess, so the
callback is accepted and never called (docs/compatibility.md), and the example runs as with a
quiet CLI.
"""

from __future__ import annotations

from tests.sdk_examples.harness import Examples


def test_stderr_callback_example(examples: Examples) -> None:
    run = examples.run("stderr_callback_example.py", script={"What is 2+2?": ["4"]}).check()

    assert run.stdout == "Running query with stderr capture...\n\nCaptured 0 stderr lines\n", run.report()
    assert len(run.requests_for("What is 2+2?")) == 1
