"""Parity with the installed `claude-agent-sdk` (a dev dependency): names, fields, keys, methods.

Each test introspects the SDK and fails on whatever tether lacks, so a new SDK release shows up
here as a list of what to add. The only exceptions are the rows of the `## Names` table of
`docs/compatibility.md` (first column the name in backticks, second its status):

- `not applicable`: the name (or `Class.member`) may be missing from tether altogether;
- `tether semantics`: the name must exist, but its shape (fields, keys, methods) may differ.

Every other status (`same`, `not yet`) exempts nothing.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import types as builtin_types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import claude_agent_sdk
import claude_agent_sdk.types
import pytest
from typing_extensions import is_typeddict

import tether
import tether.types

COMPATIBILITY = Path(__file__).resolve().parent.parent / "docs" / "compatibility.md"
STATUSES = ("same", "tether semantics", "not applicable", "not yet")
_TYPING_MODULES = ("typing", "typing_extensions", "collections.abc", "dataclasses", "pathlib", "sys", "warnings")


# --- what the SDK has --------------------------------------------------------------------------


def _imported_helper(module: builtin_types.ModuleType, name: str) -> bool:
    """True for names a module merely imported from typing & co (`Any`, `dataclass`, `Path`)."""
    value = getattr(module, name)
    if isinstance(value, builtin_types.ModuleType):
        return True
    return any(getattr(sys.modules.get(source), name, object()) is value for source in _TYPING_MODULES)


def sdk_types_names() -> list[str]:
    """The public names of `claude_agent_sdk.types` (what it defines, not what it imports)."""
    module = claude_agent_sdk.types
    return sorted(n for n in dir(module) if not n.startswith("_") and not _imported_helper(module, n))


SDK_NAMES: list[str] = sorted(claude_agent_sdk.__all__)
SDK_TYPES_NAMES: list[str] = sdk_types_names()


def sdk_objects() -> Iterator[tuple[str, Any, Any]]:
    """(name, SDK object, tether object or None) for every SDK name, the root package first."""
    for name in SDK_NAMES:
        yield name, getattr(claude_agent_sdk, name), getattr(tether, name, None)
    for name in SDK_TYPES_NAMES:
        if name not in claude_agent_sdk.__all__:
            yield name, getattr(claude_agent_sdk.types, name), getattr(tether.types, name, None)


# --- what docs/compatibility.md says -------------------------------------------------------------


def names_table() -> dict[str, str]:
    """`## Names` of docs/compatibility.md as {name: status}."""
    text = COMPATIBILITY.read_text(encoding="utf-8")
    _, found, rest = text.partition("\n## Names\n")
    assert found, "docs/compatibility.md has no '## Names' section"
    section = rest.split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


NAMES_TABLE = names_table()


def exempt(name: str, *statuses: str) -> bool:
    return NAMES_TABLE.get(name, "") in statuses


def not_applicable(name: str) -> bool:
    return exempt(name, "not applicable")


def shape_exempt(name: str) -> bool:
    return exempt(name, "not applicable", "tether semantics")


# --- names --------------------------------------------------------------------------------------


def test_every_name_of_the_sdk_imports_from_tether() -> None:
    missing = [n for n in SDK_NAMES if (n not in tether.__all__ or not hasattr(tether, n)) and not not_applicable(n)]
    assert not missing, f"{len(missing)} of {len(SDK_NAMES)} names of claude_agent_sdk missing from tether: {missing}"


def test_every_public_name_of_sdk_types_imports_from_tether_types() -> None:
    missing = [
        n
        for n in SDK_TYPES_NAMES
        if (n not in tether.types.__all__ or not hasattr(tether.types, n)) and not not_applicable(n)
    ]
    assert not missing, f"{len(missing)} of {len(SDK_TYPES_NAMES)} names of claude_agent_sdk.types missing: {missing}"


def test_a_name_tether_exports_twice_is_one_object() -> None:
    assert tether.ClaudeAgentOptions is tether.AgentOptions
    assert tether.InMemorySessionStore is tether.MemoryStore
    assert tether.SDKSessionInfo is tether.SessionInfo
    assert tether.types.ClaudeAgentOptions is tether.AgentOptions
    twice = [n for n in tether.types.__all__ if n in tether.__all__]
    assert len(twice) > 100
    assert [n for n in twice if getattr(tether, n) is not getattr(tether.types, n)] == []


def test_the_compatibility_table_lists_every_sdk_name_once_with_a_status() -> None:
    every = set(SDK_NAMES) | set(SDK_TYPES_NAMES)
    assert sorted(every - set(NAMES_TABLE)) == [], "names of the SDK without a row in docs/compatibility.md"
    stale = [n for n in NAMES_TABLE if n.split(".")[0] not in every]
    assert stale == [], "rows of docs/compatibility.md naming nothing in the SDK"
    assert {n: s for n, s in NAMES_TABLE.items() if s not in STATUSES} == {}


# --- options -------------------------------------------------------------------------------------


def default_of(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def test_every_option_field_exists_with_the_sdk_default() -> None:
    ours = {f.name: f for f in dataclasses.fields(tether.AgentOptions)}
    problems = []
    for theirs in dataclasses.fields(claude_agent_sdk.ClaudeAgentOptions):
        if theirs.name not in ours:
            problems.append(f"{theirs.name}: missing")
        elif default_of(ours[theirs.name]) != default_of(theirs):
            problems.append(f"{theirs.name}: default {default_of(ours[theirs.name])!r}, not {default_of(theirs)!r}")
    assert not problems, "\n".join(problems)


def test_sdk_code_passing_every_field_explicitly_gets_the_defaults() -> None:
    sdk_defaults = claude_agent_sdk.ClaudeAgentOptions()
    names = [f.name for f in dataclasses.fields(sdk_defaults)]
    options = tether.ClaudeAgentOptions(**{name: getattr(sdk_defaults, name) for name in names})
    defaults = tether.ClaudeAgentOptions()
    assert {n: getattr(options, n) for n in names} == {n: getattr(defaults, n) for n in names}


# --- dataclasses (messages, blocks, permission and hook classes, ...) ----------------------------


def dataclass_problems(name: str, theirs: type, ours: type) -> list[str]:
    if not dataclasses.is_dataclass(ours):
        return [f"{name}: not a dataclass"]
    their_fields = dataclasses.fields(theirs)
    our_fields = dataclasses.fields(ours)
    problems = []
    if [f.name for f in our_fields[: len(their_fields)]] != [f.name for f in their_fields]:
        problems.append(f"{name}: fields {[f.name for f in our_fields]}, SDK {[f.name for f in their_fields]}")
    by_name = {f.name: f for f in our_fields}
    for field in their_fields:
        mine = by_name.get(field.name)
        if mine is not None and _required(mine) != _required(field):
            problems.append(f"{name}.{field.name}: required {_required(mine)}, SDK {_required(field)}")
        elif mine is not None and not _required(field) and default_of(mine) != default_of(field):
            problems.append(f"{name}.{field.name}: default {default_of(mine)!r}, SDK {default_of(field)!r}")
    extra = [f.name for f in our_fields[len(their_fields) :] if _required(f)]
    if extra:
        problems.append(f"{name}: tether's own fields {extra} need defaults")
    return problems


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def test_every_sdk_dataclass_has_the_sdk_fields_order_and_defaults() -> None:
    problems = []
    checked = 0
    for name, theirs, ours in sdk_objects():
        if name == "ClaudeAgentOptions" or not (isinstance(theirs, type) and dataclasses.is_dataclass(theirs)):
            continue
        if ours is None or shape_exempt(name):
            continue
        checked += 1
        problems += dataclass_problems(name, theirs, ours)
    assert checked > 25
    assert not problems, "\n".join(problems)


def test_the_sdk_builds_the_same_messages_positionally_and_by_keyword() -> None:
    """Code that builds messages (tests, fakes) gets equal objects: same fields, same defaults."""
    result = tether.ResultMessage("success", 1, 2, False, 1, "s")
    assert result.permission_denials is None and result.errors is None and result.model_usage is None
    assert dataclasses.astuple(result) == dataclasses.astuple(
        claude_agent_sdk.ResultMessage("success", 1, 2, False, 1, "s")
    )
    started = tether.TaskStartedMessage("task_started", {}, "t1", "look", "u1", "s1")
    assert isinstance(started, tether.SystemMessage) and started.tool_use_id is None
    assert tether.HookEventMessage("hook_started", {}).hook_event_name == ""
    with pytest.raises(TypeError):
        tether.ThinkingBlock(thinking="no signature")  # type: ignore[call-arg]


# --- TypedDicts ---------------------------------------------------------------------------------


def typeddict_problems(name: str, theirs: Any, ours: Any) -> list[str]:
    if not is_typeddict(ours):
        return [f"{name}: not a TypedDict"]
    problems = []
    missing = (theirs.__required_keys__ | theirs.__optional_keys__) - (ours.__required_keys__ | ours.__optional_keys__)
    if missing:
        problems.append(f"{name}: keys {sorted(missing)} missing")
    for key in sorted(theirs.__required_keys__ & ours.__optional_keys__):
        problems.append(f"{name}[{key!r}]: NotRequired in tether, required in the SDK")
    for key in sorted(theirs.__optional_keys__ & ours.__required_keys__):
        problems.append(f"{name}[{key!r}]: required in tether, NotRequired in the SDK")
    return problems


def test_every_sdk_typeddict_has_the_sdk_keys_required_as_in_the_sdk() -> None:
    problems = []
    checked = 0
    for name, theirs, ours in sdk_objects():
        if not is_typeddict(theirs) or ours is None or shape_exempt(name):
            continue
        checked += 1
        problems += typeddict_problems(name, theirs, ours)
    assert checked > 50
    assert not problems, "\n".join(problems)


# --- Literals, unions and constants --------------------------------------------------------------


def members(alias: Any) -> set[Any]:
    """The values of a Literal, or the member names of a union (of Literals, classes...)."""
    origin = get_origin(alias)
    if origin is Literal:
        return set(get_args(alias))
    if origin is Union or origin is builtin_types.UnionType:
        return set().union(*(members(arg) for arg in get_args(alias)))
    if isinstance(alias, type):
        return {alias.__name__}
    return {repr(alias)}


def is_choice(value: Any) -> bool:
    return get_origin(value) in (Literal, Union, builtin_types.UnionType)


def test_every_sdk_literal_and_union_has_all_its_members_in_tether() -> None:
    problems = []
    checked = 0
    for name, theirs, ours in sdk_objects():
        if not is_choice(theirs) or ours is None or shape_exempt(name):
            continue
        checked += 1
        missing = members(theirs) - members(ours)
        if missing:
            problems.append(f"{name}: {sorted(map(str, missing))} missing")
    assert checked > 25
    assert not problems, "\n".join(problems)


def test_sdk_constants_have_the_same_values() -> None:
    assert tether.TERMINAL_TASK_STATUSES == claude_agent_sdk.TERMINAL_TASK_STATUSES
    assert tether.__version__ and isinstance(tether.__version__, str)


# --- classes: methods of the client, stores, transport ---------------------------------------------


def public_members(cls: type) -> dict[str, Any]:
    """Methods and properties of a class, with the dunders SDK code relies on."""
    return {
        name: value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") or name in ("__aenter__", "__aexit__", "__init__")
    }


def signature_problems(where: str, theirs: Callable[..., Any], ours: Callable[..., Any]) -> list[str]:
    """SDK calls of `theirs` work on `ours`: the same positional parameters first, and every name."""
    their_parameters = list(inspect.signature(theirs).parameters.values())
    our_parameters = list(inspect.signature(ours).parameters.values())
    our_kinds = {p.kind for p in our_parameters}
    their_positional = [p.name for p in their_parameters if p.kind in _POSITIONAL]
    our_positional = [p.name for p in our_parameters if p.kind in _POSITIONAL]
    expected = their_positional
    if inspect.Parameter.VAR_POSITIONAL in our_kinds:  # `*args` takes the rest by position
        expected = their_positional[: len(our_positional)]
    problems = []
    if our_positional[: len(expected)] != expected:
        problems.append(f"{where}: positional parameters {our_positional}, SDK {their_positional}")
    if inspect.Parameter.VAR_KEYWORD not in our_kinds:
        by_name = [p.name for p in their_parameters if p.kind in _BY_NAME and p.name not in their_positional]
        missing = [name for name in by_name if name not in {p.name for p in our_parameters}]
        if missing:
            problems.append(f"{where}: parameters {missing} missing")
    return problems


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def class_problems(name: str, theirs: type, ours: type) -> list[str]:
    problems = []
    our_members = public_members(ours)
    for member, value in public_members(theirs).items():
        where = f"{name}.{member}"
        if not_applicable(where):
            continue
        if member not in our_members:
            problems.append(f"{where}: missing")
        elif callable(value) and not shape_exempt(where):
            problems += signature_problems(where, value, our_members[member])
    return problems


def plain_class(value: Any) -> bool:
    return (
        isinstance(value, type)
        and not dataclasses.is_dataclass(value)
        and not is_typeddict(value)
        and not issubclass(value, BaseException)
        and not issubclass(value, Warning)
    )


def test_every_sdk_class_has_the_sdk_public_methods_and_parameters() -> None:
    problems = []
    for name, theirs, ours in sdk_objects():
        if (
            not plain_class(theirs)
            or ours is None
            or shape_exempt(name)
            or name in ("ToolAnnotations", "ClaudeSDKClient")
        ):
            continue
        problems += class_problems(name, theirs, ours)
    assert not problems, "\n".join(problems)


def test_claude_sdk_client_has_every_public_method_of_the_sdk() -> None:
    problems = class_problems("ClaudeSDKClient", claude_agent_sdk.ClaudeSDKClient, tether.ClaudeSDKClient)
    assert not problems, "\n".join(problems)


def test_every_sdk_function_takes_the_sdk_parameters() -> None:
    problems = []
    for name, theirs, ours in sdk_objects():
        if inspect.isfunction(theirs) and ours is not None and not shape_exempt(name):
            problems += signature_problems(name, theirs, ours)
    assert not problems, "\n".join(problems)


def test_tool_annotations_takes_both_spellings_and_max_result_size_chars() -> None:
    theirs = claude_agent_sdk.ToolAnnotations(read_only_hint=True, maxResultSizeChars=500)
    ours = tether.ToolAnnotations(read_only_hint=True, maxResultSizeChars=500)
    dumped = ours.model_dump(by_alias=True, exclude_none=True)
    assert dumped == theirs.model_dump(by_alias=True, exclude_none=True)
    camel = tether.ToolAnnotations(readOnlyHint=True, max_result_size_chars=10)
    assert camel.maxResultSizeChars == 10 and camel.model_dump(by_alias=True, exclude_none=True)["readOnlyHint"]
    assert set(claude_agent_sdk.ToolAnnotations.model_fields) <= set(tether.ToolAnnotations.model_fields)


# --- errors ---------------------------------------------------------------------------------------


def test_every_error_tether_raises_is_a_claude_sdk_error() -> None:
    assert issubclass(tether.TetherError, tether.ClaudeSDKError)
    for name in ("SessionNotFoundError", "SessionConflictError", "ModelError", "ToolError", "ConfigurationError"):
        assert issubclass(getattr(tether, name), tether.ClaudeSDKError), name
    assert issubclass(tether.CLINotFoundError, tether.CLIConnectionError)
    assert issubclass(tether.ResultError, tether.ProcessError)
    for name in ("CLIConnectionError", "ProcessError", "CLIJSONDecodeError"):
        assert issubclass(getattr(tether, name), tether.ClaudeSDKError), name


def test_except_claude_sdk_error_catches_what_tether_raises() -> None:
    for error in (
        tether.SessionNotFoundError("gone"),
        tether.SessionConflictError("s", "a", "b"),
        tether.ModelError("provider down", status_code=529),
    ):
        with pytest.raises(tether.ClaudeSDKError):
            raise error


ERROR_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("CLINotFoundError", (), {}),
    ("CLINotFoundError", ("Claude Code not found",), {"cli_path": "/opt/claude"}),
    ("ProcessError", ("Command failed",), {"exit_code": 2, "stderr": "boom"}),
    ("ProcessError", ("Command failed",), {}),
    (
        "ResultError",
        ("run failed",),
        {
            "data": {
                "subtype": "error_max_turns",
                "errors": ["  too many turns ", 3, ""],
                "result": "API Error: 529",
                "api_error_status": 529,
                "terminal_reason": "max_turns",
                "session_id": "s1",
            },
            "exit_code": 1,
        },
    ),
    ("ResultError", ("run failed",), {"data": {"errors": "one string"}}),
    ("ResultError", ("run failed",), {}),
    ("CLIJSONDecodeError", ("{not json" * 20, ValueError("bad")), {}),
    ("CLIConnectionError", ("not connected",), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), ERROR_CALLS)
def test_sdk_errors_build_as_in_the_sdk(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    theirs = getattr(claude_agent_sdk, name)(*args, **kwargs)
    ours = getattr(tether, name)(*args, **kwargs)
    assert str(ours) == str(theirs)
    for attribute, value in vars(theirs).items():
        assert getattr(ours, attribute) == value, attribute


def test_types_module_typeddicts_work_at_runtime() -> None:
    """TypedDicts with NotRequired keys report them correctly on every supported Python."""
    assert tether.types.SystemPromptPreset.__required_keys__ == {"type", "preset"}
    assert tether.types.McpStdioServerConfig.__optional_keys__ == {"type", "args", "env"}
    assert typing.get_type_hints(tether.types.ThinkingConfigEnabled)["budget_tokens"] is int


# --- what tether sends -------------------------------------------------------------------------


def test_the_init_message_carries_every_key_the_sdk_requires(tmp_path: Path) -> None:
    """SDK code reads `SystemInitData` keys off the first message; each required one is there."""
    import anyio

    from tether.testing import ScriptedModel

    @tether.tool("echo", "Echo the text", {"text": str})
    async def echo(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": args["text"]}]}

    async def first_message() -> tether.SystemMessage:
        options = tether.ClaudeAgentOptions(
            model=ScriptedModel(["hi"]),
            session_store="memory://",
            cwd=tmp_path,
            mcp_servers={"util": tether.create_sdk_mcp_server("util", tools=[echo])},
        )
        messages = [message async for message in tether.query(prompt="hello", options=options)]
        assert isinstance(messages[0], tether.SystemMessage)
        return messages[0]

    init = anyio.run(first_message)
    assert init.subtype == "init"
    missing = claude_agent_sdk.types.SystemInitData.__required_keys__ - init.data.keys()
    assert not missing, f"init data lacks {sorted(missing)}"
    assert [server["name"] for server in init.data["mcp_servers"]] == ["util"]
    for server in init.data["mcp_servers"]:
        assert claude_agent_sdk.types.SystemInitMcpServer.__required_keys__ <= server.keys()
