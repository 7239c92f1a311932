"""tether: an agent SDK whose sessions are durable, resumable and forkable.

```python
from tether import query, AgentOptions

async for message in query(prompt="Hello", options=AgentOptions()):
    print(message)
```

Every public name of the Claude Agent SDK's `claude_agent_sdk` is here too (and those of its
`claude_agent_sdk.types` in `tether.types`), so code written for it runs by changing the import.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

from tether._version import __version__ as __version__

# fmt: off
_EXPORTS: dict[str, tuple[str, ...]] = {
    "tether._query": ("AgentClient", "ClaudeSDKClient", "query"),
    "tether._vocabulary.control": ("ContextUsageCategory", "ContextUsageResponse", "Transport"),
    "tether._vocabulary.hooks": (
        "AsyncHookJSONOutput", "BackgroundTaskSummary", "BaseHookInput", "CwdChangedHookSpecificOutput",
        "ElicitationHookSpecificOutput", "ElicitationResultHookSpecificOutput", "FileChangedHookSpecificOutput",
        "HookCallback", "HookContext", "HookEffort", "HookEvent", "HookInput", "HookJSONOutput", "HookMatcher",
        "MessageDisplayHookSpecificOutput", "NotificationHookInput", "NotificationHookSpecificOutput",
        "PermissionDeniedHookSpecificOutput", "PermissionRequestHookInput", "PermissionRequestHookSpecificOutput",
        "PostModelSwitchHookSpecificOutput", "PostToolBatchHookSpecificOutput", "PostToolUseFailureHookInput",
        "PostToolUseFailureHookSpecificOutput", "PostToolUseHookInput", "PostToolUseHookSpecificOutput",
        "PreCompactHookInput", "PreModelSwitchHookSpecificOutput", "PreToolUseHookInput",
        "PreToolUseHookSpecificOutput", "SessionCronSummary", "SessionStartHookInput", "SessionStartHookSpecificOutput",
        "StopHookInput", "StopHookSpecificOutput", "SubagentStartHookInput", "SubagentStartHookSpecificOutput",
        "SubagentStopHookInput", "SubagentStopHookSpecificOutput", "SyncHookJSONOutput",
        "UserPromptExpansionHookSpecificOutput", "UserPromptSubmitHookInput", "UserPromptSubmitHookSpecificOutput",
        "WorktreeCreateHookSpecificOutput",
    ),
    "tether._vocabulary.mcp": (
        "McpSdkServerConfig", "McpServerConfig", "McpServerConnectionStatus", "McpServerInfo", "McpServerStatus",
        "McpServerStatusConfig", "McpStatusResponse", "McpToolAnnotations", "McpToolInfo",
    ),
    "tether._vocabulary.options": (
        "AgentDefinition", "CanUseToolShadowedWarning", "EffortLevel", "SandboxIgnoreViolations",
        "SandboxNetworkConfig", "SandboxSettings", "SdkBeta", "SdkPluginConfig", "SettingSource", "TaskBudget",
        "ThinkingConfig", "ThinkingConfigAdaptive", "ThinkingConfigDisabled", "ThinkingConfigEnabled",
    ),
    "tether._vocabulary.permissions": (
        "CanUseTool", "PermissionBehavior", "PermissionMode", "PermissionResult", "PermissionResultAllow",
        "PermissionResultDeny", "PermissionRuleValue", "PermissionUpdate", "ToolPermissionContext",
    ),
    "tether._vocabulary.store": (
        "SessionKey", "SessionListSubkeysKey", "SessionStore", "SessionStoreEntry", "SessionStoreFlushMode",
        "SessionStoreListEntry", "SessionSummaryEntry",
    ),
    "tether._vocabulary.tool_annotations": ("ToolAnnotations",),
    "tether._vocabulary.durable": ("DurableEngine",),
    "tether.errors": (
        "CLIConnectionError", "CLIJSONDecodeError", "CLINotFoundError", "ClaudeSDKError", "ConfigurationError",
        "EntryNotFoundError", "FollowTimeoutError", "InvalidSessionIdError", "ModelError", "ProcessError",
        "ResultError", "ResumeRejectedError", "SessionBusyError", "SessionConflictError", "SessionError",
        "SessionExistsError", "SessionFileNotFoundError", "SessionNotFoundError", "StoreError", "TetherError",
        "ToolError", "UnsupportedOptionError",
    ),
    "tether.messages": (
        "AssistantMessage", "ContentBlock", "ConversationResetMessage", "DeferredToolUse", "FastModeDisabledReason",
        "FastModeState", "HookEventMessage", "Message", "MessageOrigin", "MessageOriginKind", "MirrorErrorMessage",
        "ModelUsage", "RateLimitEvent", "RateLimitInfo", "RateLimitStatus", "RateLimitType", "ResultMessage",
        "ServerToolName", "ServerToolResultBlock", "ServerToolUseBlock", "StreamEvent", "SystemInitData",
        "SystemInitMcpServer", "SystemInitPlugin", "SystemInitPluginError", "SystemMessage", "TERMINAL_TASK_STATUSES",
        "TaskNotificationMessage", "TaskNotificationOriginSubkind", "TaskNotificationStatus", "TaskProgressMessage",
        "TaskStartedMessage", "TaskUpdatedMessage", "TaskUpdatedStatus", "TaskUsage", "TextBlock", "ThinkingBlock",
        "ToolResultBlock", "ToolUseBlock", "UserMessage",
    ),
    "tether.models.base": ("Model",),
    "tether.options": ("AgentOptions", "ClaudeAgentOptions"),
    "tether.sessions.claude_code": ("CopyReport", "copy_sessions", "export_session", "import_claude_code_sessions"),
    "tether.sessions.helpers": (
        "ForkSessionResult", "SessionInfo", "SessionMessage", "delete_session", "delete_session_async",
        "fork_session", "fork_session_async", "get_session_info", "get_session_info_async",
        "get_session_messages", "get_session_messages_async", "get_subagent_messages", "get_subagent_messages_async",
        "list_sessions", "list_sessions_async", "list_subagents", "list_subagents_async", "rename_session",
        "rename_session_async", "tag_session", "tag_session_async",
        "SDKSessionInfo=SessionInfo",
    ),
    "tether.sessions.store_helpers": (
        "delete_session_via_store", "fold_session_summary", "fork_session_via_store", "get_session_info_from_store",
        "get_session_messages_from_store", "get_subagent_messages_from_store", "import_session_to_store",
        "list_sessions_from_store", "list_subagents_from_store", "rename_session_via_store", "tag_session_via_store",
    ),
    "tether.sessions.follow": ("follow",),
    "tether.sessions.keys": ("project_key_for_directory",),
    "tether.sessions.stores.jsonl": ("JsonlStore",),
    "tether.sessions.stores.memory": ("MemoryStore", "InMemorySessionStore=MemoryStore"),
    "tether.sessions.stores.postgres": ("PostgresStore",),
    "tether.sessions.stores.redis": ("RedisStore",),
    "tether.sessions.stores.sqlite": ("SQLiteStore",),
    "tether.tools.base": ("SdkMcpTool", "Tool", "ToolContext", "ToolResult", "tool"),
    "tether.tools.sdk_server": ("create_sdk_mcp_server",),
}
# fmt: on
"""The public names, each once, by the module that defines it (`Name=Original` where it is renamed here).

