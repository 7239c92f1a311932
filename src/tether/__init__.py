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
from sys import modules as _modules
from types import ModuleType as _ModuleType
from typing import TYPE_CHECKING, Any

from tether._version import __version__ as __version__

if TYPE_CHECKING:
    from tether._tool_annotations import ToolAnnotations as ToolAnnotations
    from tether.agent.hooks import AsyncHookJSONOutput as AsyncHookJSONOutput
    from tether.agent.hooks import BackgroundTaskSummary as BackgroundTaskSummary
    from tether.agent.hooks import BaseHookInput as BaseHookInput
    from tether.agent.hooks import CwdChangedHookSpecificOutput as CwdChangedHookSpecificOutput
    from tether.agent.hooks import ElicitationHookSpecificOutput as ElicitationHookSpecificOutput
    from tether.agent.hooks import ElicitationResultHookSpecificOutput as ElicitationResultHookSpecificOutput
    from tether.agent.hooks import FileChangedHookSpecificOutput as FileChangedHookSpecificOutput
    from tether.agent.hooks import HookCallback as HookCallback
    from tether.agent.hooks import HookContext as HookContext
    from tether.agent.hooks import HookEffort as HookEffort
    from tether.agent.hooks import HookEvent as HookEvent
    from tether.agent.hooks import HookInput as HookInput
    from tether.agent.hooks import HookJSONOutput as HookJSONOutput
    from tether.agent.hooks import HookMatcher as HookMatcher
    from tether.agent.hooks import MessageDisplayHookSpecificOutput as MessageDisplayHookSpecificOutput
    from tether.agent.hooks import NotificationHookInput as NotificationHookInput
    from tether.agent.hooks import NotificationHookSpecificOutput as NotificationHookSpecificOutput
    from tether.agent.hooks import PermissionDeniedHookSpecificOutput as PermissionDeniedHookSpecificOutput
    from tether.agent.hooks import PermissionRequestHookInput as PermissionRequestHookInput
    from tether.agent.hooks import PermissionRequestHookSpecificOutput as PermissionRequestHookSpecificOutput
    from tether.agent.hooks import PostModelSwitchHookSpecificOutput as PostModelSwitchHookSpecificOutput
    from tether.agent.hooks import PostToolBatchHookSpecificOutput as PostToolBatchHookSpecificOutput
    from tether.agent.hooks import PostToolUseFailureHookInput as PostToolUseFailureHookInput
    from tether.agent.hooks import PostToolUseFailureHookSpecificOutput as PostToolUseFailureHookSpecificOutput
    from tether.agent.hooks import PostToolUseHookInput as PostToolUseHookInput
    from tether.agent.hooks import PostToolUseHookSpecificOutput as PostToolUseHookSpecificOutput
    from tether.agent.hooks import PreCompactHookInput as PreCompactHookInput
    from tether.agent.hooks import PreModelSwitchHookSpecificOutput as PreModelSwitchHookSpecificOutput
    from tether.agent.hooks import PreToolUseHookInput as PreToolUseHookInput
    from tether.agent.hooks import PreToolUseHookSpecificOutput as PreToolUseHookSpecificOutput
    from tether.agent.hooks import SessionCronSummary as SessionCronSummary
    from tether.agent.hooks import SessionStartHookInput as SessionStartHookInput
    from tether.agent.hooks import SessionStartHookSpecificOutput as SessionStartHookSpecificOutput
    from tether.agent.hooks import StopHookInput as StopHookInput
    from tether.agent.hooks import StopHookSpecificOutput as StopHookSpecificOutput
    from tether.agent.hooks import SubagentStartHookInput as SubagentStartHookInput
    from tether.agent.hooks import SubagentStartHookSpecificOutput as SubagentStartHookSpecificOutput
    from tether.agent.hooks import SubagentStopHookInput as SubagentStopHookInput
    from tether.agent.hooks import SubagentStopHookSpecificOutput as SubagentStopHookSpecificOutput
    from tether.agent.hooks import SyncHookJSONOutput as SyncHookJSONOutput
    from tether.agent.hooks import UserPromptExpansionHookSpecificOutput as UserPromptExpansionHookSpecificOutput
    from tether.agent.hooks import UserPromptSubmitHookInput as UserPromptSubmitHookInput
    from tether.agent.hooks import UserPromptSubmitHookSpecificOutput as UserPromptSubmitHookSpecificOutput
    from tether.agent.hooks import WorktreeCreateHookSpecificOutput as WorktreeCreateHookSpecificOutput
    from tether.agent.permissions import CanUseTool as CanUseTool
    from tether.agent.permissions import PermissionBehavior as PermissionBehavior
    from tether.agent.permissions import PermissionResult as PermissionResult
    from tether.agent.permissions import PermissionResultAllow as PermissionResultAllow
    from tether.agent.permissions import PermissionResultDeny as PermissionResultDeny
    from tether.agent.permissions import PermissionRuleValue as PermissionRuleValue
    from tether.agent.permissions import PermissionUpdate as PermissionUpdate
    from tether.agent.permissions import ToolPermissionContext as ToolPermissionContext
    from tether.errors import ClaudeSDKError as ClaudeSDKError
    from tether.errors import CLIConnectionError as CLIConnectionError
    from tether.errors import CLIJSONDecodeError as CLIJSONDecodeError
    from tether.errors import CLINotFoundError as CLINotFoundError
    from tether.errors import ConfigurationError as ConfigurationError
    from tether.errors import EntryNotFoundError as EntryNotFoundError
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
    from tether.options import PermissionMode as PermissionMode
    from tether.query import AgentClient as AgentClient
    from tether.query import ClaudeSDKClient as ClaudeSDKClient
    from tether.query import query as query
    from tether.sessions.claude_code import CopyReport as CopyReport
    from tether.sessions.claude_code import copy_sessions as copy_sessions
    from tether.sessions.claude_code import export_session as export_session
    from tether.sessions.claude_code import import_claude_code_sessions as import_claude_code_sessions
    from tether.sessions.helpers import ForkSessionResult as ForkSessionResult
    from tether.sessions.helpers import SessionInfo as SessionInfo
    from tether.sessions.helpers import SessionMessage as SessionMessage
    from tether.sessions.helpers import delete_session as delete_session
    from tether.sessions.helpers import delete_session_async as delete_session_async
    from tether.sessions.helpers import delete_session_via_store as delete_session_via_store
    from tether.sessions.helpers import fold_session_summary as fold_session_summary
    from tether.sessions.helpers import fork_session as fork_session
    from tether.sessions.helpers import fork_session_async as fork_session_async
    from tether.sessions.helpers import fork_session_via_store as fork_session_via_store
    from tether.sessions.helpers import get_session_info as get_session_info
    from tether.sessions.helpers import get_session_info_async as get_session_info_async
    from tether.sessions.helpers import get_session_info_from_store as get_session_info_from_store
    from tether.sessions.helpers import get_session_messages as get_session_messages
    from tether.sessions.helpers import get_session_messages_async as get_session_messages_async
    from tether.sessions.helpers import get_session_messages_from_store as get_session_messages_from_store
    from tether.sessions.helpers import get_subagent_messages as get_subagent_messages
    from tether.sessions.helpers import get_subagent_messages_async as get_subagent_messages_async
    from tether.sessions.helpers import get_subagent_messages_from_store as get_subagent_messages_from_store
    from tether.sessions.helpers import import_session_to_store as import_session_to_store
    from tether.sessions.helpers import list_sessions as list_sessions
    from tether.sessions.helpers import list_sessions_async as list_sessions_async
    from tether.sessions.helpers import list_sessions_from_store as list_sessions_from_store
    from tether.sessions.helpers import list_subagents as list_subagents
    from tether.sessions.helpers import list_subagents_async as list_subagents_async
    from tether.sessions.helpers import list_subagents_from_store as list_subagents_from_store
    from tether.sessions.helpers import rename_session as rename_session
    from tether.sessions.helpers import rename_session_async as rename_session_async
    from tether.sessions.helpers import rename_session_via_store as rename_session_via_store
    from tether.sessions.helpers import tag_session as tag_session
    from tether.sessions.helpers import tag_session_async as tag_session_async
    from tether.sessions.helpers import tag_session_via_store as tag_session_via_store
    from tether.sessions.keys import project_key_for_directory as project_key_for_directory
    from tether.sessions.store import SessionKey as SessionKey
    from tether.sessions.store import SessionListSubkeysKey as SessionListSubkeysKey
    from tether.sessions.store import SessionStore as SessionStore
    from tether.sessions.store import SessionStoreEntry as SessionStoreEntry
    from tether.sessions.store import SessionStoreFlushMode as SessionStoreFlushMode
    from tether.sessions.store import SessionStoreListEntry as SessionStoreListEntry
    from tether.sessions.store import SessionSummaryEntry as SessionSummaryEntry
    from tether.sessions.stores.jsonl import JsonlStore as JsonlStore
    from tether.sessions.stores.memory import MemoryStore as InMemorySessionStore
    from tether.sessions.stores.memory import MemoryStore as MemoryStore
    from tether.sessions.stores.postgres import PostgresStore as PostgresStore
    from tether.sessions.stores.redis import RedisStore as RedisStore
    from tether.sessions.stores.sqlite import SQLiteStore as SQLiteStore
    from tether.tools.base import McpSdkServerConfig as McpSdkServerConfig
    from tether.tools.base import SdkMcpTool as SdkMcpTool
    from tether.tools.base import Tool as Tool
    from tether.tools.base import ToolContext as ToolContext
    from tether.tools.base import ToolResult as ToolResult
    from tether.tools.base import tool as tool
    from tether.tools.sdk_server import create_sdk_mcp_server as create_sdk_mcp_server
    from tether.types import AgentDefinition as AgentDefinition
    from tether.types import CanUseToolShadowedWarning as CanUseToolShadowedWarning
    from tether.types import ContextUsageCategory as ContextUsageCategory
    from tether.types import ContextUsageResponse as ContextUsageResponse
    from tether.types import EffortLevel as EffortLevel
    from tether.types import McpServerConfig as McpServerConfig
    from tether.types import McpServerConnectionStatus as McpServerConnectionStatus
    from tether.types import McpServerInfo as McpServerInfo
    from tether.types import McpServerStatus as McpServerStatus
    from tether.types import McpServerStatusConfig as McpServerStatusConfig
    from tether.types import McpStatusResponse as McpStatusResponse
    from tether.types import McpToolAnnotations as McpToolAnnotations
    from tether.types import McpToolInfo as McpToolInfo
    from tether.types import SandboxIgnoreViolations as SandboxIgnoreViolations
    from tether.types import SandboxNetworkConfig as SandboxNetworkConfig
    from tether.types import SandboxSettings as SandboxSettings
    from tether.types import SdkBeta as SdkBeta
    from tether.types import SdkPluginConfig as SdkPluginConfig
    from tether.types import SDKSessionInfo as SDKSessionInfo
    from tether.types import SettingSource as SettingSource
    from tether.types import TaskBudget as TaskBudget
    from tether.types import ThinkingConfig as ThinkingConfig
    from tether.types import ThinkingConfigAdaptive as ThinkingConfigAdaptive
    from tether.types import ThinkingConfigDisabled as ThinkingConfigDisabled
    from tether.types import ThinkingConfigEnabled as ThinkingConfigEnabled
    from tether.types import Transport as Transport

