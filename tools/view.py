"""The view declaration: one data view = params model + result model + query, registered once.

The REST route, the MCP tool, the OpenAPI document and the tool schemas are all derived from
these declarations by the doors in ``mcp_server``; a view never sees a request or MCP context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel

from tools.wire import Params


@dataclass(frozen=True)
class ViewContext:
    """Who asks and when: the tenant comes from the verified token, never from a parameter.

    ``options`` is the tenant's own configuration (e.g. matching tolerances); ``state`` lives as
    long as the app and is shared by every call (e.g. the suggest cache); ``after_commit`` runs
    once a writing view's transaction has committed."""

    tenant: str
    sub: str
    today: date
    options: Mapping[str, Any] = field(default_factory=dict)
    state: MutableMapping[str, Any] = field(default_factory=dict)
    after_commit: list[Callable[[], None]] = field(default_factory=list)


Query = Callable[[sa.Connection, ViewContext, Any], BaseModel | list[Any]]


@dataclass(frozen=True)
class View:
    name: str
    tool: str
    method: Literal["GET", "POST"]
    path: str
    params: type[Params]
    result: Any
    query: Query
    title: str
    description: str
    path_params: tuple[str, ...] = ()
    writes: bool = False


_REGISTRY: dict[str, View] = {}


def register(view: View) -> View:
    """Add a view; a second view with the same name, tool or route fails at start-up."""
    for existing in _REGISTRY.values():
        clash = {
            "name": existing.name == view.name,
            "tool": existing.tool == view.tool,
            "route": (existing.method, existing.path) == (view.method, view.path),
        }
        if any(clash.values()):
            which = ", ".join(k for k, v in clash.items() if v)
            raise ValueError(f"View {view.name!r} duplicates the {which} of view {existing.name!r}")
    _REGISTRY[view.name] = view
    return view


def registered_views() -> list[View]:
    import tools.views  # noqa: F401  (registers every view module)

    return list(_REGISTRY.values())
