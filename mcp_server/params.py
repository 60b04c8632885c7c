"""Caller input -> a view's params model, or a 400 naming the parameter and what was expected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from mcp_server.rendering import dumps
from tools.errors import BadRequest
from tools.wire import Params


def parse_params(model: type[Params], raw: Mapping[str, Any], *, strict: bool = False) -> Params:
    """``strict``: the values are JSON and keep their JSON types (no text for numbers or booleans)."""
    try:
        if strict:
            return model.model_validate_json(dumps(dict(raw)), strict=True)
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"Missing required parameter '{name}'"
    given = first.get("input")
    shown = f" (got {str(given)[:40]!r})" if isinstance(given, str | int | float) else ""
    return f"Invalid parameter '{name}': {first['msg']}{shown}"
