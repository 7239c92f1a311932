"""The models layer's own defaults: timeouts as AgentOptions', and one default Claude model.

Its imports are checked by tests/test_layers.py."""

from __future__ import annotations

import dataclasses

from tether.models import DEFAULT_ANTHROPIC_MODEL, MODEL_ALIASES
from tether.models.anthropic import AnthropicModel
from tether.models.base import DEFAULT_TIMEOUTS, Timeouts
from tether.options import AgentOptions


def test_the_default_timeouts_are_those_of_default_agent_options() -> None:
    assert Timeouts.from_options(AgentOptions()) == DEFAULT_TIMEOUTS == Timeouts()
    assert dataclasses.replace(DEFAULT_TIMEOUTS).run is None


def test_one_default_claude_model() -> None:
    # a run that names no model, AnthropicModel() and the `sonnet` alias all run the same Claude
    assert AnthropicModel().model_name == DEFAULT_ANTHROPIC_MODEL == MODEL_ALIASES["sonnet"]
