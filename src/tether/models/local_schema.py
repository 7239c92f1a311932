"""JSON schemas as the constraints of the local model's decoding (llama.cpp's LLGuidance).

LLGuidance drops a schema it cannot compile *silently* and then generates unconstrained text;
`json_constraint` guards against that:

- an object that does not say otherwise gets `additionalProperties: false`, so no key outside
  the schema is generated (JSON Schema's default admits any extra key, and a small model adds
  some);
- `oneOf` is read as `anyOf` (LLGuidance compiles no `oneOf`); keywords it does not implement
  (`if`/`then`, `not`, `uniqueItems`, ...) loosen the constraint instead of dropping it, and the
  agent still checks the reply against the full schema;
- a schema that is not valid JSON Schema, or a `$ref` that does not resolve inside it, is refused
  with an error instead.

`tool_schema` is the reply of a run with tools and structured output: an answer, or a call of one of
the offered tools. Without structured output the reply is `reply_grammar`'s: plain text that holds
no JSON object, or a call of one of the offered tools (JSON matching that tool's input schema).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from tether.errors import ModelError
from tether.models.base import ToolSpec

__all__ = ["GUIDANCE", "TEXT_PATTERN", "json_constraint", "reply_grammar", "tool_constraint", "tool_schema"]


GUIDANCE = {"whitespace_flexible": False, "coerce_one_of": True, "lenient": True}
"""LLGuidance's options for every constraint: compact JSON, `oneOf` read as `anyOf`, keywords it
does not implement loosened instead of failing the whole schema."""

TEXT_PATTERN = r'[^{\s]([^{]|\{[^"])*'
"""A text answer: it starts with neither `{` nor white space, and has no `{"` in it (no JSON object,
so no tool call written out as text)."""

_CLOSING_KEYS = (
    "additionalProperties",
    "unevaluatedProperties",
    "patternProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "$ref",
)
"""An object schema with one of these says itself which keys it admits (or combines schemas that do)."""


def _closed(schema: Any, *, close: bool = True) -> Any:
    """`schema` with `additionalProperties: false` on each object that does not say which extra keys it
    admits; `close=False` leaves this level open (the members of an `allOf` combine their properties)."""
    if not isinstance(schema, Mapping):
        return schema
    result = dict(schema)
    for key in ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas"):
        if isinstance(result.get(key), Mapping):
            result[key] = {name: _closed(value) for name, value in result[key].items()}
    has_properties = "properties" in result
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(result.get(key), list):
            open_members = key == "allOf" or (key != "prefixItems" and has_properties)
            result[key] = [_closed(value, close=not open_members) for value in result[key]]
    for key in ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else"):
        if isinstance(result.get(key), Mapping):
            result[key] = _closed(result[key])
    is_object = result.get("type") == "object" or has_properties
    if close and is_object and not any(key in result for key in _CLOSING_KEYS):
        result["additionalProperties"] = False
    return result


def _refs(schema: Any) -> Iterator[str]:
    """Every `$ref` in `schema`."""
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


@functools.lru_cache(maxsize=256)
def _schema_problem(schema_json: str) -> str | None:
    """What makes a JSON schema unusable as a constraint, or None (cached: tool schemas repeat every turn)."""
    import jsonschema  # only runs that constrain output pay for importing it
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    schema = json.loads(schema_json)
    if not isinstance(schema, dict):
        return "a JSON schema must be an object"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        return f"it is not a valid JSON schema: {error.message}"
    resolver = Registry().with_resource("", Resource.from_contents(schema, DRAFT202012)).resolver()
    for ref in _refs(schema):
        if not ref.startswith("#"):
            return f"$ref {ref!r} points outside the schema"
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return f"$ref {ref!r} does not resolve"
    return None


def _checked(schema: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """`schema`, or `ModelError` naming `what` it is when it cannot constrain decoding."""
    problem = _schema_problem(json.dumps(schema, sort_keys=True))
    if problem:
        raise ModelError(f"the local model cannot constrain its output to {what}: {problem}", provider="local")
    return schema


def _guided(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A checked schema as LLGuidance gets it: objects closed, with the `GUIDANCE` options."""
    return {**_closed(schema), "x-guidance": GUIDANCE}


def json_constraint(schema: Mapping[str, Any], what: str = "this JSON schema") -> dict[str, Any]:
    """`schema` as the JSON schema decoding is constrained to (see the module doc); `ModelError` when
    it is unusable, naming `what` it is."""
    return _guided(_checked(schema, what))


def _embedded(schema: Mapping[str, Any], pointer: str) -> dict[str, Any]:
    """`schema` to be placed at JSON pointer `pointer` of a larger schema: its own `$ref`s rebased
    there, its `$schema` dropped."""

    def rebase(value: Any) -> Any:
        if isinstance(value, Mapping):
            ref = value.get("$ref")
            rebased = {key: rebase(item) for key, item in value.items()}
            if isinstance(ref, str) and ref.startswith("#"):
                rebased["$ref"] = f"#{pointer}{ref[1:]}"
            return rebased
        if isinstance(value, list):
            return [rebase(item) for item in value]
        return value

    return {key: value for key, value in rebase(schema).items() if key != "$schema"}


def tool_schema(
    tools: list[ToolSpec], *, allow_answer: bool = True, answer_schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON schema the reply is constrained to: an answer (text, or matching `answer_schema`),
    or a call of one of `tools` (a top-level `anyOf`; LLGuidance compiles no `oneOf`)."""
    branches: list[dict[str, Any]] = []
    if allow_answer:
        answer = _embedded(answer_schema, "/anyOf/0/properties/answer") if answer_schema else {"type": "string"}
        branches.append({"type": "object", "properties": {"answer": answer}, "required": ["answer"]})
    for tool in tools:
        arguments = {"type": "object", **_embedded(tool.input_schema, f"/anyOf/{len(branches)}/properties/input")}
        call = {"type": "object", "properties": {"tool": {"const": tool.name}, "input": arguments}}
        branches.append({**call, "required": ["tool", "input"]})
    return {"anyOf": branches}


def tool_constraint(
    tools: list[ToolSpec], *, allow_answer: bool, answer_schema: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The constraint of a reply that may call `tools`, each part checked on its own (so a tool with a
    broken input schema fails naming that tool)."""
    for tool in tools:
        _checked(tool.input_schema, f"the input schema of tool {tool.name!r}")
    if answer_schema is not None:
        _checked(answer_schema, "the output_format schema")
    return _guided(tool_schema(tools, allow_answer=allow_answer, answer_schema=answer_schema))


def reply_grammar(tools: list[ToolSpec], *, allow_text: bool = True) -> str:
    """LLGuidance's grammar of a reply: plain text (`TEXT_PATTERN`, when `allow_text`) or a call of
    one of `tools`, each checked as in `tool_constraint`; at least one of the two."""
    if not tools and not allow_text:
        raise ValueError("a reply must be text or a tool call")
    choices = ["TEXT"] * allow_text
    lines = ["%llguidance {}"]
    if tools:
        call = tool_constraint(tools, allow_answer=False, answer_schema=None)
        lines.append(f"call: %json {json.dumps(call)}")
        choices.append("call")
    if allow_text:
        lines.append(f"TEXT: /{TEXT_PATTERN}/")
    lines.insert(1, f"start: {' | '.join(choices)}")
    return "\n".join(lines) + "\n"
