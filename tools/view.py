"""The view declaration: one data view = params model + result model + query, registered once.

The REST route, the MCP tool, the OpenAPI document and the tool schemas are all derived from
these declarations by the doors in ``mcp_server``; a view never sees a request or MCP context.
A paged view declares its ``Paging`` here and nowhere else: its ``pageSize`` default, maximum
and description, the paging sentence of its description and its page request all follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Generic, Literal

import sqlalchemy as sa
from typing_extensions import TypeVar

from tools.paging import PagedParams, PageRequest, Paging, TrustedPage
from tools.wire import Params

# A door handles every view alike: to it a bare ``View`` is one of some params and some result.
P = TypeVar("P", bound=Params, default=Params)
R = TypeVar("R", default=object)


@dataclass(frozen=True)
class ViewContext:
    """Who asks and when: the tenant comes from the verified token, never from a parameter.

    ``options`` is the tenant's own configuration (e.g. matching tolerances); ``state`` lives as
    long as the app and is shared by every call (e.g. the suggest cache); ``after_commit`` runs
    once a writing view's transaction has committed; ``page_request`` is the page a paged view
    was asked for, bound to the view and the tenant before its query runs."""

    tenant: str
    sub: str
    today: date
    options: Mapping[str, Any] = field(default_factory=dict)
    state: MutableMapping[str, Any] = field(default_factory=dict)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    page_request: PageRequest | None = None

    @property
    def page(self) -> PageRequest:
        if self.page_request is None:
            raise TypeError("page is read by paged views only (declare the view's paging)")
        return self.page_request


# A query answers its result, or a page of it kept as its rows' values (``TrustedPage``, which
# the doors render as the same bytes).
Query = Callable[[sa.Connection, ViewContext, P], R | TrustedPage[Any]]


@dataclass(frozen=True)
class View(Generic[P, R]):
    name: str
    tool: str
    method: Literal["GET", "POST"]
    path: str
    params: type[P]
    result: type[R]
    query: Query[P, R]
    title: str
    description: str
    paging: Paging | None = None
    path_params: tuple[str, ...] = ()
    writes: bool = False

    def __post_init__(self) -> None:
        """A paged view's params, description and query are completed from its ``paging``."""
        if self.paging is None:
            return
        if not issubclass(self.params, PagedParams):
            raise ValueError(f"View {self.name!r} declares paging; its params must extend PagedParams")
        object.__setattr__(self, "params", self.paging.params_model(self.params))
        object.__setattr__(self, "description", f"{self.description} {self.paging.sentence()}")
        object.__setattr__(self, "query", _paged(self.name, self.paging, self.query))


def _paged(view: str, paging: Paging, query: Query[P, R]) -> Query[P, R]:
    """``query`` with its page request bound to ``view`` and the caller's tenant."""

    def bound(conn: sa.Connection, ctx: ViewContext, params: P) -> R | TrustedPage[Any]:
        assert isinstance(params, PagedParams)
        page = PageRequest.of(view, params, paging, ctx.tenant)
        return query(conn, replace(ctx, page_request=page), params)

    return bound


_REGISTRY: dict[str, View[Any, Any]] = {}


def register(view: View[P, R]) -> View[P, R]:
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


def registered_views() -> list[View[Any, Any]]:
    import tools.views  # noqa: F401  (registers every view module)

    return list(_REGISTRY.values())
