"""The Claude Agent SDK's own unit tests, run on tether with only their import statements rewritten.

The tests come from the sdist of the SDK version installed as tether's dev dependency (pinned by
requirements/dev.lock; downloaded once into the cache by the examples' harness), are ported by
`porting.port` and run by pytest in a subprocess, in a temporary directory. Each SDK test file is
one test here: it fails on any failure of that file that `EXPECTED_FAILURES` does not list (each a
documented difference of design, see docs/compatibility.md, "The SDK's own unit tests"), and on
any listed failure that now passes (take it off the list). Tests that reach for one of the SDK's
private helpers tether has no counterpart of are skipped (see porting.py), not counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.sdk_examples.harness import ExamplesUnavailable, sdk_source_dir
from tests.sdk_unit.porting import port

import tether

SELECTED = {
    "test_errors.py": "the error classes, their constructors and attributes",
    "test_types.py": "the types: messages, hook inputs and outputs, options, PermissionUpdate, MCP status",
    "test_option_warnings.py": "CanUseToolShadowedWarning: when query() and the client warn",
    "test_sessions.py": "list_sessions, get_session_info/messages, subagents over Claude Code's transcripts",
    "test_session_mutations.py": "rename_session, tag_session, delete_session, fork_session on transcripts",
    "test_session_summary.py": "SessionSummaryEntry, fold_session_summary, listing from a store's summaries",
    "test_session_helpers_store.py": "the *_from_store / *_via_store session helpers over a SessionStore",
    "test_session_import.py": "import_session_to_store",
    "test_session_store_conformance.py": "run_session_store_conformance over InMemorySessionStore and broken stores",
}
"""The SDK's test files about public behaviour, and what each covers."""

LEFT_OUT = {
    "test_client.py": "drives the bundled CLI through a mocked subprocess transport",
    "test_client_app.py": "the CLI's client-app handshake (private _client_app)",
    "test_close_cancellation.py": "cancelling the CLI subprocess transport",
    "test_integration.py": "query() over a mocked CLI transport",
    "test_mcp_large_output.py": "the CLI transport's handling of large MCP outputs",
    "test_message_parser.py": "the private parser of the CLI's JSON lines",
    "test_query.py": "the private Query control protocol with the CLI",
    "test_rate_limit_event_repro.py": "the private parser of the CLI's JSON lines",
    "test_run_end_subprocess.py": "the CLI subprocess at the end of a run",
    "test_sdk_mcp_integration.py": "in-process MCP servers through the private CLI control bridge",
    "test_session_resume.py": "materialising a store's session as a transcript file for the CLI",
    "test_session_store_anyio.py": "the private transcript mirror batcher of the CLI",
    "test_streaming_client.py": "the client over a mocked CLI transport",
    "test_subprocess_buffering.py": "the CLI subprocess transport's buffering",
    "test_task_compat.py": "a private task helper",
    "test_tool_callbacks.py": "permission and hook callbacks through the private Query and a mock transport",
    "test_transcript_mirror.py": "the private mirror of the CLI's transcript into a store",
    "test_transport.py": "the CLI subprocess transport's command line",
    "test_verbatim_prompts.py": "prompts as sent over the CLI transport",
    "test_build_wheel.py": "the SDK's packaging scripts",
    "test_changelog.py": "the SDK's changelog",
    "test_download_cli.py": "the SDK's CLI download script",
    "test_update_cli_version.py": "the SDK's CLI version script",
    "test_example_postgres_session_store.py": "the SDK's example stores (examples/, not its API)",
    "test_example_redis_session_store.py": "the SDK's example stores (examples/, not its API)",
    "test_example_redis_session_store_live.py": "the SDK's example stores (examples/, not its API)",
    "test_example_s3_session_store.py": "the SDK's example stores (examples/, not its API)",
    "test_example_s3_session_store_live.py": "the SDK's example stores (examples/, not its API)",
}
"""The SDK's other test files, and why they are not run: they test the CLI subprocess, its transport
and private helpers, or the SDK's packaging, none of which tether has."""

