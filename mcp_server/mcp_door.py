"""The MCP door: one read-only tool per registered view, generated from the same declaration.

Tools are served by the SDK's low-level ``Server`` through its public handler API: the input
schema is the view's params model (strict: an argument the tool does not have is refused),
the output schema its result model. A bad argument comes back as an ``isError`` result
carrying the error envelope (the model can read it and correct itself) rather than a
protocol fault.

``NegotiatedTransport`` answers the two calls that make up nearly all traffic, stateless JSON
``tools/call`` and ``tools/list``, through the SDK's own request kernel (``serve_one``: its
types, validation, middleware and handlers) without building a per-request session and
message streams; everything else (initialize, SSE, notifications, GET/DELETE, every malformed
or unusual request) takes the SDK's streamable HTTP transport unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from mcp.server import Server, ServerRequestContext
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.connection import Connection
from mcp.server.runner import serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    CallToolRequestParams,
    CallToolResult,
    ErrorData,
    JSONRPCRequest,
    ListToolsResult,
    PaginatedRequestParams,
    RequestId,
    TextContent,
    Tool,
    ToolAnnotations,
)
from mcp_types.methods import validate_client_request
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from opentelemetry import trace as otel_trace
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from mcp_server.guide import GUIDE, get_prompt, list_prompts
from mcp_server.params import parse_params
from mcp_server.rendering import INTERNAL_ERROR_MESSAGE, dumps, envelope, json_value
from mcp_server.runner import ViewRunner
from mcp_server.tracing import current_trace_id
from tools.errors import AsstioError, BadRequest
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

# The scope key under which McpGuard leaves the JSON-RPC message it parsed (parsed once).
MESSAGE_KEY = "asstio.mcp_message"
LEAN_METHODS = frozenset({"tools/call", "tools/list"})


def input_schema(view: View) -> dict[str, Any]:
    schema = view.params.model_json_schema(by_alias=True)
    schema.pop("title", None)
    schema["additionalProperties"] = False
    return schema


def output_schema(view: View) -> dict[str, Any]:
    schema = TypeAdapter(view.result).json_schema(mode="serialization", by_alias=True)
    if schema.get("type") != "object":
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        if defs:
            schema["$defs"] = defs  # "#/$defs/..." references resolve from the new root
    return schema


def tool_of(view: View) -> Tool:
    return Tool(
        name=view.tool,
        title=view.title,
        description=view.description,
        input_schema=input_schema(view),
        output_schema=output_schema(view),
        annotations=READ_ONLY,
    )


def error_wire(error: AsstioError) -> dict[str, Any]:
    """An error result in its wire form: the envelope as the one text block, ``isError``."""
    body = envelope(error, current_trace_id())
    return {"content": [{"type": "text", "text": dumps(body)}], "isError": True}


def success_wire(result: Any) -> dict[str, Any]:
    """A result in its wire form, rendered once: its JSON values are ``structuredContent`` and,
    serialized, the text block (which parses to the same numbers as the REST body)."""
    value = json_value(result)
    structured = value if isinstance(value, dict) else {"result": value}
    text = orjson.dumps(value).decode()
    return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def success_json(result: Any) -> bytes:
    """``success_wire(result)`` as JSON: the values serialized once, those bytes being both
    ``structuredContent`` and, as a JSON string, the text block."""
    value = json_value(result)
    text = orjson.dumps(value)
    structured = text if isinstance(value, dict) else orjson.dumps({"result": value})
    return b"".join(
        (
            b'{"content":[{"type":"text","text":',
            orjson.dumps(text.decode()),
            b'}],"structuredContent":',
            structured,
            b',"isError":false}',
        )
    )


def as_result(wire: dict[str, Any]) -> CallToolResult:
    """The SDK's own type for a wire result (for the SDK's transport); its fields are copied,
    not validated again."""
    return CallToolResult.model_construct(
        content=[TextContent(type="text", text=block["text"]) for block in wire["content"]],
        structured_content=wire.get("structuredContent"),
        is_error=wire["isError"],
    )


def error_result(error: AsstioError) -> CallToolResult:
    return as_result(error_wire(error))


def success_result(result: Any) -> CallToolResult:
    return as_result(success_wire(result))


def unknown_arguments(tool: Tool, arguments: Mapping[str, Any]) -> BadRequest | None:
    """MCP arguments are strict (REST ignores unknown parameters, as v1 promises)."""
    known = tool.input_schema.get("properties", {})
    unknown = [name for name in arguments if name not in known]
    if not unknown:
        return None
    names = ", ".join(f"'{name[:40]}'" for name in unknown[:5])
    noun = "argument" if len(unknown) == 1 else "arguments"
    return BadRequest(f"Unknown {noun} {names}; {tool.name} takes: {', '.join(known) or 'no arguments'}")


class ViewTools:
    """The tools/list and tools/call handlers of the SDK's low-level server."""

    def __init__(self, views: list[View], runner: ViewRunner) -> None:
        self.runner = runner
        self.views = {view.tool: view for view in views if not view.writes}
        self.tools = {name: tool_of(view) for name, view in self.views.items()}
        self.listing = ListToolsResult(tools=list(self.tools.values()))

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return self.listing

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: CallToolRequestParams
    ) -> CallToolResult:
        return as_result(await self.call(params))

    async def call(self, params: CallToolRequestParams) -> dict[str, Any]:
        """The result of a tools/call in its wire form (``CallToolResult`` as JSON values)."""
        outcome = await self._outcome(params)
        return error_wire(outcome) if isinstance(outcome, AsstioError) else success_wire(outcome)

    async def call_json(self, params: CallToolRequestParams) -> bytes:
        """``call(params)`` serialized."""
        outcome = await self._outcome(params)
        return (
            orjson.dumps(error_wire(outcome)) if isinstance(outcome, AsstioError) else success_json(outcome)
        )

    async def _outcome(self, params: CallToolRequestParams) -> Any:
        """The view's result, or the error to answer with."""
        view = self.views.get(params.name)
        if view is None:
            return BadRequest(f"Unknown tool '{params.name[:80]}'")
        arguments = params.arguments or {}
        try:
            if refused := unknown_arguments(self.tools[params.name], arguments):
                raise refused
            return await self.runner.run(view, parse_params(view.params, arguments))
        except AsstioError as error:
            return error
        except Exception:  # the tool's top-level handler: log it, reveal nothing
            log.exception("tool %s failed (traceId %s)", view.tool, current_trace_id())
            return AsstioError(INTERNAL_ERROR_MESSAGE)


