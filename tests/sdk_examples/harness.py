"""Running the Claude Agent SDK's own examples on tether, with only the import lines changed.

The examples are not in this repository (they are the SDK's code): `sdk_examples_dir()` finds them
in the SDK's source distribution, downloaded once into a cache directory with pip (the version
installed as tether's dev dependency), or in `$CLAUDE_AGENT_SDK_SOURCE` (an unpacked sdist).

```python
run = examples.run("quick_start.py", script={"What is 2 + 2?": ["2 + 2 = 4"]})
assert "Claude: 2 + 2 = 4" in run.stdout
```

Each run is a subprocess with `ANTHROPIC_BASE_URL` pointing at a `FakeAnthropicServer` whose
replies come from a `Script`: for each request, the prompt it answers (the newest user message
that is not a tool result) picks a list of steps, and the number of assistant turns since that
prompt picks the step. So the order in which an example asks things does not matter.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes import ErrorReply, FakeAnthropicServer, Reply

SDK_DISTRIBUTION = "claude-agent-sdk"
SOURCE_VARIABLE = "CLAUDE_AGENT_SDK_SOURCE"
SAFETY_TIMEOUT = 180  # seconds: a hung example fails instead of hanging the suite

_IMPORT_LINE = re.compile(r"^(\s*)(from\s+claude_agent_sdk(\.[\w.]+)?\s+import\b|import\s+claude_agent_sdk\b.*$)")

Step = Reply | ErrorReply | str | Callable[[dict[str, Any]], Any]


class ExamplesUnavailable(Exception):
    """The SDK's examples could not be found or downloaded."""


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tether-tests"


CACHE_ROOT = _cache_root()  # computed at import, before any test changes HOME


def sdk_version() -> str:
    """The version of the SDK installed as a dev dependency."""
    try:
        return importlib.metadata.version(SDK_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as error:
        raise ExamplesUnavailable(f"{SDK_DISTRIBUTION} is not installed (a dev dependency of tether)") from error


def sdk_examples_dir() -> Path:
    """The `examples/` directory of the installed SDK version's sdist (downloaded once, then cached)."""
    return sdk_source_dir("examples")


def sdk_source_dir(part: str) -> Path:
    """The directory `part` (`examples`, `tests`) of the installed SDK version's sdist (or `$CLAUDE_AGENT_SDK_SOURCE`).

    Downloaded once into the cache; each part is unpacked the first time it is asked for.
    """
    configured = os.environ.get(SOURCE_VARIABLE)
    if configured:
        found = Path(configured) / part
        if not found.is_dir():
            raise ExamplesUnavailable(f"${SOURCE_VARIABLE}={configured} has no {part}/ directory")
        return found
    version = sdk_version()
    target = CACHE_ROOT / f"claude_agent_sdk-{version}"
    if (target / part).is_dir():
        return target / part
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_ROOT) as scratch:
        archive = _download_sdist(version, Path(scratch))
        _unpack(archive, part, Path(scratch) / "unpacked")
        unpacked = Path(scratch) / "unpacked" / f"claude_agent_sdk-{version}" / part
        if not unpacked.is_dir():
            raise ExamplesUnavailable(f"the sdist of {SDK_DISTRIBUTION} {version} has no {part}/")
        try:
            unpacked.rename(target / part)
        except OSError:
            if not (target / part).is_dir():  # another run may have won the race
                raise
    return target / part


