"""Fixtures of the SDK-example tests: the SDK's `examples/` directory and a runner for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.sdk_examples.harness import Examples, ExamplesUnavailable, sdk_examples_dir


@pytest.fixture(scope="session")
def sdk_examples_source() -> Path:
    """The SDK's examples (from its sdist, downloaded once); the tests skip, saying why, without them."""
    try:
        return sdk_examples_dir()
    except ExamplesUnavailable as error:
        pytest.skip(f"the claude-agent-sdk examples are unavailable: {error}")


@pytest.fixture
def examples(sdk_examples_source: Path, tmp_path: Path) -> Examples:
    """Runs ported examples in an empty project directory, with their own HOME."""
    workdir, home = tmp_path / "project", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    return Examples(sdk_examples_source, workdir, home)
