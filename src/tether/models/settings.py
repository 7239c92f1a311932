"""What a run asks of its model besides the conversation: structured output, thinking, effort,
beta flags and an app label. Built once per run from `AgentOptions` and checked at run start.

| option                            | Anthropic                  | OpenAI-compatible        | local (llama.cpp)       |
|-----------------------------------|----------------------------|--------------------------|-------------------------|
| `output_format`                   | `output_config.format`     | `response_format`        | grammar of the schema   |
| `thinking`, `max_thinking_tokens` | `thinking`                 | only `disabled`          | only `disabled`         |
| `effort`                          | `output_config.effort`     | `reasoning_effort`       | no                      |
| `betas`                           | `anthropic-beta` header    | no                       | no                      |
| `task_budget`                     | `output_config.task_budget`| no                       | no                      |
| `client_app`                      | User-Agent suffix          | User-Agent suffix        | makes no requests       |

"no" means the run fails at start with `UnsupportedOptionError` naming the option and provider.
As for Claude Code, the environment variables `MAX_THINKING_TOKENS` and
`CLAUDE_AGENT_SDK_CLIENT_APP` stand in for `max_thinking_tokens` and `client_app` when those
options are not set (and `thinking` is not set either, for the first).
Whatever the provider, the final answer of a run with `output_format` is validated against the
schema here (`structured_output`), since not every constraint can be enforced while decoding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from tether._vocabulary.options import EffortLevel
from tether.errors import ConfigurationError, UnsupportedOptionError

__all__ = ["EFFORT_LEVELS", "ModelSettings", "structured_output", "structured_output_retry_prompt"]

MAX_THINKING_TOKENS_ENV = "MAX_THINKING_TOKENS"
CLIENT_APP_ENV = "CLAUDE_AGENT_SDK_CLIENT_APP"
EFFORT_LEVELS: tuple[str, ...] = get_args(EffortLevel)
THINKING_TYPES = ("adaptive", "enabled", "disabled")
_THINKING_SOURCES = frozenset({"max_thinking_tokens", MAX_THINKING_TOKENS_ENV})
THINKING_DISPLAYS = ("summarized", "omitted")
_HEADER_SAFE = re.compile(r"[\x20-\x7e\xa0-\xff]+")
_FENCED = re.compile(r"\A\s*```[A-Za-z]*\s*\n(.*?)\n?```\s*\Z", re.DOTALL)


@dataclass(frozen=True)
class ModelSettings:
    """The per-run settings a `ModelRequest` carries (`request.settings`)."""

    output_schema: dict[str, Any] | None = None
    """The JSON schema the final answer must match (`output_format`), or None."""
    thinking: dict[str, Any] | None = None
    """A Messages API `thinking` config (`{"type": "adaptive" | "enabled" | "disabled", ...}`)."""
    thinking_option: str = "thinking"
    """The option `thinking` came from (`thinking` or the older `max_thinking_tokens`)."""
    effort: str | None = None
    betas: tuple[str, ...] = ()
    task_budget: int | None = None
    """The total token budget the model is told it has for the task (`task_budget["total"]`)."""
    client_app: str | None = None
    """Appended to the User-Agent of the provider's HTTP requests."""

    @classmethod
    def from_options(
        cls,
        *,
        output_format: Mapping[str, Any] | None = None,
        thinking: Mapping[str, Any] | None = None,
        max_thinking_tokens: int | None = None,
        effort: str | None = None,
        betas: Sequence[str] = (),
        task_budget: Mapping[str, Any] | None = None,
        client_app: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ModelSettings:
        """The settings of these `AgentOptions` values (and of the run's `env` where an option is
        unset); `ConfigurationError` naming a malformed one."""
        env = env or {}
        option = "max_thinking_tokens"
        if thinking is None and max_thinking_tokens is None and env.get(MAX_THINKING_TOKENS_ENV):
            max_thinking_tokens, option = _env_int(env, MAX_THINKING_TOKENS_ENV), MAX_THINKING_TOKENS_ENV
        if client_app is None:
            client_app = env.get(CLIENT_APP_ENV)
        config, option = _thinking(thinking, max_thinking_tokens, option)
        if effort is not None and effort not in EFFORT_LEVELS:
            raise ConfigurationError(f"effort must be one of {', '.join(EFFORT_LEVELS)}, not {effort!r}")
        if isinstance(betas, str) or not all(isinstance(beta, str) and beta for beta in betas):
            raise ConfigurationError(f"betas must be a list of beta names, not {betas!r}")
        return cls(
            output_schema=_output_schema(output_format),
            thinking=config,
            thinking_option=option,
            effort=effort,
            betas=tuple(betas),
            task_budget=_task_budget(task_budget),
            client_app=_client_app(client_app),
        )

    def requested(self) -> list[str]:
        """The options set here that a provider must honour (or reject), by option name."""
        asked = []
        if self.output_schema is not None:
            asked.append("output_format")
        if self.thinking is not None and self.thinking.get("type") != "disabled":
            asked.append(self.thinking_option)
        if self.effort is not None:
            asked.append("effort")
        if self.betas:
            asked.append("betas")
        if self.task_budget is not None:
            asked.append("task_budget")
        return asked

    def reject_unsupported(self, provider: str, honoured: Collection[str]) -> None:
        """Raise `UnsupportedOptionError` for the first requested option not in `honoured`."""
        for option in self.requested():
            if option not in honoured and not (option in _THINKING_SOURCES and "thinking" in honoured):
                raise UnsupportedOptionError(option, f"{provider} has no equivalent of it")


def _env_int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ConfigurationError(f"the environment variable {name} must be a number, not {env[name]!r}") from None


def _thinking(
    thinking: Mapping[str, Any] | None, max_tokens: int | None, option: str
) -> tuple[dict[str, Any] | None, str]:
    if thinking is None:
        if max_tokens is None:
            return None, "thinking"
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise ConfigurationError(f"{option} must be a whole number of tokens, not {max_tokens!r}")
        if max_tokens == 0:
            return {"type": "disabled"}, option
        return {"type": "enabled", "budget_tokens": max_tokens}, option
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    if kind not in THINKING_TYPES:
        raise ConfigurationError(
            f"thinking must be {{'type': 'adaptive'}}, {{'type': 'enabled', 'budget_tokens': N}} or "
            f"{{'type': 'disabled'}}, not {thinking!r}"
        )
    budget = thinking.get("budget_tokens")
    if kind == "enabled" and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise ConfigurationError(f"thinking of type 'enabled' needs a positive budget_tokens, not {budget!r}")
    display = thinking.get("display")
    if display is not None and display not in THINKING_DISPLAYS:
        raise ConfigurationError(f"thinking display must be 'summarized' or 'omitted', not {display!r}")
    return dict(thinking), "thinking"


def _output_schema(output_format: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if output_format is None:
        return None
    schema = output_format.get("schema") if isinstance(output_format, Mapping) else None
    if output_format.get("type") != "json_schema" or not isinstance(schema, dict):
        raise ConfigurationError(
            f"output_format must be {{'type': 'json_schema', 'schema': {{...}}}}, not {output_format!r}"
        )
    import jsonschema.validators  # imported when a run asks for structured output (slow to import)

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        raise ConfigurationError(f"output_format: the schema is not a valid JSON schema: {error.message}") from error
    return schema


def _task_budget(task_budget: Mapping[str, Any] | None) -> int | None:
    if task_budget is None:
        return None
    total = task_budget.get("total") if isinstance(task_budget, Mapping) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ConfigurationError(
            f"task_budget must be {{'total': <tokens>}} with a positive total, not {task_budget!r}"
        )
    return total


def _client_app(client_app: str | None) -> str | None:
    if not client_app:
        return None  # the SDK's "send no identifier"
    if not isinstance(client_app, str) or not _HEADER_SAFE.fullmatch(client_app):
        raise ConfigurationError(
            f"client_app {client_app!r} cannot go in a User-Agent header: use printable characters, e.g. 'my-app/1.0.0'"
        )
    return client_app


def structured_output(text: str | None, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """`(value, None)` when `text` is JSON matching `schema`, else `(None, what is wrong)`.

    A reply wrapped in one Markdown code fence is accepted (models without constrained decoding
    often answer that way).
    """
    if not text or not text.strip():
        return None, "the reply has no JSON text"
    fenced = _FENCED.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as error:
        return None, f"the reply is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    import jsonschema.exceptions
    import jsonschema.validators

    validator = jsonschema.validators.validator_for(schema)(schema)
    failure = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if failure is None:
        return value, None
    where = "".join(f"[{part!r}]" for part in failure.absolute_path)
    return None, f"{failure.message} (at {'$' + where if where else 'the top level'})"


def structured_output_retry_prompt(violation: str, schema: Mapping[str, Any]) -> str:
    """What the model is told when its answer does not match the schema, to answer again."""
    return (
        f"Your last reply is not valid structured output: {violation}. Reply again with only a JSON value "
        f"that matches this JSON schema, and nothing else:\n{json.dumps(schema)}"
    )
