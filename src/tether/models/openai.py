"""`OpenAIModel`: any OpenAI-compatible chat-completions server through the official `openai` package.

OpenAI itself, vLLM, the llama.cpp server, Ollama, LiteLLM...: set `base_url` (or
`OPENAI_BASE_URL`). tether keeps its history in the Anthropic Messages shape; the pure functions
here convert it to chat-completions messages (`to_openai_messages`) and back
(`from_openai_messages`), and `ChunkTranslator` re-shapes the streamed chunks into Anthropic SSE
events, so `StreamEvent`s and responses look the same whatever the provider.

Conversion rules (each way):

- the system prompt <-> a leading `system` message;
- user text and images <-> `user` content parts (`text`, `image_url` with a data: URL);
- assistant `text` blocks <-> `content`; `tool_use` blocks <-> `tool_calls` (arguments as JSON);
- `tool_result` blocks <-> `tool` messages right after the assistant message; `is_error` results
  are wrapped in `<tool_use_error>...</tool_use_error>` (Claude Code's convention), which
  converts back to `is_error`;
- `reasoning_content` (vLLM, llama.cpp, DeepSeek) in responses -> `thinking` blocks.

Not representable in chat completions, so not sent: `thinking` blocks (signed by another
provider), server tool blocks (`server_tool_use`, `web_search_tool_result`...: Anthropic ran them)
and `cache_control` marks. Images inside tool results go in a user message after the
tool messages (tool messages carry text only), and other block kinds (documents...) are sent as
their JSON text; these three do not convert back to what they were.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncGenerator, Hashable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx2

from tether.errors import ConfigurationError, ModelError
from tether.messages import json_type_name
from tether.models.accumulator import MalformedStreamError, StreamIncompleteError, stream_object
from tether.models.base import DEFAULT_TIMEOUTS, ModelRequest, ToolSpec
from tether.models.http_provider import HTTPModel, http_error_message, http_timeout, shared_ssl_context
from tether.models.pricing import ModelPrice, cost_usd
from tether.models.retry import Attempts, Failure, after_retries, describe, status_failure

if TYPE_CHECKING:
    import openai  # imported off the event loop by the first call (`load_client_module`)

__all__ = [
    "ChunkTranslator",
    "OpenAIModel",
    "from_openai_messages",
    "to_openai_messages",
    "to_openai_tools",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CREDENTIAL_HINT = "OPENAI_API_KEY (and OPENAI_BASE_URL for a server other than OpenAI's)"
FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_ERROR_OPEN, _ERROR_CLOSE = "<tool_use_error>", "</tool_use_error>"
_ERROR_RE = re.compile(r"\A<tool_use_error>(.*)</tool_use_error>\Z", re.DOTALL)
_DATA_URL_RE = re.compile(r"\Adata:(?P<media>[^;,]+);base64,(?P<data>.*)\Z", re.DOTALL)


# -- history conversion (pure) -----------------------------------------------------------------


def to_openai_tools(tools: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as chat-completions `tools` (function tools)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
        }
        for t in tools
    ]


def to_openai_messages(messages: Iterable[Mapping[str, Any]], system: str | None = None) -> list[dict[str, Any]]:
    """Anthropic-shaped history (and system prompt) as chat-completions messages."""
    result: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        content = message.get("content")
        if message.get("role") == "assistant":
            result.append(_assistant_to_openai(content))
        elif isinstance(content, str):
            result.append({"role": "user", "content": content})
        else:
            result.extend(_user_blocks_to_openai(list(content or [])))
    return result


def _assistant_to_openai(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts = [str(b.get("text", "")) for b in content or [] if b.get("type") == "text"]
    calls = [
        {
            "id": str(b.get("id")),
            "type": "function",
            "function": {"name": str(b.get("name")), "arguments": json.dumps(b.get("input") or {})},
        }
        for b in content or []
        if b.get("type") == "tool_use"
    ]
    message: dict[str, Any] = {"role": "assistant"}
    if len(texts) > 1:
        message["content"] = [{"type": "text", "text": text} for text in texts]
    else:
        message["content"] = texts[0] if texts else (None if calls else "")
    if calls:
        message["tool_calls"] = calls
    return message


def _user_blocks_to_openai(blocks: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "tool_result":
            message, images = _tool_result_to_openai(block)
            tool_messages.append(message)
            if images:
                note = f"(images returned by tool call {block.get('tool_use_id')})"
                parts.extend([{"type": "text", "text": note}, *images])
        else:
            parts.append(_part_to_openai(block))
    if parts or not tool_messages:
        return [*tool_messages, {"role": "user", "content": parts}]
    return tool_messages


def _tool_result_to_openai(block: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    content = block.get("content")
    images: list[dict[str, Any]] = []
    value: str | list[dict[str, Any]]
    if content is None:
        value = ""
    elif isinstance(content, str):
        value = content
    else:
        value = []
        for item in content:
            part = _part_to_openai(item)
            (images if part["type"] == "image_url" else value).append(part)
    if block.get("is_error"):
        text = value if isinstance(value, str) else "".join(str(p.get("text", "")) for p in value)
        value = f"{_ERROR_OPEN}{text}{_ERROR_CLOSE}"
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id")), "content": value}, images


def _part_to_openai(block: Mapping[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        else:
            url = str(source.get("url", ""))
        return {"type": "image_url", "image_url": {"url": url}}
    return {"type": "text", "text": json.dumps(dict(block))}


def from_openai_messages(messages: Iterable[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Chat-completions messages as `(system prompt, Anthropic-shaped history)`."""
    systems: list[str] = []
    history: list[dict[str, Any]] = []
    after_tools = False
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            systems.append(content if isinstance(content, str) else "".join(_texts(content)))
            continue
        if role == "assistant":
            history.append({"role": "assistant", "content": _assistant_from_openai(message)})
            after_tools = False
        elif role == "tool":
            block = _tool_result_from_openai(message)
            if after_tools:
                history[-1]["content"].append(block)
            else:
                history.append({"role": "user", "content": [block]})
            after_tools = True
        elif after_tools:
            history[-1]["content"].extend(_user_content_from_openai(content, as_blocks=True))
            after_tools = False
        else:
            history.append({"role": "user", "content": _user_content_from_openai(content, as_blocks=False)})
    return ("\n\n".join(systems) if systems else None), history


