"""Keyset pagination, the ``PageResponse`` envelope of the OpenAPI document, and paged params.

Never OFFSET: a page continues strictly after the sort key of the previous page's last row,
so page 10,000 costs what page 1 costs. The cursor is opaque base64 of the view name, a
fingerprint of the filters and the last key; a cursor from another view, other filters or a
garbled one is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field, create_model

from tools.cursor_rows import read_rows
from tools.errors import BadRequest
from tools.prebuilt import prebuilt
from tools.wire import Params, WireModel, trusted_rows

RowT = TypeVar("RowT")
M = TypeVar("M", bound=BaseModel)

KeyValue = int | str | Decimal | datetime


class Page(WireModel, Generic[RowT]):
    items: list[RowT] = Field(description="The rows of this page, in the view's documented order")
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last")
    page_size_applied: int = Field(description="The page size actually used after clamping")
    truncated: bool = Field(description="True when more rows follow this page")


@dataclass(frozen=True)
class SortKey:
    """One column of a view's sort order; the last key of every order is a unique id."""

    column: sa.ColumnElement[Any]
    descending: bool = False


def fingerprint(view: str, filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{view}\n{canonical}".encode()).hexdigest()[:16]


def _encode_value(value: KeyValue) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> KeyValue:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and set(value) == {"n"}:
        return Decimal(value["n"])
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("unexpected key value")
    return value


def encode_cursor(view: str, fp: str, key: Sequence[KeyValue]) -> str:
    payload = {"v": view, "f": fp, "k": [_encode_value(v) for v in key]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, view: str, fp: str, keys: Sequence[SortKey]) -> list[KeyValue]:
    """The last key of the previous page, or BadRequest naming what is wrong with the cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        key = [_decode_value(v) for v in payload["k"]]
        bound_to = (payload["v"], payload["f"])
    except (binascii.Error, ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise BadRequest("Invalid parameter 'cursor': not a cursor this server issued") from exc
    if bound_to[0] != view:
        raise BadRequest(f"Invalid parameter 'cursor': it belongs to another view ({bound_to[0]})")
    if bound_to[1] != fp or len(key) != len(keys):
        raise BadRequest(
            "Invalid parameter 'cursor': the filters changed since it was issued; restart paging"
        )
    if not all(_fits(value, sort_key) for value, sort_key in zip(key, keys, strict=True)):
        raise BadRequest("Invalid parameter 'cursor': not a cursor this server issued")
    return key


def _fits(value: KeyValue, key: SortKey) -> bool:
    """A key value of the sort column's own type (and an integer the database can hold)."""
    try:
        expected = key.column.type.python_type
    except NotImplementedError:
        return True
    if isinstance(value, int) and abs(value) > 2**63 - 1:
        return False
    return isinstance(value, expected) or (expected is Decimal and isinstance(value, int))


def after(keys: Sequence[SortKey], last: Sequence[KeyValue]) -> sa.ColumnElement[bool]:
    """Rows strictly after ``last`` in the order ``keys``: one row-value comparison when all
    keys run the same way (an index range scan on both SQLite and PostgreSQL)."""
    if all(k.descending == keys[0].descending for k in keys):
        columns = sa.tuple_(*(k.column for k in keys))
        values = sa.tuple_(*(sa.literal(v) for v in last))
        return columns < values if keys[0].descending else columns > values
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == last[j] for j in range(i)]
        step = key.column < last[i] if key.descending else key.column > last[i]
        clauses.append(sa.and_(*equal, step))
    return sa.or_(*clauses)


def order_by(keys: Sequence[SortKey]) -> list[sa.ColumnElement[Any]]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