def _download_sdist(version: str, into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet"]
    command += ["--dest", str(into), f"{SDK_DISTRIBUTION}=={version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExamplesUnavailable(f"pip download of {SDK_DISTRIBUTION}=={version} failed: {error}") from error
    archives = sorted(into.glob("*.tar.gz"))
    if done.returncode != 0 or not archives:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ExamplesUnavailable(f"pip download of {SDK_DISTRIBUTION}=={version} failed: {' '.join(tail)}")
    return archives[0]


def _unpack(archive: Path, part: str, into: Path) -> None:
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if f"/{part}/" in m.name and (m.isfile() or m.isdir())]
        for member in members:
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise ExamplesUnavailable(f"unsafe path in the sdist: {member.name}")
        tar.extractall(into, members=members)


def port(source: str) -> str:
    """The example with its `claude_agent_sdk` import lines pointed at tether, and nothing else changed."""
    lines = source.splitlines(keepends=True)
    ported = []
    for line in lines:
        match = _IMPORT_LINE.match(line)
        if match is None:
            ported.append(line)
        elif line.lstrip().startswith("from"):
            ported.append(line.replace("from claude_agent_sdk", "from tether", 1))
        else:
            ported.append(line.replace("import claude_agent_sdk", "import tether as claude_agent_sdk", 1))
    changed = [(a, b) for a, b in zip(lines, ported, strict=True) if a != b]
    assert changed, "the example imports nothing from claude_agent_sdk"
    assert all(_IMPORT_LINE.match(a) for a, _ in changed)
    return "".join(ported)


# -- scripted replies ------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if isinstance(block, dict))


def _is_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def prompt_of(body: dict[str, Any]) -> tuple[str, int]:
    """The prompt a request answers, and how many assistant turns followed it already."""
    messages = body.get("messages", [])
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user" and not _is_tool_result(message):
            turns = sum(1 for later in messages[index + 1 :] if later.get("role") == "assistant")
            return _text_of(message.get("content", "")), turns
    return "", 0


def system_text(body: dict[str, Any]) -> str:
    """The system prompt of a request, as one string ('' when there is none)."""
    system = body.get("system")
    if system is None:
        return ""
    return system if isinstance(system, str) else _text_of(system)


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of a request's last message."""
    last = body.get("messages", [{}])[-1]
    content = last.get("content")
    return [b for b in content if b.get("type") == "tool_result"] if isinstance(content, list) else []


def result_text(block: dict[str, Any]) -> str:
    """The text of a tool_result block."""
    return _text_of(block.get("content", ""))


@dataclass
class Script:
    """Replies by prompt: `{"substring of the prompt": [step for turn 0, step for turn 1, ...]}`."""

    steps: Mapping[str, Sequence[Step]]
    misses: list[str] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> Any:
        prompt, turn = prompt_of(body)
        for key, steps in self.steps.items():
            if key in prompt:
                if turn >= len(steps):
                    break
                step = steps[turn]
                return step(body) if callable(step) else step
        self.misses.append(f"turn {turn} of {prompt!r}")
        return ErrorReply(400, f"no scripted reply for turn {turn} of {prompt!r}")


# -- running ---------------------------------------------------------------------------------------


@dataclass
class ExampleRun:
    """What one run of an example did."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    requests: list[dict[str, Any]]
    cwd: Path
    misses: list[str]

    def requests_for(self, prompt: str) -> list[dict[str, Any]]:
        """The model requests made for the prompt containing `prompt`."""
        return [body for body in self.requests if prompt in prompt_of(body)[0]]

    def report(self) -> str:
        return (
            f"{self.name} exited {self.returncode}; unscripted: {self.misses}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )

    def check(self) -> ExampleRun:
        """Assert that the example ran to the end and asked only scripted things."""
        assert self.returncode == 0 and not self.misses, self.report()
        return self


@dataclass
class Examples:
    """The SDK's examples, ported, run in `workdir` against a fake Anthropic API."""

    source: Path
    workdir: Path
    home: Path

    def ported(self, name: str) -> Path:
        """The example `name` (a path under examples/) with only its import lines changed."""
        original = self.source / name
        target = self.workdir.parent / "ported" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(port(original.read_text(encoding="utf-8")), encoding="utf-8")
        return target

    def environment(self, base_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ANTHROPIC_BASE_URL=base_url,
            ANTHROPIC_API_KEY="sk-ant-test",
            HOME=str(self.home),
            CLAUDE_CONFIG_DIR=str(self.home / ".claude"),  # the example's own user directory, not the test's
            PYTHONIOENCODING="utf-8",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra or {})
        return env

    def run(
        self,
        name: str,
        *args: str,
        script: Mapping[str, Sequence[Step]],
        stdin: str = "",
        env: Mapping[str, str] | None = None,
    ) -> ExampleRun:
        """Run the ported example `name` with `args`; the model answers from `script`."""
        path = self.ported(name)
        router = Script(script)
        with FakeAnthropicServer([router] * 200) as server:
            try:
                done = subprocess.run(
                    [sys.executable, str(path), *args],
                    cwd=self.workdir,
                    env=self.environment(server.url, env),
                    input=stdin,
                    capture_output=True,
                    text=True,
                    encoding="utf-8",
                    timeout=SAFETY_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                out = error.stdout if isinstance(error.stdout, str) else (error.stdout or b"").decode()
                raise AssertionError(f"{name} did not finish within {SAFETY_TIMEOUT}s; stdout:\n{out}") from None
            requests = list(server.requests)
        return ExampleRun(name, done.returncode, done.stdout, done.stderr, requests, self.workdir, router.misses)
