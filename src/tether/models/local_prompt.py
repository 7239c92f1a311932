"""What the local model is shown, and how its reply is read: the prompt side of `LocalModel`.

- The system prompt is the run's (or `DEFAULT_SYSTEM`), with the offered tools listed briefly
  (`TOOL_INSTRUCTIONS`) and the output schema shown (`OUTPUT_INSTRUCTIONS`).
- Only the tools the latest prompt is about are offered (`relevant_tools`): those sharing a word
  with it (their name, the first sentence of their description, their argument names).
- The history becomes chat messages with string content (`build_prompt_messages`): tool calls as
  `{"tool": NAME, "input": {...}}`, tool results as user turns (`Result of NAME: ...`).
- The constrained JSON reply becomes content blocks (`parse_reply`).
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
    "OUTPUT_INSTRUCTIONS",
    "TOOL_INSTRUCTIONS",
    "build_prompt_messages",
    "parse_reply",
    "relevant_tools",
    "tool_rounds",
]

DEFAULT_SYSTEM = "You are a helpful, concise assistant."
TOOL_INSTRUCTIONS = (
    "You have these tools:\n{tools}\n\nReply with JSON only. Call a tool with "
    '{{"tool": "<name>", "input": {{<arguments>}}}} when the user asks for something a tool does; '
    'otherwise reply {{"answer": "<text>"}}.'
)
"""Appended to the system prompt when tools are offered (chosen by trying variants on SmolLM2-135M)."""
OUTPUT_INSTRUCTIONS = "Reply with JSON only, matching this JSON schema:\n{schema}"
"""Appended to the system prompt of a run with structured output."""


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


def _system_prompt(request: ModelRequest, offered: list[ToolSpec]) -> str:
    system = request.system or DEFAULT_SYSTEM
    if offered:
        listing = "\n".join(f"- {tool.name}: {_brief(tool.description)} Input: {_arguments(tool)}" for tool in offered)
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
            lines.append(json.dumps({"tool": block.get("name"), "input": block.get("input") or {}}))
        elif kind == "tool_result":
            name = names.get(str(block.get("tool_use_id")), "the tool")
            verb = "failed" if block.get("is_error") else "returned"
            lines.append(f"Result of {name}: it {verb}:\n{_text_of(block.get('content'))}")
    return lines


def build_prompt_messages(
    request: ModelRequest, *, allow_tools: bool, tools: list[ToolSpec] | None = None
) -> list[dict[str, str]]:
    """The chat messages (string content) the local model sees for `request`, offering `tools`
    (default: the request's)."""
    offered = (request.tools if tools is None else tools) if allow_tools else []
    chat: list[dict[str, str]] = [{"role": "system", "content": _system_prompt(request, offered)}]
    names: dict[str, str] = {}
    for message in request.messages:
        lines = _message_lines(message, names)
        role = "assistant" if message.get("role") == "assistant" else "user"
        text = "\n".join(lines)
        if role == "assistant" and offered and lines and not lines[0].startswith('{"tool"'):
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


def parse_reply(text: str, tools: list[ToolSpec]) -> tuple[list[dict[str, Any]], str]:
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
