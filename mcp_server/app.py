"""The app factory: both doors, discovery and health, built from one ``Settings``."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import anyio
import anyio.to_thread
import httpx
import sqlalchemy as sa
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.discovery import protected_resource_metadata, www_authenticate
from auth.principal import Principal
from auth.rate_limit import ToolCallLimiter
from auth.verifier import JwtVerifier, VerifierConfig
from mcp_server.mcp_door import NegotiatedTransport, ViewTools, build_mcp_server
from mcp_server.metrics import Metrics
from mcp_server.middleware import (
    MCP_PATH,
    Authentication,
    BodyLimit,
    McpGuard,
    RequestContext,
    RestBudget,
    send_envelope,
)
from mcp_server.openapi import openapi_document
from mcp_server.rendering import dumps, envelope
from mcp_server.rest import rest_routes
from mcp_server.runner import ViewRunner, utc_today
from mcp_server.settings import Settings
from mcp_server.tracing import current_trace_id
from tools.db import TenantDatabases
from tools.errors import AsstioError, BadRequest, ServiceUnavailable, Unauthorized
from tools.freshness import source_freshness
from tools.view import registered_views

VERSION = "0.1.0"
LOCAL_CORS: dict[str, Any] = {
    "allow_origin_regex": r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?",
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["*"],
    "expose_headers": ["WWW-Authenticate", "Mcp-Session-Id", "X-Trace-Id"],
}
log = logging.getLogger("asstio")


def development_sign_in(settings: Settings, tenants: Sequence[str]) -> list[BaseRoute]:
    """The demo's own issuer and OAuth server, when the settings give it a directory. Imported
    only then: ``serve`` with a production configuration loads no demo code."""
    if not settings.dev_issuer_dir:
        return []
    from demo.dev_issuer import DevIssuer
    from demo.dev_oauth import dev_oauth_routes

    issuer = DevIssuer.load_or_create(settings.dev_issuer_dir, settings.issuers[0])
    return list(dev_oauth_routes(issuer, audience=settings.audience, tenants=tenants))


class Services:
    """What the running app holds: built once per app from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.databases = TenantDatabases(
            settings.tenant_urls(), statement_timeout_ms=settings.statement_timeout_ms
        )
        self.runner = ViewRunner(
            self.databases,
            self._today,
            settings.tenant_options(),
            deadline_seconds=settings.request_deadline_seconds,
        )
        self.limiter = ToolCallLimiter(settings.rate_limit_storage, settings.rate_limit_per_minute)
        self.rest_limiter = (
            ToolCallLimiter(
                settings.rate_limit_storage, settings.rest_rate_limit_per_minute, namespace="rest"
            )
            if settings.rest_rate_limit_per_minute
            else None
        )
        self.development_routes = development_sign_in(settings, self.databases.tenants)
        self.metrics = Metrics(self.runner.state)
        self.http: httpx.AsyncClient | None = None
        self.verifier: JwtVerifier | None = None

    def _today(self) -> date:
        return self.settings.fixed_today or utc_today()

    def start_verifier(self, app: Starlette) -> None:
        # The demo is its own issuer: its discovery and JWKS are fetched in-process through
        # the same verifier code that fetches Zitadel's over the network in production.
        transport = httpx.ASGITransport(app=app) if self.development_routes else None
        self.http = httpx.AsyncClient(transport=transport, timeout=5.0)
        config = VerifierConfig(
            issuers=tuple(self.settings.issuers),
            audience=self.settings.audience,
            tenant_claim=self.settings.tenant_claim,
            tenant_by_issuer=self.settings.tenant_by_issuer,
        )
        self.verifier = JwtVerifier(config, self.http)

    async def verify(self, token: str) -> Principal:
        if self.verifier is None:
            raise Unauthorized("The server is starting; try again")
        return await self.verifier.verify(token)

    def challenge(self, error: AsstioError) -> str:
        invalid = error.message != "Missing bearer token"
        return www_authenticate(
            resource_metadata_url=self.settings.resource_metadata_url,
            scopes=self.settings.scopes,
            error="invalid_token" if invalid else None,
        )

    def resource_metadata(self) -> dict[str, Any]:
        return protected_resource_metadata(
            resource=self.settings.mcp_url,
            authorization_servers=self.settings.issuers[:1],
            scopes=self.settings.scopes,
        )


