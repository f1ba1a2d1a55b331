"""Agent integrations, each a thin adapter over the HTTP API: `countersign exec`, the MCP
server, the HumanLayer-compatible API and the Claude Code hook."""
