"""`AnthropicModel`: Claude through the official `anthropic` package (Messages API, streaming).

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
then they raise `tether.errors.ModelError` with the HTTP status.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

import anthropic
import httpx2

from tether.errors import ConfigurationError, ModelError
from tether.models._common import (
    Attempts,
    RetryPolicy,
    SharedClient,
    StreamIncompleteError,
    closing,
    http_error_message,
    retry_after_seconds,
    retrying_stream,
    shared_ssl_context,
)
from tether.models.base import ModelEvent, ModelRequest
from tether.models.pricing import ModelPrice, cost_usd

__all__ = ["DEFAULT_MODEL", "AnthropicModel", "build_params"]

DEFAULT_MODEL = "claude-sonnet-4-5"
CREDENTIAL_HINT = "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway)"
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


class AnthropicModel:
    """Claude models over the Anthropic Messages API.

    **Parameters:**

    - `model`: the model id, e.g. `claude-sonnet-4-5`.
    - `api_key` / `auth_token`: the credential (`x-api-key` or a bearer token for gateways). With
      neither, the `anthropic` client finds one itself (`ANTHROPIC_API_KEY`, profiles...).
    - `base_url`: another endpoint (a gateway, a proxy, a fake server in tests).
    - `max_retries`, `retry_delay`, `max_retry_delay`: retries of failed calls, with exponential
      backoff from `retry_delay` seconds (or the server's Retry-After) up to `max_retry_delay`.
    - `prompt_caching`: mark the tools, the system prompt and the conversation for caching.
    - `prices`: a price table to use instead of `tether.models.pricing.PRICES`.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        timeout: float = 600.0,
        prompt_caching: bool = True,
        prices: Mapping[str, ModelPrice] | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._model = model
        self._api_key = api_key
        self._auth_token = None if api_key else auth_token
        self.base_url = base_url
        self.retry_policy = RetryPolicy(max_retries=max_retries, initial_delay=retry_delay, max_delay=max_retry_delay)
        self._timeout = timeout
        self.prompt_caching = prompt_caching
        self._prices = prices
        self._headers = dict(default_headers or {})
        self._client: SharedClient[Any] = SharedClient(self._new_client)

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

    @property
    def model_name(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"AnthropicModel({self._model!r}, base_url={self.base_url!r})"

    def keep_connected(self) -> AbstractAsyncContextManager[None]:
        """Keep the HTTP connection open for every call until the context exits (an agent run does)."""
        return self._client.hold()

    def _new_client(self) -> Any:
        return anthropic.AsyncAnthropic(
            api_key=self._api_key,
            auth_token=self._auth_token,
            base_url=self.base_url,
            max_retries=0,  # retried by `retrying_stream`, which also retries overloads reported in-stream
            timeout=httpx2.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
            default_headers=self._headers or None,
            http_client=anthropic.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream one Messages API call: every SSE event, then the complete `ModelResponse`."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        params = build_params(self._model, request, prompt_caching=self.prompt_caching)
        attempts = Attempts()
        async with self._client.use() as client:

            async def attempt() -> AsyncGenerator[dict[str, Any], None]:
                stream = await client.messages.create(**params, stream=True)
                async with stream:
                    async for event in stream:
                        yield event.to_dict()

            events = retrying_stream(
                attempt,
                model=self._model,
                policy=self.retry_policy,
                retry_after=self._retry_decision,
                attempts=attempts,
                cost=self._cost,
            )
            with _map_errors(self, attempts):
                async with closing(events):
                    async for event in events:
                        yield event

    def _cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        return cost_usd(model, usage, self._prices)

    def _retry_decision(self, error: BaseException) -> float | bool:
        if isinstance(error, anthropic.APIStatusError):
            status = _status_of(error)
            headers = error.response.headers if error.status_code == status else None
            if not self.retry_policy.retryable_status(status, headers):
                return False
            return retry_after_seconds(headers) or True
        return isinstance(error, anthropic.APIConnectionError | httpx2.TransportError | StreamIncompleteError)


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
    return params


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


def _after(attempts: Attempts) -> str:
    return f" after {attempts.retries} retries" if attempts.retries else ""


def _status_of(error: anthropic.APIStatusError) -> int:
    """The HTTP status of an error; for an `error` event inside a 200 stream, the status of its type."""
    if error.status_code >= 400:
        return error.status_code
    return _STATUS_OF_ERROR_TYPE.get(str(error.type or ""), 500)


def _api_message(error: anthropic.APIStatusError) -> str | None:
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            kind, message = inner.get("type"), inner.get("message")
            return " ".join(str(part) for part in (kind, message) if part) or None
    return error.api_message


@contextmanager
def _map_errors(model: AnthropicModel, attempts: Attempts) -> Iterator[None]:
    """Turn `anthropic` and transport errors into `ModelError`s with status, body and a clear message."""
    where = model.base_url or "https://api.anthropic.com"
    try:
        yield
    except anthropic.APIStatusError as error:
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
    except anthropic.APIConnectionError as error:
        raise ModelError(
            f"could not reach the Anthropic API at {where} ({error}){_after(attempts)}",
            provider="anthropic",
        ) from error
    except httpx2.TransportError as error:
        raise ModelError(
            f"the connection to the Anthropic API at {where} dropped mid-response ({error}); nothing was kept",
            provider="anthropic",
        ) from error
    except StreamIncompleteError as error:
        raise ModelError(
            f"the Anthropic API response was cut off: {error}; nothing was kept", provider="anthropic"
        ) from error
    except anthropic.AnthropicError as error:
        raise ModelError(f"the Anthropic client failed: {error}", provider="anthropic") from error
