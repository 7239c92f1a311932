"""One result-size limit for every tool: what the model is sent of a tool's result is cut to
`MAX_OUTPUT_CHARS` with the built-ins' note, or to the tool's own `maxResultSizeChars`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import mcp.types
import pytest
from mcp.server import Server, ServerRequestContext

from tether import AgentOptions, Message, ResultMessage, ToolAnnotations, create_sdk_mcp_server, tool
from tether.testing import ScriptedModel, run_query, tool_use_reply
from tether.tools.base import MAX_OUTPUT_CHARS, RESULT_SIZE_META_KEY, cut_content

pytestmark = pytest.mark.anyio

HUGE = 50 * 1024 * 1024
"""A 50 MB result."""
NOTE = re.compile(r"\n\n\.\.\. \[output truncated: (\d+) more characters not shown\] \.\.\.$")


@tool("dump", "Dump everything", {})
async def dump(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": "x" * HUGE}]}


@tool(
    "dump_some", "Dump a lot, which the caller wants whole", {}, annotations=ToolAnnotations(maxResultSizeChars=80_000)
)
async def dump_some(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": "y" * HUGE}]}


def dumping_server() -> Server[Any]:
    """A user's own MCP server (the mcp package's low-level API): the client path of connected servers."""
    tools = [
        mcp.types.Tool(name="dump", input_schema={"type": "object"}),
        mcp.types.Tool(name="dump_some", input_schema={"type": "object"}, _meta={RESULT_SIZE_META_KEY: 2_000}),
    ]

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp.types.PaginatedRequestParams | None
    ) -> mcp.types.ListToolsResult:
        return mcp.types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: mcp.types.CallToolRequestParams
    ) -> mcp.types.CallToolResult:
        return mcp.types.CallToolResult(content=[mcp.types.TextContent(type="text", text="z" * HUGE)])

    return Server("dumper", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def sent_result(project: Path, tool_name: str, mcp_servers: dict[str, Any]) -> str:
    """The text of the tool result the model was sent after one call of `tool_name`."""
    model = ScriptedModel([tool_use_reply(tool_name, {}, id="call_1"), "Done."])
    options = AgentOptions(
        model=model, cwd=project, mcp_servers=mcp_servers, tools=[], permission_mode="bypassPermissions"
    )
    messages: list[Message] = (await run_query("Dump it", options)).messages
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "Done."
    block = model.requests[1].messages[-1]["content"][0]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "call_1"
    content = block["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def kept_and_hidden(text: str) -> tuple[int, int]:
    """How many characters of the result the model got, and how many the note says were left out."""
    note = NOTE.search(text)
    assert note is not None, text[-200:]
    return note.start(), int(note.group(1))


async def test_a_huge_tool_result_reaches_the_model_cut_with_the_builtins_note(project: Path) -> None:
    text = await sent_result(project, "mcp__big__dump", {"big": create_sdk_mcp_server("big", tools=[dump])})
    assert kept_and_hidden(text) == (MAX_OUTPUT_CHARS, HUGE - MAX_OUTPUT_CHARS)


async def test_a_huge_result_of_a_connected_mcp_server_is_cut_too(project: Path) -> None:
    config = {"dumper": {"type": "sdk", "name": "dumper", "instance": dumping_server()}}
    text = await sent_result(project, "mcp__dumper__dump", config)
    assert kept_and_hidden(text) == (MAX_OUTPUT_CHARS, HUGE - MAX_OUTPUT_CHARS)


async def test_a_tools_max_result_size_chars_is_its_own_limit(project: Path) -> None:
    servers = {"big": create_sdk_mcp_server("big", tools=[dump_some])}
    assert kept_and_hidden(await sent_result(project, "mcp__big__dump_some", servers)) == (80_000, HUGE - 80_000)
    config = {"dumper": {"type": "sdk", "name": "dumper", "instance": dumping_server()}}
    assert kept_and_hidden(await sent_result(project, "mcp__dumper__dump_some", config)) == (2_000, HUGE - 2_000)


def test_text_blocks_are_cut_in_order_and_other_blocks_kept() -> None:
    image: dict[str, Any] = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    content = [
        {"type": "text", "text": "a" * 6},
        image,
        {"type": "text", "text": "b" * 6},
        {"type": "text", "text": "c"},
    ]
    kept = cut_content(content, 8)
    assert isinstance(kept, list)
    assert kept[:2] == [{"type": "text", "text": "a" * 6}, image]
    assert kept[2]["text"] == "bb\n\n... [output truncated: 5 more characters not shown] ..."
    assert len(kept) == 3
    assert cut_content(content, 13) is content
