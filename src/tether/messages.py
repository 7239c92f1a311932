"""Messages streamed by `query()` and their content blocks.

Names, fields, field order and defaults follow the Claude Agent SDK, so code written for it reads
these unchanged. Content blocks convert to and from Anthropic Messages API dicts (`block_to_dict`,
`block_from_dict`); that dict form is what the session store keeps, inside transcript entries of
the Claude Code shape (see `tether.sessions.entries`).

The TypedDicts here (`MessageOrigin`, `ModelUsage`, `SystemInitData`, ...) describe the dicts some
messages carry; like every TypedDict they are plain dicts at runtime.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Required, TypedDict

from tether._vocabulary.permissions import PermissionMode
from tether._vocabulary.store import SessionKey

__all__ = [
    "INTERRUPTED_TERMINAL_REASONS",
    "SERVER_TOOL_RESULT_TYPES",
    "TERMINAL_TASK_STATUSES",
    "AssistantMessage",
    "AssistantMessageError",
    "ContentBlock",
    "ConversationResetMessage",
    "DeferredToolUse",
    "FastModeDisabledReason",
    "FastModeState",
    "HookEventMessage",
    "Message",
    "MessageOrigin",
    "MessageOriginKind",
    "MirrorErrorMessage",
    "ModelUsage",
    "RateLimitEvent",
    "RateLimitInfo",
    "RateLimitStatus",
    "RateLimitType",
    "ResultMessage",
    "ServerToolName",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "StreamEvent",
    "SystemInitData",
    "SystemInitMcpServer",
    "SystemInitPlugin",
    "SystemInitPluginError",
    "SystemMessage",
    "TaskNotificationMessage",
    "TaskNotificationOriginSubkind",
    "TaskNotificationStatus",
    "TaskProgressMessage",
    "TaskStartedMessage",
    "TaskUpdatedMessage",
    "TaskUpdatedStatus",
    "TaskUsage",
    "TextBlock",
    "ThinkingBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "UserMessage",
    "block_from_dict",
    "block_problem",
    "block_to_dict",
    "blocks_from_content",
    "json_type_name",
]

# --- content blocks ---------------------------------------------------------------------------


@dataclass
class TextBlock:
    """Text produced by the model (or written by the user)."""

    text: str


@dataclass
class ThinkingBlock:
    """The model's extended thinking, with the signature the provider needs to accept it back.

    Providers that sign nothing (OpenAI-compatible, local models) give an empty `signature`.
    """

    thinking: str
    signature: str


@dataclass
class ToolUseBlock:
    """A call of tool `name` with `input`; `id` pairs it with its `ToolResultBlock`."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass
class ToolResultBlock:
    """The result of the tool call `tool_use_id`; `is_error` marks a failed call."""

    tool_use_id: str
    content: str | list[dict[str, Any]] | None = None
    is_error: bool | None = None


ServerToolName = Literal[
    "advisor",
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
    "tool_search_tool_regex",
    "tool_search_tool_bm25",
]
"""The tools a provider runs on its own side (Anthropic's server tools)."""

SERVER_TOOL_RESULT_TYPES = frozenset(
    {
        "advisor_tool_result",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
    }
)
"""The Anthropic API block types that are results of server tools (`ServerToolResultBlock`)."""


@dataclass
class ServerToolUseBlock:
    """A call of a tool the provider runs itself (web search, code execution...); nothing to answer."""

    id: str
    name: ServerToolName
    input: dict[str, Any]


@dataclass
class ServerToolResultBlock:
    """The provider's result of the server tool call `tool_use_id`.

    `content` is the API's `content` as sent (a dict; for web search, the list of results).
    `result_type` (a tether addition) is the API block type, such as `"web_search_tool_result"`,
    so the block goes back to the provider unchanged on the next turn and after a resume.
    """

    tool_use_id: str
    content: dict[str, Any]
    result_type: str = "advisor_tool_result"


ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock | ToolResultBlock | ServerToolUseBlock | ServerToolResultBlock

# --- user and assistant messages ---------------------------------------------------------------

MessageOriginKind = Literal[
    "human",
    "channel",
    "peer",
    "task-notification",
    "coordinator",
    "unclassified",
    "observer",
    "auto-continuation",
    "observer-activity",
]
"""Known values of `MessageOrigin["kind"]`; treat anything else as "not human"."""

