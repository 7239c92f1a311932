"""`AnthropicModel`: Claude over the Messages API (streaming), through tether's own `MessagesClient`.

```python
from tether.models.anthropic import AnthropicModel

model = AnthropicModel("claude-sonnet-4-5")          # ANTHROPIC_API_KEY from the environment
async for event in model.stream(ModelRequest(messages=[{"role": "user", "content": "Hi"}])):
    ...                                               # RawStreamEvents, then one ModelResponse
```

Every SSE event the API sends (except keep-alive `ping`s) is re-yielded as a `RawStreamEvent`
(its dict form), so `include_partial_messages=True` shows exactly what Claude streamed. Prompt caching marks the
tool definitions, the system prompt and the last block of the conversation, so each turn reads
the previous turn's prefix from the cache. Failed calls are retried (429, 408, 409, 5xx, 529
overloaded, dropped connections) with exponential backoff while nothing has been yielded yet;
then they raise `tether.errors.ModelError` with the HTTP status. A 429 is also reported as a
`RateLimited` event (with the `anthropic-ratelimit-*` headers).

The calls go through `tether.models.messages_api` (on `httpx2`), not the official `anthropic`
package, whose import costs seconds on a cold start: a run imports `anthropic` only to make an
`output_format` schema API-compatible (`anthropic.transform_schema`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Hashable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

import httpx2

from tether.errors import ConfigurationError, ModelError
from tether.models.accumulator import StreamIncompleteError
from tether.models.base import ModelRequest
from tether.models.http_provider import HTTPModel, http_error_message
from tether.models.messages_api import (
    DEFAULT_BASE_URL,
    APIConnectionError,
    APIStatusError,
    MessagesClient,
    client_settings,
)
from tether.models.pricing import ModelPrice, cost_usd
from tether.models.registry import DEFAULT_ANTHROPIC_MODEL
from tether.models.retry import Attempts, Failure, after_retries, status_failure
from tether.models.settings import ModelSettings

__all__ = ["AnthropicModel", "build_params"]

CREDENTIAL_HINT = "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway)"
TASK_BUDGET_BETA = "task-budgets-2026-03-13"
_CACHE = {"type": "ephemeral"}
_CACHEABLE = frozenset({"text", "image", "document", "tool_use", "tool_result", "search_result"})
_STATUS_OF_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicModel(HTTPModel):
    """Claude models over the Anthropic Messages API.

    **Parameters:**

    - `model`: the model id (default `DEFAULT_ANTHROPIC_MODEL`, `claude-sonnet-5-5`).
    - `api_key` / `auth_token`: the credential (`x-api-key` or a bearer token for gateways). With
      neither, `ANTHROPIC_API_KEY` or `ANTHROPIC_AUTH_TOKEN` from the environment (a credential in
      `default_headers` also does).
    - `base_url`: another endpoint (a gateway, a proxy, a fake server in tests).
    - `max_retries`, `retry_delay`, `max_retry_delay`: retries of failed calls, with exponential
      backoff from `retry_delay` seconds (or the server's Retry-After) up to `max_retry_delay`.
    - `prompt_caching`: mark the tools, the system prompt and the conversation for caching.
    - `prices`: prices of your own (`{model id: ModelPrice}`), looked up before genai-prices' data.

    Every run setting is honoured (`tether.models.settings`): structured output through the API's
    own (`output_config.format`, the schema made API-compatible by `anthropic.transform_schema`),
    `thinking`, `effort` (`output_config.effort`), `betas` (the `anthropic-beta` header),
    `task_budget` (`output_config.task_budget`, with its beta) and `client_app` (appended to the
    User-Agent).
    """

    provider = "the Anthropic API"
    provider_id = "anthropic"
    client_module = None  # the calls need no SDK
    honours: ClassVar[frozenset[str]] = frozenset({"output_format", "thinking", "effort", "betas", "task_budget"})

    def __init__(
        self,
        model: str = DEFAULT_ANTHROPIC_MODEL,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        prompt_caching: bool = True,
        prices: Mapping[str, ModelPrice] | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._api_key = api_key
        self._auth_token = None if api_key else auth_token
        self.prompt_caching = prompt_caching
        self._prices = prices
        super().__init__(
            model,
            base_url=base_url,
            max_retries=max_retries,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            default_headers=default_headers,
        )

    @classmethod
    def from_env(cls, model: str, env: Mapping[str, str], **kwargs: Any) -> AnthropicModel:
        """The model configured from `ANTHROPIC_API_KEY` / `ANTHROPIC_AUTH_TOKEN` / `ANTHROPIC_BASE_URL`."""
        api_key = env.get("ANTHROPIC_API_KEY") or None
        auth_token = env.get("ANTHROPIC_AUTH_TOKEN") or None
        if api_key is None and auth_token is None:
            raise ConfigurationError(
                f"the model {model!r} runs on the Anthropic API, which needs a key: set ANTHROPIC_API_KEY "
                "(or ANTHROPIC_AUTH_TOKEN for a gateway) in the environment or in AgentOptions.env"
            )
        return cls(
            model, api_key=api_key, auth_token=auth_token, base_url=env.get("ANTHROPIC_BASE_URL") or None, **kwargs
        )

    def check_settings(self, settings: ModelSettings) -> None:
        """Also checks that the output schema can be made one the API accepts."""
        super().check_settings(settings)
        if settings.output_schema is not None:
            _api_schema(settings.output_schema)

    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The Messages API parameters (without `stream`) for `request`."""
        return build_params(self._model, request, prompt_caching=self.prompt_caching)

    def request_headers(self, user_agent: str, settings: ModelSettings) -> dict[str, str]:
        """The User-Agent with the app label, and `anthropic-beta` with the run's betas."""
        headers = super().request_headers(user_agent, settings)
        betas = list(settings.betas)
        if settings.task_budget is not None and TASK_BUDGET_BETA not in betas:
            betas.append(TASK_BUDGET_BETA)
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers

    def _client_key(self) -> Hashable:
        """The client's credential, endpoint and headers (with the environment's when not given):
        models of the same ones share a client and its connections (`SharedClient`)."""
        settings = client_settings(self._api_key, self._auth_token, self.base_url)
        return (MessagesClient, *settings, *self._headers.items())

    def _new_client(self) -> MessagesClient:
        return MessagesClient(
            api_key=self._api_key, auth_token=self._auth_token, base_url=self.base_url, default_headers=self._headers
        )

    def _attempt(
        self, client: MessagesClient, params: dict[str, Any], headers: dict[str, str], timeout: httpx2.Timeout
    ) -> AsyncGenerator[dict[str, Any], None]:
        return client.stream(params, headers, timeout)

    def _cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        return cost_usd(model, usage, self._prices, provider="anthropic")

    def _classify(self, error: BaseException) -> Failure:
        if isinstance(error, APIStatusError):
            status = _status_of(error)
            headers = error.headers if error.status_code == status else None
            return status_failure(self.retry_policy, status, headers)
        return Failure(isinstance(error, APIConnectionError | StreamIncompleteError))

    def _map_errors(self, attempts: Attempts) -> AbstractContextManager[None]:
        return _map_errors(self, attempts)


def build_params(model: str, request: ModelRequest, *, prompt_caching: bool = True) -> dict[str, Any]:
    """The Messages API parameters (without `stream`) for `request`; the request is not modified."""
    cache = {"cache_control": dict(_CACHE)} if prompt_caching else {}
    params: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens}
    if request.tools:
        tools = [tool.to_dict() for tool in request.tools]
        tools[-1] = {**tools[-1], **cache}
        params["tools"] = tools
    if request.system:
        params["system"] = [{"type": "text", "text": request.system, **cache}]
    messages = list(request.messages)
    if prompt_caching and messages:
        messages[-1] = _mark_last_block(messages[-1])
    params["messages"] = messages
    user_id = request.metadata.get("user_id")
    if isinstance(user_id, str):
        params["metadata"] = {"user_id": user_id}
    params.update(_settings_params(request.settings))
    return params