__all__ = (
    "AgentClient",
    "AgentDefinition",
    "AgentOptions",
    "AssistantMessage",
    "AsyncHookJSONOutput",
    "BackgroundTaskSummary",
    "BaseHookInput",
    "CLIConnectionError",
    "CLIJSONDecodeError",
    "CLINotFoundError",
    "CanUseTool",
    "CanUseToolShadowedWarning",
    "ClaudeAgentOptions",
    "ClaudeSDKClient",
    "ClaudeSDKError",
    "ConfigurationError",
    "ContentBlock",
    "ContextUsageCategory",
    "ContextUsageResponse",
    "ConversationResetMessage",
    "CopyReport",
    "CwdChangedHookSpecificOutput",
    "DeferredToolUse",
    "EffortLevel",
    "ElicitationHookSpecificOutput",
    "ElicitationResultHookSpecificOutput",
    "EntryNotFoundError",
    "FastModeDisabledReason",
    "FastModeState",
    "FileChangedHookSpecificOutput",
    "ForkSessionResult",
    "HookCallback",
    "HookContext",
    "HookEffort",
    "HookEvent",
    "HookEventMessage",
    "HookInput",
    "HookJSONOutput",
    "HookMatcher",
    "InMemorySessionStore",
    "InvalidSessionIdError",
    "JsonlStore",
    "McpSdkServerConfig",
    "McpServerConfig",
    "McpServerConnectionStatus",
    "McpServerInfo",
    "McpServerStatus",
    "McpServerStatusConfig",
    "McpStatusResponse",
    "McpToolAnnotations",
    "McpToolInfo",
    "MemoryStore",
    "Message",
    "MessageDisplayHookSpecificOutput",
    "MessageOrigin",
    "MessageOriginKind",
    "MirrorErrorMessage",
    "Model",
    "ModelError",
    "ModelUsage",
    "NotificationHookInput",
    "NotificationHookSpecificOutput",
    "PermissionBehavior",
    "PermissionDeniedHookSpecificOutput",
    "PermissionMode",
    "PermissionRequestHookInput",
    "PermissionRequestHookSpecificOutput",
    "PermissionResult",
    "PermissionResultAllow",
    "PermissionResultDeny",
    "PermissionRuleValue",
    "PermissionUpdate",
    "PostModelSwitchHookSpecificOutput",
    "PostToolBatchHookSpecificOutput",
    "PostToolUseFailureHookInput",
    "PostToolUseFailureHookSpecificOutput",
    "PostToolUseHookInput",
    "PostToolUseHookSpecificOutput",
    "PostgresStore",
    "PreCompactHookInput",
    "PreModelSwitchHookSpecificOutput",
    "PreToolUseHookInput",
    "PreToolUseHookSpecificOutput",
    "ProcessError",
    "RateLimitEvent",
    "RateLimitInfo",
    "RateLimitStatus",
    "RateLimitType",
    "RedisStore",
    "ResultError",
    "ResultMessage",
    "ResumeRejectedError",
    "SDKSessionInfo",
    "SQLiteStore",
    "SandboxIgnoreViolations",
    "SandboxNetworkConfig",
    "SandboxSettings",
    "SdkBeta",
    "SdkMcpTool",
    "SdkPluginConfig",
    "ServerToolName",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "SessionBusyError",
    "SessionConflictError",
    "SessionCronSummary",
    "SessionError",
    "SessionExistsError",
    "SessionFileNotFoundError",
    "SessionInfo",
    "SessionKey",
    "SessionListSubkeysKey",
    "SessionMessage",
    "SessionNotFoundError",
    "SessionStartHookInput",
    "SessionStartHookSpecificOutput",
    "SessionStore",
    "SessionStoreEntry",
    "SessionStoreFlushMode",
    "SessionStoreListEntry",
    "SessionSummaryEntry",
    "SettingSource",
    "StopHookInput",
    "StopHookSpecificOutput",
    "StoreError",
    "StreamEvent",
    "SubagentStartHookInput",
    "SubagentStartHookSpecificOutput",
    "SubagentStopHookInput",
    "SubagentStopHookSpecificOutput",
    "SyncHookJSONOutput",
    "SystemInitData",
    "SystemInitMcpServer",
    "SystemInitPlugin",
    "SystemInitPluginError",
    "SystemMessage",
    "TERMINAL_TASK_STATUSES",
    "TaskBudget",
    "TaskNotificationMessage",
    "TaskNotificationOriginSubkind",
    "TaskNotificationStatus",
    "TaskProgressMessage",
    "TaskStartedMessage",
    "TaskUpdatedMessage",
    "TaskUpdatedStatus",
    "TaskUsage",
    "TetherError",
    "TextBlock",
    "ThinkingBlock",
    "ThinkingConfig",
    "ThinkingConfigAdaptive",
    "ThinkingConfigDisabled",
    "ThinkingConfigEnabled",
    "Tool",
    "ToolAnnotations",
    "ToolContext",
    "ToolError",
    "ToolPermissionContext",
    "ToolResult",
    "ToolResultBlock",
    "ToolUseBlock",
    "Transport",
    "UnsupportedOptionError",
    "UserMessage",
    "UserPromptExpansionHookSpecificOutput",
    "UserPromptSubmitHookInput",
    "UserPromptSubmitHookSpecificOutput",
    "WorktreeCreateHookSpecificOutput",
    "__version__",
    "copy_sessions",
    "create_sdk_mcp_server",
    "delete_session",
    "delete_session_async",
    "delete_session_via_store",
    "export_session",
    "fold_session_summary",
    "fork_session",
    "fork_session_async",
    "fork_session_via_store",
    "get_session_info",
    "get_session_info_async",
    "get_session_info_from_store",
    "get_session_messages",
    "get_session_messages_async",
    "get_session_messages_from_store",
    "get_subagent_messages",
    "get_subagent_messages_async",
    "get_subagent_messages_from_store",
    "import_claude_code_sessions",
    "import_session_to_store",
    "list_sessions",
    "list_sessions_async",
    "list_sessions_from_store",
    "list_subagents",
    "list_subagents_async",
    "list_subagents_from_store",
    "project_key_for_directory",
    "query",
    "rename_session",
    "rename_session_async",
    "rename_session_via_store",
    "tag_session",
    "tag_session_async",
    "tag_session_via_store",
    "tool",
)