# -- the expected failures, each a documented difference (docs/compatibility.md, "The SDK's own unit tests") --

NO_TRANSPORT = "tether has no CLI transport: query() and ClaudeSDKClient refuse transport= (UnsupportedOptionError)"
METADATA_WITHOUT_UUID = (
    "tether's custom-title/tag entries carry no uuid: a uuid puts an entry in the conversation chain"
)
INVALID_ID_WORDING = (
    "tether's InvalidSessionIdError says 'invalid session id', not 'Invalid session_id' (a ValueError all the same)"
)
CYCLE_KEPT = (
    "a transcript whose parentUuid links loop: tether reads the messages up to the loop (nothing lost), the SDK none"
)
NO_PROJECTS_DIRECTORY_IS_EMPTY = (
    "the default store is tether's own plus Claude Code's directory, a missing one an empty one: an unknown id "
    "raises SessionFileNotFoundError (a FileNotFoundError) saying the session is not found, not 'no projects directory'"
)
LOOKUP_FALLS_BACK_TO_ANY_PROJECT = (
    "a lookup by id takes directory's project first, then the newest session of that id in any project; the SDK "
    "looks in directory's project (and worktrees) only"
)

EXPECTED_FAILURES: dict[str, dict[str, tuple[str, ...]]] = {
    CYCLE_KEPT: {"test_sessions.py": ("TestGetSessionMessages::test_cycle_detection",)},
    LOOKUP_FALLS_BACK_TO_ANY_PROJECT: {
        "test_sessions.py": ("TestGetSessionInfo::test_directory_not_containing_session",)
    },
    NO_TRANSPORT: {
        "test_option_warnings.py": (
            "TestConnectEmitsWarning::test_connect_warns_once_for_shadowed_config",
            "TestConnectEmitsWarning::test_connect_silent_for_non_shadowed_config",
            "TestQueryEmitsWarning::test_query_warns_for_shadowed_config",
            "TestQueryEmitsWarning::test_query_silent_for_non_shadowed_config",
        ),
    },
    METADATA_WITHOUT_UUID: {
        "test_session_helpers_store.py": ("TestRenameSessionViaStore::test_appends_custom_title_entry",),
    },
    INVALID_ID_WORDING: {
        "test_session_import.py": ("TestValidation::test_invalid_uuid_raises",),
        "test_session_mutations.py": (
            "TestRenameSession::test_invalid_session_id_raises",
            "TestTagSession::test_invalid_session_id_raises",
        ),
    },
    NO_PROJECTS_DIRECTORY_IS_EMPTY: {
        "test_session_mutations.py": ("TestRenameSession::test_no_projects_dir_raises",),
    },
}
"""Reason -> SDK test file -> its failing tests (`Class::test`: each parametrization; `Class::test[p]`: one)."""


def expected_failures(file_name: str) -> dict[str, str]:
    """The tests of `file_name` expected to fail, as listed (`Class::test` or `Class::test[p]`) -> reason."""
    return {test: reason for reason, files in EXPECTED_FAILURES.items() for test in files.get(file_name, ())}


SAFETY_TIMEOUT = 900  # seconds for the whole run


@dataclass
class FileResults:
    """The outcome of every test of one SDK test file."""

    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed / failed / skipped
    messages: dict[str, str] = field(default_factory=dict)  # node id -> first line of the failure

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)


def _node_id(case: ElementTree.Element) -> tuple[str, str]:
    """The file name and node id of a junit test case (`classname` is `sdk_tests.test_x.Class`;
    empty for a file that could not be collected, whose `name` is then `sdk_tests.test_x`)."""
    parts = (case.get("classname") or case.get("name") or "").split(".")
    file_index = next(i for i, part in enumerate(parts) if part.startswith("test_"))
    file_name = parts[file_index] + ".py"
    if not case.get("classname"):
        return file_name, f"{file_name}::(collection)"
    return file_name, "::".join([file_name, *parts[file_index + 1 :], case.get("name", "")])


