"""Fortnox's OpenAPI description with a small overlay for its known defects, and the checks the
double runs on every request and response (``openapi-core``).

The overlay (see tests/data/fortnox/README.md): paging parameters and the ``MetaInformation``
envelope on every ``/3/`` list; the warehouse lists typed as arrays; the article number in
``/3/articles/{ArticleNumber}`` a string (the spec says int32; articles are numbered "BRI-M12-A4").
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_PATH = Path(__file__).parent.parent / "data" / "fortnox" / "openapi.json"
SPEC_SHA256 = "0fb8cffb1228e7847fefffcad4e30e0ee37db0992a921e15d177a311bdf6bae8"
HOST = "https://api.fortnox.se"
ARRAY_LISTS = (
    "/api/warehouse/status-v1/stockbalance",
    "/api/warehouse/purchaseorders-v1",
    "/api/warehouse/stockpoints-v1",
    "/api/warehouse/stockpoints-v1/{id}/stocklocations",
)
META = {
    "type": "object",
    "properties": {
        "@TotalResources": {"type": "integer"},
        "@TotalPages": {"type": "integer"},
        "@CurrentPage": {"type": "integer"},
    },
    "required": ["@TotalResources", "@TotalPages", "@CurrentPage"],
}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]


def overlaid(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if not get or "{" in path:
            continue
        content = get["responses"]["200"].get("content", {}).get("application/json")
        if path.startswith("/3/") and content and "$ref" in content["schema"]:
            name = content["schema"]["$ref"].split("/")[-1]
            schemas[name].setdefault("properties", {})["MetaInformation"] = META
            get["parameters"] = [*get.get("parameters", []), *PAGING]
    for parameter in spec["paths"]["/3/articles/{ArticleNumber}"]["get"]["parameters"]:
        parameter["schema"] = {"type": "string"}  # typed int32, but article numbers are strings
    for path in ARRAY_LISTS:
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        content["schema"] = {"type": "array", "items": content["schema"]}
    return spec


def overlaid_spec() -> dict[str, Any]:
    raw = SPEC_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SPEC_SHA256, "the vendored Fortnox spec changed"
    return overlaid(json.loads(raw))


@functools.cache
def openapi() -> OpenAPI:
    """The spec the double checks against, not checked itself to be valid OpenAPI: that check
    (about 1.5 s of CPU) is a test of its own in tests/test_fortnox_views.py, instead of a start-up
    cost of every test process that runs a double."""
    return OpenAPI.from_dict(overlaid_spec(), config=Config(spec_validator_cls=None))


# A check is a function of the request and the response alone, and the double answers the same
# pages to every sync of the same data (the view tests sync one double into two databases, the
# sync tests a copy of one double per test): each distinct pair is checked once per process.


def request_errors(method: str, path: str, query: dict[str, str]) -> list[str]:
    return list(_request_errors(method, path, tuple(query.items())))


def response_errors(method: str, path: str, query: dict[str, str], status: int, body: bytes) -> list[str]:
    digest = hashlib.sha256(body).digest()
    return list(_response_errors(method, path, tuple(query.items()), status, digest, body))


@functools.cache
def _request_errors(method: str, path: str, query: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    request = MockRequest(HOST, method.lower(), path, args=dict(query))
    return tuple(str(error) for error in openapi().iter_request_errors(request))


def _response_errors(
    method: str, path: str, query: tuple[tuple[str, str], ...], status: int, digest: bytes, body: bytes
) -> tuple[str, ...]:
    key = (method, path, query, status, digest)
    if key not in _checked_responses:
        request = MockRequest(HOST, method.lower(), path, args=dict(query))
        response = MockResponse(body, status_code=status)
        errors = openapi().iter_response_errors(request, response)
        _checked_responses[key] = tuple(_explained(error) for error in errors)
    return _checked_responses[key]


_checked_responses: dict[tuple[str, str, tuple[tuple[str, str], ...], int, bytes], tuple[str, ...]] = {}


def _explained(error: Exception) -> str:
    """The schema errors (path and message) under an openapi-core error, not the whole value."""
    cause = error.__cause__ or error
    details = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None) or []
    found = [f"{'/'.join(map(str, d.absolute_path))}: {d.message[:200]}" for d in details]
    return f"{type(error).__name__}: " + ("; ".join(found) if found else str(error)[:300])
