"""Movie tools: the user's watch list and ratings."""

from __future__ import annotations

from typing import Annotated, Any

import sqlite_utils
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_server.db import ToolsDB, clean, fmt_number, key, now, tool

Title = Annotated[str, Field(description="Movie title, e.g. Inception")]
Year = Annotated[int | None, Field(ge=1870, le=2100, description="Release year, e.g. 2010")]
Genre = Annotated[str | None, Field(description="Genre in one or two words, e.g. sci-fi")]


def _describe(row: dict[str, Any]) -> str:
    text = row["title"] + (f" ({row['year']})" if row["year"] else "")
    extras = [
        row["genre"] or "",
        f"rated {fmt_number(row['rating'])}/10" if row["rating"] is not None else "",
    ]
    extras = [e for e in extras if e]
    return text + (", " + ", ".join(extras) if extras else "")


def _find(db: sqlite_utils.Database, title: str, year: int | None) -> dict[str, Any] | None:
    """The one movie called `title` (and from `year` when given); asks for the year when it is ambiguous."""
    rows = list(db.query("SELECT * FROM movies WHERE title_key = ? ORDER BY year", [key(title)]))
    if year is not None:
        rows = [r for r in rows if r["year"] in (None, year)]
    if len(rows) > 1:
        raise ToolError(
            f"Several movies are called {rows[0]['title']}: "
            + "; ".join(_describe(r) for r in rows)
            + ". Give the year."
        )
    return rows[0] if rows else None


def _save(title: str, year: int | None, genre: str | None, rating: float | None, db: ToolsDB) -> str:
    name = clean(title, "title")
    assert name is not None
    genre_clean = clean(genre, "genre", required=False, max_len=60)
    with db.connect() as conn:
        row = _find(conn, name, year)
        stamp = now()
        if row is None:
            conn.table("movies").insert(
                {
                    "title": name,
                    "title_key": key(name),
                    "year": year,
                    "genre": genre_clean and genre_clean.lower(),
                    "rating": rating,
                    "added_at": stamp,
                    "updated_at": stamp,
                }
            )
            verb = "Added"
        else:
            changes: dict[str, Any] = {"updated_at": stamp}
            if year is not None:
                changes["year"] = year
            if genre_clean:
                changes["genre"] = genre_clean.lower()
            if rating is not None:
                changes["rating"] = rating
            conn.table("movies").update(row["id"], changes)
            verb = "Updated"
        saved = _find(conn, name, year)
    assert saved is not None
    return f"{verb}: {_describe(saved)}."


def register(server: MCPServer, db: ToolsDB) -> None:
    @tool(server)
    def rate_movie(
        title: Title,
        rating: Annotated[float, Field(ge=0, le=10, description="The user's score from 0 to 10")],
        year: Year = None,
        genre: Genre = None,
    ) -> str:
        """Save the user's rating of a movie (adds the movie if it is new). Use when the user says how good a
        movie was, e.g. "I'd give Inception a 9"."""
        return _save(title, year, genre, rating, db)

    @tool(server)
    def add_movie(title: Title, year: Year = None, genre: Genre = None) -> str:
        """Add a movie to the user's list without a rating, e.g. one they want to watch."""
        return _save(title, year, genre, None, db)

    @tool(server)
    def list_movies(
        genre: Genre = None,
        year: Year = None,
        min_rating: Annotated[
            float | None, Field(ge=0, le=10, description="Only movies rated at least this")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Most movies to return")] = 20,
    ) -> str:
        """List the user's saved movies, best rated first. Optional filters: genre, year, min_rating."""
        sql = "SELECT * FROM movies WHERE 1=1"
        params: list[Any] = []
        if genre and genre.strip():
            sql += " AND genre LIKE ?"
            params.append(f"%{key(genre)}%")
        if year is not None:
            sql += " AND year = ?"
            params.append(year)
        if min_rating is not None:
            sql += " AND rating >= ?"
            params.append(min_rating)
        sql += " ORDER BY rating IS NULL, rating DESC, title_key LIMIT ?"
        params.append(limit)
        with db.connect() as conn:
            rows = list(conn.query(sql, params))
        if not rows:
            return "No saved movies match." if params[:-1] else "No movies saved yet."
        return f"{len(rows)} movie(s): " + "; ".join(_describe(r) for r in rows) + "."

    @tool(server)
    def remove_movie(title: Title, year: Year = None) -> str:
        """Delete a movie from the user's list."""
        name = clean(title, "title")
        assert name is not None
        with db.connect() as conn:
            row = _find(conn, name, year)
            if row is None:
                raise ToolError(f"No saved movie is called {name}. Use list_movies to see the saved titles.")
            conn.table("movies").delete(row["id"])
        return f"Removed {_describe(row)}."