def _texts(content: Any) -> list[str]:
    return [str(p.get("text", "")) for p in content or [] if isinstance(p, Mapping) and p.get("type") == "text"]


def _assistant_from_openai(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    blocks: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    else:
        blocks.extend({"type": "text", "text": text} for text in _texts(content))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": str(call.get("id")),
                "name": str(function.get("name")),
                "input": _parse_arguments(function.get("arguments")),
            }
        )
    return blocks


def _parse_arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not arguments:
        return {}
    value = json.loads(str(arguments))
    return value if isinstance(value, dict) else {"value": value}


def _tool_result_from_openai(message: Mapping[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id"))}
    content = message.get("content")
    if isinstance(content, str):
        match = _ERROR_RE.match(content)
        if match:
            content = match.group(1)
            block["is_error"] = True
        if content:
            block["content"] = content
    elif content:
        block["content"] = [_part_from_openai(part) for part in content]
    return block


def _user_content_from_openai(content: Any, *, as_blocks: bool) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if as_blocks else content
    return [_part_from_openai(part) for part in content or []]


def _part_from_openai(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.get("type") == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        match = _DATA_URL_RE.match(url)
        if match:
            source = {"type": "base64", "media_type": match.group("media"), "data": match.group("data")}
            return {"type": "image", "source": source}
        return {"type": "image", "source": {"type": "url", "url": url}}
    return {"type": "text", "text": str(part.get("text", ""))}


# -- streaming ------------------------------------------------------------------------------------


class ChunkTranslator:
    """Turns chat-completions stream chunks (dicts) into Anthropic SSE event dicts.

    Feed every chunk to `feed`, then call `finish` when the stream ends; it raises
    `StreamIncompleteError` if the server never said why it stopped (a cut-off stream).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._index = -1
        self._open: str | None = None
        self._tools: dict[int, int] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._id: str | None = None

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            self._id = str(chunk.get("id") or f"msg_{uuid.uuid4().hex[:24]}")
            self.model = str(chunk.get("model") or self.model)
            message: dict[str, Any] = {"id": self._id, "type": "message", "role": "assistant", "model": self.model}
            message["content"] = []
            message.update(stop_reason=None, stop_sequence=None, usage={"input_tokens": 0, "output_tokens": 0})
            events.append({"type": "message_start", "message": message})
        if isinstance(chunk.get("usage"), Mapping):
            self._usage = dict(chunk["usage"])
        for choice in _objects(chunk.get("choices"), "choices"):
            if choice.get("index", 0) != 0:
                continue
            delta = stream_object(choice.get("delta"), "delta of a choice")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events += self._ensure_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                events.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
            text = delta.get("content")
            if isinstance(text, str) and text:
                events += self._ensure_block("text", {"type": "text", "text": ""})
                events.append(self._delta({"type": "text_delta", "text": text}))
            for call in _objects(delta.get("tool_calls"), "tool_calls"):
                events += self._tool_call(call)
            if choice.get("finish_reason"):
                self._finish = str(choice["finish_reason"])
        return events

    def finish(self) -> list[dict[str, Any]]:
        if not self._started or self._finish is None:
            raise StreamIncompleteError("the stream ended before the server said why it stopped (no finish_reason)")
        events = self._close()
        stop = "tool_use" if self._tools else FINISH_TO_STOP.get(self._finish, "end_turn")
        usage = self._usage or {}
        details = usage.get("prompt_tokens_details") or {}
        cached = (details.get("cached_tokens") or 0) if isinstance(details, Mapping) else 0
        prompt = usage.get("prompt_tokens") or 0
        final_usage = {
            "input_tokens": max(0, prompt - cached),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": usage.get("completion_tokens") or 0,
        }
        events.append(
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": final_usage}
        )
        events.append({"type": "message_stop"})
        return events

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self._index, "delta": delta}

    def _close(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        self._open = None
        return [{"type": "content_block_stop", "index": self._index}]

    def _ensure_block(self, kind: str, start: dict[str, Any]) -> list[dict[str, Any]]:
        if self._open == kind:
            return []
        events = self._close()
        self._index += 1
        self._open = kind
        events.append({"type": "content_block_start", "index": self._index, "content_block": start})
        return events

    def _tool_call(self, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        position = call.get("index") or 0
        if isinstance(position, bool) or not isinstance(position, int):
            raise MalformedStreamError(f"a tool call has index {position!r}, not a whole number")
        function = stream_object(call.get("function"), "function of a tool call")
        events: list[dict[str, Any]] = []
        if position not in self._tools:
            call_id = str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")
            start = {"type": "tool_use", "id": call_id, "name": str(function.get("name") or ""), "input": {}}
            events += self._ensure_block(f"tool:{position}", start)
            self._tools[position] = self._index
        elif self._open != f"tool:{position}":
            raise StreamIncompleteError("the server interleaved the arguments of several tool calls")
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            events.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return events


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    """`value` if it is a list of JSON objects (None reads as an empty one); else `MalformedStreamError`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedStreamError(f"the {what} of a chunk is {json_type_name(value)}, not a list")
    return [stream_object(item, f"item of {what}") for item in value]


# -- the model ------------------------------------------------------------------------------------


class OpenAIModel(HTTPModel):
    """A chat-completions model on OpenAI or any OpenAI-compatible server.

    **Parameters:**

    - `model`: the server's model name (`gpt-4o`, `Qwen/Qwen2.5-7B-Instruct`...).
    - `api_key`, `base_url`: credentials and endpoint (default OpenAI's).
    - `max_retries`, `retry_delay`, `max_retry_delay`: retries of failed calls, as for Anthropic.
    - `max_tokens_param`: `max_completion_tokens` (OpenAI's current name, the default for OpenAI)
      or `max_tokens` (the default for other servers, which often know only that one).
    - `price`: a price of your own for the model (a `ModelPrice`), which wins over genai-prices' data.
    - `price_provider`: the genai-prices provider whose prices apply (`openai`, `groq`...), for a
      gateway in front of a known provider; by default, the provider genai-prices recognises from
      `base_url` (OpenAI's, Groq's, DeepSeek's, OpenRouter's...). A server of your own has no
      price: its `cost_usd` is unknown (None).

    Run settings: `output_format` is sent as `response_format` (`json_schema`), `effort` as
    `reasoning_effort`, `client_app` on the User-Agent. Chat completions have no thinking budget
    and no Anthropic betas: a run asking for thinking (other than `disabled`) or betas fails at
    start with `UnsupportedOptionError`.
    """

    provider = "the OpenAI-compatible provider"
    provider_id = "openai"
    client_module = "openai"
    honours: ClassVar[frozenset[str]] = frozenset({"output_format", "effort"})

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        max_tokens_param: Literal["max_tokens", "max_completion_tokens"] | None = None,
        stream_usage: bool = True,
        price: ModelPrice | None = None,
        price_provider: str | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._api_key = api_key
        url = base_url or DEFAULT_BASE_URL
        default_param = "max_completion_tokens" if url == DEFAULT_BASE_URL else "max_tokens"
        self.max_tokens_param = max_tokens_param or default_param
        self.stream_usage = stream_usage
        self.price = price
        self.price_provider = price_provider
        super().__init__(
            model,
            base_url=url,
            max_retries=max_retries,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            default_headers=default_headers,
        )

    @classmethod
    def from_env(cls, model: str, env: Mapping[str, str], **kwargs: Any) -> OpenAIModel:
        """The model configured from `OPENAI_API_KEY` and `OPENAI_BASE_URL`.

        A server of your own (`OPENAI_BASE_URL` set) may need no key; OpenAI's own API does.
        """
        api_key = env.get("OPENAI_API_KEY") or None
        base_url = env.get("OPENAI_BASE_URL") or None
        if api_key is None and base_url is None:
            raise ConfigurationError(
                f"the model 'openai:{model}' needs OPENAI_API_KEY for OpenAI's API, or OPENAI_BASE_URL for "
                "another OpenAI-compatible server (vLLM, llama.cpp, Ollama); set them in the environment "
                "or in AgentOptions.env"
            )
        return cls(model, api_key=api_key or "no-key-needed", base_url=base_url, **kwargs)

    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The chat-completions parameters (with `stream`) for `request`."""
        params: dict[str, Any] = {
            "model": self._model,
            "messages": to_openai_messages(request.messages, request.system),
            self.max_tokens_param: request.max_tokens,
            "stream": True,
        }
        if self.stream_usage:
            params["stream_options"] = {"include_usage": True}
        if request.tools:
            params["tools"] = to_openai_tools(request.tools)
        settings = request.settings
        if settings.output_schema is not None:
            schema = {"name": "structured_output", "schema": settings.output_schema}
            params["response_format"] = {"type": "json_schema", "json_schema": schema}
        if settings.effort is not None:
            params["reasoning_effort"] = settings.effort
        return params

    def _client_key(self) -> Hashable:
        """What the client is made of (`SharedClient`: models of equal keys share a client)."""
        env = tuple(os.environ.get(name) for name in ("OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"))
        return ("openai", self._api_key, env, self.base_url, *self._headers.items())

    def _new_client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            max_retries=0,  # retried by `retrying_stream`
            timeout=http_timeout(DEFAULT_TIMEOUTS),  # each call sets its own (`HTTPModel._stream`)
            default_headers=self._headers or None,
            http_client=openai.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
        )

    async def _attempt(
        self, client: Any, params: dict[str, Any], headers: dict[str, str], timeout: httpx2.Timeout
    ) -> AsyncGenerator[dict[str, Any], None]:
        import openai

        translator = ChunkTranslator(self._model)
        stream = await client.chat.completions.create(**params, extra_headers=headers or None, timeout=timeout)
        try:
            async with stream:
                async for chunk in stream:
                    if not isinstance(chunk, openai.BaseModel):  # a data line that is JSON but not an object
                        raise MalformedStreamError(f"a chunk of the stream is {json_type_name(chunk)}, not an object")
                    for event in translator.feed(chunk.to_dict(warnings=False)):
                        yield event
        except (openai.APIConnectionError, httpx2.TransportError) as error:
            # once the response has begun, a broken connection is a cut reply, whatever the client calls it
            cause = error.__cause__ or error
            raise StreamIncompleteError(f"the connection dropped mid-response ({describe(cause)})") from error
        for event in translator.finish():
            yield event

    def _cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        if self.price is not None:
            return self.price.cost(usage)
        if self.price_provider is not None:
            return cost_usd(model, usage, provider=self.price_provider)
        return cost_usd(model, usage, api_url=self.base_url)

    def _classify(self, error: BaseException) -> Failure:
        import openai

        if isinstance(error, openai.APIStatusError):
            return status_failure(self.retry_policy, error.status_code, error.response.headers)
        if isinstance(error, openai.APIConnectionError | httpx2.TransportError | StreamIncompleteError):
            return Failure(True)
        if isinstance(error, openai.APIError):  # an error reported inside the stream
            status = _stream_error_status(error)
            return Failure(status is None or self.retry_policy.retryable_status(status, None))
        return Failure(False)

    def _map_errors(self, attempts: Attempts) -> AbstractContextManager[None]:
        return _map_errors(self, attempts)


def _stream_error_status(error: openai.APIError) -> int | None:
    body = error.body
    if isinstance(body, Mapping):
        code = body.get("code")
        if isinstance(code, int) and code >= 400:
            return code
        if "overload" in str(body.get("type", "")):
            return 529
    return None


def _detail(error: openai.APIError) -> str | None:
    message = error.body.get("message") if isinstance(error.body, Mapping) else None
    return message if isinstance(message, str) and message else error.message or None


@contextmanager
def _map_errors(model: OpenAIModel, attempts: Attempts) -> Iterator[None]:
    """Turn `openai` and transport errors into `ModelError`s with status, body and a clear message."""
    import openai

    server = f"the OpenAI-compatible server at {model.base_url}"
    try:
        yield
    except openai.APIStatusError as error:
        message = http_error_message(
            server,
            error.status_code,
            _detail(error),
            retries=attempts.retries,
            credential_hint=CREDENTIAL_HINT,
            model=model.model_name,
        )
        raise ModelError(message, status_code=error.status_code, body=error.body, provider="openai") from error
    except openai.APIConnectionError as error:
        after = after_retries(attempts)
        raise ModelError(f"could not reach {server} ({describe(error)}){after}", provider="openai") from error
    except httpx2.TransportError as error:
        raise ModelError(
            f"the connection to {server} dropped mid-response ({describe(error)}); nothing was kept", provider="openai"
        ) from error
    except StreamIncompleteError as error:
        raise ModelError(
            f"the response of {server} was cut off: {error}; nothing was kept", provider="openai"
        ) from error
    except openai.APIError as error:
        status = _stream_error_status(error)
        raise ModelError(
            f"{server} reported an error mid-stream: {_detail(error)}",
            status_code=status,
            body=error.body,
            provider="openai",
        ) from error
    except (openai.OpenAIError, json.JSONDecodeError) as error:
        raise ModelError(f"the OpenAI client failed: {error}", provider="openai") from error