TaskNotificationOriginSubkind = Literal["scheduled-trigger", "peer-send-message"]
"""`MessageOrigin["subkind"]` values when `kind` is `"task-notification"`."""

MessageOrigin = TypedDict(
    "MessageOrigin",
    {
        "kind": Required[MessageOriginKind],
        "server": str,
        "from": str,
        "name": str,
        "fromSession": str,
        "senderTaskId": str,
        "body": str,
        "verifiedPeerPid": int,
        "subkind": TaskNotificationOriginSubkind,
    },
    total=False,
)
"""What started a user turn: only `kind` is always present (`{"kind": "human"}` for a prompt)."""


@dataclass
class UserMessage:
    """A user turn: the prompt, or the results of the tools the model called."""

    content: str | list[ContentBlock]
    uuid: str | None = None
    parent_tool_use_id: str | None = None
    tool_use_result: dict[str, Any] | None = None
    origin: MessageOrigin | None = None


AssistantMessageError = Literal[
    "authentication_failed", "billing_error", "rate_limit", "invalid_request", "server_error", "unknown"
]


@dataclass
class AssistantMessage:
    """One response of the model: text, thinking and tool calls."""

    content: list[ContentBlock]
    model: str
    parent_tool_use_id: str | None = None
    error: AssistantMessageError | None = None
    usage: dict[str, Any] | None = None
    message_id: str | None = None
    stop_reason: str | None = None
    session_id: str | None = None
    uuid: str | None = None
    user_message_uuid: str | None = None
    user_message_uuids: list[str] | None = None


# --- system messages ---------------------------------------------------------------------------


@dataclass
class SystemMessage:
    """A system event. The first message of every run has `subtype == "init"` (see `SystemInitData`)."""

    subtype: str
    data: dict[str, Any]


class SystemInitMcpServer(TypedDict):
    """An MCP server of the init message and its connection status."""

    name: str
    status: str
    source: NotRequired[str]


class SystemInitPlugin(TypedDict):
    """A plugin listed in the init message."""

    name: str
    path: str
    version: NotRequired[str]


class SystemInitPluginError(TypedDict):
    """A plugin that failed to load, listed in the init message."""

    plugin: str
    type: str
    message: str
    path: NotRequired[str]


FastModeState = Literal["off", "cooldown", "on"]
FastModeDisabledReason = Literal[
    "free",
    "preference",
    "extra_usage_disabled",
    "network_error",
    "unknown",
    "not_first_party",
    "disabled_by_env",
    "model_not_allowed",
    "sdk_opt_in_required",
    "pending",
]


class SystemInitData(TypedDict):
    """The `data` of the `init` system message: session id, model, cwd, tools, MCP servers..."""

    type: Literal["system"]
    subtype: Literal["init"]
    uuid: str
    session_id: str
    agents: NotRequired[list[str]]
    apiKeySource: str
    betas: NotRequired[list[str]]
    claude_code_version: str
    cwd: str
    tools: list[str]
    mcp_servers: list[SystemInitMcpServer]
    model: str
    permissionMode: PermissionMode
    slash_commands: list[str]
    terminal_slash_commands: NotRequired[list[str]]
    output_style: str
    skills: list[str]
    plugins: list[SystemInitPlugin]
    plugin_errors: NotRequired[list[SystemInitPluginError]]
    fast_mode_state: NotRequired[FastModeState]
    fast_mode_disabled_reason: NotRequired[FastModeDisabledReason]
    capabilities: NotRequired[list[str]]


class TaskUsage(TypedDict):
    """Tokens, tool uses and time a task (a subagent) has used so far."""

    total_tokens: int
    tool_uses: int
    duration_ms: int


TaskNotificationStatus = Literal["completed", "failed", "stopped"]
TaskUpdatedStatus = Literal["pending", "running", "paused", "completed", "failed", "killed"]

TERMINAL_TASK_STATUSES: frozenset[str] = frozenset({"completed", "failed", "stopped", "killed"})
"""Task statuses (of either `TaskNotificationMessage` or `TaskUpdatedMessage`) that mean finished."""


@dataclass
class TaskStartedMessage(SystemMessage):
    """A task started: a subagent, for one Agent call (`subtype == "task_started"`; `data` holds the raw event)."""

    task_id: str
    description: str
    uuid: str
    session_id: str
    tool_use_id: str | None = None
    task_type: str | None = None


