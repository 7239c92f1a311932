"""Checking a tool call's input against the tool's JSON schema."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

__all__ = ["input_problem"]


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema.validators  # imported on the first tool call (slow to import)

    schema = json.loads(schema_json)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def input_problem(schema: dict[str, Any], value: Any) -> str | None:
    """What is wrong with `value` for `schema` (every problem, one per line), or None if valid."""
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    import jsonschema.exceptions

    try:
        validator = _validator(json.dumps(schema, sort_keys=True, default=str))
    except (TypeError, ValueError, jsonschema.exceptions.SchemaError):
        return None  # a schema we cannot check against is the tool's business, not the model's
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    if not errors:
        return None
    lines = []
    for error in errors[:10]:
        where = "/".join(str(part) for part in error.absolute_path)
        lines.append(f"{where}: {error.message}" if where else error.message)
    return "; ".join(lines)