def _settings_params(settings: ModelSettings) -> dict[str, Any]:
    """The `thinking` and `output_config` parameters of the run's settings (betas go in a header)."""
    params: dict[str, Any] = {}
    if settings.thinking is not None:
        params["thinking"] = dict(settings.thinking)
    output_config: dict[str, Any] = {}
    if settings.effort is not None:
        output_config["effort"] = settings.effort
    if settings.output_schema is not None:
        output_config["format"] = {"type": "json_schema", "schema": _api_schema(settings.output_schema)}
    if settings.task_budget is not None:
        output_config["task_budget"] = {"type": "tokens", "total": settings.task_budget}
    if output_config:
        params["output_config"] = output_config
    return params


def _api_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema in the subset the API constrains decoding to (other constraints are checked after)."""
    import anthropic

    try:
        return anthropic.transform_schema(schema)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"output_format: the Anthropic API cannot use this schema: {error}") from error


def _mark_last_block(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of `message` whose last cacheable content block carries a cache breakpoint."""
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return message
        return {**message, "content": [{"type": "text", "text": content, "cache_control": dict(_CACHE)}]}
    if not isinstance(content, list):
        return message
    blocks = list(content)
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if (
            isinstance(block, dict)
            and block.get("type") in _CACHEABLE
            and (block.get("type") != "text" or block.get("text"))
        ):
            blocks[index] = {**block, "cache_control": dict(_CACHE)}
            return {**message, "content": blocks}
    return message


def _status_of(error: APIStatusError) -> int:
    """The HTTP status of an error; for an `error` event inside a 200 stream, the status of its type
    (read from the body the API sent, never from its wording)."""
    if error.status_code >= 400:
        return error.status_code
    return _STATUS_OF_ERROR_TYPE.get(str(error.error.get("type") or ""), 500)


def _api_message(error: APIStatusError) -> str | None:
    """The API's own explanation (`type message`), for the user; never used to classify."""
    inner = error.error
    return " ".join(str(part) for part in (inner.get("type"), inner.get("message")) if part) or None


@contextmanager
def _map_errors(model: AnthropicModel, attempts: Attempts) -> Iterator[None]:
    """Turn the API's and the connection's errors into `ModelError`s with status, body and a clear message."""
    try:
        yield
    except APIStatusError as error:
        status = _status_of(error)
        message = http_error_message(
            "the Anthropic API",
            status,
            _api_message(error),
            retries=attempts.retries,
            credential_hint=CREDENTIAL_HINT,
            model=model.model_name,
        )
        raise ModelError(message, status_code=status, body=error.body, provider="anthropic") from error
    except APIConnectionError as error:
        where = model.base_url or DEFAULT_BASE_URL
        raise ModelError(
            f"could not reach the Anthropic API at {where} ({error}){after_retries(attempts)}", provider="anthropic"
        ) from error
    except StreamIncompleteError as error:
        raise ModelError(
            f"the Anthropic API response was cut off: {error}; nothing was kept", provider="anthropic"
        ) from error
