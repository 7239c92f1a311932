"""Messages streamed by `query()` and their content blocks.

Names, fields, field order and defaults follow the Claude Agent SDK, so code written for it reads
these unchanged. Content blocks and their Anthropic Messages API form live in
`tether.messages.blocks` and are re-exported here; that dict form is what the session store keeps,
inside transcript entries of the Claude Code shape (see `tether.sessions.entries`).

The TypedDicts here (`MessageOrigin`, `ModelUsage`, `SystemInitData`, ...) describe the dicts some
messages carry; like every TypedDict they are plain dicts at runtime.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Required, TypedDict

from tether._vocabulary.permissions import PermissionMode
from tether._vocabulary.store import SessionKey
from tether.messages.blocks import (
    SERVER_TOOL_RESULT_TYPES,
    ContentBlock,
    ServerToolName,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    block_from_dict,
    block_problem,
    block_to_dict,
    blocks_from_content,
    json_type_name,
)

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
