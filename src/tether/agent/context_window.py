"""How full the context window is, and when the session must be compacted (`tether.agent.compaction`).

Before each model request the agent counts the tokens the request will hold (`ContextMeter`:
the provider's count of the last response plus an estimate of what was added since, else an
estimate of the whole request). When that reaches the threshold of the window
(`CompactionPolicy`), or when the provider answers "prompt is too long" (`is_prompt_too_long`),
the agent compacts.

As in Claude Code, the run's environment (`AgentOptions.env` over `os.environ`) sets:
`DISABLE_COMPACT` (no compaction at all), `DISABLE_AUTO_COMPACT` (only `/compact`),
`CLAUDE_AUTOCOMPACT_PCT_OVERRIDE` (compact at this percentage of the effective window, never
later than the default) and `CLAUDE_CODE_AUTO_COMPACT_WINDOW` (the window to count against, at
most the model's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from tether.errors import ConfigurationError, ModelError
from tether.models.base import USAGE_KEYS, ModelRequest, ModelResponse, ToolSpec
from tether.models.limits import ModelLimits

__all__ = [
    "CompactionPolicy",
    "ContextMeter",
    "MessageTokens",
    "context_tokens",
    "estimate_tokens",
    "is_prompt_too_long",
    "message_tokens",
    "overhead_tokens",
    "reported_tokens",
    "request_tokens",
]

SUMMARY_RESERVE = 20_000
"""Tokens kept free for the summary reply (Claude Code's; a fifth of a window under 100k tokens)."""
AUTOCOMPACT_BUFFER = 13_000
"""Tokens between the threshold and the effective window (Claude Code's; a seventh of a window
under 91k tokens)."""
TAIL_TOKENS = 20_000
"""The most tokens of the last messages kept verbatim after the summary (a tenth of a smaller window)."""
CHARS_PER_TOKEN = 4
MEDIA_TOKENS = 2_000
"""What an image or document block counts (its base64 data is not text the model reads)."""

ENV_DISABLE = "DISABLE_COMPACT"
ENV_DISABLE_AUTO = "DISABLE_AUTO_COMPACT"
ENV_PERCENT = "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"
ENV_WINDOW = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"

_MEDIA = frozenset({"image", "document"})
_TRUE = frozenset({"1", "true", "yes", "on"})

# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactionPolicy:
    """When the agent compacts and how much it keeps, for one model (see the module doc)."""

    window: int = 0
    """The context window compaction counts against, in tokens (0: unknown)."""
    threshold: int = 0
    """Automatic compaction fires when the next request would hold this many tokens (0: never)."""
    summary_tokens: int = SUMMARY_RESERVE
    """The most tokens of the summary reply."""
    tail_tokens: int = TAIL_TOKENS
    """The most tokens of the last messages kept verbatim after the summary."""
    enabled: bool = True
    """False with `DISABLE_COMPACT`: no compaction, not even `/compact`."""
    auto: bool = True
    """False with `DISABLE_AUTO_COMPACT`: only `/compact` compacts."""
    percent: float | None = None
    """`CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`: the threshold as a percentage of the effective window."""
    max_output_tokens: int = 0
    """The model's most output tokens (0: unknown)."""

    @classmethod
    def for_model(cls, limits: ModelLimits, env: Mapping[str, str]) -> CompactionPolicy:
        """The policy of a model with these limits, under the run's env (`ConfigurationError` for a
        malformed variable)."""
        enabled = not _flag(env, ENV_DISABLE)
        auto = enabled and not _flag(env, ENV_DISABLE_AUTO)
        policy = cls(
            enabled=enabled,
            auto=auto,
            percent=_number(env, ENV_PERCENT, 100),
            max_output_tokens=limits.max_output_tokens,
        )
        return policy.with_window(_window(limits.context_window, env))

    def with_window(self, window: int) -> CompactionPolicy:
        """This policy for a window of `window` tokens: Claude Code's threshold (the window less
        the summary's reserve and a buffer), and the reserve and the tail to match."""
        if window <= 0:
            return replace(self, window=0, threshold=0, summary_tokens=SUMMARY_RESERVE, tail_tokens=TAIL_TOKENS)
        reserve = min(self.max_output_tokens or SUMMARY_RESERVE, SUMMARY_RESERVE, max(window // 5, 1))
        effective = window - reserve
        threshold = effective - min(AUTOCOMPACT_BUFFER, window // 7)
        if self.percent is not None:
            threshold = min(threshold, int(effective * self.percent / 100))
        tail = min(TAIL_TOKENS, window // 10)
        return replace(self, window=window, threshold=max(threshold, 1), summary_tokens=reserve, tail_tokens=tail)


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _TRUE


def _number(env: Mapping[str, str], name: str, most: float | None = None) -> float | None:
    """A positive number from `env` (at most `most`), None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or (most is not None and value > most):
        bound = f" up to {most:g}" if most is not None else ""
        raise ConfigurationError(f"{name}={raw!r}: it must be a positive number{bound}")
    return value


def _window(model_window: int, env: Mapping[str, str]) -> int:
    """The model's window, or `CLAUDE_CODE_AUTO_COMPACT_WINDOW` when smaller (or the model's is unknown)."""
    override = _number(env, ENV_WINDOW)
    if override is None:
        return model_window
    return int(override) if model_window <= 0 else min(int(override), model_window)


# -- counting -------------------------------------------------------------------------------------


_AS_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode
"""`json.dumps(value, ensure_ascii=False, default=str)`, without building an encoder per call."""
_COMPACT_JSON = msgspec.json.Encoder(enc_hook=str).encode


def _json_length(value: Any) -> int:
    """The length of `value` as compact JSON (UTF-8 bytes; msgspec, about ten times `json.dumps`:
    every request counts the tool calls of its whole history), else of `json.dumps`'s text."""
    try:
        return len(_COMPACT_JSON(value))
    except (TypeError, ValueError, msgspec.EncodeError):
        return len(_AS_JSON(value))


def estimate_tokens(value: Any) -> int:
    """An estimate of the tokens of text, content blocks or messages: about four characters a token
    (a message counts as `message_tokens` says; an image or document block counts `MEDIA_TOKENS`)."""
    if isinstance(value, str):
        return -(-len(value) // CHARS_PER_TOKEN)
    if isinstance(value, list):  # a loop, not sum() over a generator: every request counts its history
        total = 0
        for item in value:  # the usual items inline: every request counts its whole history
            kind = type(item)
            if kind is dict:
                total += _dict_tokens(item)
            elif kind is str:
                total += -(-len(item) // CHARS_PER_TOKEN)
            else:
                total += estimate_tokens(item)
        return total
    if isinstance(value, dict):
        return _dict_tokens(value)
    return -(-_json_length(value) // CHARS_PER_TOKEN)


def _dict_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text", "")
        return -(-len(text if type(text) is str else str(text)) // CHARS_PER_TOKEN)
    if kind in _MEDIA:
        return MEDIA_TOKENS
    if kind == "thinking":
        return estimate_tokens(str(block.get("thinking", "")))
    if kind == "tool_result":
        return 4 + estimate_tokens(block.get("content") or "")
    if "role" in block and "content" in block:
        return message_tokens(block)
    return -(-_json_length(block) // CHARS_PER_TOKEN)


_BY_BLOCK = frozenset({"image", "document", "thinking", "redacted_thinking"})
"""Blocks whose JSON is not text the model reads as such (base64 data, signatures): a message holding
one is counted block by block."""


def message_tokens(message: dict[str, Any]) -> int:
    """An estimate of the tokens of one API message: 4, plus a quarter of its content's length as
    compact JSON (one C call, not a walk of its blocks: every request counts its whole history).
    A message with an image, document or thinking block (in a tool result too) is counted block by
    block instead: such a block counts `MEDIA_TOKENS`, thinking its text (not its signature), other
    text blocks their text, tool results 4 more than their content, other blocks their JSON."""
    content = message["content"]
    if type(content) is str:
        return 4 + -(-len(content) // CHARS_PER_TOKEN)
    if type(content) is not list or _has_unread_blocks(content):
        return 4 + estimate_tokens(content)
    try:
        return 4 + -(-len(_COMPACT_JSON(content)) // CHARS_PER_TOKEN)
    except (TypeError, ValueError, msgspec.EncodeError):
        return 4 + estimate_tokens(content)


def _has_unread_blocks(blocks: list[Any]) -> bool:
    """Whether `blocks` hold a block of `_BY_BLOCK` (or one that is not a dict), here or in a tool result."""
    for block in blocks:
        if type(block) is not dict:
            return True
        kind = block.get("type")
        if kind in _BY_BLOCK:
            return True
        if kind == "tool_result":
            inner = block.get("content")
            if type(inner) is list and _has_unread_blocks(inner):
                return True
    return False


class MessageTokens:
    """`message_tokens` of a history's messages, each kept while the history starts with the same
    messages holding the same content (the same list, of the same length: a history grows by
    appending), so that the requests of a run, and a compaction's split and chunks, count each
    message once."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []
        self._contents: list[Any] = []
        self._lengths: list[int] = []
        self._sizes: list[int] = []

    def sizes(self, messages: list[dict[str, Any]]) -> list[int]:
        """The estimate of each message; these messages are kept for the next call."""
        same = 0
        for message, known, content, length in zip(
            messages, self._messages, self._contents, self._lengths, strict=False
        ):
            now = message.get("content")
            if message is not known or now is not content or (type(now) is list and len(now) != length):
                break
            same += 1
        added = messages[same:]
        contents = [message.get("content") for message in added]
        self._messages = list(messages)
        self._contents = self._contents[:same] + contents
        self._lengths = self._lengths[:same] + [len(c) if type(c) is list else -1 for c in contents]
        self._sizes = self._sizes[:same] + [_tokens_of(message) for message in added]
        return self._sizes

    def total(self, messages: list[dict[str, Any]]) -> int:
        """The estimate of a list of messages."""
        return sum(self.sizes(messages))

    def clear(self) -> None:
        """Forget the messages counted (the history was replaced)."""
        self._messages, self._contents, self._lengths, self._sizes = [], [], [], []


def _tokens_of(message: Any) -> int:
    if type(message) is dict and "content" in message:
        return message_tokens(message)
    return estimate_tokens(message)


def request_tokens(request: ModelRequest, counted: MessageTokens | None = None) -> int:
    """An estimate of the tokens of a request: system prompt, tools and messages (those of
    `counted` not counted again)."""
    messages = estimate_tokens(request.messages) if counted is None else counted.total(request.messages)
    return overhead_tokens(request.system, request.tools) + messages


def overhead_tokens(system: str | None, tools: list[ToolSpec]) -> int:
    return estimate_tokens(system or "") + sum(-(-_json_length(tool.to_dict()) // CHARS_PER_TOKEN) for tool in tools)


def context_tokens(usage: Mapping[str, Any]) -> int:
    """The tokens a response's usage says the context held after it (input, cache and output)."""
    return sum(value for key in USAGE_KEYS if isinstance(value := usage.get(key), int) and not isinstance(value, bool))


class ContextMeter:
    """The tokens the next request will hold: the provider's count for the last response plus an
    estimate of what was added since; before any count (or after a compaction), the estimate
    scaled by how the provider's counts compared with estimates so far."""

    def __init__(self) -> None:
        self.measured: int | None = None
        """What the provider counted in the context of its last response (None: no count yet)."""
        self.ratio = 1.0
        """The provider's tokens per estimated token, as last seen."""
        self._baseline = 0

    def tokens(self, estimate: int) -> int:
        """The tokens of a request whose estimate is `estimate`."""
        if self.measured is None:
            return round(estimate * self.ratio)
        added = max(0, estimate - self._baseline)
        return self.measured + round(added * max(self.ratio, 1.0) * 4 / 3)  # new content counted generously

    def observe(self, estimate: int, response: ModelResponse) -> None:
        """Take in the provider's count of a response to a request whose estimate was `estimate`."""
        measured = context_tokens(response.usage)
        if measured <= 0:
            return
        self.measured = measured
        self._baseline = estimate + estimate_tokens(response.content)
        self.ratio = min(max(measured / max(self._baseline, 1), 0.25), 4.0)

    def learn(self, estimate: int, used: int) -> None:
        """The provider said a request whose estimate was `estimate` held `used` tokens."""
        if estimate > 0 and used > 0:
            self.ratio = min(max(used / estimate, 0.25), 4.0)

    def reset(self) -> None:
        """Forget the last count (the history it counted was replaced)."""
        self.measured = None


# -- "prompt too long" ----------------------------------------------------------------------------

_TOO_LONG = re.compile(
    r"prompt is too long|context_length_exceeded|maximum context length|context window|"
    r"input is too long|more than the local model's context",
    re.IGNORECASE,
)
_COUNTS = (
    (re.compile(r"(\d[\d,]*) tokens? > (\d[\d,]*)"), 1, 2),  # Anthropic: "prompt is too long: N tokens > M maximum"
    (re.compile(r"maximum context length is (\d[\d,]*) tokens.*?(\d[\d,]*) tokens", re.S), 2, 1),  # OpenAI
    (re.compile(r"prompt is (\d[\d,]*) tokens, more than .*? context of (\d[\d,]*)"), 1, 2),  # the local model
)


def _error_text(error: ModelError) -> str:
    body = json.dumps(error.body, default=str) if error.body is not None else ""
    return f"{error} {body}"


def is_prompt_too_long(error: ModelError) -> bool:
    """Whether a provider error says the request did not fit the model's context window."""
    return error.status_code in (None, 400, 413) and _TOO_LONG.search(_error_text(error)) is not None


def reported_tokens(error: ModelError) -> tuple[int, int] | None:
    """`(tokens of the request, the window)` when a "prompt too long" error says them."""
    text = _error_text(error)
    for pattern, used, limit in _COUNTS:
        match = pattern.search(text)
        if match:
            return int(match.group(used).replace(",", "")), int(match.group(limit).replace(",", ""))
    return None
