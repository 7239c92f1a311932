"""Glob and Grep on a temporary project, through the `rg` binary of the `ripgrep` wheel (a core dependency)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tether.errors import ToolError
from tether.tools._globbing import glob_literal_prefix, glob_regex
from tether.tools._ripgrep import pick_ripgrep, ripgrep_binary
from tether.tools.base import ToolContext, ToolResult
from tether.tools.glob import MAX_RESULTS, GlobTool
from tether.tools.grep import GrepTool

pytestmark = pytest.mark.anyio


def text_of(result: ToolResult) -> str:
    assert isinstance(result.content, str)
    return result.content


def touch(path: Path, text: str = "", *, mtime: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def project(workspace: Path) -> Path:
    """A small project: sources, tests, docs, an ignored build dir and a hidden dir."""
    touch(workspace / "src" / "app.py", "import os\n\ndef main():\n    print('Hello')\n    return 0\n", mtime=1_000)
    touch(workspace / "src" / "util.py", "def helper():\n    return 'hello world'\n", mtime=3_000)
    touch(workspace / "src" / "web" / "index.ts", "export const hello = () => 'hi';\n", mtime=2_000)
    touch(workspace / "tests" / "test_app.py", "from src.app import main\n\ndef test_main():\n    assert main() == 0\n")
    touch(workspace / "README.md", "# Demo\nSay hello.\n", mtime=500)
    touch(workspace / ".gitignore", "build/\n*.log\n")
    touch(workspace / "build" / "out.py", "print('hello from build')\n")
    touch(workspace / "debug.log", "hello log\n")
    touch(workspace / ".hidden" / "secret.py", "hello = 'hidden'\n")
    (workspace / "blob.bin").write_bytes(b"hello\x00\x01\x02")
    return workspace


# --- glob patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "app.py", True),
        ("*.py", "src/app.py", False),
        ("**/*.py", "app.py", True),
        ("**/*.py", "src/a/b/app.py", True),
        ("src/**", "src/a/b.py", True),
        ("src/**/test_*.py", "src/x/test_a.py", True),
        ("*.{ts,tsx}", "a.tsx", True),
        ("*.{ts,tsx}", "a.js", False),
        ("file?.txt", "file1.txt", True),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
    ],
)
def test_glob_regex(pattern: str, path: str, expected: bool) -> None:
    assert (glob_regex(pattern).match(path) is not None) is expected


@pytest.mark.parametrize(
    ("pattern", "split"),
    [
        ("src/app/**/*.py", ("src/app", "**/*.py")),
        ("*.py", ("", "*.py")),
        ("/etc/*.conf", ("/etc", "*.conf")),
        ("/*/x", ("/", "*/x")),
        ("lib/{a,b}/c.py", ("lib", "{a,b}/c.py")),
    ],
)
def test_glob_literal_prefix(pattern: str, split: tuple[str, str]) -> None:
    assert glob_literal_prefix(pattern) == split


def test_a_pattern_with_too_many_alternatives_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="cannot be used"):
        glob_regex("{a,b}" * 12)


# --- the rg binary ----------------------------------------------------------------------------


def test_rg_comes_from_the_ripgrep_wheel_in_this_environment() -> None:
    assert Path(ripgrep_binary()).is_relative_to(Path(sys.prefix).resolve())


def test_missing_rg_is_a_tool_error_that_says_how_to_get_it(tmp_path: Path) -> None:
    not_executable = touch(tmp_path / "rg", "#!/bin/sh\n")
    with pytest.raises(ToolError, match=r"ripgrep \(rg\) is not installed"):
        pick_ripgrep([tmp_path / "absent" / "rg", not_executable])


# --- Glob -------------------------------------------------------------------------------------


async def glob(context: ToolContext, pattern: str, path: str | None = None) -> ToolResult:
    arguments: dict[str, Any] = {"pattern": pattern}
    if path is not None:
        arguments["path"] = path
    return await GlobTool().call(arguments, context)


async def test_glob_lists_matches_newest_first(project: Path, context: ToolContext) -> None:
    result = await glob(context, "src/**/*.py")
    assert text_of(result).split("\n") == [str(project / "src" / "util.py"), str(project / "src" / "app.py")]


async def test_glob_star_stays_in_one_directory(project: Path, context: ToolContext) -> None:
    assert text_of(await glob(context, "*.md")).split("\n") == [str(project / "README.md")]
    assert text_of(await glob(context, "*.py")) == "No files found"


async def test_glob_skips_ignored_and_hidden_files(project: Path, context: ToolContext) -> None:
    found = text_of(await glob(context, "**/*.py"))
    assert "build" not in found
    assert ".hidden" not in found
    assert str(project / "tests" / "test_app.py") in found
    assert str(project / ".hidden" / "secret.py") in text_of(await glob(context, ".hidden/*.py"))


async def test_glob_in_a_given_directory(project: Path, context: ToolContext) -> None:
    result = await glob(context, "*.ts", path="src/web")
    assert text_of(result) == str(project / "src" / "web" / "index.ts")


async def test_glob_with_an_absolute_pattern(project: Path, context: ToolContext) -> None:
    result = await glob(context, f"{project}/src/*.py")
    assert set(text_of(result).split("\n")) == {str(project / "src" / "app.py"), str(project / "src" / "util.py")}


async def test_glob_no_match(project: Path, context: ToolContext) -> None:
    assert text_of(await glob(context, "**/*.rs")) == "No files found"


async def test_glob_missing_directory_is_an_error(project: Path, context: ToolContext) -> None:
    result = await glob(context, "*.py", path="nowhere")
    assert result.is_error
    assert "does not exist" in text_of(result)


async def test_glob_path_that_is_a_file_is_an_error(project: Path, context: ToolContext) -> None:
    result = await glob(context, "*.py", path="README.md")
    assert result.is_error
    assert "not a directory" in text_of(result)


async def test_glob_truncates_long_results(workspace: Path, context: ToolContext) -> None:
    for number in range(MAX_RESULTS + 5):
        touch(workspace / f"f{number:03}.txt")
    text = text_of(await glob(context, "*.txt"))
    assert len([line for line in text.split("\n") if line.endswith(".txt")]) == MAX_RESULTS
    assert "truncated" in text


# --- Grep -------------------------------------------------------------------------------------


@pytest.fixture
def grep_tool() -> GrepTool:
    return GrepTool()


async def grep(tool: GrepTool, context: ToolContext, **arguments: Any) -> ToolResult:
    return await tool.call(arguments, context)


async def test_grep_files_with_matches_is_the_default(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="hello")
    lines = text_of(result).split("\n")
    assert lines[0] == "Found 3 files"
    # newest first; ignored (build/, *.log), hidden and binary files are skipped
    assert lines[1:] == [
        str(project / "src" / "util.py"),
        str(project / "src" / "web" / "index.ts"),
        str(project / "README.md"),
    ]


async def test_grep_case_insensitive(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    sensitive = text_of(await grep(grep_tool, context, pattern="Hello"))
    insensitive = text_of(await grep(grep_tool, context, pattern="Hello", **{"-i": True}))
    assert sensitive.startswith("Found 1 file\n")
    assert insensitive.startswith("Found 4 files\n")


async def test_grep_content_with_line_numbers(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="def ", output_mode="content", type="py")
    assert text_of(result).split("\n") == [
        f"{project / 'src' / 'app.py'}:3:def main():",
        f"{project / 'src' / 'util.py'}:1:def helper():",
        f"{project / 'tests' / 'test_app.py'}:3:def test_main():",
    ]


async def test_grep_content_without_line_numbers(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="helper", output_mode="content", **{"-n": False})
    assert text_of(result) == f"{project / 'src' / 'util.py'}:def helper():"


async def test_grep_context_lines(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="print", path="src/app.py", output_mode="content", **{"-B": 1})
    assert text_of(result).split("\n") == ["3-def main():", "4:    print('Hello')"]
    result = await grep(grep_tool, context, pattern="print", path="src/app.py", output_mode="content", **{"-C": 1})
    assert text_of(result).split("\n") == ["3-def main():", "4:    print('Hello')", "5-    return 0"]
    result = await grep(grep_tool, context, pattern="^import", path="src/app.py", output_mode="content", **{"-A": 1})
    assert text_of(result).split("\n") == ["1:import os", "2-"]


async def test_grep_context_groups_are_separated(grep_tool: GrepTool, workspace: Path, context: ToolContext) -> None:
    touch(workspace / "f.txt", "".join(f"{'hit' if n in (2, 9) else 'line'} {n}\n" for n in range(1, 13)))
    result = await grep(grep_tool, context, pattern="hit", path="f.txt", output_mode="content", **{"-C": 1})
    assert text_of(result).split("\n") == ["1-line 1", "2:hit 2", "3-line 3", "--", "8-line 8", "9:hit 9", "10-line 10"]


async def test_grep_count(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="return", output_mode="count", glob="*.py")
    text = text_of(result)
    assert f"{project / 'src' / 'app.py'}:1" in text
    assert f"{project / 'src' / 'util.py'}:1" in text
    assert text.endswith("Found 2 total occurrences across 2 files.")


async def test_grep_glob_filter(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="hello", glob="*.{ts,md}")
    assert sorted(text_of(result).split("\n")[1:]) == sorted(
        [str(project / "src" / "web" / "index.ts"), str(project / "README.md")]
    )
    result = await grep(grep_tool, context, pattern="hello", glob="!*.md")
    assert str(project / "README.md") not in text_of(result)


async def test_grep_type_filter(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="hello", type="ts")
    assert text_of(result) == f"Found 1 file\n{project / 'src' / 'web' / 'index.ts'}"


async def test_grep_unknown_type_is_an_error(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="x", type="klingon")
    assert result.is_error
    assert "klingon" in text_of(result)


async def test_grep_multiline(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    single = await grep(grep_tool, context, pattern=r"def main\(\):.*print", output_mode="content")
    assert text_of(single) == "No matches found"
    result = await grep(
        grep_tool, context, pattern=r"def main\(\):.*?print", output_mode="content", multiline=True, path="src"
    )
    assert text_of(result).split("\n") == [
        f"{project / 'src' / 'app.py'}:3:def main():",
        f"{project / 'src' / 'app.py'}:4:    print('Hello')",
    ]


async def test_grep_head_limit_and_offset(grep_tool: GrepTool, workspace: Path, context: ToolContext) -> None:
    touch(workspace / "f.txt", "".join(f"match {n}\n" for n in range(1, 21)))
    result = await grep(grep_tool, context, pattern="match", path="f.txt", output_mode="content", head_limit=3)
    lines = text_of(result).split("\n")
    assert lines[:3] == ["1:match 1", "2:match 2", "3:match 3"]
    assert "showing 3 of 20" in text_of(result)
    result = await grep(
        grep_tool, context, pattern="match", path="f.txt", output_mode="content", head_limit=2, offset=5
    )
    assert text_of(result).split("\n")[:2] == ["6:match 6", "7:match 7"]


async def test_grep_no_match(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    assert text_of(await grep(grep_tool, context, pattern="zebra")) == "No files found"
    assert text_of(await grep(grep_tool, context, pattern="zebra", output_mode="content")) == "No matches found"


async def test_grep_invalid_regex_is_an_error(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="(unclosed")
    assert result.is_error


async def test_grep_missing_path_is_an_error(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="x", path="nowhere")
    assert result.is_error
    assert "does not exist" in text_of(result)


async def test_grep_invalid_output_mode_is_an_error(grep_tool: GrepTool, project: Path, context: ToolContext) -> None:
    result = await grep(grep_tool, context, pattern="x", output_mode="lines")
    assert result.is_error
    assert "output_mode" in text_of(result)


async def test_grep_respects_gitignore_of_parent_directories(
    grep_tool: GrepTool, workspace: Path, context: ToolContext
) -> None:
    (workspace / ".git").mkdir()
    touch(workspace / ".gitignore", "generated/\n")
    touch(workspace / "pkg" / "generated" / "x.py", "needle\n")
    touch(workspace / "pkg" / "y.py", "needle\n")
    result = await grep(grep_tool, context, pattern="needle", path="pkg")
    assert text_of(result) == f"Found 1 file\n{workspace / 'pkg' / 'y.py'}"


async def test_glob_of_hidden_names_skips_version_control_directories(workspace: Path, context: ToolContext) -> None:
    touch(workspace / ".git" / "config", "[core]\n")
    touch(workspace / ".github" / "workflows" / "ci.yml", "on: push\n")
    result = await glob(context, ".*/**")
    assert text_of(result) == str(workspace / ".github" / "workflows" / "ci.yml")


async def test_grep_content_counts_files_and_drops_carriage_returns(
    grep_tool: GrepTool, workspace: Path, context: ToolContext
) -> None:
    touch(workspace / "a:b.txt", "one hit\r\nline\r\n")
    touch(workspace / "c.txt", "line\nhit two\n")
    result = await grep(grep_tool, context, pattern="hit", output_mode="content", **{"-A": 1})
    assert text_of(result).split("\n") == [
        f"{workspace / 'a:b.txt'}:1:one hit",
        f"{workspace / 'a:b.txt'}-2-line",
        "--",
        f"{workspace / 'c.txt'}:2:hit two",
    ]
    assert result.structured is not None
    assert result.structured["numFiles"] == 2


async def test_grep_count_in_one_file(grep_tool: GrepTool, workspace: Path, context: ToolContext) -> None:
    touch(workspace / "f.txt", "hit\nmiss\nhit hit\n")
    result = await grep(grep_tool, context, pattern="hit", path="f.txt", output_mode="count")
    assert text_of(result) == "2\n\nFound 2 total occurrences across 1 file."


async def test_grep_glob_and_pattern_may_start_with_a_dash(
    grep_tool: GrepTool, workspace: Path, context: ToolContext
) -> None:
    touch(workspace / "-notes.txt", "-v is verbose\n")
    result = await grep(grep_tool, context, pattern="-v", glob="-*.txt", output_mode="content")
    assert text_of(result) == f"{workspace / '-notes.txt'}:1:-v is verbose"
