"""Tool arguments checked against the tool's own JSON schema before the tool runs.

The arguments come from the model, and the model reads whatever the user (or a web page, an e-mail, a stored
memory) put in its context: a tool must never see arguments its schema does not allow. A failure is worded for
the model ("Bad arguments for rate_movie: rating: 11 is greater than the maximum of 10"), so it can correct itself.

Small models often write numbers and booleans as strings ("year": "2010"). The MCP server's pydantic models
accept those (lax mode), so for a top-level property whose schema wants an integer, a number or a boolean, a
string that is exactly such a value is converted first; nothing else is changed.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from core.mcp_client.schema import _collapse, _types

MAX_PROBLEMS = 3
INT = re.compile(r"-?\d{1,18}")
NUMBER = re.compile(r"-?\d{1,18}(\.\d{1,18})?([eE][-+]?\d{1,3})?")
_validators: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator | None:
    """One compiled validator per schema object (tool lists are reused); None for a schema that is itself broken."""
    cached = _validators.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return None
    validator = Draft202012Validator(schema)
    if len(_validators) > 1000:
        _validators.clear()
    _validators[id(schema)] = (schema, validator)
    return validator


def _coerce(value: Any, kinds: list[str]) -> Any:
    if not isinstance(value, str) or "string" in kinds:
        return value
    text = value.strip()
    if "integer" in kinds and INT.fullmatch(text):
        return int(text)
    if "number" in kinds and NUMBER.fullmatch(text):
        return float(text)
    if "boolean" in kinds and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return value


def _reason(err: ValidationError) -> str:
    """The useful words of an error: for Optional[...] (anyOf with null), why the real type's schema failed."""
    inner = [c.message for c in err.context or () if not (c.validator == "type" and c.validator_value == "null")]
    return " or ".join(dict.fromkeys(inner)) if inner else err.message


def check_arguments(tool: str, schema: dict[str, Any] | None, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the arguments, lax strings converted; "" if they fit the schema, else the problem worded for the model)."""
    if not schema:
        return args, ""
    found = schema.get("properties")
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    fixed = {k: _coerce(v, _types(_collapse(props[k], schema, 0))) if isinstance(props.get(k), dict) else v
             for k, v in args.items()}
    validator = _validator(schema)
    if validator is None:
        return fixed, ""  # the server's schema is broken: let the server itself judge
    errors = sorted(validator.iter_errors(fixed), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return fixed, ""
    problems = []
    for err in errors[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in err.absolute_path)
        message = _reason(err)
        message = message if len(message) <= 200 else message[:200] + "…"
        problems.append(f"{where}: {message}" if where else message)
    return fixed, f"Bad arguments for {tool}: {'; '.join(problems)}. Fix them and call {tool} again."