def parse_junit(report: Path) -> dict[str, FileResults]:
    """Results per SDK test file, from pytest's junit XML report."""
    results: dict[str, FileResults] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        file_name, node = _node_id(case)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = (
                    "failed",
                    (child.get("message") or "").splitlines()[0][:300] if child.get("message") else "",
                )
            elif child.tag == "skipped":
                outcome, message = "skipped", child.get("message") or ""
        file_results = results.setdefault(file_name, FileResults())
        if file_results.outcomes.get(node) != "failed":  # an error in teardown after a pass is a failure
            file_results.outcomes[node] = outcome
            file_results.messages[node] = message
    return results


def run_sdk_tests(source: Path, workdir: Path) -> dict[str, FileResults]:
    """Port the selected files of `source` (the SDK's tests/) into `workdir` and run them."""
    tests = workdir / "sdk_tests"  # not `tests`, which would hide tether's tests package
    tests.mkdir(parents=True)
    (tests / "conftest.py").write_text((source / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    for name in SELECTED:
        (tests / name).write_text(port((source / name).read_text(encoding="utf-8")), encoding="utf-8")
    (workdir / "pytest.ini").write_text("[pytest]\naddopts = --import-mode=importlib -p anyio\n", encoding="utf-8")
    home = workdir / "home"
    home.mkdir()
    repository = Path(__file__).resolve().parents[2]
    sources = Path(tether.__file__).resolve().parents[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "OPENAI_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(sources), str(repository)]),
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        TETHER_HOME=str(home / ".tether"),
        PYTHONIOENCODING="utf-8",
    )
    report = workdir / "report.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--continue-on-collection-errors",
    ]
    command += ["--junitxml", str(report), "-o", "junit_family=xunit1", "sdk_tests"]
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=SAFETY_TIMEOUT, check=False
    )
    if not report.exists():
        raise AssertionError(
            f"the SDK's tests did not run (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return parse_junit(report)


@pytest.fixture(scope="module")
def sdk_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FileResults]:
    try:
        source = sdk_source_dir("tests")
    except ExamplesUnavailable as error:
        pytest.skip(f"the claude-agent-sdk tests are unavailable: {error}")
    return run_sdk_tests(source, tmp_path_factory.mktemp("sdk-unit"))


def test_every_sdk_test_file_is_selected_or_left_out_with_a_reason() -> None:
    try:
        source = sdk_source_dir("tests")
    except ExamplesUnavailable as error:
        pytest.skip(f"the claude-agent-sdk tests are unavailable: {error}")
    files = {path.name for path in source.glob("test_*.py")}
    assert files == set(SELECTED) | set(LEFT_OUT)
    assert not set(SELECTED) & set(LEFT_OUT)


@pytest.mark.parametrize("file_name", sorted(SELECTED))
def test_sdk_test_file_passes_on_tether(file_name: str, sdk_results: dict[str, FileResults]) -> None:
    results = sdk_results.get(file_name)
    assert results is not None and results.outcomes, f"{file_name}: no test ran"
    expected = expected_failures(file_name)
    listed = {node: node.split("::", 1)[1] for node in results.outcomes}
    listed = {node: test if test in expected else test.split("[")[0] for node, test in listed.items()}
    failed = {node for node, outcome in results.outcomes.items() if outcome == "failed"}
    unexpected = sorted(node for node in failed if listed[node] not in expected)
    fixed = sorted({listed[node] for node, outcome in results.outcomes.items() if outcome == "passed"} & set(expected))
    counts = Counter(results.outcomes.values())
    summary = f"{file_name}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    details = "\n".join(f"  {node}: {results.messages[node]}" for node in unexpected)
    print(summary)  # `pytest -s tests/sdk_unit` shows the count per file
    assert not unexpected, f"{summary}; failures not listed in EXPECTED_FAILURES:\n{details}"
    assert not fixed, f"{summary}; these pass now, take them off EXPECTED_FAILURES: {fixed}"
