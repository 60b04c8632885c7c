"""Plain ASGI middleware around both doors, outermost first:

``RequestContext`` (traceId, API version header, one JSON log line, the last-resort 500),
``BodyLimit`` (one size limit and one read deadline for every request body),
``Authentication`` (bearer token -> Principal, tenant known), ``McpGuard`` (Origin check, the
stateless transport's methods and media type, and the per-user tool-call budget on /mcp). Each
passes through what it does not handle.

Logs and metric labels carry only names the server knows (its routes, its tools); anything a
caller invents is ``unknown``.
"""

from __future__ import annotations

import asyncio
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
from tools.errors import (
    AsstioError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    RateLimited,
    RequestTimeout,
    Unauthorized,
)

log = logging.getLogger("asstio.access")
guard_log = logging.getLogger("asstio.mcp")
auth_log = logging.getLogger("asstio.auth")
MCP_PATH = "/mcp"
PUBLIC_PATHS = {API_PREFIX + "/openapi.json"}
MAX_BODY_BYTES = 1024 * 1024
UNKNOWN = "unknown"

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
        with new_trace_id() as trace_id:
            await self._serve(scope, receive, send, trace_id)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, trace_id: str) -> None:
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}
        scope.setdefault("state", {})["trace_id"] = trace_id
        versioned = is_api(scope["path"])

        def record() -> None:
            if not state.get("recorded"):
                state["recorded"] = True
                self._record(scope, state["status"], time.perf_counter() - started, trace_id)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-trace-id", trace_id.encode()))
                if versioned:
                    headers.append((b"x-asstio-api-version", b"v1"))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()  # before the client can have the whole response (and act on the log)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # the last-resort handler: log with the traceId, reveal nothing
            log.exception("unhandled error (traceId %s)", trace_id)
            if not state["started"]:
                await send_envelope(send_with_headers, AsstioError(INTERNAL_ERROR_MESSAGE))
        finally:
            record()

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
        log.info(orjson.dumps(event).decode())
        if self.observe is not None:
            self.observe(event)


def _route_template(scope: Scope) -> str:
    """The matched route's template; a path no route knows is ``unknown`` (callers cannot
    grow the logs or the metric labels by inventing paths)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNKNOWN


class BodyLimit:
    """Every request body, on every path: at most ``max_bytes`` (a 400 envelope, before reading
    when Content-Length says so), and each part within ``timeout_seconds`` (a 408 envelope), so a
    declared body that never comes does not hold the connection for ever."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, timeout_seconds: float = 15.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_envelope(send, self.too_large())
            return
        await self.app(scope, self._bounded(receive), send)

    def too_large(self) -> BadRequest:
        return BadRequest(f"The request body is larger than {self.max_bytes // 1024} KB")

    def _bounded(self, receive: Receive) -> Receive:
        size, complete = 0, False

        async def bounded() -> Message:
            nonlocal size, complete
            if complete:  # after the body, receive() only waits for the disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.timeout_seconds:g} s"
                ) from None
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                raise self.too_large()
            complete = not message.get("more_body", False)
            return message

        return bounded


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
            auth_log.info("refused (traceId %s): %s", current_trace_id(), error.message)
            await send_envelope(send, error, [("WWW-Authenticate", self.challenge(error))])
            return
        except AsstioError as error:
            auth_log.info("refused (traceId %s): %s", current_trace_id(), error.message)
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
    """On /mcp: refuse foreign browser Origins (DNS rebinding); answer 405 to anything but POST
    (a stateless server offers no GET event stream); refuse bodies that are not one JSON-RPC
    message; and spend the caller's tool-call budget on each ``tools/call`` (other MCP methods
    are free)."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: set[str],
        budget: ToolCallBudget,
        known_tools: frozenset[str] = frozenset(),
        per_minute: int = 60,
        retry_after_seconds: int = 60,
    ) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.budget = budget
        self.known_tools = known_tools
        self.per_minute = per_minute
        self.retry_after_seconds = retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_mcp(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._checked_body(scope, receive)
            message = _json_message(body)
            scope[MESSAGE_KEY] = message
            tool = _called_tool(message)
            if tool is not None:
                scope["asstio.tool"] = tool if tool in self.known_tools else UNKNOWN
                await self._spend_budget(scope["asstio.principal"])
        except RateLimited as error:
            await send_envelope(send, error, [("Retry-After", str(self.retry_after_seconds))])
            return
        except MethodNotAllowed as error:
            await send_envelope(send, error, [("Allow", "POST")])
            return
        except AsstioError as error:
            await send_envelope(send, error)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> bytes:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed_origins):
            raise Forbidden(f"Origin '{origin[:100]}' is not allowed")
        if scope["method"] != "POST":
            raise MethodNotAllowed(f"{scope['method']} /mcp: this stateless server answers POST only")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise BadRequest("Content-Type must be application/json (one JSON-RPC message)")
        return await _read_body(receive)

    async def _spend_budget(self, principal: Principal) -> None:
        try:
            admitted = await self.budget(principal)
        except AsstioError as error:
            guard_log.warning("tool-call budget unavailable: %s (%s)", error.message, error.__cause__)
            raise
        if not admitted:
            raise RateLimited(f"Rate limit exceeded: {self.per_minute} tool calls per minute per user")


class RestBudget:
    """Operators may turn on a per-user limit for REST (``rest_rate_limit_per_minute``; off by
    default, as the contract says). Same storage and sliding window as the MCP budget, a budget
    of its own."""

    def __init__(
        self, app: ASGIApp, budget: ToolCallBudget, per_minute: int, retry_after_seconds: int
    ) -> None:
        self.app = app
        self.budget = budget
        self.per_minute = per_minute
        self.retry_after_seconds = retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("asstio.principal")
        if scope["type"] != "http" or principal is None or not is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            admitted = await self.budget(principal)
        except AsstioError as error:
            guard_log.warning("REST budget unavailable: %s (%s)", error.message, error.__cause__)
            await send_envelope(send, error)
            return
        if not admitted:
            refusal = RateLimited(f"Rate limit exceeded: {self.per_minute} REST requests per minute per user")
            await send_envelope(send, refusal, [("Retry-After", str(self.retry_after_seconds))])
            return
        await self.app(scope, receive, send)


def origin_allowed(origin: str, allowed: set[str]) -> bool:
    """Exact match, or ``scheme://host:*`` for any port of that host (as the MCP SDK allows)."""
    host = origin.rsplit(":", 1)[0] if origin.count(":") == 2 else origin
    return origin in allowed or f"{host}:*" in allowed


async def _read_body(receive: Receive) -> bytes:
    """The whole body (``BodyLimit`` bounds its size and its wait)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
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
    """The body as JSON, parsed once (the MCP door's lean path reads it from the scope); None
    when it is not JSON (the transport answers with its own parse error). A batch or a too
    deeply nested body is refused here."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise BadRequest("The JSON body is nested too deeply") from exc
        return None
    if isinstance(message, list):
        raise BadRequest("JSON-RPC batches are not supported: send one message per request")
    return message


def _called_tool(message: Any) -> str | None:
    """The tool a JSON-RPC message calls; unparseable bodies call none."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else UNKNOWN
