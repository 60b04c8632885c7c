"""The OpenAPI 3.1 document of /api/v1, generated from the same view declarations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from mcp_server.rest import API_PREFIX
from tools.view import View

REF = "#/components/schemas/{model}"

ERRORS = {
    "400": "Invalid parameter or malformed body; the message names the parameter",
    "401": "Missing, invalid or expired bearer token (see WWW-Authenticate)",
    "403": "The token's tenant is not served here",
    "404": "Not found in the caller's tenant; code `not_in_source` when the tenant's source (its ERP) "
    "does not keep what this view answers (the message names the source): not an empty result",
    "500": "Unexpected fault; quote the traceId",
    "503": "The tenant's database is unavailable",
}


class ErrorEnvelope(BaseModel):
    code: str = Field(
        description="bad_request, unauthorized, forbidden, not_found, not_in_source, rate_limited, ..."
    )
    message: str = Field(description="What went wrong, safe to show")
    traceId: str | None = Field(description="Quote it to support; it is in the server log")


def openapi_document(views: list[View], server_url: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {"ErrorEnvelope": ErrorEnvelope.model_json_schema(ref_template=REF)}
    paths: dict[str, Any] = {}
    for view in views:
        paths.setdefault(API_PREFIX + view.path, {})[view.method.lower()] = operation(view, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Asstio Public API",
            "version": "v1",
            "description": f"Read-only ERP data, tenant from the token. Server {version}.",
        },
        "servers": [{"url": server_url.rstrip("/")}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _schema(model: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(by_alias=True, ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    return schema


def operation(view: View, components: dict[str, Any]) -> dict[str, Any]:
    params = _schema(view.params, components, "validation")
    op: dict[str, Any] = {
        "operationId": view.tool,
        "summary": view.title,
        "description": view.description,
        "parameters": parameters(view, params),
        "responses": responses(view, components),
    }
    if view.method == "POST":
        body = {k: v for k, v in params.items() if k != "title"}
        body["properties"] = {
            k: v for k, v in body.get("properties", {}).items() if k not in view.path_params
        }
        body["required"] = [r for r in body.get("required", []) if r not in view.path_params]
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def parameters(view: View, params: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(params.get("required", []))
    out = []
    for name, schema in params.get("properties", {}).items():
        location = "path" if name in view.path_params else "query"
        if location == "query" and view.method == "POST":
            continue
        out.append(
            {
                "name": name,
                "in": location,
                "required": location == "path" or name in required,
                "description": schema.get("description", ""),
                "schema": {k: v for k, v in schema.items() if k not in ("description", "title")},
            }
        )
    return out


def responses(view: View, components: dict[str, Any]) -> dict[str, Any]:
    ok = _schema(view.result, components, "serialization")
    error = {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
    out: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
    for status, description in ERRORS.items():
        out[status] = {"description": description, "content": error}
    return out
