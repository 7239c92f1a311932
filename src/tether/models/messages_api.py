"""`MessagesClient`: tether's own client of the Anthropic Messages API's streamed calls, on `httpx2`.

`AnthropicModel` streams through it instead of the official `anthropic` package, whose import
(every pydantic model of `anthropic.types`, the Vertex and Bedrock clients) was most of a fresh
process's first reply, and which deep-copies every request body before encoding it. What the
official client would add, tether already does: retries (`retrying_stream`), error mapping
(`AnthropicModel`) and stream accumulation (`MessageAccumulator`, which checks every event's
fields). This module only speaks the wire:

- headers: `x-api-key` (or `Authorization: Bearer` for an auth token), `anthropic-version`, the
  User-Agent, the model's default headers and each call's own (`anthropic-beta`...);
- the body, encoded once by msgspec (`POST {base_url}/v1/messages`);
- the response: an error status is raised as `APIStatusError` (status, body, headers); a stream
  is read line by line as server-sent events: `ping`s are dropped, an `error` event is raised as
  an `APIStatusError` of status 200 (its body says the error type), the message events are
  yielded as dicts.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import httpx2
import msgspec

from tether._version import __version__
from tether.errors import ConfigurationError
from tether.messages import json_type_name
from tether.models.accumulator import MalformedStreamError, StreamIncompleteError
from tether.models.base import DEFAULT_TIMEOUTS
from tether.models.http_provider import http_timeout, shared_ssl_context
from tether.models.retry import describe

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "MessagesClient",
    "client_settings",
]

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
MESSAGE_EVENTS = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    }
)
"""The events of a message; others (`ping`, events a newer API adds) are not part of the reply."""
_ENCODER = msgspec.json.Encoder()
_LIMITS = httpx2.Limits(max_connections=None, max_keepalive_connections=20)
"""No cap on concurrent calls: the queries of an event loop share one client (`SharedClient`), and a
cap would make the calls beyond it wait for a connection (and time out) instead of opening one."""


class APIStatusError(Exception):
    """The API answered with an error: an HTTP error status, or an `error` event in a 200 stream."""

    def __init__(self, status_code: int, body: object, headers: Mapping[str, str] | None) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body
        """The body the API sent: its JSON (`{"type": "error", "error": {...}}`), or its text."""
        self.headers = headers
        """The response's headers (`retry-after`, `anthropic-ratelimit-*`); None for an `error` event."""

    @property
    def error(self) -> Mapping[str, Any]:
        """The `error` object of the body (empty when there is none)."""
        inner = self.body.get("error") if isinstance(self.body, Mapping) else None
        return inner if isinstance(inner, Mapping) else {}


class APIConnectionError(Exception):
    """The request could not be sent, or no response began (refused, reset, timed out)."""


class MessagesClient:
    """One HTTP client (its connections) for the streamed Messages calls of a model on one event loop.

    `api_key` / `auth_token` default to `ANTHROPIC_API_KEY` / `ANTHROPIC_AUTH_TOKEN`, `base_url`
    to `ANTHROPIC_BASE_URL` (then the public API), as the official client does.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        api_key, auth_token, root = client_settings(api_key, auth_token, base_url)
        if api_key is None and auth_token is None and not _names_credential(default_headers or {}):
            raise ConfigurationError(
                "the Anthropic API needs a key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway), "
                "or pass api_key= to AnthropicModel"
            )
        self.url = f"{root}/v1/messages"
        self.user_agent = f"tether/{__version__}"
        self._headers = {
            "accept": "application/json",
            "content-type": "application/json",
            "anthropic-version": API_VERSION,
            "user-agent": self.user_agent,
            **({"x-api-key": api_key} if api_key else {"authorization": f"Bearer {auth_token}"} if auth_token else {}),
            **{name.lower(): value for name, value in (default_headers or {}).items()},
        }
        self._http = httpx2.AsyncClient(
            verify=shared_ssl_context(),
            timeout=http_timeout(DEFAULT_TIMEOUTS),
            follow_redirects=True,
            limits=_LIMITS,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def stream(
        self, params: Mapping[str, Any], headers: Mapping[str, str], timeout: httpx2.Timeout
    ) -> AsyncGenerator[dict[str, Any], None]:
        """One streamed call of `params` (the body without `stream`): the message's events as dicts.

        A connection lost once the response has begun is raised as `StreamIncompleteError`.
        """
        body = _ENCODER.encode({**params, "stream": True})
        sent = {**self._headers, **{name.lower(): value for name, value in headers.items()}}
        request = self._http.build_request("POST", self.url, content=body, headers=sent, timeout=timeout)
        try:
            response = await self._http.send(request, stream=True)
        except httpx2.TransportError as error:
            raise APIConnectionError(_transport_problem(error)) from error
        try:
            if response.status_code >= 400:
                raise await _status_error(response)
            async for event in _events(response.aiter_lines()):
                yield event
        except httpx2.TransportError as error:
            raise StreamIncompleteError(f"the connection dropped mid-response ({_transport_problem(error)})") from error
        finally:
            await response.aclose()


def client_settings(
    api_key: str | None, auth_token: str | None, base_url: str | None
) -> tuple[str | None, str | None, str]:
    """`(api_key, auth_token, root URL)` of a client: those given, else the environment's, else the
    public API's URL."""
    if api_key is None and auth_token is None:
        api_key = os.environ.get("ANTHROPIC_API_KEY") or None
        auth_token = None if api_key else os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
    root = (base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    return api_key, auth_token, root


def _names_credential(headers: Mapping[str, str]) -> bool:
    return any(name.lower() in ("x-api-key", "authorization") for name in headers)


def _transport_problem(error: httpx2.TransportError) -> str:
    if isinstance(error, httpx2.TimeoutException):
        return f"the request timed out ({describe(error)})"
    return describe(error)


async def _status_error(response: httpx2.Response) -> APIStatusError:
    """The `APIStatusError` of an error response, its body read (JSON when it is JSON)."""
    try:
        text = (await response.aread()).decode("utf-8", "replace")
    except httpx2.TransportError:
        text = ""
    return APIStatusError(response.status_code, _json_or_text(text), response.headers)


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _events(lines: AsyncIterator[str]) -> AsyncGenerator[dict[str, Any], None]:
    """The message events of a server-sent event stream (fields `event` and `data`; comments and
    other fields ignored), each data decoded as a JSON object."""
    name = ""
    data: list[str] = []
    async for line in _ended(lines):
        if line:
            field, _, value = line.partition(":")
            if field == "event":
                name = value.removeprefix(" ")
            elif field == "data":
                data.append(value.removeprefix(" "))
            continue
        if data and (event := _event(name, "\n".join(data))) is not None:
            yield event
        name, data = "", []


async def _ended(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The lines, then a blank one: the last event counts when the stream ends without its blank line."""
    async for line in lines:
        yield line
    yield ""


def _event(name: str, data: str) -> dict[str, Any] | None:
    """The event dict of one SSE event; None for one that is not part of the message."""
    if name == "error":
        raise APIStatusError(200, _json_or_text(data), None)
    if name not in MESSAGE_EVENTS:
        return None
    event = json.loads(data)  # not JSON: `retrying_stream` names it (and retries)
    if not isinstance(event, dict):
        raise MalformedStreamError(f"an event of the stream is {json_type_name(event)}, not an object")
    event.setdefault("type", name)
    return event
