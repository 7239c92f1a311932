"""Fake model provider servers on 127.0.0.1 speaking the real wire protocols (SSE included).

```python
from tests.fakes import FakeAnthropicServer, Reply, Text, ToolUse, ErrorReply

with FakeAnthropicServer([ErrorReply(529), Reply([Text("Hello")])]) as server:
    options = AgentOptions(model="claude-sonnet-4-5",
                           env={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"})
    ...
    assert server.requests[-1]["messages"][0]["content"] == ...
```

Both servers are context managers with `.url` (the client's base URL), `.requests` (every JSON
body received, retries included), `.headers` (their headers) and `.add(*replies)`. When the
queue is empty a request gets a 500 error that says so (with `x-should-retry: false`).

`FaultyAnthropicServer` and `FaultyOpenAIServer` (`tests.fakes.faults`) also play replies that
break the protocol: malformed events, hangs, endless keep-alives, resets.
"""

from __future__ import annotations

from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.faults import FaultyAnthropicServer, FaultyOpenAIServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.script import (
    Disconnect,
    ErrorReply,
    Reply,
    ServerToolResult,
    ServerToolUse,
    StreamErrorReply,
    Text,
    Thinking,
    ToolUse,
)

__all__ = [
    "Disconnect",
    "ErrorReply",
    "FakeAnthropicServer",
    "FakeOpenAIServer",
    "FaultyAnthropicServer",
    "FaultyOpenAIServer",
    "Reply",
    "ServerToolResult",
    "ServerToolUse",
    "StreamErrorReply",
    "Text",
    "Thinking",
    "ToolUse",
]
