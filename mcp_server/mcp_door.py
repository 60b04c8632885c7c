"""The MCP door: one read-only tool per registered view, generated from the same declaration.

Arguments are named exactly as the REST parameters and validated by the view's params model,
so a bad argument comes back as an ``isError`` result carrying the error envelope (the model
can read it and correct itself) rather than a protocol fault.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import TypeAdapter, model_validator
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from mcp_server.guide import GUIDE, GuidedMCPServer
from mcp_server.params import parse_params
from mcp_server.rendering import INTERNAL_ERROR_MESSAGE, dumps, envelope, json_value, wire_value
from mcp_server.runner import ViewRunner
from mcp_server.tracing import current_trace_id
from tools.errors import AsstioError
from tools.view import View

log = logging.getLogger("asstio.mcp")

READ_ONLY = ToolAnnotations(
    read_only_hint=True, idempotent_hint=True, destructive_hint=False, open_world_hint=False
)

INSTRUCTIONS = (
    "Read-only ERP data of the caller's own company (the tenant comes from the sign-in). "
    "List tools return pages: when `truncated` is true pass `nextCursor` back as `cursor`. "
    "Money is exact to the cent with `currencyIsoCode` on each row; dates are UTC."
)


class RawArguments(ArgModelBase):
    """Hands the caller's arguments through untouched; the view's params model validates them."""

    arguments: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        return {"arguments": data if isinstance(data, dict) else {}}


def input_schema(view: View) -> dict[str, Any]:
    schema = view.params.model_json_schema(by_alias=True)
    schema.pop("title", None)
    return schema


def output_schema(view: View) -> dict[str, Any]:
    schema = TypeAdapter(view.result).json_schema(mode="serialization", by_alias=True)
    if schema.get("type") != "object":
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        if defs:
            schema["$defs"] = defs  # "#/$defs/..." references resolve from the new root
    return schema


def structured(view: View, result: Any) -> dict[str, Any]:
    value = json_value(result)
    return value if isinstance(value, dict) else {"result": value}


def error_result(error: AsstioError) -> CallToolResult:
    body = envelope(error, current_trace_id())
    return CallToolResult(content=[TextContent(type="text", text=dumps(body))], is_error=True)


def view_tool(view: View, runner: ViewRunner) -> Tool:
    async def call(arguments: dict[str, Any]) -> CallToolResult:
        try:
            result = await runner.run(view, parse_params(view.params, arguments))
        except AsstioError as error:
            return error_result(error)
        except Exception:  # the tool's top-level handler: log it, reveal nothing
            log.exception("tool %s failed (traceId %s)", view.tool, current_trace_id())
            return error_result(AsstioError(INTERNAL_ERROR_MESSAGE))
        text = TextContent(type="text", text=dumps(wire_value(result)))
        return CallToolResult(content=[text], structured_content=structured(view, result))

    return Tool(
        fn=call,
        name=view.tool,
        title=view.title,
        description=view.description,
        parameters=input_schema(view),
        fn_metadata=FuncMetadata(arg_model=RawArguments, output_schema=output_schema(view)),
        is_async=True,
        annotations=READ_ONLY,
    )


def prefers_event_stream(accept: str) -> bool:
    """True when the client ranks text/event-stream above application/json (by q-value)."""
    quality = {"application/json": 0.0, "text/event-stream": 0.0}
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        q = next((p[2:] for p in parameters if p.startswith("q=")), "1")
        if media.lower() in quality:
            with contextlib.suppress(ValueError):
                quality[media.lower()] = float(q)
    return quality["text/event-stream"] > quality["application/json"]


class NegotiatedTransport:
    """Stateless streamable HTTP answering each POST as one JSON body, or as an SSE stream when
    the client's Accept prefers it. Any replica can answer any request."""

    def __init__(self, server: MCPServer[Any], security: TransportSecuritySettings) -> None:
        self._managers = []
        for json_response in (True, False):
            server.streamable_http_app(
                stateless_http=True, json_response=json_response, transport_security=security
            )
            self._managers.append(server.session_manager)
        self._json, self._sse = (StreamableHTTPASGIApp(m) for m in self._managers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = Headers(scope=scope).get("accept", "")
        await (self._sse if prefers_event_stream(accept) else self._json)(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self._managers[0].run(), self._managers[1].run():
            yield


def build_mcp_server(views: list[View], runner: ViewRunner, version: str) -> MCPServer[Any]:
    tools = [view_tool(view, runner) for view in views if not view.writes]
    return GuidedMCPServer(
        "asstio-mcp", version=version, instructions=f"{INSTRUCTIONS}\n\n{GUIDE}", tools=tools
    )
