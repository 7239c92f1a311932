"""A pure-Python search with ripgrep's semantics, used when the `rg` binary is not installed.

Covers what the Grep tool exposes: regex search (optionally case-insensitive or multiline),
`--glob` and `--type` filters, `.gitignore` rules and hidden files skipped, binary files
skipped, and ripgrep's output forms for `-l`, `-c` and content with `-n`, `-A`, `-B`, `-C`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tether.errors import ToolError
from tether.tools._globbing import glob_regex, path_matches_glob, walk_files

__all__ = ["FILE_TYPES", "GrepQuery", "FileMatches", "search_files", "split_globs"]

MAX_LINE_CHARS = 2000
BINARY_PROBE_BYTES = 8192

FILE_TYPES: dict[str, tuple[str, ...]] = {
    "c": ("*.c", "*.h"),
    "cmake": ("*.cmake", "CMakeLists.txt"),
    "cpp": ("*.cpp", "*.cc", "*.cxx", "*.c++", "*.hpp", "*.hh", "*.hxx", "*.h++", "*.h", "*.inl"),
    "cs": ("*.cs",),
    "css": ("*.css", "*.scss", "*.sass", "*.less"),
    "csv": ("*.csv",),
    "dart": ("*.dart",),
    "docker": ("Dockerfile", "*.dockerfile", "Dockerfile.*"),
    "elixir": ("*.ex", "*.exs", "*.eex", "*.heex"),
    "erlang": ("*.erl", "*.hrl"),
    "go": ("*.go",),
    "gradle": ("*.gradle", "*.gradle.kts"),
    "haskell": ("*.hs", "*.lhs"),
    "html": ("*.html", "*.htm", "*.xhtml"),
    "ini": ("*.ini", "*.cfg"),
    "java": ("*.java", "*.jsp"),
    "jl": ("*.jl",),
    "js": ("*.js", "*.jsx", "*.mjs", "*.cjs", "*.vue"),
    "json": ("*.json", "*.jsonl", "*.geojson"),
    "kotlin": ("*.kt", "*.kts"),
    "lua": ("*.lua",),
    "make": ("Makefile", "makefile", "GNUmakefile", "*.mk", "*.mak"),
    "markdown": ("*.md", "*.markdown", "*.mdx", "*.mkd"),
    "md": ("*.md", "*.markdown", "*.mdx", "*.mkd"),
    "ocaml": ("*.ml", "*.mli"),
    "perl": ("*.pl", "*.pm", "*.t"),
    "php": ("*.php", "*.phtml"),
    "proto": ("*.proto",),
    "py": ("*.py", "*.pyi", "*.pyw"),
    "python": ("*.py", "*.pyi", "*.pyw"),
    "r": ("*.R", "*.r", "*.Rmd"),
    "rb": ("*.rb", "*.rake", "*.gemspec", "Gemfile", "Rakefile"),
    "ruby": ("*.rb", "*.rake", "*.gemspec", "Gemfile", "Rakefile"),
    "rs": ("*.rs",),
    "rust": ("*.rs",),
    "scala": ("*.scala", "*.sbt"),
    "sh": ("*.sh", "*.bash", "*.zsh", "*.ksh", ".bashrc", ".bash_profile", ".zshrc", ".profile"),
    "sql": ("*.sql",),
    "svelte": ("*.svelte",),
    "swift": ("*.swift",),
    "tf": ("*.tf", "*.tfvars"),
    "toml": ("*.toml", "Cargo.lock"),
    "ts": ("*.ts", "*.tsx", "*.mts", "*.cts"),
    "tsx": ("*.tsx",),
    "txt": ("*.txt",),
    "vue": ("*.vue",),
    "xml": ("*.xml", "*.xsd", "*.xsl", "*.xslt", "*.svg"),
    "yaml": ("*.yaml", "*.yml"),
    "zig": ("*.zig",),
}
"""ripgrep's file types (the common ones), by name: the globs of the file names they cover."""


@dataclass
class GrepQuery:
    """One search, in ripgrep's terms."""

    pattern: str
    ignore_case: bool = False
    multiline: bool = False
    globs: tuple[str, ...] = ()
    file_type: str | None = None
    content: bool = False
    """Collect the matching lines (and context); otherwise only count them."""
    line_numbers: bool = True
    before: int = 0
    after: int = 0

    def compile(self) -> re.Pattern[str]:
        """The regex, or a `ToolError` naming what is wrong with it."""
        flags = re.MULTILINE
        if self.ignore_case:
            flags |= re.IGNORECASE
        if self.multiline:
            flags |= re.DOTALL
        try:
            return re.compile(self.pattern, flags)
        except re.error as error:
            raise ToolError(f"Invalid regular expression {self.pattern!r}: {error}") from error


