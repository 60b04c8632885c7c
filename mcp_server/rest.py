"""The REST door: one route per registered view under /api/v1, same shapes as the MCP tools."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_server.params import parse_params
from mcp_server.rendering import dumps, wire_value
from mcp_server.runner import ViewRunner
from tools.errors import BadRequest
from tools.view import View
from tools.wire import Params

API_PREFIX = "/api/v1"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers, media_type="application/json")


def query_arguments(request: Request) -> dict[str, Any]:
    """Query parameters plus path parameters; empty query values count as absent."""
    body = {k: v for k, v in request.query_params.items() if v != ""}
    return body | dict(request.path_params)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError as exc:
        raise BadRequest("The JSON body is nested too deeply") from exc
    except ValueError as exc:
        raise BadRequest("Malformed JSON body") from exc
    if not isinstance(body, dict):
        raise BadRequest("The JSON body must be an object")
    return body


async def view_params(request: Request, view: View) -> Params:
    """A query string is text and is parsed; a JSON body is typed and is not coerced
    (``"5"`` is not a page size, ``"yes"`` is not a boolean)."""
    if view.method != "POST":
        return parse_params(view.params, query_arguments(request))
    path = {name: _path_value(value) for name, value in request.path_params.items()}
    return parse_params(view.params, await _json_object(request) | path, strict=True)


def _path_value(text: str) -> int | str:
    return int(text) if text.isdigit() and len(text) < 20 else text


def view_route(view: View, runner: ViewRunner) -> Route:
    async def endpoint(request: Request) -> Response:
        params = await view_params(request, view)
        return json_response(wire_value(await runner.run(view, params)))

    return Route(API_PREFIX + view.path, endpoint, methods=[view.method], name=view.name)


def rest_routes(views: list[View], runner: ViewRunner) -> list[Route]:
    return [view_route(view, runner) for view in views]
