"""`python -m mcp_server`: the built-in MCP tools server on stdio."""

from mcp_server.server import main

if __name__ == "__main__":
    main()