`import tether` imports none of them: a name is imported when it is first used, so a program pays
only for the parts it uses (the provider SDKs, the stores' drivers and `mcp` are further imported
only when a run needs them). The `TYPE_CHECKING` imports below say the same for type checkers;
`tests/test_cold_start.py` checks that they match this table.
"""

_SOURCES: dict[str, tuple[str, str]] = {
    name.partition("=")[0]: (module, name.partition("=")[2] or name)
    for module, names in _EXPORTS.items()
    for name in names
}
"""Each public name -> its module and its name there."""

__all__ = tuple(sorted([*_SOURCES, "__version__"]))


def __getattr__(name: str) -> object:
    """A public name, imported on first use and kept."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'tether' has no attribute {name!r}")
    value = getattr(_import_module(source[0]), source[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if _TYPE_CHECKING:
    from tether._query import AgentClient as AgentClient
    from tether._query import ClaudeSDKClient as ClaudeSDKClient
    from tether._query import query as query
    from tether._vocabulary.control import ContextUsageCategory as ContextUsageCategory
    from tether._vocabulary.control import ContextUsageResponse as ContextUsageResponse
    from tether._vocabulary.control import Transport as Transport
    from tether._vocabulary.durable import DurableEngine as DurableEngine
    from tether._vocabulary.hooks import AsyncHookJSONOutput as AsyncHookJSONOutput
    from tether._vocabulary.hooks import BackgroundTaskSummary as BackgroundTaskSummary
    from tether._vocabulary.hooks import BaseHookInput as BaseHookInput
    from tether._vocabulary.hooks import CwdChangedHookSpecificOutput as CwdChangedHookSpecificOutput
    from tether._vocabulary.hooks import ElicitationHookSpecificOutput as ElicitationHookSpecificOutput
    from tether._vocabulary.hooks import ElicitationResultHookSpecificOutput as ElicitationResultHookSpecificOutput
    from tether._vocabulary.hooks import FileChangedHookSpecificOutput as FileChangedHookSpecificOutput
    from tether._vocabulary.hooks import HookCallback as HookCallback
    from tether._vocabulary.hooks import HookContext as HookContext
    from tether._vocabulary.hooks import HookEffort as HookEffort
    from tether._vocabulary.hooks import HookEvent as HookEvent
    from tether._vocabulary.hooks import HookInput as HookInput
    from tether._vocabulary.hooks import HookJSONOutput as HookJSONOutput
    from tether._vocabulary.hooks import HookMatcher as HookMatcher
    from tether._vocabulary.hooks import MessageDisplayHookSpecificOutput as MessageDisplayHookSpecificOutput
    from tether._vocabulary.hooks import NotificationHookInput as NotificationHookInput
    from tether._vocabulary.hooks import NotificationHookSpecificOutput as NotificationHookSpecificOutput
    from tether._vocabulary.hooks import PermissionDeniedHookSpecificOutput as PermissionDeniedHookSpecificOutput
    from tether._vocabulary.hooks import PermissionRequestHookInput as PermissionRequestHookInput
    from tether._vocabulary.hooks import PermissionRequestHookSpecificOutput as PermissionRequestHookSpecificOutput
    from tether._vocabulary.hooks import PostModelSwitchHookSpecificOutput as PostModelSwitchHookSpecificOutput
    from tether._vocabulary.hooks import PostToolBatchHookSpecificOutput as PostToolBatchHookSpecificOutput
    from tether._vocabulary.hooks import PostToolUseFailureHookInput as PostToolUseFailureHookInput
    from tether._vocabulary.hooks import PostToolUseFailureHookSpecificOutput as PostToolUseFailureHookSpecificOutput
    from tether._vocabulary.hooks import PostToolUseHookInput as PostToolUseHookInput
    from tether._vocabulary.hooks import PostToolUseHookSpecificOutput as PostToolUseHookSpecificOutput
    from tether._vocabulary.hooks import PreCompactHookInput as PreCompactHookInput
    from tether._vocabulary.hooks import PreModelSwitchHookSpecificOutput as PreModelSwitchHookSpecificOutput
    from tether._vocabulary.hooks import PreToolUseHookInput as PreToolUseHookInput
    from tether._vocabulary.hooks import PreToolUseHookSpecificOutput as PreToolUseHookSpecificOutput
    from tether._vocabulary.hooks import SessionCronSummary as SessionCronSummary
    from tether._vocabulary.hooks import SessionStartHookInput as SessionStartHookInput
    from tether._vocabulary.hooks import SessionStartHookSpecificOutput as SessionStartHookSpecificOutput
    from tether._vocabulary.hooks import StopHookInput as StopHookInput
    from tether._vocabulary.hooks import StopHookSpecificOutput as StopHookSpecificOutput
    from tether._vocabulary.hooks import SubagentStartHookInput as SubagentStartHookInput
    from tether._vocabulary.hooks import SubagentStartHookSpecificOutput as SubagentStartHookSpecificOutput
    from tether._vocabulary.hooks import SubagentStopHookInput as SubagentStopHookInput
    from tether._vocabulary.hooks import SubagentStopHookSpecificOutput as SubagentStopHookSpecificOutput
    from tether._vocabulary.hooks import SyncHookJSONOutput as SyncHookJSONOutput
    from tether._vocabulary.hooks import UserPromptExpansionHookSpecificOutput as UserPromptExpansionHookSpecificOutput
    from tether._vocabulary.hooks import UserPromptSubmitHookInput as UserPromptSubmitHookInput
    from tether._vocabulary.hooks import UserPromptSubmitHookSpecificOutput as UserPromptSubmitHookSpecificOutput
    from tether._vocabulary.hooks import WorktreeCreateHookSpecificOutput as WorktreeCreateHookSpecificOutput
    from tether._vocabulary.mcp import McpSdkServerConfig as McpSdkServerConfig
    from tether._vocabulary.mcp import McpServerConfig as McpServerConfig
    from tether._vocabulary.mcp import McpServerConnectionStatus as McpServerConnectionStatus
    from tether._vocabulary.mcp import McpServerInfo as McpServerInfo
    from tether._vocabulary.mcp import McpServerStatus as McpServerStatus
    from tether._vocabulary.mcp import McpServerStatusConfig as McpServerStatusConfig
    from tether._vocabulary.mcp import McpStatusResponse as McpStatusResponse
    from tether._vocabulary.mcp import McpToolAnnotations as McpToolAnnotations
    from tether._vocabulary.mcp import McpToolInfo as McpToolInfo
    from tether._vocabulary.options import AgentDefinition as AgentDefinition
    from tether._vocabulary.options import CanUseToolShadowedWarning as CanUseToolShadowedWarning
    from tether._vocabulary.options import EffortLevel as EffortLevel
    from tether._vocabulary.options import SandboxIgnoreViolations as SandboxIgnoreViolations
    from tether._vocabulary.options import SandboxNetworkConfig as SandboxNetworkConfig
    from tether._vocabulary.options import SandboxSettings as SandboxSettings
    from tether._vocabulary.options import SdkBeta as SdkBeta
    from tether._vocabulary.options import SdkPluginConfig as SdkPluginConfig
    from tether._vocabulary.options import SettingSource as SettingSource
    from tether._vocabulary.options import TaskBudget as TaskBudget
    from tether._vocabulary.options import ThinkingConfig as ThinkingConfig
    from tether._vocabulary.options import ThinkingConfigAdaptive as ThinkingConfigAdaptive
    from tether._vocabulary.options import ThinkingConfigDisabled as ThinkingConfigDisabled
    from tether._vocabulary.options import ThinkingConfigEnabled as ThinkingConfigEnabled
    from tether._vocabulary.permissions import CanUseTool as CanUseTool
    from tether._vocabulary.permissions import PermissionBehavior as PermissionBehavior
    from tether._vocabulary.permissions import PermissionMode as PermissionMode
    from tether._vocabulary.permissions import PermissionResult as PermissionResult
    from tether._vocabulary.permissions import PermissionResultAllow as PermissionResultAllow
    from tether._vocabulary.permissions import PermissionResultDeny as PermissionResultDeny
    from tether._vocabulary.permissions import PermissionRuleValue as PermissionRuleValue
    from tether._vocabulary.permissions import PermissionUpdate as PermissionUpdate
    from tether._vocabulary.permissions import ToolPermissionContext as ToolPermissionContext
    from tether._vocabulary.store import SessionKey as SessionKey
    from tether._vocabulary.store import SessionListSubkeysKey as SessionListSubkeysKey
    from tether._vocabulary.store import SessionStore as SessionStore
    from tether._vocabulary.store import SessionStoreEntry as SessionStoreEntry
    from tether._vocabulary.store import SessionStoreFlushMode as SessionStoreFlushMode
    from tether._vocabulary.store import SessionStoreListEntry as SessionStoreListEntry
    from tether._vocabulary.store import SessionSummaryEntry as SessionSummaryEntry
    from tether._vocabulary.tool_annotations import ToolAnnotations as ToolAnnotations
    from tether.errors import ClaudeSDKError as ClaudeSDKError
    from tether.errors import CLIConnectionError as CLIConnectionError
    from tether.errors import CLIJSONDecodeError as CLIJSONDecodeError
    from tether.errors import CLINotFoundError as CLINotFoundError
    from tether.errors import ConfigurationError as ConfigurationError
    from tether.errors import EntryNotFoundError as EntryNotFoundError
    from tether.errors import FollowTimeoutError as FollowTimeoutError
    from tether.errors import InvalidSessionIdError as InvalidSessionIdError
    from tether.errors import ModelError as ModelError
    from tether.errors import ProcessError as ProcessError
    from tether.errors import ResultError as ResultError
    from tether.errors import ResumeRejectedError as ResumeRejectedError
    from tether.errors import SessionBusyError as SessionBusyError
    from tether.errors import SessionConflictError as SessionConflictError
    from tether.errors import SessionError as SessionError
    from tether.errors import SessionExistsError as SessionExistsError
    from tether.errors import SessionFileNotFoundError as SessionFileNotFoundError
    from tether.errors import SessionNotFoundError as SessionNotFoundError
    from tether.errors import StoreError as StoreError
    from tether.errors import TetherError as TetherError
    from tether.errors import ToolError as ToolError
    from tether.errors import UnsupportedOptionError as UnsupportedOptionError
    from tether.messages import TERMINAL_TASK_STATUSES as TERMINAL_TASK_STATUSES
    from tether.messages import AssistantMessage as AssistantMessage
    from tether.messages import ContentBlock as ContentBlock
    from tether.messages import ConversationResetMessage as ConversationResetMessage
    from tether.messages import DeferredToolUse as DeferredToolUse
    from tether.messages import FastModeDisabledReason as FastModeDisabledReason
    from tether.messages import FastModeState as FastModeState
    from tether.messages import HookEventMessage as HookEventMessage
    from tether.messages import Message as Message
    from tether.messages import MessageOrigin as MessageOrigin
    from tether.messages import MessageOriginKind as MessageOriginKind
    from tether.messages import MirrorErrorMessage as MirrorErrorMessage
    from tether.messages import ModelUsage as ModelUsage
    from tether.messages import RateLimitEvent as RateLimitEvent
    from tether.messages import RateLimitInfo as RateLimitInfo
    from tether.messages import RateLimitStatus as RateLimitStatus
    from tether.messages import RateLimitType as RateLimitType
    from tether.messages import ResultMessage as ResultMessage
    from tether.messages import ServerToolName as ServerToolName
    from tether.messages import ServerToolResultBlock as ServerToolResultBlock
    from tether.messages import ServerToolUseBlock as ServerToolUseBlock
    from tether.messages import StreamEvent as StreamEvent
    from tether.messages import SystemInitData as SystemInitData
    from tether.messages import SystemInitMcpServer as SystemInitMcpServer
    from tether.messages import SystemInitPlugin as SystemInitPlugin
    from tether.messages import SystemInitPluginError as SystemInitPluginError
    from tether.messages import SystemMessage as SystemMessage
    from tether.messages import TaskNotificationMessage as TaskNotificationMessage
    from tether.messages import TaskNotificationOriginSubkind as TaskNotificationOriginSubkind
    from tether.messages import TaskNotificationStatus as TaskNotificationStatus
    from tether.messages import TaskProgressMessage as TaskProgressMessage
    from tether.messages import TaskStartedMessage as TaskStartedMessage
    from tether.messages import TaskUpdatedMessage as TaskUpdatedMessage
    from tether.messages import TaskUpdatedStatus as TaskUpdatedStatus
    from tether.messages import TaskUsage as TaskUsage
    from tether.messages import TextBlock as TextBlock
    from tether.messages import ThinkingBlock as ThinkingBlock
    from tether.messages import ToolResultBlock as ToolResultBlock
    from tether.messages import ToolUseBlock as ToolUseBlock
    from tether.messages import UserMessage as UserMessage
    from tether.models.base import Model as Model
    from tether.options import AgentOptions as AgentOptions
    from tether.options import ClaudeAgentOptions as ClaudeAgentOptions
    from tether.sessions.claude_code import CopyReport as CopyReport
    from tether.sessions.claude_code import copy_sessions as copy_sessions
    from tether.sessions.claude_code import export_session as export_session
    from tether.sessions.claude_code import import_claude_code_sessions as import_claude_code_sessions
    from tether.sessions.follow import follow as follow
    from tether.sessions.helpers import ForkSessionResult as ForkSessionResult
    from tether.sessions.helpers import SessionInfo as SessionInfo
    from tether.sessions.helpers import SessionMessage as SessionMessage
    from tether.sessions.helpers import delete_session as delete_session
    from tether.sessions.helpers import delete_session_async as delete_session_async
    from tether.sessions.helpers import fork_session as fork_session
    from tether.sessions.helpers import fork_session_async as fork_session_async
    from tether.sessions.helpers import get_session_info as get_session_info
    from tether.sessions.helpers import get_session_info_async as get_session_info_async
    from tether.sessions.helpers import get_session_messages as get_session_messages
    from tether.sessions.helpers import get_session_messages_async as get_session_messages_async
    from tether.sessions.helpers import get_subagent_messages as get_subagent_messages
    from tether.sessions.helpers import get_subagent_messages_async as get_subagent_messages_async
    from tether.sessions.helpers import list_sessions as list_sessions
    from tether.sessions.helpers import list_sessions_async as list_sessions_async
    from tether.sessions.helpers import list_subagents as list_subagents
    from tether.sessions.helpers import list_subagents_async as list_subagents_async
    from tether.sessions.helpers import rename_session as rename_session
    from tether.sessions.helpers import rename_session_async as rename_session_async
    from tether.sessions.helpers import tag_session as tag_session
    from tether.sessions.helpers import tag_session_async as tag_session_async
    from tether.sessions.keys import project_key_for_directory as project_key_for_directory
    from tether.sessions.store_helpers import delete_session_via_store as delete_session_via_store
    from tether.sessions.store_helpers import fold_session_summary as fold_session_summary
    from tether.sessions.store_helpers import fork_session_via_store as fork_session_via_store
    from tether.sessions.store_helpers import get_session_info_from_store as get_session_info_from_store
    from tether.sessions.store_helpers import get_session_messages_from_store as get_session_messages_from_store
    from tether.sessions.store_helpers import get_subagent_messages_from_store as get_subagent_messages_from_store
    from tether.sessions.store_helpers import import_session_to_store as import_session_to_store
    from tether.sessions.store_helpers import list_sessions_from_store as list_sessions_from_store
    from tether.sessions.store_helpers import list_subagents_from_store as list_subagents_from_store
    from tether.sessions.store_helpers import rename_session_via_store as rename_session_via_store
    from tether.sessions.store_helpers import tag_session_via_store as tag_session_via_store
    from tether.sessions.stores.jsonl import JsonlStore as JsonlStore
    from tether.sessions.stores.memory import MemoryStore as MemoryStore
    from tether.sessions.stores.postgres import PostgresStore as PostgresStore
    from tether.sessions.stores.redis import RedisStore as RedisStore
    from tether.sessions.stores.sqlite import SQLiteStore as SQLiteStore
    from tether.tools.base import SdkMcpTool as SdkMcpTool
    from tether.tools.base import Tool as Tool
    from tether.tools.base import ToolContext as ToolContext
    from tether.tools.base import ToolResult as ToolResult
    from tether.tools.base import tool as tool
    from tether.tools.sdk_server import create_sdk_mcp_server as create_sdk_mcp_server

    SDKSessionInfo = SessionInfo
    InMemorySessionStore = MemoryStore