@dataclass
class TaskProgressMessage(SystemMessage):
    """A task reports progress: a subagent after each batch of its tool results (`subtype == "task_progress"`)."""

    task_id: str
    description: str
    usage: TaskUsage
    uuid: str
    session_id: str
    tool_use_id: str | None = None
    last_tool_name: str | None = None


@dataclass
class TaskNotificationMessage(SystemMessage):
    """A task completed, failed or was stopped (`subtype == "task_notification"`)."""

    task_id: str
    status: TaskNotificationStatus
    output_file: str
    summary: str
    uuid: str
    session_id: str
    tool_use_id: str | None = None
    usage: TaskUsage | None = None


@dataclass
class TaskUpdatedMessage(SystemMessage):
    """A task's state changed (`subtype == "task_updated"`); `patch` has what changed (a subagent's
    terminal `status` and `end_time`)."""

    task_id: str
    patch: dict[str, Any]
    status: TaskUpdatedStatus | None = None
    session_id: str | None = None
    uuid: str | None = None


@dataclass
class MirrorErrorMessage(SystemMessage):
    """A write to a mirroring session store failed (`subtype == "mirror_error"`); the run goes on."""

    key: SessionKey | None = None
    error: str = ""


@dataclass
class HookEventMessage(SystemMessage):
    """A hook started or answered (`include_hook_events=True`).

    `subtype` is `"hook_started"` or `"hook_response"`; `data` is the whole event (a response also
    carries `output`, `exit_code` and `outcome`).
    """

    hook_event_name: str = ""
    session_id: str | None = None
    uuid: str | None = None


# --- the result ---------------------------------------------------------------------------------


@dataclass
class DeferredToolUse:
    """The tool call a PreToolUse hook deferred (`permissionDecision: "defer"`), ending the run."""

    id: str
    name: str
    input: dict[str, Any]


class ModelUsage(TypedDict):
    """Tokens and cost of one model in a run (`ResultMessage.model_usage[model]`)."""

    inputTokens: int
    outputTokens: int
    cacheReadInputTokens: int
    cacheCreationInputTokens: int
    webSearchRequests: int
    costUSD: float
    contextWindow: int
    maxOutputTokens: int
    canonicalModel: NotRequired[str]
    provider: NotRequired[str]


INTERRUPTED_TERMINAL_REASONS = frozenset({"aborted_streaming", "aborted_tools"})
"""`ResultMessage.terminal_reason` of a run cut by `interrupt()`: mid-reply, or while tools ran."""


@dataclass
class ResultMessage:
    """The last message of a run: outcome, counts, usage and cost (cumulative over the session)."""

    subtype: str
    duration_ms: int
    duration_api_ms: int
    is_error: bool
    num_turns: int
    session_id: str
    stop_reason: str | None = None
    total_cost_usd: float | None = None
    usage: dict[str, Any] | None = None
    result: str | None = None
    structured_output: Any = None
    model_usage: dict[str, ModelUsage] | None = None
    permission_denials: list[Any] | None = None
    deferred_tool_use: DeferredToolUse | None = None
    errors: list[str] | None = None
    api_error_status: int | None = None
    uuid: str | None = None
    terminal_reason: str | None = None
    origin: MessageOrigin | None = None
    user_message_uuid: str | None = None
    user_message_uuids: list[str] | None = None


# --- stream, rate limit and reset events --------------------------------------------------------


@dataclass
class StreamEvent:
    """A raw streaming event of the model (`include_partial_messages=True`)."""

    uuid: str
    session_id: str
    event: dict[str, Any]
    parent_tool_use_id: str | None = None
    user_message_uuid: str | None = None
    user_message_uuids: list[str] | None = None


RateLimitStatus = Literal["allowed", "allowed_warning", "rejected"]
RateLimitType = Literal["five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet", "overage"]


@dataclass
class RateLimitInfo:
    """The provider's rate limit state: `status`, when it resets, and the raw data it came from."""

    status: RateLimitStatus
    resets_at: int | None = None
    rate_limit_type: RateLimitType | None = None
    utilization: float | None = None
    overage_status: RateLimitStatus | None = None
    overage_resets_at: int | None = None
    overage_disabled_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class RateLimitEvent:
    """The rate limit state changed (for instance the provider answered 429)."""

    rate_limit_info: RateLimitInfo
    uuid: str
    session_id: str


