"""Plain ASGI middleware around both doors, outermost first:

``RequestContext`` (traceId, API version header, one JSON log line, the last-resort 500),
``Authentication`` (bearer token -> Principal, tenant known), ``McpGuard`` (Origin check and
the per-user tool-call budget on /mcp). Each passes through what it does not handle.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.principal import Principal
from mcp_server.mcp_door import MESSAGE_KEY
from mcp_server.rendering import INTERNAL_ERROR_MESSAGE, dumps, envelope
from mcp_server.rest import API_PREFIX
from mcp_server.runner import current_principal
from mcp_server.tracing import current_trace_id, new_trace_id
from tools.errors import AsstioError, BadRequest, Forbidden, RateLimited, Unauthorized

log = logging.getLogger("asstio.access")
MCP_PATH = "/mcp"
PUBLIC_PATHS = {API_PREFIX + "/openapi.json"}
MAX_MCP_BODY_BYTES = 1024 * 1024

Verify = Callable[[str], Awaitable[Principal]]
ToolCallBudget = Callable[[Principal], Awaitable[bool]]
RequestObserver = Callable[[dict[str, Any]], None]


def is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def is_mcp(path: str) -> bool:
    return path == MCP_PATH or path.startswith(MCP_PATH + "/")


async def send_envelope(send: Send, error: AsstioError, headers: Iterable[tuple[str, str]] = ()) -> None:
    body = dumps(envelope(error, current_trace_id())).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    def __init__(self, app: ASGIApp, observe: RequestObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = new_trace_id()
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}
        scope.setdefault("state", {})["trace_id"] = trace_id
        versioned = is_api(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-trace-id", trace_id.encode()))
                if versioned:
                    headers.append((b"x-asstio-api-version", b"v1"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # the last-resort handler: log with the traceId, reveal nothing
            log.exception("unhandled error (traceId %s)", trace_id)
            if not state["started"]:
                await send_envelope(send_with_headers, AsstioError(INTERNAL_ERROR_MESSAGE))
        finally:
            self._record(scope, state["status"], time.perf_counter() - started, trace_id)

    def _record(self, scope: Scope, status: int, seconds: float, trace_id: str) -> None:
        principal: Principal | None = scope.get("asstio.principal")
        door = "mcp" if is_mcp(scope["path"]) else "rest" if is_api(scope["path"]) else "other"
        event = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "traceId": trace_id,
            "iid": principal.tenant if principal else None,
            "sub": principal.sub if principal else None,
            "door": door,
            "method": scope["method"],
            "route": scope.get("asstio.route") or _route_template(scope),
            "tool": scope.get("asstio.tool"),
            "status": status,
            "durationMs": round(seconds * 1000, 2),
        }
        log.info(json.dumps(event, separators=(",", ":")))
        if self.observe is not None:
            self.observe(event)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else scope["path"]


class Authentication:
    """Every /api/v1 and /mcp request needs a verified bearer token of a known tenant."""

    def __init__(
        self,
        app: ASGIApp,
        verify: Verify,
        knows_tenant: Callable[[str], bool],
        challenge: Callable[[AsstioError], str],
    ) -> None:
        self.app = app
        self.verify = verify
        self.knows_tenant = knows_tenant
        self.challenge = challenge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (is_api(path) or is_mcp(path)) or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(Headers(scope=scope))
        except Unauthorized as error:
            await send_envelope(send, error, [("WWW-Authenticate", self.challenge(error))])
            return
        except AsstioError as error:
            await send_envelope(send, error)
            return
        scope["asstio.principal"] = principal
        token = current_principal.set(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            current_principal.reset(token)

    async def _principal(self, headers: Headers) -> Principal:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if not token.strip() or scheme.lower() != "bearer":
            raise Unauthorized("Missing bearer token")
        principal = await self.verify(token.strip())
        if not self.knows_tenant(principal.tenant):
            raise Forbidden(f"No access: tenant '{principal.tenant}' is not served here")
        return principal


class McpGuard:
    """On /mcp: refuse foreign browser Origins (DNS rebinding) and spend the caller's
    tool-call budget on each ``tools/call``; other MCP methods are free."""

    def __init__(self, app: ASGIApp, allowed_origins: set[str], budget: ToolCallBudget) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_mcp(scope["path"]):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed_origins):
            await send_envelope(send, Forbidden(f"Origin '{origin[:100]}' is not allowed"))
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, MAX_MCP_BODY_BYTES)
        if body is None:
            await send_envelope(send, BadRequest("The MCP request body is larger than 1 MB"))
            return
        message = _json_message(body)
        scope[MESSAGE_KEY] = message  # parsed once: the MCP door's lean path reads it here
        tool = _called_tool(message)
        if tool is not None:
            scope["asstio.tool"] = tool
            if not await self.budget(scope["asstio.principal"]):
                error = RateLimited("Rate limit exceeded: 60 tool calls per minute per user")
                await send_envelope(send, error, [("Retry-After", "60")])
                return
        await self.app(scope, _replay(body, receive), send)


def origin_allowed(origin: str, allowed: set[str]) -> bool:
    """Exact match, or ``scheme://host:*`` for any port of that host (as the MCP SDK allows)."""
    host = origin.rsplit(":", 1)[0] if origin.count(":") == 2 else origin
    return origin in allowed or f"{host}:*" in allowed


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _json_message(body: bytes) -> Any:
    """The body as JSON; None when it is not (the transport answers with its own parse error)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _called_tool(message: Any) -> str | None:
    """The tool a JSON-RPC message calls; unparseable bodies call none."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None  # batches are not part of the protocol: the transport refuses them unbudgeted
    params = message.get("params")
    return str(params.get("name", "?")) if isinstance(params, dict) else "?"
