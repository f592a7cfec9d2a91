"""The assistant's built-in MCP server: memory, movies, music and projects tools over stdio.

Run it as `python -m mcp_server` (paths and embedder from config/config.yaml and ASSISTANT_* environment
variables) or with explicit `--tools-db`, `--chroma-path`, `--embedder` arguments, which is how the assistant
and the tests start it. This process is the only one that opens the vector memory and the tools database.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcp.server import MCPServer

from core.config import ConfigError, load_settings
from core.embeddings import EmbedderUnavailable, make_embedder
from mcp_server import memory_tools, movies, music, projects
from mcp_server.db import ToolsDB
from mcp_server.vector_memory import MemoryStore

DEFAULT_TOOLS_DB = "data/tools.db"
INSTRUCTIONS = (
    "Personal tools of a local voice assistant: long-term memory about the user (remember, recall, forget), "
    "the user's movies, music and projects. Results are short plain text meant to be read aloud."
)

EmbedderName = Literal["minilm", "ollama", "none"]


@dataclass(frozen=True)
class ServerOptions:
    tools_db: Path
    chroma_path: Path
    embedder: EmbedderName
    ollama_host: str = "http://localhost:11434"
    embed_model: str | None = None
    log_level: str = "WARNING"


def build_server(options: ServerOptions) -> MCPServer:
    """Every tool registered on one MCPServer; the vector memory starts opening in the background."""
    server: MCPServer = MCPServer("assistant-tools", instructions=INSTRUCTIONS, log_level=options.log_level)  # type: ignore[arg-type]
    db = ToolsDB(options.tools_db)
    embedder = make_embedder(
        options.embedder, ollama_host=options.ollama_host, embed_model=options.embed_model
    )
    store = MemoryStore(options.chroma_path, embedder) if embedder is not None else None
    if store is not None:
        store.open_in_background()
    memory_tools.register(server, store)
    movies.register(server, db)
    music.register(server, db)
    projects.register(server, db)
    return server


def parse_options(argv: list[str] | None = None) -> ServerOptions:
    """Command-line arguments win over the config file, which gives the defaults."""
    parser = argparse.ArgumentParser(prog="python -m mcp_server", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="config YAML (default config/config.yaml)")
    parser.add_argument(
        "--tools-db", help=f"SQLite file of the movies/music/projects tools ({DEFAULT_TOOLS_DB})"
    )
    parser.add_argument("--chroma-path", help="folder of the vector memory (memory.chroma_path)")
    parser.add_argument("--embedder", choices=["minilm", "ollama", "none"], help="memory.embedder")
    parser.add_argument("--ollama-host", help="Ollama URL for memory.embedder ollama (ollama.host)")
    parser.add_argument("--embed-model", help="Ollama embedding model (ollama.embed_model)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        parser.exit(2, f"{exc}\n")
    return ServerOptions(
        tools_db=Path(args.tools_db) if args.tools_db else settings.path(DEFAULT_TOOLS_DB),
        chroma_path=Path(args.chroma_path)
        if args.chroma_path
        else settings.path(settings.memory.chroma_path),
        embedder=args.embedder or settings.memory.embedder,
        ollama_host=args.ollama_host or settings.ollama.host,
        embed_model=args.embed_model or settings.ollama.embed_model,
        log_level=args.log_level,
    )


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    # stdout carries the protocol: every log line goes to stderr.
    logging.basicConfig(
        level=options.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        server = build_server(options)
    except EmbedderUnavailable as exc:
        print(f"mcp_server: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    server.run("stdio")