def build_mcp_server(tools: ViewTools, version: str) -> Server[Any]:
    return Server(
        "asstio-mcp",
        version=version,
        instructions=f"{INSTRUCTIONS}\n\n{GUIDE}",
        get_tool_input_schema=lambda name: tool.input_schema if (tool := tools.tools.get(name)) else None,
        on_list_tools=tools.list_tools,
        on_call_tool=tools.call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


@functools.lru_cache(maxsize=64)  # clients send a handful of distinct Accept headers
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


@dataclass
class OneExchange:
    """The SDK's dispatch context for one JSON request: no back-channel (a JSON response has
    nowhere to carry a server request or notification, as on the SDK's JSON transport)."""

    transport: TransportContext
    request_id: RequestId
    message_metadata: ServerMessageMetadata
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(self, method: str, params: Mapping[str, Any] | None, opts: Any = None) -> Any:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: Any = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


class NegotiatedTransport:
    """Stateless streamable HTTP answering each POST as one JSON body, or as an SSE stream when
    the client's Accept prefers it. Any replica can answer any request."""

    def __init__(
        self, server: Server[Any], security: TransportSecuritySettings, tools: ViewTools | None = None
    ) -> None:
        self._server = server
        self._tools = tools
        self._security = TransportSecurityMiddleware(security)
        self._managers = [
            StreamableHTTPSessionManager(
                server, json_response=json, stateless=True, security_settings=security
            )
            for json in (True, False)
        ]
        self._json, self._sse = (StreamableHTTPASGIApp(m) for m in self._managers)
        self._lifespan_state: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = Headers(scope=scope).get("accept", "")
        if prefers_event_stream(accept):
            await self._sse(scope, receive, send)
        elif not await self._answered_lean(scope, receive, send):
            await self._json(scope, receive, send)

    async def _answered_lean(self, scope: Scope, receive: Receive, send: Send) -> bool:
        request = self._lean_request(scope)
        if request is None:
            return False
        http = Request(scope, receive)
        if await self._security.validate_request(http, is_post=True) is not None:
            return False  # the SDK transport answers with its own refusal
        if not check_accept_headers(http)[0]:
            return False
        version = http.headers.get("mcp-protocol-version", DEFAULT_NEGOTIATED_VERSION)
        body = await self._serve(request, version, http)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def _lean_request(self, scope: Scope) -> JSONRPCRequest | None:
        """The request when it is a plain stateless tools/call or tools/list, else None."""
        message = scope.get(MESSAGE_KEY)
        if (
            scope["method"] != "POST"
            or not isinstance(message, dict)
            or message.get("method") not in LEAN_METHODS
        ):
            return None
        headers = Headers(scope=scope)
        if "mcp-session-id" in headers:
            return None
        if headers.get("mcp-protocol-version", DEFAULT_NEGOTIATED_VERSION) not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None  # the SDK's modern (2026) entry owns those
        try:
            return JSONRPCRequest.model_validate(message, by_name=False)
        except ValidationError:
            return None

    async def _serve(self, request: JSONRPCRequest, version: str, http: Request) -> bytes:
        if (call := self._tool_call(request, version)) is not None and self._tools is not None:
            result = await self._tools.call_json(call)
            return b'{"jsonrpc":"2.0","id":' + orjson.dumps(request.id) + b',"result":' + result + b"}"
        context = OneExchange(
            transport=TransportContext(kind="streamable-http", can_send_request=False),
            request_id=request.id,
            message_metadata=ServerMessageMetadata(request_context=http),
        )
        connection = Connection.from_envelope(version, None, None)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.id}
        try:
            reply["result"] = await serve_one(
                self._server,
                context,
                request.method,
                request.params,
                connection=connection,
                lifespan_state=self._lifespan_state,
            )
        except Exception as exc:
            error = handler_exception_to_error_data(exc)
            if error is None:
                log.exception("MCP %s failed (traceId %s)", request.method, current_trace_id())
                error = ErrorData(code=0, message=INTERNAL_ERROR_MESSAGE)
            reply["error"] = error.model_dump(by_alias=True, exclude_none=True)
        return orjson.dumps(reply)

    def _unobserved(self) -> bool:
        """No server middleware would see the call: none but the SDK's OpenTelemetry span, and
        that only while no tracer provider is installed (its span then records nothing)."""
        quiet = isinstance(otel_trace.get_tracer_provider(), otel_trace.ProxyTracerProvider)
        spans_only = all(isinstance(m, OpenTelemetryMiddleware) for m in self._server.middleware)
        return quiet and spans_only and not self._server.cache_hints

    def _tool_call(self, request: JSONRPCRequest, version: str) -> CallToolRequestParams | None:
        """A tools/call the SDK's request kernel would hand to our handler unchanged: its params
        pass the SDK's own surface validation and parse into its ``CallToolRequestParams``, and
        no server middleware or cache hint would see or reshape it. Its result is the same JSON
        the kernel would write (a test compares both), built without the per-call model copies.
        Anything else (None) takes the kernel, which also owns every error."""
        if request.method != "tools/call" or not self._unobserved():
            return None
        try:
            validate_client_request("tools/call", version, request.params)
            return CallToolRequestParams.model_validate(request.params or {}, by_name=False)
        except (ValidationError, ValueError, KeyError):
            return None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with (
            self._server.lifespan(self._server) as state,
            self._managers[0].run(),
            self._managers[1].run(),
        ):
            self._lifespan_state = state
            yield
