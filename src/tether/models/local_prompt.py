"""What the local model is shown, and how its reply is read: the prompt side of `LocalModel`.

- The system prompt is the run's (or `DEFAULT_SYSTEM`), with the offered tools listed briefly
  (`TOOL_INSTRUCTIONS`: name, first sentence, argument names, never their types, which a small
  model copies as values) and the output schema shown (`OUTPUT_INSTRUCTIONS`).
- One example exchange with real values comes before the history when an offered tool has one
  (`EXAMPLES` for the built-in tools, else the schema's own `examples`): a request, then its call.
- Only the tools the latest prompt is about are offered (`relevant_tools`): those sharing the most
  words with it (the words of `ROUTES` for the built-in tools; else their name, the first
  sentence of their description, their argument names).
- The history becomes chat messages with string content (`build_prompt_messages`): tool calls as
  compact `{"tool":NAME,"input":{...}}`, tool results as user turns (`Result of NAME: ...`).
- The constrained reply becomes content blocks (`parse_reply`, `parse_call`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from tether.models.base import ModelRequest, ToolSpec

__all__ = [
    "DEFAULT_SYSTEM",
    "EXAMPLES",
    "OUTPUT_INSTRUCTIONS",
    "ROUTES",
    "TOOL_INSTRUCTIONS",
    "build_prompt_messages",
    "call_json",
    "parse_call",
    "parse_reply",
    "relevant_tools",
    "tool_rounds",
]

DEFAULT_SYSTEM = "You are a helpful, concise assistant."
TOOL_INSTRUCTIONS = (
    "You can call these tools:\n{tools}\n\nTo call a tool, reply with its JSON call only, "
    'like {{"tool":"<name>","input":{{...}}}}, with the values the user gave. Otherwise answer in plain text.'
)
"""Appended to the system prompt when tools are offered (chosen by trying variants on SmolLM2-135M)."""
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "Read": ("Show me the file docs/guide.md", {"file_path": "docs/guide.md"}),
    "Glob": ("List the Go files", {"pattern": "**/*.go"}),
    "Grep": ("Search the code for the word parser", {"pattern": "parser"}),
    "Write": ("Write the text buy eggs to list.txt", {"file_path": "list.txt", "content": "buy eggs"}),
    "Edit": ("In main.c replace foo with bar", {"file_path": "main.c", "old_string": "foo", "new_string": "bar"}),
    "Bash": ("Run the command date", {"command": "date"}),
}
"""A request and the call that does it, shown before the history when the tool is offered (by name)."""
ROUTES: dict[str, str] = {
    "Read": "read open show contents content view",
    "Glob": "list find matching glob pattern which",
    "Grep": "grep search contain contains appear appears occurrences where",
    "Write": "write create save",
    "Edit": "edit replace change rename",
    "Bash": "bash run execute command shell",
}
"""The words of the requests each built-in tool serves, matched as written (their descriptions say
little to a word count: "file" is in most of them)."""
OUTPUT_INSTRUCTIONS = "Reply with JSON only, matching this JSON schema:\n{schema}"
"""Appended to the system prompt of a run with structured output."""


def _brief(description: str, limit: int = 160) -> str:
    """The first sentence of a tool description (a small model gets lost in long ones)."""
    first = description.strip().split("\n", 1)[0]
    match = re.match(r"(.+?[.!?])(\s|$)", first)
    sentence = match.group(1) if match else first
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def _arguments(tool: ToolSpec) -> str:
    """The tool's argument names, required ones first, optional ones marked."""
    properties = tool.input_schema.get("properties") or {}
    required = [name for name in tool.input_schema.get("required") or [] if name in properties]
    optional = [f"{name} (optional)" for name in properties if name not in required]
    return ", ".join([*required, *optional]) or "none"


def call_json(name: str, arguments: Any) -> str:
    """A tool call as the model writes it: compact JSON."""
    return json.dumps({"tool": name, "input": arguments}, separators=(",", ":"))


def _example(tool: ToolSpec) -> tuple[str, dict[str, Any]] | None:
    """A request and its call with real values: the built-in tool's, or from the schema's `examples`."""
    if tool.name in EXAMPLES:
        return EXAMPLES[tool.name]
    examples = tool.input_schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return f"Use {tool.name}.", examples[0]
    return None


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


_FILE_NAME = re.compile(r"\b[\w/-]+\.[a-z0-9]{1,5}\b", re.IGNORECASE)


