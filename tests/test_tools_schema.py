"""Schema flattening: what the ollama client's Tool model keeps must still tell a small model everything."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ollama._types import Tool
from pydantic import BaseModel, Field

from core.mcp_client.schema import flatten_parameters, ollama_tool


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Args(BaseModel):
    title: str = Field(description="Movie title")
    rating: Annotated[float, Field(ge=0, le=10, description="Score")]
    year: int | None = None
    genre: Literal["drama", "comedy"] | None = None
    tags: list[str] = Field(default_factory=list)
    address: Address | None = None
    limit: int = 20


def _through_ollama(tool: dict[str, Any]) -> dict[str, Any]:
    """What the ollama client really sends after its pydantic model has had its way."""
    return Tool.model_validate(tool).model_dump(exclude_none=True, by_alias=True)


def test_optional_enum_bounds_defaults_survive_the_ollama_model() -> None:
    tool = ollama_tool("rate_movie", "Rate a\n   movie.", Args.model_json_schema())
    sent = _through_ollama(tool)["function"]
    props = sent["parameters"]["properties"]
    assert sent["description"] == "Rate a movie."
    assert sent["parameters"]["required"] == ["title", "rating"]
    assert props["title"] == {"type": "string", "description": "Movie title."}
    assert props["rating"]["type"] == "number"
    assert "from 0 to 10" in props["rating"]["description"]
    assert props["year"]["type"] == "integer"  # Optional[int] is not lost as {}
    assert "optional" in props["year"]["description"]
    assert props["genre"]["enum"] == ["drama", "comedy"]
    assert props["genre"]["type"] == "string"
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Tags."}
    assert props["limit"]["description"] == "Limit; default 20."


def test_refs_to_nested_objects_are_resolved_into_the_description() -> None:
    schema = Args.model_json_schema()
    assert "$defs" in schema  # pydantic put Address behind a $ref
    props = flatten_parameters(schema)["properties"]
    assert props["address"]["type"] == "object"
    assert "city (string)" in props["address"]["description"]
    assert "zip_code (string)" in props["address"]["description"]
    assert "required: city" in props["address"]["description"]


def test_every_builtin_tool_converts_cleanly() -> None:
    import asyncio
    import tempfile
    from pathlib import Path

    from mcp_server.server import ServerOptions, build_server

    with tempfile.TemporaryDirectory() as tmp:
        server = build_server(ServerOptions(Path(tmp) / "t.db", Path(tmp) / "chroma", "none"))
        tools = asyncio.run(server.list_tools())
    names = {t.name for t in tools}
    assert {"remember", "recall", "forget", "rate_movie", "list_movies", "add_task", "like_music"} <= names
    for t in tools:
        sent = _through_ollama(ollama_tool(t.name, t.description, t.input_schema))["function"]
        for prop in sent["parameters"].get("properties", {}).values():
            assert prop.get("type"), f"{t.name}: a parameter lost its type: {prop}"
            assert prop.get("description"), f"{t.name}: a parameter has no description"


def test_union_of_two_types_and_const() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"anyOf": [{"type": "string", "format": "date"}, {"type": "integer"}]},
            "kind": {"const": "movie"},
        },
    }
    props = flatten_parameters(schema)["properties"]
    assert props["when"]["type"] == ["integer", "string"]
    assert props["kind"] == {"type": "string", "enum": ["movie"]}