_EXPORTS: dict[str, str] = {
    "AgentClient": "tether.query",
    "AgentDefinition": "tether.types",
    "AgentOptions": "tether.options",
    "AssistantMessage": "tether.messages",
    "AsyncHookJSONOutput": "tether.agent.hooks",
    "BackgroundTaskSummary": "tether.agent.hooks",
    "BaseHookInput": "tether.agent.hooks",
    "CLIConnectionError": "tether.errors",
    "CLIJSONDecodeError": "tether.errors",
    "CLINotFoundError": "tether.errors",
    "CanUseTool": "tether.agent.permissions",
    "CanUseToolShadowedWarning": "tether.types",
    "ClaudeAgentOptions": "tether.options",
    "ClaudeSDKClient": "tether.query",
    "ClaudeSDKError": "tether.errors",
    "ConfigurationError": "tether.errors",
    "ContentBlock": "tether.messages",
    "ContextUsageCategory": "tether.types",
    "ContextUsageResponse": "tether.types",
    "ConversationResetMessage": "tether.messages",
    "CopyReport": "tether.sessions.claude_code",
    "CwdChangedHookSpecificOutput": "tether.agent.hooks",
    "DeferredToolUse": "tether.messages",
    "EffortLevel": "tether.types",
    "ElicitationHookSpecificOutput": "tether.agent.hooks",
    "ElicitationResultHookSpecificOutput": "tether.agent.hooks",
    "EntryNotFoundError": "tether.errors",
    "FastModeDisabledReason": "tether.messages",
    "FastModeState": "tether.messages",
    "FileChangedHookSpecificOutput": "tether.agent.hooks",
    "ForkSessionResult": "tether.sessions.helpers",
    "HookCallback": "tether.agent.hooks",
    "HookContext": "tether.agent.hooks",
    "HookEffort": "tether.agent.hooks",
    "HookEvent": "tether.agent.hooks",
    "HookEventMessage": "tether.messages",
    "HookInput": "tether.agent.hooks",
    "HookJSONOutput": "tether.agent.hooks",
    "HookMatcher": "tether.agent.hooks",
    "InMemorySessionStore": "tether.sessions.stores.memory:MemoryStore",
    "InvalidSessionIdError": "tether.errors",
    "JsonlStore": "tether.sessions.stores.jsonl",
    "McpSdkServerConfig": "tether.tools.base",
    "McpServerConfig": "tether.types",
    "McpServerConnectionStatus": "tether.types",
    "McpServerInfo": "tether.types",
    "McpServerStatus": "tether.types",
    "McpServerStatusConfig": "tether.types",
    "McpStatusResponse": "tether.types",
    "McpToolAnnotations": "tether.types",
    "McpToolInfo": "tether.types",
    "MemoryStore": "tether.sessions.stores.memory",
    "Message": "tether.messages",
    "MessageDisplayHookSpecificOutput": "tether.agent.hooks",
    "MessageOrigin": "tether.messages",
    "MessageOriginKind": "tether.messages",
    "MirrorErrorMessage": "tether.messages",
    "Model": "tether.models.base",
    "ModelError": "tether.errors",
    "ModelUsage": "tether.messages",
    "NotificationHookInput": "tether.agent.hooks",
    "NotificationHookSpecificOutput": "tether.agent.hooks",
    "PermissionBehavior": "tether.agent.permissions",
    "PermissionDeniedHookSpecificOutput": "tether.agent.hooks",
    "PermissionMode": "tether.options",
    "PermissionRequestHookInput": "tether.agent.hooks",
    "PermissionRequestHookSpecificOutput": "tether.agent.hooks",
    "PermissionResult": "tether.agent.permissions",
    "PermissionResultAllow": "tether.agent.permissions",
    "PermissionResultDeny": "tether.agent.permissions",
    "PermissionRuleValue": "tether.agent.permissions",
    "PermissionUpdate": "tether.agent.permissions",
    "PostModelSwitchHookSpecificOutput": "tether.agent.hooks",
    "PostToolBatchHookSpecificOutput": "tether.agent.hooks",
    "PostToolUseFailureHookInput": "tether.agent.hooks",
    "PostToolUseFailureHookSpecificOutput": "tether.agent.hooks",
    "PostToolUseHookInput": "tether.agent.hooks",
    "PostToolUseHookSpecificOutput": "tether.agent.hooks",
    "PostgresStore": "tether.sessions.stores.postgres",
    "PreCompactHookInput": "tether.agent.hooks",
    "PreModelSwitchHookSpecificOutput": "tether.agent.hooks",
    "PreToolUseHookInput": "tether.agent.hooks",
    "PreToolUseHookSpecificOutput": "tether.agent.hooks",
    "ProcessError": "tether.errors",
    "RateLimitEvent": "tether.messages",
    "RateLimitInfo": "tether.messages",
    "RateLimitStatus": "tether.messages",
    "RateLimitType": "tether.messages",
    "RedisStore": "tether.sessions.stores.redis",
    "ResultError": "tether.errors",
    "ResultMessage": "tether.messages",
    "SDKSessionInfo": "tether.types",
    "SQLiteStore": "tether.sessions.stores.sqlite",
    "SandboxIgnoreViolations": "tether.types",
    "SandboxNetworkConfig": "tether.types",
    "SandboxSettings": "tether.types",
    "SdkBeta": "tether.types",
    "SdkMcpTool": "tether.tools.base",
    "SdkPluginConfig": "tether.types",
    "ServerToolName": "tether.messages",
    "ServerToolResultBlock": "tether.messages",
    "ServerToolUseBlock": "tether.messages",
    "ResumeRejectedError": "tether.errors",
    "SessionBusyError": "tether.errors",
    "SessionConflictError": "tether.errors",
    "StoreError": "tether.errors",
    "SessionCronSummary": "tether.agent.hooks",
    "SessionError": "tether.errors",
    "SessionExistsError": "tether.errors",
    "SessionFileNotFoundError": "tether.errors",
    "SessionInfo": "tether.sessions.helpers",
    "SessionKey": "tether.sessions.store",
    "SessionListSubkeysKey": "tether.sessions.store",
    "SessionMessage": "tether.sessions.helpers",
    "SessionNotFoundError": "tether.errors",
    "SessionStartHookInput": "tether.agent.hooks",
    "SessionStartHookSpecificOutput": "tether.agent.hooks",
    "SessionStore": "tether.sessions.store",
    "SessionStoreEntry": "tether.sessions.store",
    "SessionStoreFlushMode": "tether.sessions.store",
    "SessionStoreListEntry": "tether.sessions.store",
    "SessionSummaryEntry": "tether.sessions.store",
    "SettingSource": "tether.types",
    "StopHookInput": "tether.agent.hooks",
    "StopHookSpecificOutput": "tether.agent.hooks",
    "StreamEvent": "tether.messages",
    "SubagentStartHookInput": "tether.agent.hooks",
    "SubagentStartHookSpecificOutput": "tether.agent.hooks",
    "SubagentStopHookInput": "tether.agent.hooks",
    "SubagentStopHookSpecificOutput": "tether.agent.hooks",
    "SyncHookJSONOutput": "tether.agent.hooks",
    "SystemInitData": "tether.messages",
    "SystemInitMcpServer": "tether.messages",
    "SystemInitPlugin": "tether.messages",
    "SystemInitPluginError": "tether.messages",
    "SystemMessage": "tether.messages",
    "TERMINAL_TASK_STATUSES": "tether.messages",
    "TaskBudget": "tether.types",
    "TaskNotificationMessage": "tether.messages",
    "TaskNotificationOriginSubkind": "tether.messages",
    "TaskNotificationStatus": "tether.messages",
    "TaskProgressMessage": "tether.messages",
    "TaskStartedMessage": "tether.messages",
    "TaskUpdatedMessage": "tether.messages",
    "TaskUpdatedStatus": "tether.messages",
    "TaskUsage": "tether.messages",
    "TetherError": "tether.errors",
    "TextBlock": "tether.messages",
    "ThinkingBlock": "tether.messages",
    "ThinkingConfig": "tether.types",
    "ThinkingConfigAdaptive": "tether.types",
    "ThinkingConfigDisabled": "tether.types",
    "ThinkingConfigEnabled": "tether.types",
    "Tool": "tether.tools.base",
    "ToolAnnotations": "tether._tool_annotations",
    "ToolContext": "tether.tools.base",
    "ToolError": "tether.errors",
    "ToolPermissionContext": "tether.agent.permissions",
    "ToolResult": "tether.tools.base",
    "ToolResultBlock": "tether.messages",
    "ToolUseBlock": "tether.messages",
    "Transport": "tether.types",
    "UnsupportedOptionError": "tether.errors",
    "UserMessage": "tether.messages",
    "UserPromptExpansionHookSpecificOutput": "tether.agent.hooks",
    "UserPromptSubmitHookInput": "tether.agent.hooks",
    "UserPromptSubmitHookSpecificOutput": "tether.agent.hooks",
    "WorktreeCreateHookSpecificOutput": "tether.agent.hooks",
    "copy_sessions": "tether.sessions.claude_code",
    "create_sdk_mcp_server": "tether.tools.sdk_server",
    "delete_session": "tether.sessions.helpers",
    "delete_session_async": "tether.sessions.helpers",
    "delete_session_via_store": "tether.sessions.helpers",
    "export_session": "tether.sessions.claude_code",
    "fold_session_summary": "tether.sessions.helpers",
    "fork_session": "tether.sessions.helpers",
    "fork_session_async": "tether.sessions.helpers",
    "fork_session_via_store": "tether.sessions.helpers",
    "get_session_info": "tether.sessions.helpers",
    "get_session_info_async": "tether.sessions.helpers",
    "get_session_info_from_store": "tether.sessions.helpers",
    "get_session_messages": "tether.sessions.helpers",
    "get_session_messages_async": "tether.sessions.helpers",
    "get_session_messages_from_store": "tether.sessions.helpers",
    "get_subagent_messages": "tether.sessions.helpers",
    "get_subagent_messages_async": "tether.sessions.helpers",
    "get_subagent_messages_from_store": "tether.sessions.helpers",
    "import_claude_code_sessions": "tether.sessions.claude_code",
    "import_session_to_store": "tether.sessions.helpers",
    "list_sessions": "tether.sessions.helpers",
    "list_sessions_async": "tether.sessions.helpers",
    "list_sessions_from_store": "tether.sessions.helpers",
    "list_subagents": "tether.sessions.helpers",
    "list_subagents_async": "tether.sessions.helpers",
    "list_subagents_from_store": "tether.sessions.helpers",
    "project_key_for_directory": "tether.sessions.keys",
    "query": "tether.query",
    "rename_session": "tether.sessions.helpers",
    "rename_session_async": "tether.sessions.helpers",
    "rename_session_via_store": "tether.sessions.helpers",
    "tag_session": "tether.sessions.helpers",
    "tag_session_async": "tether.sessions.helpers",
    "tag_session_via_store": "tether.sessions.helpers",
    "tool": "tether.tools.base",
}
"""Each public name -> the module that defines it (`module:attribute` when it is renamed here).

`import tether` imports none of them: a name is imported when it is first used, so a program pays
only for the parts it uses (the provider SDKs, the stores' drivers and `mcp` are further imported
only when a run needs them). `tests/test_cold_start.py` checks this table against the imports above.
"""


def __getattr__(name: str) -> Any:
    """A public name, imported on first use and kept."""
    source = _EXPORTS.get(name)
    if source is None:
        raise AttributeError(f"module 'tether' has no attribute {name!r}")
    module_name, _, attribute = source.partition(":")
    value = getattr(_import_module(module_name), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_ModuleType):
    """`tether` itself: its attribute `query` is the function, never the submodule of that name.

    Importing a submodule binds it on its package; `tether.query` (the module defining `query()`)
    would then hide the function. Eager imports used to rebind the name; lazy ones cannot. (The
    imports of this file are renamed for the same reason: `tether.types` would replace `types`.)
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, _ModuleType):
            return
        super().__setattr__(name, value)


_modules[__name__].__class__ = _Package
