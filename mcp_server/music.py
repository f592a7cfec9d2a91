"""Music tools: artists, tracks, likes and playlists the user keeps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlite_utils
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_server.db import ToolsDB, clean, key, now, tool

Artist = Annotated[str, Field(description="Artist or band name, e.g. Daft Punk")]
Track = Annotated[str, Field(description="Song title, e.g. Get Lucky")]
TRACKS_SQL = "SELECT t.*, a.name AS artist FROM tracks t JOIN artists a ON a.id = t.artist_id"


def _artist(db: sqlite_utils.Database, name: str, *, create: bool) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM artists WHERE name_key = ?", [key(name)]))
    if rows:
        return rows[0]
    if not create:
        return None
    db.table("artists").insert({"name": name, "name_key": key(name), "liked": 0, "added_at": now()})
    return next(iter(db.query("SELECT * FROM artists WHERE name_key = ?", [key(name)])))


def _track(db: sqlite_utils.Database, title: str, artist: str | None, *, create: bool) -> dict[str, Any]:
    """Find (or create, when the artist is known) one track; asks for the artist when ambiguous."""
    sql = TRACKS_SQL + " WHERE t.title_key = ?"
    params: list[Any] = [key(title)]
    if artist:
        sql += " AND a.name_key = ?"
        params.append(key(artist))
    rows = list(db.query(sql, params))
    if len(rows) > 1:
        by = ", ".join(r["artist"] for r in rows)
        raise ToolError(f"Several songs are called {title} (by {by}). Give the artist.")
    if rows:
        return rows[0]
    if not create or not artist:
        raise ToolError(
            f"No saved song is called {title}"
            + (f" by {artist}" if artist else "")
            + ". Give the artist so it can be added, or use list_music to see saved songs."
        )
    found = _artist(db, artist, create=True)
    assert found is not None
    db.table("tracks").insert(
        {
            "title": title,
            "title_key": key(title),
            "artist_id": found["id"],
            "album": None,
            "liked": 0,
            "added_at": now(),
        }
    )
    return _track(db, title, artist, create=False)


def register(server: MCPServer, db: ToolsDB) -> None:
    @tool(server)
    def add_track(
        title: Track, artist: Artist, album: Annotated[str | None, Field(description="Album name")] = None
    ) -> str:
        """Save a song to the user's music collection."""
        name, who = clean(title, "title"), clean(artist, "artist")
        assert name is not None and who is not None
        with db.connect() as conn:
            row = _track(conn, name, who, create=True)
            if album and album.strip():
                conn.table("tracks").update(row["id"], {"album": clean(album, "album")})
        return f"Saved {row['title']} by {row['artist']}."

    @tool(server)
    def like_music(
        artist: Artist,
        track: Annotated[str | None, Field(description="Song title; leave out to like the artist")] = None,
        liked: Annotated[bool, Field(description="false to remove the like")] = True,
    ) -> str:
        """Mark an artist, or one of their songs, as liked (or not liked) by the user."""
        who = clean(artist, "artist")
        assert who is not None
        song = clean(track, "track", required=False)
        with db.connect() as conn:
            if song:
                row = _track(conn, song, who, create=True)
                conn.table("tracks").update(row["id"], {"liked": int(liked)})
                what = f"{row['title']} by {row['artist']}"
            else:
                found = _artist(conn, who, create=True)
                assert found is not None
                conn.table("artists").update(found["id"], {"liked": int(liked)})
                what = found["name"]
        return f"{'Liked' if liked else 'No longer liked'}: {what}."

    @tool(server)
    def list_music(
        what: Annotated[Literal["tracks", "artists"], Field(description="tracks or artists")] = "tracks",
        artist: Annotated[str | None, Field(description="Only songs by this artist")] = None,
        liked_only: Annotated[bool, Field(description="true for only liked ones")] = False,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> str:
        """List the user's saved songs or artists, optionally only liked ones or one artist's songs."""
        with db.connect() as conn:
            if what == "artists":
                sql = "SELECT * FROM artists" + (" WHERE liked = 1" if liked_only else "")
                rows = list(conn.query(sql + " ORDER BY name_key LIMIT ?", [limit]))
                names = [r["name"] + (" (liked)" if r["liked"] else "") for r in rows]
            else:
                sql = TRACKS_SQL + " WHERE 1=1"
                params: list[Any] = []
                if artist and artist.strip():
                    sql += " AND a.name_key = ?"
                    params.append(key(artist))
                if liked_only:
                    sql += " AND t.liked = 1"
                rows = list(conn.query(sql + " ORDER BY a.name_key, t.title_key LIMIT ?", [*params, limit]))
                names = [f"{r['title']} by {r['artist']}" + (" (liked)" if r["liked"] else "") for r in rows]
        if not names:
            return f"No {what} saved" + (" that match." if artist or liked_only else " yet.")
        return f"{len(names)} {what}: " + "; ".join(names) + "."

    @tool(server)
    def add_to_playlist(
        playlist: Annotated[str, Field(description="Playlist name")],
        track: Track,
        artist: Annotated[str | None, Field(description="The song's artist")] = None,
    ) -> str:
        """Put a song on a playlist; the playlist is created if it does not exist yet."""
        plist, song = clean(playlist, "playlist"), clean(track, "track")
        assert plist is not None and song is not None
        with db.connect() as conn:
            row = _track(conn, song, clean(artist, "artist", required=False), create=True)
            lists = list(conn.query("SELECT * FROM playlists WHERE name_key = ?", [key(plist)]))
            if lists:
                pl = lists[0]
            else:
                conn.table("playlists").insert({"name": plist, "name_key": key(plist), "created_at": now()})
                pl = next(iter(conn.query("SELECT * FROM playlists WHERE name_key = ?", [key(plist)])))
            pos = next(
                iter(
                    conn.query(
                        "SELECT COALESCE(MAX(position), 0) + 1 AS p FROM playlist_tracks "
                        "WHERE playlist_id = ?",
                        [pl["id"]],
                    )
                )
            )
            conn.table("playlist_tracks").insert(
                {"playlist_id": pl["id"], "track_id": row["id"], "position": pos["p"]}, ignore=True
            )
        return f"{row['title']} by {row['artist']} is on playlist {pl['name']}."

    @tool(server)
    def show_playlist(
        name: Annotated[str | None, Field(description="Playlist name; leave out to list all")] = None,
    ) -> str:
        """Show the songs on one playlist, or the names of all playlists when no name is given."""
        with db.connect() as conn:
            if not name or not name.strip():
                rows = list(conn.query("SELECT name FROM playlists ORDER BY name_key"))
                return (
                    ("Playlists: " + ", ".join(r["name"] for r in rows) + ".")
                    if rows
                    else "No playlists yet."
                )
            lists = list(conn.query("SELECT * FROM playlists WHERE name_key = ?", [key(name)]))
            if not lists:
                raise ToolError(
                    f"No playlist is called {name}. Call show_playlist without a name to list them."
                )
            songs = list(
                conn.query(
                    "SELECT t.title, a.name AS artist FROM playlist_tracks p "
                    "JOIN tracks t ON t.id = p.track_id JOIN artists a ON a.id = t.artist_id "
                    "WHERE p.playlist_id = ? ORDER BY p.position",
                    [lists[0]["id"]],
                )
            )
        if not songs:
            return f"Playlist {lists[0]['name']} is empty."
        return (
            f"Playlist {lists[0]['name']}: "
            + "; ".join(f"{s['title']} by {s['artist']}" for s in songs)
            + "."
        )
