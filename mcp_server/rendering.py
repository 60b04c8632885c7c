"""Bodies on the wire: exact JSON for REST, structured content for MCP, the error envelope."""

from __future__ import annotations

from typing import Any

import simplejson
from pydantic import BaseModel

from tools.errors import AsstioError
from tools.paging import TrustedPage


def wire_value(result: Any) -> Any:
    """A result as Python values with wire names; money stays ``Decimal``."""
    if isinstance(result, TrustedPage):
        return wire_value(result.page())
    if isinstance(result, BaseModel):
        return result.model_dump(mode="python", by_alias=True)
    if isinstance(result, list):
        return [wire_value(item) for item in result]
    return result


def json_value(result: Any) -> Any:
    """A result as plain JSON values (money as float), for MCP ``structuredContent``."""
    if isinstance(result, TrustedPage):
        return result.json_value()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    if isinstance(result, list):
        return [json_value(item) for item in result]
    return result


def dumps(value: Any) -> str:
    """Compact JSON with decimals written exactly (18250.00, not 18250.0)."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":"))


def envelope(error: AsstioError, trace_id: str | None) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "traceId": trace_id}


INTERNAL_ERROR_MESSAGE = "Internal error; quote the traceId to support"