@dataclass(frozen=True)
class Paging:
    """A paged view's page sizes, declared once on the view: ``pageSize``'s default and the
    maximum it is clamped to; the parameter's description and the view's paging sentence are
    written from these numbers."""

    default: int = 50
    maximum: int = 100

    def page_size_description(self) -> str:
        return f"Rows per page. Default {self.default}, max {self.maximum} (larger is clamped)"

    def sentence(self) -> str:
        return (
            f"Returns a page of at most `pageSize` rows (default {self.default}, max {self.maximum}); "
            "when `truncated` is true, call again with the same filters and `cursor` set to `nextCursor`."
        )

    def params_model(self, params: type[PagedT]) -> type[PagedT]:
        """``params`` with ``pageSize`` defaulting and described as declared here."""
        page_size = Field(self.default, ge=1, description=self.page_size_description())
        model = create_model(
            params.__name__, __base__=params, __module__=params.__module__, page_size=(int, page_size)
        )
        return model


class PagedParams(Params):
    """The parameters of a paged view: ``cursor`` and ``pageSize`` beside the view's filters."""

    cursor: str | None = Field(None, description="nextCursor of the previous page; omit for the first page")
    page_size: int = Field(50, ge=1, description="Rows per page")


PagedT = TypeVar("PagedT", bound=PagedParams)


@dataclass(frozen=True)
class PageRequest:
    view: str
    filters: Mapping[str, Any]
    cursor: str | None
    page_size: int
    max_page_size: int

    @property
    def size(self) -> int:
        return min(self.page_size, self.max_page_size)

    @classmethod
    def of(cls, view: str, params: PagedParams, paging: Paging, tenant: str) -> PageRequest:
        """The page ``params`` ask for; the cursor is bound to the tenant and every other parameter."""
        return cls(
            view=view,
            filters=params.model_dump(exclude={"cursor", "page_size"}) | {"@tenant": tenant},
            cursor=params.cursor,
            page_size=params.page_size,
            max_page_size=paging.maximum,
        )


def resume_bound(request: PageRequest, keys: Sequence[SortKey], count: int) -> list[sa.ColumnElement[bool]]:
    """Where the cursor resumes, on the first ``count`` sort keys (one table's, one direction).

    It repeats part of the keyset condition on purpose: a row-value comparison spanning two
    tables is no index range, this one is, so the driving index starts at the cursor instead
    of at its beginning (page 10,000 costs what page 1 costs)."""
    if not request.cursor:
        return []
    fp = fingerprint(request.view, request.filters)
    last = decode_cursor(request.cursor, request.view, fp, keys)[:count]
    columns = sa.tuple_(*(key.column for key in keys[:count]))
    values = sa.tuple_(*(sa.literal(value) for value in last))
    return [columns <= values if keys[0].descending else columns >= values]


def fetch_page(
    conn: sa.Connection,
    stmt: sa.Select[Any] | Callable[[], sa.Select[Any]],
    keys: Sequence[SortKey],
    request: PageRequest,
    key: Hashable | None = None,
) -> tuple[list[sa.Row[Any]], str | None]:
    """Run ``stmt`` (which must select the sort key columns labelled ``_k0``, ``_k1``...)
    for one page; returns the rows and the next cursor.

    With a ``key`` (``tools.prebuilt``: what ``stmt`` depends on), ``stmt`` may be a function
    building it: it is built once per key, and a first page's whole statement once per key and
    page size."""
    fp = fingerprint(request.view, request.filters)
    if request.cursor:
        last = decode_cursor(request.cursor, request.view, fp, keys)
        page = _paged(_built(key, stmt), keys, request.size, after(keys, last))
    else:
        page = prebuilt(
            None if key is None else (key, request.size),
            lambda: _paged(_built(key, stmt), keys, request.size),
        )
    rows = list(conn.execute(page))
    if len(rows) <= request.size:
        return rows, None
    rows = rows[: request.size]
    last_key = [rows[-1]._mapping[f"_k{i}"] for i in range(len(keys))]
    return rows, encode_cursor(request.view, fp, last_key)


def _built(key: Hashable | None, stmt: sa.Select[Any] | Callable[[], sa.Select[Any]]) -> sa.Select[Any]:
    if isinstance(stmt, sa.Select):
        return stmt
    return prebuilt(key, stmt)


