"""``python -m benchmarks.hello PORT``: the MCP SDK's hello-world tool over stateless streamable
HTTP with JSON responses, in the same venv as our server: the ceiling a tool call can reach."""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server: MCPServer = MCPServer("hello")


@server.tool()
def hello(name: str = "world") -> str:
    """Say hello."""
    return f"Hello, {name}!"


def main(port: int) -> None:
    app = server.streamable_http_app(stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
