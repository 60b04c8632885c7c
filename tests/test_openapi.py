"""The OpenAPI document is generated from the view registry and is valid OpenAPI 3.1."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from tests.support import LiveServer
from tools.view import registered_views


async def test_openapi_document_is_valid_and_lists_every_view_with_its_parameters(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["x-asstio-api-version"] == "v1"
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for view in registered_views():
        operation = document["paths"]["/api/v1" + view.path][view.method.lower()]
        assert operation["operationId"] == view.tool
        fields = {f.alias or name for name, f in view.params.model_fields.items()}
        if view.method == "GET":
            assert {p["name"] for p in operation["parameters"]} == fields
        else:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert set(body["properties"]) | {p["name"] for p in operation["parameters"]} == fields
        for status in ("400", "401", "404", "500"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
