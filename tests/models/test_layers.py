"""The models layer stands on its own: importing it loads nothing of the layers above it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from tether.models import DEFAULT_ANTHROPIC_MODEL, MODEL_ALIASES
from tether.models.anthropic import AnthropicModel
from tether.models.base import DEFAULT_TIMEOUTS, Timeouts
from tether.options import AgentOptions

ABOVE_MODELS = ("tether.sessions", "tether.tools", "tether.agent", "tether.query", "tether.cli")


def _tether_modules_after_import(module: str) -> list[str]:
    code = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted(name for name in sys.modules if name.startswith('tether'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.xfail(
    strict=True,
    reason="models/settings.py and models/base.py still take EffortLevel and seconds_option from "
    "tether.types and tether.options (which load the agent), and messages.py imports "
    "tether.sessions.store; remove this marker once those come from tether._vocabulary",
)
@pytest.mark.parametrize(
    "module",
    ["tether.models", "tether.models.base", "tether.models.anthropic", "tether.models.openai", "tether.models.guard"],
)
def test_importing_the_models_layer_loads_no_higher_layer(module: str) -> None:
    loaded = _tether_modules_after_import(module)
    assert [name for name in loaded if name.startswith(ABOVE_MODELS)] == []


def test_the_default_timeouts_are_those_of_default_agent_options() -> None:
    assert Timeouts.from_options(AgentOptions()) == DEFAULT_TIMEOUTS == Timeouts()
    assert dataclasses.replace(DEFAULT_TIMEOUTS).run is None


def test_one_default_claude_model() -> None:
    # a run that names no model, AnthropicModel() and the `sonnet` alias all run the same Claude
    assert AnthropicModel().model_name == DEFAULT_ANTHROPIC_MODEL == MODEL_ALIASES["sonnet"]