def _paged(
    stmt: sa.Select[Any], keys: Sequence[SortKey], size: int, *after: sa.ColumnElement[bool]
) -> sa.Select[Any]:
    stmt = stmt.where(*after).add_columns(*(k.column.label(f"_k{i}") for i, k in enumerate(keys)))
    return stmt.order_by(*order_by(keys)).limit(size + 1)


def read_trusted_page(
    conn: sa.Connection,
    stmt: sa.Select[Any] | Callable[[], sa.Select[Any]],
    keys: Sequence[SortKey],
    request: PageRequest,
    model: type[M],
    values: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    key: Hashable | None = None,
    extra: Sequence[sa.ColumnElement[bool]] = (),
) -> TrustedPage[M]:
    """The page of ``stmt`` that ``request`` asks for (``key``: as in ``fetch_page``), each row
    kept as its ``values`` for ``model`` (its labels and the view's own figures, as
    ``TrustedRows`` takes them): see ``TrustedPage``. ``values`` gets each row as a dict of its
    labels (read by name far faster than a ``RowMapping``: a page of 50 orders maps in two
    thirds of the time). A prebuilt first page is read through the DBAPI cursor after its first
    call (``tools.cursor_rows``). ``extra``: conditions of this call alone (what a search found),
    added to the statement built once for ``key``."""
    rows, next_cursor = _page_rows(conn, stmt, keys, request, key, extra)
    return TrustedPage(model, [values(row) for row in rows], next_cursor, request)


def _page_rows(
    conn: sa.Connection,
    stmt: sa.Select[Any] | Callable[[], sa.Select[Any]],
    keys: Sequence[SortKey],
    request: PageRequest,
    key: Hashable | None,
    extra: Sequence[sa.ColumnElement[bool]],
) -> tuple[list[dict[str, Any]], str | None]:
    fp = fingerprint(request.view, request.filters)
    if request.cursor:
        last = decode_cursor(request.cursor, request.view, fp, keys)
        rows = read_rows(conn, _paged(_built(key, stmt), keys, request.size, after(keys, last), *extra), None)
    elif extra:
        rows = read_rows(conn, _paged(_built(key, stmt), keys, request.size, *extra), None)
    else:
        page_key = None if key is None else (key, request.size)
        page = prebuilt(page_key, lambda: _paged(_built(key, stmt), keys, request.size))
        rows = read_rows(conn, page, page_key)
    if len(rows) <= request.size:
        return rows, None
    rows = rows[: request.size]
    return rows, encode_cursor(request.view, fp, [rows[-1][f"_k{i}"] for i in range(len(keys))])


@dataclass(frozen=True)
class TrustedPage(Generic[M]):
    """A page kept as each row's values for ``model``. Read like a ``Page`` (``items`` are the
    models, built as ``TrustedRows`` builds them when first read); its JSON form is written
    from the values in one pass per row (``TrustedRows.json``), the same JSON values as the
    models' dump, which answers instead whenever a row is not of the types the plan takes."""

    model: type[M]
    values: Sequence[Mapping[str, Any]]
    next_cursor: str | None
    request: PageRequest

    @cached_property
    def items(self) -> list[M]:
        rows = trusted_rows(self.model)
        return [rows(values) for values in self.values]

    def page(self) -> Page[M]:
        return page_of(self.items, self.next_cursor, self.request)

    def json_value(self) -> dict[str, Any]:
        """``page().model_dump(mode="json", by_alias=True)``, without the models when it can."""
        json = trusted_rows(self.model).json
        items = None if json is None else [json(values) for values in self.values]
        if items is None or None in items:
            return self.page().model_dump(mode="json", by_alias=True)
        return {
            "items": items,
            "nextCursor": self.next_cursor,
            "pageSizeApplied": self.request.size,
            "truncated": self.next_cursor is not None,
        }


def page_of(items: list[RowT], next_cursor: str | None, request: PageRequest) -> Page[RowT]:
    return Page[RowT](
        items=items,
        next_cursor=next_cursor,
        page_size_applied=request.size,
        truncated=next_cursor is not None,
    )