@dataclass
class FileMatches:
    """The matches in one file: how many lines matched and, for content, the output lines."""

    path: Path
    count: int
    lines: list[tuple[str, int, str]]
    """`(separator, line number, text)`: separator `:` for a matching line, `-` for a context line,
    and `--` (with no number or text) between groups that are not adjacent."""

    def format(self, prefix: str, line_numbers: bool) -> Iterator[str]:
        """ripgrep's content lines: `PREFIX:NUM:text` / `PREFIX-NUM-text` (prefix and numbers optional)."""
        for separator, number, text in self.lines:
            if separator == "--":
                yield "--"
                continue
            head = f"{prefix}{separator}" if prefix else ""
            yield f"{head}{number}{separator}{text}" if line_numbers else f"{head}{text}"


def split_globs(value: str | None) -> tuple[str, ...]:
    """The globs of the `glob` argument: whitespace or commas outside `{}` separate several."""
    if not value:
        return ()
    globs: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        if depth == 0 and (char.isspace() or char == ","):
            if current:
                globs.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        globs.append("".join(current))
    return tuple(globs)


def _file_filter(query: GrepQuery, root: Path) -> Callable[[Path], bool]:
    if query.file_type is not None and query.file_type not in FILE_TYPES:
        known = ", ".join(sorted(FILE_TYPES))
        raise ToolError(f"Unknown file type {query.file_type!r}. Known types: {known}. Or use glob instead.")
    type_globs = FILE_TYPES.get(query.file_type or "", ())
    positive = [g for g in query.globs if not g.startswith("!")]
    negative = [g[1:] for g in query.globs if g.startswith("!")]

    def accept(file: Path) -> bool:
        relative = file.relative_to(root).as_posix() if root.is_dir() else file.name
        if type_globs and not any(glob_regex(g).match(file.name) for g in type_globs):
            return False
        if positive and not any(path_matches_glob(relative, g) for g in positive):
            return False
        return not any(path_matches_glob(relative, g) for g in negative)

    return accept


def search_files(root: Path, query: GrepQuery) -> Iterator[FileMatches]:
    """The files under `root` (a directory or one file) with at least one match, in path order."""
    regex = query.compile()
    accept = _file_filter(query, root)
    explicit_file = not root.is_dir()
    for file in walk_files(root):
        if not explicit_file and not accept(file):
            continue
        text = _read_text(file)
        if text is None:
            continue
        found = _search_text(text, regex, query)
        if found is not None:
            count, lines = found
            yield FileMatches(file, count, lines)


def _read_text(file: Path) -> str | None:
    """The text of a file, or None for a binary or unreadable one (ripgrep skips those)."""
    try:
        data = file.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:BINARY_PROBE_BYTES]:
        return None
    return data.decode("utf-8", errors="replace")


def _search_text(text: str, regex: re.Pattern[str], query: GrepQuery) -> tuple[int, list[tuple[str, int, str]]] | None:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if query.multiline:
        matched = _multiline_matches(text, regex)
    else:
        matched = [index for index, line in enumerate(lines) if regex.search(line)]
    if not matched:
        return None
    if not query.content:
        return len(matched), []
    return len(matched), _content_lines(lines, matched, query)


def _multiline_matches(text: str, regex: re.Pattern[str]) -> list[int]:
    """Indices of the lines touched by any match of a pattern that may span lines."""
    starts = [0] + [index + 1 for index, char in enumerate(text) if char == "\n"]
    touched: set[int] = set()
    for match in regex.finditer(text):
        first = bisect.bisect_right(starts, match.start()) - 1
        last = bisect.bisect_right(starts, max(match.end() - 1, match.start())) - 1
        touched.update(range(first, last + 1))
    line_count = len(starts) - (1 if text.endswith("\n") else 0)
    return sorted(index for index in touched if index < line_count)


def _content_lines(lines: list[str], matched: list[int], query: GrepQuery) -> list[tuple[str, int, str]]:
    matched_set = set(matched)
    wanted: list[int] = []
    seen: set[int] = set()
    for index in matched:
        for number in range(max(index - query.before, 0), min(index + query.after, len(lines) - 1) + 1):
            if number not in seen:
                seen.add(number)
                wanted.append(number)
    wanted.sort()
    output: list[tuple[str, int, str]] = []
    previous: int | None = None
    for index in wanted:
        if previous is not None and index != previous + 1 and (query.before or query.after):
            output.append(("--", 0, ""))
        line = lines[index]
        if len(line) > MAX_LINE_CHARS:
            line = f"{line[:MAX_LINE_CHARS]}... [line cut: {len(line) - MAX_LINE_CHARS} more characters]"
        output.append((":" if index in matched_set else "-", index + 1, line))
        previous = index
    return output