async def asstio_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AsstioError)
    return Response(dumps(envelope(exc, current_trace_id())), exc.status, media_type="application/json")


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (an unknown method on a known path) in the error envelope."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    body = {
        "code": code,
        "message": f"{request.method} {request.url.path}: {exc.detail}",
        "traceId": current_trace_id(),
    }
    return Response(dumps(body), exc.status_code, exc.headers, media_type="application/json")


class Doors(Starlette):
    """The app: a request to ``/mcp`` goes straight through the app's own middleware to the MCP
    transport; every other request, and the lifespan, through Starlette (its error and
    exception layers, its router). On ``/mcp`` those layers had nothing to do that ours do not:
    ``RequestContext`` is the last resort, and ``Enveloped`` answers an ``AsstioError`` raised
    while reading the body. They cost each tool call a coroutine and a ``send`` wrapper apiece."""

    def __init__(self, mcp: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self._mcp_app = mcp
        self._mcp_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != MCP_PATH:
            await super().__call__(scope, receive, send)
            return
        if self._mcp_stack is None:
            stack: ASGIApp = Enveloped(self._mcp_app)
            for cls, args, kwargs in reversed(self.user_middleware):
                stack = cls(stack, *args, **kwargs)
            self._mcp_stack = stack
        scope["app"], scope["asstio.route"] = self, MCP_PATH
        await self._mcp_stack(scope, receive, send)


class Enveloped:
    """An ``AsstioError`` raised under it (a body too large or too slow) as its envelope, when
    no response has started (as Starlette's exception layer answers it off ``/mcp``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except AsstioError as error:
            if started:
                raise
            await send_envelope(send, error)


class EnvelopedCors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the error envelope."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = bytes(response.body).decode(errors="replace")
        error = BadRequest(f"CORS preflight refused: {detail}")
        return Response(
            dumps(envelope(error, current_trace_id())), error.status, media_type="application/json"
        )


def configure_logging(level: str) -> None:
    """Our access log is one JSON line per request; the libraries' chatter stays below WARNING."""
    logging.getLogger("asstio").setLevel(level)
    for noisy in ("httpx", "httpcore", "mcp", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_app(settings: Settings) -> Starlette:
    services = Services(settings)
    views = registered_views()
    tools = ViewTools(views, services.runner)
    mcp = build_mcp_server(tools, VERSION)
    transport = NegotiatedTransport(
        mcp,
        TransportSecuritySettings(
            enable_dns_rebinding_protection=bool(settings.allowed_hosts),
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
        tools,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.start_verifier(app)
        async with transport.running():
            yield
        if services.http is not None:
            await services.http.aclose()
        await services.limiter.aclose()
        if services.rest_limiter is not None:
            await services.rest_limiter.aclose()
        services.runner.close()
        services.databases.dispose()

    document = openapi_document(views, settings.public_url, VERSION)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    # /mcp first: the router tries routes in order, and every tool call would otherwise try
    # each REST route's pattern before its own (about 30 us a call).
    routes: list[BaseRoute] = [
        Route("/mcp", transport),
        *operations_routes(services),
        Route("/api/v1/openapi.json", openapi),
        *discovery_routes(services),
        *rest_routes(views, services.runner),
    ]
    routes += services.development_routes
    middleware = [
        Middleware(RequestContext, observe=services.metrics.observe),
        Middleware(BodyLimit, timeout_seconds=settings.request_body_timeout_seconds),
        Middleware(
            Authentication,
            verify=services.verify,
            knows_tenant=services.databases.knows,
            challenge=services.challenge,
        ),
        Middleware(
            McpGuard,
            allowed_origins=set(allowed_origins(settings)),
            budget=services.limiter.hit,
            known_tools=frozenset(view.tool for view in views if not view.writes),
            per_minute=settings.rate_limit_per_minute,
            retry_after_seconds=services.limiter.retry_after_seconds,
        ),
    ]
    if services.rest_limiter is not None:
        rest_budget = Middleware(
            RestBudget,
            budget=services.rest_limiter.hit,
            per_minute=services.rest_limiter.per_minute,
            retry_after_seconds=services.rest_limiter.retry_after_seconds,
        )
        middleware.insert(3, rest_budget)
    if services.development_routes:
        # Browser-based clients (MCP Inspector) fetch the demo's discovery and token endpoints.
        middleware.insert(1, Middleware(EnvelopedCors, **LOCAL_CORS))
    app = Doors(
        transport,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={AsstioError: asstio_error, HTTPException: http_error},
    )
    configure_logging(settings.log_level)
    app.state.services = services
    return app


def allowed_origins(settings: Settings) -> list[str]:
    return [*settings.allowed_origins, settings.public_url.rstrip("/")]


def discovery_routes(services: Services) -> list[Route]:
    async def metadata(request: Request) -> Response:
        return JSONResponse(services.resource_metadata())

    return [
        Route("/.well-known/oauth-protected-resource", metadata),
        Route("/.well-known/oauth-protected-resource/mcp", metadata),
    ]


def operations_routes(services: Services) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        return JSONResponse(*await readiness(services))

    async def metrics(request: Request) -> Response:
        services.metrics.sources = await _sources_freshness(services) if services.settings.sources else {}
        return Response(services.metrics.render(), media_type=services.metrics.content_type)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


READYZ_DEADLINE_SECONDS = 3.0


async def readiness(services: Services) -> tuple[dict[str, Any], int]:
    """Ready when every tenant database answers within the deadline. Tenants are counted, not
    named (the log names the unavailable ones); the rate-limit storage is reported beside them
    (when it is down tool calls get 503, REST still answers)."""
    tenants = services.databases.tenants
    states: dict[str, str] = dict.fromkeys(tenants, "unavailable")
    storage = "unavailable"

    async def check_tenant(tenant: str) -> None:
        states[tenant] = await _tenant_health(services, tenant)

    async def check_storage() -> None:
        nonlocal storage
        storage = "ok" if await services.limiter.storage_answers() else "unavailable"

    with anyio.move_on_after(READYZ_DEADLINE_SECONDS):
        async with anyio.create_task_group() as group:
            for tenant in tenants:
                group.start_soon(check_tenant, tenant)
            group.start_soon(check_storage)
    down = sorted(tenant for tenant, state in states.items() if state != "ok")
    if down:
        log.warning("readyz: tenant databases unavailable: %s", ", ".join(down))
    counts = {"ok": len(tenants) - len(down), "unavailable": len(down)}
    body: dict[str, Any] = {
        "status": "unavailable" if down else "ready",
        "tenants": counts,
        "rateLimitStorage": storage,
    }
    if services.settings.sources:
        with anyio.move_on_after(READYZ_DEADLINE_SECONDS):
            body["sources"] = await _sources_freshness(services)
    return body, 503 if down else 200


async def _sources_freshness(services: Services) -> dict[str, Any]:
    """Per source-backed tenant: its last successful sync and last error (null when unreadable)."""

    def read(tenant: str) -> dict[str, Any] | None:
        try:
            with services.databases.reading(tenant) as conn:
                return source_freshness(conn) | {"kind": services.settings.sources[tenant].kind}
        except (ServiceUnavailable, sa.exc.SQLAlchemyError):
            return None

    return {
        tenant: await anyio.to_thread.run_sync(read, tenant) for tenant in sorted(services.settings.sources)
    }


async def _tenant_health(services: Services, tenant: str) -> str:
    ping = functools.partial(services.databases.ping, tenant)
    try:
        await services.runner.in_tenant_thread(tenant, ping, READYZ_DEADLINE_SECONDS)
    except ServiceUnavailable:
        return "unavailable"
    return "ok"
