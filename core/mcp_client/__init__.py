"""The MCP client: connections to MCP servers and the tool box the assistant offers the model."""
