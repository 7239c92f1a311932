"""tether: an agent SDK whose sessions are durable, resumable and forkable.

```python
from tether import query, AgentOptions

async for message in query(prompt="Hello", options=AgentOptions()):
    print(message)
```
"""

from __future__ import annotations

from tether._version import __version__ as __version__
from tether.agent.hooks import AsyncHookJSONOutput as AsyncHookJSONOutput
from tether.agent.hooks import BaseHookInput as BaseHookInput
from tether.agent.hooks import HookCallback as HookCallback
from tether.agent.hooks import HookContext as HookContext
from tether.agent.hooks import HookEvent as HookEvent
from tether.agent.hooks import HookInput as HookInput
from tether.agent.hooks import HookJSONOutput as HookJSONOutput
from tether.agent.hooks import HookMatcher as HookMatcher
from tether.agent.hooks import PostToolUseFailureHookInput as PostToolUseFailureHookInput
from tether.agent.hooks import PostToolUseHookInput as PostToolUseHookInput
from tether.agent.hooks import PostToolUseHookSpecificOutput as PostToolUseHookSpecificOutput
from tether.agent.hooks import PreCompactHookInput as PreCompactHookInput
from tether.agent.hooks import PreToolUseHookInput as PreToolUseHookInput
from tether.agent.hooks import PreToolUseHookSpecificOutput as PreToolUseHookSpecificOutput
from tether.agent.hooks import SessionStartHookInput as SessionStartHookInput
from tether.agent.hooks import SessionStartHookSpecificOutput as SessionStartHookSpecificOutput
from tether.agent.hooks import StopHookInput as StopHookInput
from tether.agent.hooks import SyncHookJSONOutput as SyncHookJSONOutput
from tether.agent.hooks import UserPromptSubmitHookInput as UserPromptSubmitHookInput
from tether.agent.hooks import UserPromptSubmitHookSpecificOutput as UserPromptSubmitHookSpecificOutput
from tether.agent.permissions import CanUseTool as CanUseTool
from tether.agent.permissions import PermissionBehavior as PermissionBehavior
from tether.agent.permissions import PermissionResult as PermissionResult
from tether.agent.permissions import PermissionResultAllow as PermissionResultAllow
from tether.agent.permissions import PermissionResultDeny as PermissionResultDeny
from tether.agent.permissions import PermissionRuleValue as PermissionRuleValue
from tether.agent.permissions import PermissionUpdate as PermissionUpdate
from tether.agent.permissions import ToolPermissionContext as ToolPermissionContext
from tether.errors import ConfigurationError as ConfigurationError
from tether.errors import EntryNotFoundError as EntryNotFoundError
from tether.errors import InvalidSessionIdError as InvalidSessionIdError
from tether.errors import ModelError as ModelError
from tether.errors import SessionConflictError as SessionConflictError
from tether.errors import SessionError as SessionError
from tether.errors import SessionExistsError as SessionExistsError
from tether.errors import SessionNotFoundError as SessionNotFoundError
from tether.errors import TetherError as TetherError
from tether.errors import ToolError as ToolError
from tether.errors import UnsupportedOptionError as UnsupportedOptionError
from tether.messages import AssistantMessage as AssistantMessage
from tether.messages import ContentBlock as ContentBlock
from tether.messages import Message as Message
from tether.messages import ResultMessage as ResultMessage
from tether.messages import StreamEvent as StreamEvent
from tether.messages import SystemMessage as SystemMessage
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
from tether.sessions.helpers import fork_session as fork_session
from tether.sessions.helpers import fork_session_async as fork_session_async
from tether.sessions.helpers import get_session_info as get_session_info
from tether.sessions.helpers import get_session_info_async as get_session_info_async
from tether.sessions.helpers import get_session_messages as get_session_messages
from tether.sessions.helpers import get_session_messages_async as get_session_messages_async
from tether.sessions.helpers import list_sessions as list_sessions
from tether.sessions.helpers import list_sessions_async as list_sessions_async
from tether.sessions.helpers import rename_session as rename_session
from tether.sessions.helpers import rename_session_async as rename_session_async
from tether.sessions.helpers import tag_session as tag_session
from tether.sessions.helpers import tag_session_async as tag_session_async
from tether.sessions.jsonl import JsonlStore as JsonlStore
from tether.sessions.keys import project_key_for_directory as project_key_for_directory
from tether.sessions.memory import MemoryStore as MemoryStore
from tether.sessions.store import SessionKey as SessionKey
from tether.sessions.store import SessionStore as SessionStore
from tether.tools.base import SdkMcpTool as SdkMcpTool
from tether.tools.base import Tool as Tool
from tether.tools.base import ToolContext as ToolContext
from tether.tools.base import ToolResult as ToolResult
from tether.tools.base import create_sdk_mcp_server as create_sdk_mcp_server
from tether.tools.base import tool as tool

__all__ = (
    "AgentClient",
    "AgentOptions",
    "AssistantMessage",
    "AsyncHookJSONOutput",
    "BaseHookInput",
    "CanUseTool",
    "ClaudeAgentOptions",
    "ClaudeSDKClient",
    "ConfigurationError",
    "ContentBlock",
    "CopyReport",
    "EntryNotFoundError",
    "ForkSessionResult",
    "HookCallback",
    "HookContext",
    "HookEvent",
    "HookInput",
    "HookJSONOutput",
    "HookMatcher",
    "InvalidSessionIdError",
    "JsonlStore",
    "MemoryStore",
    "Message",
    "Model",
    "ModelError",
    "PermissionBehavior",
    "PermissionMode",
    "PermissionResult",
    "PermissionResultAllow",
    "PermissionResultDeny",
    "PermissionRuleValue",
    "PermissionUpdate",
    "PostToolUseFailureHookInput",
    "PostToolUseHookInput",
    "PostToolUseHookSpecificOutput",
    "PreCompactHookInput",
    "PreToolUseHookInput",
    "PreToolUseHookSpecificOutput",
    "ResultMessage",
    "SdkMcpTool",
    "SessionConflictError",
    "SessionError",
    "SessionExistsError",
    "SessionInfo",
    "SessionKey",
    "SessionMessage",
    "SessionNotFoundError",
    "SessionStartHookInput",
    "SessionStartHookSpecificOutput",
    "SessionStore",
    "StopHookInput",
    "StreamEvent",
    "SyncHookJSONOutput",
    "SystemMessage",
    "TetherError",
    "TextBlock",
    "ThinkingBlock",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolPermissionContext",
    "ToolResult",
    "ToolResultBlock",
    "ToolUseBlock",
    "UnsupportedOptionError",
    "UserMessage",
    "UserPromptSubmitHookInput",
    "UserPromptSubmitHookSpecificOutput",
    "__version__",
    "copy_sessions",
    "create_sdk_mcp_server",
    "delete_session",
    "delete_session_async",
    "export_session",
    "fork_session",
    "fork_session_async",
    "get_session_info",
    "get_session_info_async",
    "get_session_messages",
    "get_session_messages_async",
    "import_claude_code_sessions",
    "list_sessions",
    "list_sessions_async",
    "project_key_for_directory",
    "query",
    "rename_session",
    "rename_session_async",
    "tag_session",
    "tag_session_async",
    "tool",
)