@dataclass
class ConversationResetMessage:
    """The conversation was replaced without closing the connection; totals start again from zero."""

    new_conversation_id: str
    uuid: str
    session_id: str


Message = (
    UserMessage
    | AssistantMessage
    | SystemMessage
    | ResultMessage
    | StreamEvent
    | RateLimitEvent
    | ConversationResetMessage
)

# --- the API form of blocks ---------------------------------------------------------------------


def block_to_dict(block: ContentBlock) -> dict[str, Any]:
    """The Anthropic Messages API form of a content block."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ServerToolUseBlock):
        return {"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ServerToolResultBlock):
        return {"type": block.result_type, "tool_use_id": block.tool_use_id, "content": block.content}
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_use_id}
    if block.content is not None:
        result["content"] = block.content
    if block.is_error:
        result["is_error"] = True
    return result


def block_from_dict(data: dict[str, Any]) -> ContentBlock | None:
    """A content block from its API form; None for block kinds tether does not model.

    A malformed block of a kind tether models (a `tool_use` without `id`, an `input` that is not
    an object...) raises `ValueError` saying what is wrong (see `block_problem`).
    """
    problem = block_problem(data)
    if problem is not None:
        raise ValueError(problem)
    kind = data.get("type")
    if kind == "text":
        return TextBlock(text=data["text"])
    if kind == "thinking":
        return ThinkingBlock(thinking=data["thinking"], signature=str(data.get("signature") or ""))
    if kind == "tool_use":
        return ToolUseBlock(id=data["id"], name=data["name"], input=dict(data.get("input") or {}))
    if kind == "tool_result":
        return ToolResultBlock(
            tool_use_id=data["tool_use_id"],
            content=data.get("content"),
            is_error=data.get("is_error"),
        )
    if kind == "server_tool_use":
        return ServerToolUseBlock(id=data["id"], name=data["name"], input=dict(data.get("input") or {}))
    if kind in SERVER_TOOL_RESULT_TYPES:
        return ServerToolResultBlock(tool_use_id=data["tool_use_id"], content=data["content"], result_type=str(kind))
    return None


_CALL_KINDS = frozenset({"tool_use", "server_tool_use"})
_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (str, "a string"),
    (int, "a number"),
    (float, "a number"),
    (list, "an array"),
    (dict, "an object"),
)


def json_type_name(value: Any) -> str:
    """How a JSON value's type reads in a message: `an array`, `a string`, `null`..."""
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def block_problem(data: Any) -> str | None:
    """What is wrong with a content block in its API form, or None when tether can use it.

    Blocks of kinds tether does not model (images, documents...) are not checked.
    """
    if not isinstance(data, dict):
        return f"a content block must be an object, not {json_type_name(data)}"
    kind = data.get("type")
    if not isinstance(kind, str):
        return f"a content block has no type (it is {_short(data)})"
    if kind in ("text", "thinking") and not isinstance(data.get(kind), str):
        return f"a {kind} block has no {kind} string (it has {json_type_name(data.get(kind))})"
    if kind == "thinking" and not isinstance(data.get("signature") or "", str):
        return f"the signature of a thinking block is {json_type_name(data.get('signature'))}, not a string"
    if kind in _CALL_KINDS:
        return _call_problem(kind, data)
    if (kind == "tool_result" or kind in SERVER_TOOL_RESULT_TYPES) and not _is_id(data.get("tool_use_id")):
        return f"a {kind} block has no tool_use_id"
    if kind in SERVER_TOOL_RESULT_TYPES and "content" not in data:
        return f"a {kind} block has no content"
    return None


def _call_problem(kind: str, data: dict[str, Any]) -> str | None:
    name = data.get("name")
    if not _is_id(name):
        return f"a {kind} block has no name (it is {_short(data)})"
    if not _is_id(data.get("id")):
        return f"the {kind} block calling {name!r} has no id"
    tool_input = data.get("input")
    if tool_input is not None and not isinstance(tool_input, dict):
        return f"the input of the {name!r} call is {json_type_name(tool_input)}, not an object"
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def blocks_from_content(content: str | list[dict[str, Any]]) -> str | list[ContentBlock]:
    """Message content from its API form (a string stays a string)."""
    if isinstance(content, str):
        return content
    blocks = (block_from_dict(item) for item in content if isinstance(item, dict))
    return [block for block in blocks if block is not None]
