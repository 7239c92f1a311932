"""Read, Write and Edit on a temporary project: the normal cases and every error case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.errors import ConfigurationError
from tether.tools._common import record_read
from tether.tools.base import ToolContext, ToolResult
from tether.tools.edit import EditTool
from tether.tools.read import DEFAULT_LIMIT, MAX_LINE_CHARS, ReadTool
from tether.tools.registry import BUILTIN_TOOL_NAMES, builtin_tools
from tether.tools.write import WriteTool

pytestmark = pytest.mark.anyio


def text_of(result: ToolResult) -> str:
    assert isinstance(result.content, str)
    return result.content


async def read(context: ToolContext, path: str | Path, **extra: object) -> ToolResult:
    return await ReadTool().call({"file_path": str(path), **extra}, context)


# --- Read -------------------------------------------------------------------------------------


async def test_read_numbers_lines_like_cat_n(workspace: Path, context: ToolContext) -> None:
    (workspace / "hello.py").write_text("print('hi')\n\nx = 1\n")
    result = await read(context, workspace / "hello.py")
    assert not result.is_error
    assert text_of(result) == "     1\tprint('hi')\n     2\t\n     3\tx = 1"


async def test_read_resolves_relative_paths_against_the_session_cwd(workspace: Path, context: ToolContext) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.txt").write_text("alpha\n")
    result = await read(context, "src/a.txt")
    assert text_of(result) == "     1\talpha"


async def test_read_offset_and_limit(workspace: Path, context: ToolContext) -> None:
    (workspace / "many.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    result = await read(context, workspace / "many.txt", offset=4, limit=3)
    lines = text_of(result).split("\n")
    assert lines[:3] == ["     4\tline 4", "     5\tline 5", "     6\tline 6"]
    assert "showing lines 4-6 of 10" in text_of(result)


async def test_read_defaults_to_2000_lines(workspace: Path, context: ToolContext) -> None:
    (workspace / "long.txt").write_text("".join(f"{n}\n" for n in range(1, 2501)))
    result = await read(context, workspace / "long.txt")
    text = text_of(result)
    assert f"  {DEFAULT_LIMIT}\t{DEFAULT_LIMIT}" in text
    assert "  2001\t" not in text
    assert "showing lines 1-2000 of 2500" in text


async def test_read_cuts_long_lines(workspace: Path, context: ToolContext) -> None:
    (workspace / "wide.txt").write_text("x" * (MAX_LINE_CHARS + 500) + "\n")
    text = text_of(await read(context, workspace / "wide.txt"))
    assert "x" * MAX_LINE_CHARS in text
    assert "x" * (MAX_LINE_CHARS + 1) not in text
    assert "500 more characters" in text


async def test_read_offset_past_the_end_says_so(workspace: Path, context: ToolContext) -> None:
    (workspace / "short.txt").write_text("a\nb\n")
    result = await read(context, workspace / "short.txt", offset=10)
    assert not result.is_error
    assert "has 2 lines" in text_of(result)


async def test_read_empty_file(workspace: Path, context: ToolContext) -> None:
    (workspace / "empty.txt").write_text("")
    result = await read(context, workspace / "empty.txt")
    assert not result.is_error
    assert "exists but is empty" in text_of(result)


async def test_read_missing_file_is_a_clear_error(workspace: Path, context: ToolContext) -> None:
    (workspace / "config.yaml").write_text("a: 1\n")
    result = await read(context, workspace / "config.yml")
    assert result.is_error
    assert "File does not exist" in text_of(result)
    assert "config.yaml" in text_of(result)  # a near miss is suggested


async def test_read_directory_is_a_clear_error(workspace: Path, context: ToolContext) -> None:
    (workspace / "pkg").mkdir()
    result = await read(context, workspace / "pkg")
    assert result.is_error
    assert "is a directory" in text_of(result)


async def test_read_binary_file_is_a_clear_error(workspace: Path, context: ToolContext) -> None:
    (workspace / "blob.bin").write_bytes(b"\x7fELF\x00\x01\x02\x03" * 10)
    result = await read(context, workspace / "blob.bin")
    assert result.is_error
    assert "binary file" in text_of(result)


async def test_read_image_returns_an_image_block(workspace: Path, context: ToolContext) -> None:
    (workspace / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = await read(context, workspace / "dot.png")
    assert not result.is_error
    assert isinstance(result.content, list)
    assert result.content[0]["type"] == "image"
    assert result.content[0]["source"]["media_type"] == "image/png"


async def test_read_rejects_invalid_input(context: ToolContext) -> None:
    result = await ReadTool().call({"path": "x"}, context)
    assert result.is_error
    assert "'file_path' is a required property" in text_of(result)
    result = await ReadTool().call({"file_path": "x", "limit": "ten"}, context)
    assert result.is_error
    assert "limit" in text_of(result)


async def test_read_with_non_positive_limit_is_an_error(workspace: Path, context: ToolContext) -> None:
    (workspace / "a.txt").write_text("a\n")
    result = await read(context, workspace / "a.txt", limit=0)
    assert result.is_error
    assert "limit" in text_of(result)


# --- Write ------------------------------------------------------------------------------------


async def test_write_creates_the_file_and_its_parent_directories(workspace: Path, context: ToolContext) -> None:
    target = workspace / "deep" / "er" / "new.txt"
    result = await WriteTool().call({"file_path": str(target), "content": "hello\n"}, context)
    assert not result.is_error
    assert "File created successfully" in text_of(result)
    assert target.read_text() == "hello\n"


async def test_write_refuses_to_overwrite_a_file_not_read(workspace: Path, context: ToolContext) -> None:
    target = workspace / "keep.txt"
    target.write_text("precious\n")
    result = await WriteTool().call({"file_path": str(target), "content": "oops\n"}, context)
    assert result.is_error
    assert "has not been read" in text_of(result)
    assert "Read it first" in text_of(result)
    assert target.read_text() == "precious\n"


async def test_write_overwrites_a_file_read_in_this_session(workspace: Path, context: ToolContext) -> None:
    target = workspace / "keep.txt"
    target.write_text("old\n")
    await read(context, target)
    result = await WriteTool().call({"file_path": str(target), "content": "new\n"}, context)
    assert not result.is_error
    assert target.read_text() == "new\n"


async def test_write_refuses_a_file_changed_since_it_was_read(workspace: Path, context: ToolContext) -> None:
    target = workspace / "moving.txt"
    target.write_text("v1\n")
    await read(context, target)
    target.write_text("v2 written by someone else\n")
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    result = await WriteTool().call({"file_path": str(target), "content": "v3\n"}, context)
    assert result.is_error
    assert "modified since it was read" in text_of(result)
    assert target.read_text() == "v2 written by someone else\n"


async def test_write_to_a_directory_is_an_error(workspace: Path, context: ToolContext) -> None:
    result = await WriteTool().call({"file_path": str(workspace), "content": "x"}, context)
    assert result.is_error
    assert "is a directory" in text_of(result)


async def test_a_file_written_may_be_written_again(workspace: Path, context: ToolContext) -> None:
    target = workspace / "twice.txt"
    await WriteTool().call({"file_path": str(target), "content": "1\n"}, context)
    result = await WriteTool().call({"file_path": str(target), "content": "2\n"}, context)
    assert not result.is_error
    assert target.read_text() == "2\n"


# --- Edit -------------------------------------------------------------------------------------


async def edit(context: ToolContext, path: Path, old: str, new: str, **extra: object) -> ToolResult:
    return await EditTool().call({"file_path": str(path), "old_string": old, "new_string": new, **extra}, context)


async def test_edit_replaces_a_unique_string(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("def greet():\n    return 'hi'\n")
    await read(context, target)
    result = await edit(context, target, "'hi'", "'hello'")
    assert not result.is_error
    assert target.read_text() == "def greet():\n    return 'hello'\n"
    assert "has been updated" in text_of(result)
    assert "     2\t    return 'hello'" in text_of(result)


async def test_edit_with_no_match_says_the_string_was_not_found(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("a = 1\n")
    await read(context, target)
    result = await edit(context, target, "b = 2", "b = 3")
    assert result.is_error
    assert "not found" in text_of(result)
    assert "b = 2" in text_of(result)
    assert target.read_text() == "a = 1\n"


async def test_edit_with_several_matches_says_how_many(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("x = 1\nx = 1\nx = 1\n")
    await read(context, target)
    result = await edit(context, target, "x = 1", "x = 2")
    assert result.is_error
    assert "Found 3 matches" in text_of(result)
    assert "replace_all" in text_of(result)
    assert target.read_text() == "x = 1\nx = 1\nx = 1\n"


async def test_edit_replace_all(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("old()\nold()\nkeep()\n")
    await read(context, target)
    result = await edit(context, target, "old", "new", replace_all=True)
    assert not result.is_error
    assert target.read_text() == "new()\nnew()\nkeep()\n"
    assert "All 2 occurrences" in text_of(result)


async def test_edit_refuses_a_file_not_read(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("a = 1\n")
    result = await edit(context, target, "a = 1", "a = 2")
    assert result.is_error
    assert "has not been read" in text_of(result)
    assert target.read_text() == "a = 1\n"


async def test_edit_same_strings_is_an_error(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("a = 1\n")
    await read(context, target)
    result = await edit(context, target, "a = 1", "a = 1")
    assert result.is_error
    assert "No changes to make" in text_of(result)


async def test_edit_missing_file_is_an_error(workspace: Path, context: ToolContext) -> None:
    result = await edit(context, workspace / "nope.py", "a", "b")
    assert result.is_error
    assert "File does not exist" in text_of(result)


async def test_edit_with_empty_old_string_creates_a_new_file(workspace: Path, context: ToolContext) -> None:
    target = workspace / "pkg" / "new.py"
    result = await edit(context, target, "", "x = 1\n")
    assert not result.is_error
    assert target.read_text() == "x = 1\n"


async def test_edit_with_empty_old_string_on_a_non_empty_file_is_an_error(
    workspace: Path, context: ToolContext
) -> None:
    target = workspace / "app.py"
    target.write_text("a = 1\n")
    await read(context, target)
    result = await edit(context, target, "", "b = 2\n")
    assert result.is_error
    assert target.read_text() == "a = 1\n"


async def test_edit_keeps_windows_line_endings(workspace: Path, context: ToolContext) -> None:
    target = workspace / "win.txt"
    target.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    await read(context, target)
    result = await edit(context, target, "one\ntwo", "uno\ndos")
    assert not result.is_error, result.content
    assert target.read_bytes() == b"uno\r\ndos\r\nthree\r\n"


async def test_edit_binary_file_is_an_error(workspace: Path, context: ToolContext) -> None:
    target = workspace / "blob.bin"
    target.write_bytes(b"\x00\x01abc")
    record_read(context, target)  # Read refuses binary files, so mark it as seen directly
    result = await edit(context, target, "abc", "xyz")
    assert result.is_error
    assert "binary" in text_of(result)


async def test_edit_after_edit_needs_no_new_read(workspace: Path, context: ToolContext) -> None:
    target = workspace / "app.py"
    target.write_text("a = 1\nb = 2\n")
    await read(context, target)
    assert not (await edit(context, target, "a = 1", "a = 10")).is_error
    assert not (await edit(context, target, "b = 2", "b = 20")).is_error
    assert target.read_text() == "a = 10\nb = 20\n"


# --- registry ---------------------------------------------------------------------------------


def test_builtin_tools_all_by_default_and_with_the_preset() -> None:
    assert [t.name for t in builtin_tools()] == list(BUILTIN_TOOL_NAMES)
    preset = builtin_tools({"type": "preset", "preset": "claude_code"})
    assert [t.name for t in preset] == list(BUILTIN_TOOL_NAMES)
    assert set(BUILTIN_TOOL_NAMES) == {"Read", "Write", "Edit", "Glob", "Grep", "Bash"}


def test_builtin_tools_by_name() -> None:
    assert [t.name for t in builtin_tools(["Read", "Grep"])] == ["Read", "Grep"]
    assert builtin_tools([]) == []


def test_builtin_tools_unknown_name_raises() -> None:
    with pytest.raises(ConfigurationError, match="'Fetch'"):
        builtin_tools(["Read", "Fetch"])


def test_builtin_tool_schemas_have_claude_code_names() -> None:
    schemas = {t.name: t.input_schema for t in builtin_tools()}
    assert set(schemas["Read"]["properties"]) == {"file_path", "offset", "limit"}
    assert set(schemas["Write"]["properties"]) == {"file_path", "content"}
    assert set(schemas["Edit"]["properties"]) == {"file_path", "old_string", "new_string", "replace_all"}
    assert set(schemas["Glob"]["properties"]) == {"pattern", "path"}
    assert {"pattern", "path", "glob", "type", "output_mode", "-i", "-n", "-A", "-B", "-C", "multiline"} <= set(
        schemas["Grep"]["properties"]
    )
    assert "head_limit" in schemas["Grep"]["properties"]
    assert set(schemas["Bash"]["properties"]) == {"command", "timeout", "description"}