def _score(tool: ToolSpec, prompt: str, asked: set[str]) -> float:
    """How much the prompt is about `tool`: the words they share; a named file counts half for Read."""
    if tool.name in ROUTES:
        said = set(re.findall(r"[a-z][a-z0-9]+", prompt.lower())) | asked  # the routes' verbs are stop words too
        named_file = tool.name == "Read" and _FILE_NAME.search(prompt) is not None
        return len(said & set(ROUTES[tool.name].split())) + 0.5 * named_file
    properties = " ".join(tool.input_schema.get("properties") or {})
    words = _words(f"{tool.name.replace('_', ' ')} {_brief(tool.description)} {properties.replace('_', ' ')}")
    return len(asked & words)


def relevant_tools(request: ModelRequest) -> list[ToolSpec]:
    """The tools the latest prompt is most about (see the module doc); none when it is about none."""
    prompt = _latest_prompt(request.messages)
    asked = _words(prompt)
    scores = [(_score(tool, prompt, asked), tool) for tool in request.tools]
    best = max((score for score, _ in scores), default=0)
    return [tool for score, tool in scores if best and score == best]


def _system_prompt(request: ModelRequest, offered: list[ToolSpec]) -> str:
    system = request.system or DEFAULT_SYSTEM
    if offered:
        listing = "\n".join(
            f"- {tool.name}: {_brief(tool.description)} Arguments: {_arguments(tool)}" for tool in offered
        )
        system = f"{system}\n\n{TOOL_INSTRUCTIONS.format(tools=listing)}"
    schema = request.settings.output_schema
    if schema is not None:
        system = f"{system}\n\n{OUTPUT_INSTRUCTIONS.format(schema=json.dumps(schema))}"
    return system


def _message_lines(message: Mapping[str, Any], names: dict[str, str]) -> list[str]:
    """A message's blocks as lines of text; remembers tool names by call id in `names`."""
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            lines.append(str(block["text"]))
        elif kind == "tool_use":
            names[str(block.get("id"))] = str(block.get("name"))
            lines.append(call_json(str(block.get("name")), block.get("input") or {}))
        elif kind == "tool_result":
            name = names.get(str(block.get("tool_use_id")), "the tool")
            verb = "failed" if block.get("is_error") else "returned"
            lines.append(f"Result of {name}: it {verb}:\n{_text_of(block.get('content'))}")
    return lines


def build_prompt_messages(
    request: ModelRequest, *, allow_tools: bool, tools: list[ToolSpec] | None = None, json_answers: bool = False
) -> list[dict[str, str]]:
    """The chat messages (string content) the local model sees for `request`, offering `tools`
    (default: the request's); `json_answers` shows past text answers as `{"answer": ...}` (the
    reply's form when structured output goes with tools)."""
    offered = (request.tools if tools is None else tools) if allow_tools else []
    chat: list[dict[str, str]] = [{"role": "system", "content": _system_prompt(request, offered)}]
    example = next(filter(None, map(_example, offered)), None)
    if example is not None:
        name = next(tool.name for tool in offered if _example(tool) == example)
        chat += [{"role": "user", "content": example[0]}, {"role": "assistant", "content": call_json(name, example[1])}]
    names: dict[str, str] = {}
    for message in request.messages:
        lines = _message_lines(message, names)
        role = "assistant" if message.get("role") == "assistant" else "user"
        text = "\n".join(lines)
        if role == "assistant" and json_answers and lines and not lines[0].startswith('{"tool"'):
            text = json.dumps({"answer": text})
        if chat[-1]["role"] == role and len(chat) > 1:
            chat[-1]["content"] += "\n\n" + text
        else:
            chat.append({"role": role, "content": text})
    return chat


def tool_rounds(messages: list[dict[str, Any]]) -> int:
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


def parse_call(text: str, tools: list[ToolSpec]) -> dict[str, Any] | None:
    """The `tool_use` block of a reply that is a call of one of `tools`, else None."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("tool"), str) and isinstance(value.get("input"), dict):
        if value["tool"] in {tool.name for tool in tools}:
            call = {"type": "tool_use", "id": f"toolu_local_{uuid.uuid4().hex[:20]}", "name": value["tool"]}
            call["input"] = value["input"]
            return call
    return None


def parse_reply(text: str, tools: list[ToolSpec]) -> tuple[list[dict[str, Any]], str]:
    """Content blocks and stop reason from the constrained JSON reply (`{"answer": ...}` or a call)."""
    call = parse_call(text, tools)
    if call is not None:
        return [call], "tool_use"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
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
