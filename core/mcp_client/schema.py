"""MCP tool schemas -> Ollama `tools` entries that survive the ollama client's pydantic `Tool` model.

That model keeps only `type`, `items`, `description` and `enum` of each property: it silently drops `title`,
`default`, `minimum`/`maximum`, nested `properties`, and turns `anyOf` (what pydantic emits for Optional[...])
into `{}`, so a small model would see untyped parameters with no hint of their limits. We therefore resolve
`$ref`, reduce Optional to its inner type, keep `enum`, and write defaults, bounds, formats and the fields of
nested objects into the description text, where the model can still read them.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 8


def ollama_tool(name: str, description: str | None, input_schema: dict[str, Any] | None) -> dict[str, Any]:
    """One entry of Ollama's `tools` parameter."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": " ".join((description or name.replace("_", " ")).split()),
            "parameters": flatten_parameters(input_schema or {}),
        },
    }


def flatten_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """The top-level object schema of a tool, with every property flattened."""
    root = _resolve(schema, schema, 0)
    props = root.get("properties") or {}
    out: dict[str, Any] = {
        "type": "object",
        "properties": {name: flatten_property(prop, schema) for name, prop in props.items()},
    }
    required = [r for r in root.get("required") or [] if r in props]
    if required:
        out["required"] = required
    return out


def flatten_property(prop: dict[str, Any], root: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """One property reduced to type / description / enum / items."""
    p = _collapse(prop, root, depth)
    out: dict[str, Any] = {}
    types = _types(p)
    if types:
        out["type"] = types[0] if len(types) == 1 else types
    if "const" in p and "enum" not in p:
        p = {**p, "enum": [p["const"]]}
    if isinstance(p.get("enum"), list):
        out["enum"] = p["enum"]
        if "type" not in out:
            kinds = sorted({_json_type(v) for v in p["enum"]})
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "array" in types and isinstance(p.get("items"), dict) and depth < MAX_DEPTH:
        out["items"] = flatten_property(p["items"], root, depth + 1)
    description = _description(p, root, depth)
    if description:
        out["description"] = description
    return out


def _resolve(node: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
    """Follow a local `$ref` (#/$defs/X or #/definitions/X); sibling keys override the target's."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_DEPTH:
        ref = node["$ref"]
        target: Any = root
        if ref.startswith("#/"):
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _collapse(prop: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
    """Resolve refs and merge anyOf/oneOf/allOf down to one schema; a null option only makes it optional."""
    p = _resolve(prop, root, depth)
    for key in ("anyOf", "oneOf"):
        options = p.get(key)
        if not isinstance(options, list):
            continue
        outer = {k: v for k, v in p.items() if k != key}
        resolved = [_collapse(o, root, depth + 1) for o in options if isinstance(o, dict)]
        real = [o for o in resolved if o.get("type") != "null"]
        if len(real) == 1:
            p = {**real[0], **outer}
        else:
            types = sorted({t for o in real for t in _types(o)})
            enums = [v for o in real for v in o.get("enum", [])] if all("enum" in o for o in real) else None
            p = {**outer, **({"type": types} if types else {}), **({"enum": enums} if enums else {})}
    if isinstance(p.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in p["allOf"]:
            if isinstance(part, dict):
                merged.update(_collapse(part, root, depth + 1))
        p = {**merged, **{k: v for k, v in p.items() if k != "allOf"}}
    return p


def _types(p: dict[str, Any]) -> list[str]:
    t = p.get("type")
    if isinstance(t, str):
        return [] if t == "null" else [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str) and x != "null"]
    if "properties" in p:
        return ["object"]
    return []


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _description(p: dict[str, Any], root: dict[str, Any], depth: int) -> str:
    """The property's own words plus the facts Ollama's model would otherwise drop."""
    parts: list[str] = []
    base = p.get("description") or p.get("title")
    if base:
        parts.append(" ".join(str(base).split()).rstrip("."))
    lo, hi = p.get("minimum", p.get("exclusiveMinimum")), p.get("maximum", p.get("exclusiveMaximum"))
    if lo is not None and hi is not None:
        parts.append(f"from {lo} to {hi}")
    elif lo is not None:
        parts.append(f"at least {lo}" if "minimum" in p else f"more than {lo}")
    elif hi is not None:
        parts.append(f"at most {hi}" if "maximum" in p else f"less than {hi}")
    fmt = p.get("format")
    if fmt == "date":
        parts.append("a date written YYYY-MM-DD")
    elif fmt == "date-time":
        parts.append("a date and time written YYYY-MM-DDTHH:MM:SS")
    elif fmt:
        parts.append(f"format {fmt}")
    if p.get("pattern"):
        parts.append(f"must match {p['pattern']}")
    if p.get("minLength") is not None or p.get("maxLength") is not None:
        parts.append(f"{p.get('minLength', 0)} to {p.get('maxLength', 'any number of')} characters")
    if p.get("minItems") is not None or p.get("maxItems") is not None:
        parts.append(f"{p.get('minItems', 0)} to {p.get('maxItems', 'any number of')} items")
    if "object" in _types(p) and isinstance(p.get("properties"), dict) and depth < MAX_DEPTH:
        fields = []
        for name, sub in p["properties"].items():
            flat = flatten_property(sub, root, depth + 1)
            kind = flat.get("type", "any")
            kind_text = "/".join(kind) if isinstance(kind, list) else kind
            fields.append(f"{name} ({kind_text})")
        required = p.get("required") or []
        parts.append(
            "an object with fields "
            + ", ".join(fields)
            + (f"; required: {', '.join(required)}" if required else "")
        )
    if "default" in p and p["default"] is not None:
        parts.append(f"default {json.dumps(p['default'])}")
    elif "default" in p:
        parts.append("optional")
    return "; ".join(parts) + ("." if parts else "")
