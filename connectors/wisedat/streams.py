"""What is fetched from Wisedat and how each page is written.

Lists page with ``limit``/``page`` and say how many pages there are (``number_pages``); each takes
``modified_since`` (UTC, ISO 8601). A run lists what changed since the last completed run (less an
overlap, writes are upserts so an object seen twice is written once), one page per transaction
with a cursor that records the next page, so a killed run resumes at the page it lost. Sales
invoices, orders and payments carry their lines and settled invoices only in the detail (``?id=``), so
each listed one is fetched. Parties and products are listed with ``show_inactive``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.lists import RecordStream, write_statuses
from connectors.core.rows import upsert
from connectors.core.state import utc_now
from connectors.core.streams import Page, Stream
from connectors.wisedat import mapping as m
from tools import schema as s

SOURCE = "wisedat"
OVERLAP = timedelta(minutes=5)
LIMIT = 100


def modified_since(moment: str) -> str:
    return moment[:19] + "Z"


class ListStream(RecordStream):
    path: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]  # the list's key in the answer (the first one present)
    detailed: ClassVar[bool] = False
    params: ClassVar[dict[str, Any]] = {}
    since_param: ClassVar[str] = "modified_since"

    def __init__(self, api: SourceClient, limit: int = LIMIT) -> None:
        super().__init__(api)
        self.limit = limit

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        state = json.loads(cursor) if cursor else {}
        run = state.get("run")
        if run is None or (full and not run.get("full")):
            since = None if full else state.get("since")
            started = (utc_now() - OVERLAP).isoformat()
            run = {"since": since, "started": started, "page": 1, "full": since is None}
        page_no = int(run["page"])
        while True:
            params = {"limit": self.limit, "page": page_no, **self.params}
            if run["since"]:
                params[self.since_param] = modified_since(run["since"])
            body = self.api.get_json(self.path, params)
            items: list[m.Json] = next((body[key] for key in self.keys if body.get(key)), [])
            records = (
                [self.api.get_json(self.path, {"id": item["id"]}) for item in items]
                if self.detailed
                else items
            )
            pagination = body.get("pagination") or {}
            last = page_no >= int(pagination.get("number_pages") or 0)
            run["page"] = page_no + 1
            after = {"since": run["started"]} if last else {"since": state.get("since"), "run": run}
            yield Page(records, json.dumps(after, sort_keys=True), total=pagination.get("number_items"))
            if last:
                return
            page_no += 1


class Reference(Stream):
    """Our status types and statuses, and the company's own currency (rate 1)."""

    name = "company"

    def __init__(self, api: SourceClient) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        yield Page([self.api.get_json("/company")], None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        write_statuses(conn, m.WISEDAT_STATUSES)
        currency = page.records[0]["currency"]
        ensure_currencies(conn, ids, {str(currency["id"]): (currency, Decimal(1))}, update=True)


def ensure_currencies(
    conn: sa.Connection, ids: IdMap, seen: dict[str, tuple[m.Json, Decimal]], *, update: bool = False
) -> dict[str, int]:
    known = ids.known("currency", seen)
    fresh = {code: v for code, v in seen.items() if update or code not in known}
    if fresh:
        local = ids.assign("currency", s.currencies, fresh)
        upsert(
            conn, s.currencies, [m.currency_row(c, local[code], rate) for code, (c, rate) in fresh.items()]
        )
        known |= local
    return known


class _Parties(ListStream):
    vendor: ClassVar[bool]
    params: ClassVar[dict[str, Any]] = {"show_inactive": "true"}

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        local = ids.assign(self.name, s.companies, [str(r["id"]) for r in records])
        upsert(
            conn, s.companies, [m.party_company(r, local[str(r["id"])], vendor=self.vendor) for r in records]
        )


class Customers(_Parties):
    name, path, keys, vendor = "customers", "/customers", ("customers",), False


class Suppliers(_Parties):
    """Wisedat's description shows the supplier list under the key ``salesmen`` (the salesmen
    list's, copied); ``suppliers`` is read first, ``salesmen`` if it is absent."""

    name, path, keys, vendor = "suppliers", "/suppliers", ("suppliers", "salesmen"), True


class Warehouses(Stream):
    """The warehouse list (one unpaged request)."""

    name = "warehouses"

    def __init__(self, api: SourceClient) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        yield Page(list(self.api.get_json("/warehouses") or []), None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        local = ids.assign(self.name, s.warehouses, [str(w["id"]) for w in page.records])
        upsert(conn, s.warehouses, [m.warehouse_row(w, local[str(w["id"])]) for w in page.records])


class Products(ListStream):
    """Products with their stock per warehouse and location (the list carries ``stocks``)."""

    name, path, keys = "products", "/products", ("products",)
    params: ClassVar[dict[str, Any]] = {"show_inactive": "true"}

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        local = ids.assign("products", s.products, [str(r["id"]) for r in records])
        upsert(conn, s.products, [m.product_row(r, local[str(r["id"])]) for r in records])
        places = m.stock_places(records)
        warehouses = ids.known("warehouses", {wh for _, wh, _ in places})
        missing = sorted({wh for _, wh, _ in places} - set(warehouses))
        if missing:  # a warehouse added after the warehouses stream ran
            new = ids.assign("warehouses", s.warehouses, missing)
            upsert(conn, s.warehouses, [m.warehouse_row({"id": wh}, new[wh]) for wh in missing])
            warehouses |= new
        locations = ids.assign("locations", s.warehouse_locations, [f"{wh}/{loc}" for _, wh, loc in places])
        upsert(
            conn,
            s.warehouse_locations,
            [m.location_row(loc, locations[f"{wh}/{loc}"], warehouses[wh]) for _, wh, loc in places],
        )
        stock_ids = ids.assign("stock", s.product_stock, [f"{p}/{wh}/{loc}" for p, wh, loc in places])
        refs = m.Refs(products={k: local[k] for k in local}, lines=stock_ids)
        rows = m.stock_rows(records, refs, warehouses, locations)
        upsert(conn, s.product_stock, rows)
        gone = sa.delete(s.product_stock).where(
            s.product_stock.c.ProductId.in_(list(local.values())),
            s.product_stock.c.Id.not_in([row["Id"] for row in rows]),
        )
        conn.execute(gone)


class ProductStock(Products):
    """Products whose stock changed (``stock_modified_since``), written as ``Products`` does."""

    name = "stock"
    since_param = "stock_modified_since"


class _SalesDocuments(ListStream):
    """Sales invoices and orders: the same header and items, fetched in detail for the items."""

    detailed = True
    lines_name: ClassVar[str]
    # the mappings of a document's header and of its items
    mappings: ClassVar[
        tuple[Callable[[m.Json, int, m.Refs], m.Row], Callable[[m.Json, int, m.Refs], list[m.Row]]]
    ]

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        customers = {str(r["customer"]["id"]): r["customer"] for r in records}
        known = ids.known("customers", customers)
        missing = {k: v for k, v in customers.items() if k not in known}
        if missing:  # a customer created after the customers stream ran
            new = ids.assign("customers", s.companies, missing)
            upsert(conn, s.companies, [m.party_company(c, new[k], vendor=False) for k, c in missing.items()])
            known |= new
        currencies = ensure_currencies(
            conn,
            ids,
            {str(r["currency"]["id"]): (r["currency"], m.dec(r.get("exchange_rate") or 1)) for r in records},
        )
        products = {
            str(item["product"]["id"]): item["product"]
            for r in records
            for _, item in m.charged_items(r)
            if item.get("product")
        }
        product_ids = ids.known("products", products)
        absent = {k: v for k, v in products.items() if k not in product_ids}
        if absent:
            new = ids.assign("products", s.products, absent)
            upsert(
                conn,
                s.products,
                [m.product_row({**p, "name": p.get("name") or k}, new[k]) for k, p in absent.items()],
            )
            product_ids |= new
        docs = ids.assign(self.name, s.orders, [str(r["id"]) for r in records])
        keys = [m.line_key(r, i) for r in records for i, _ in m.charged_items(r)]
        lines = ids.assign(self.lines_name, s.order_items, keys)
        refs = m.Refs(companies=known, products=product_ids, currencies=currencies, lines=lines)
        document, lines_of = self.mappings
        upsert(conn, s.orders, [document(r, docs[str(r["id"])], refs) for r in records])
        rows = [line for r in records for line in lines_of(r, docs[str(r["id"])], refs)]
        upsert(conn, s.order_items, rows)
        kept = [row["Id"] for row in rows]
        conn.execute(
            sa.delete(s.order_items).where(
                s.order_items.c.OrderId.in_(list(docs.values())), s.order_items.c.Id.not_in(kept)
            )
        )


class SalesInvoices(_SalesDocuments):
    name, path, keys, lines_name = "salesinvoices", "/salesinvoices", ("sales_invoice",), "salesinvoice-lines"
    mappings = (m.invoice_document, m.invoice_lines)


class Orders(_SalesDocuments):
    """Sales orders (``modified_since``), their items from the detail as an invoice's are."""

    name, path, keys, lines_name = "orders", "/orders", ("orders",), "order-lines"
    mappings = (m.order_document, m.order_lines)


class Payments(ListStream):
    """Customer payments (``entity_type=0``), one row per invoice each settles."""

    name, path, keys, detailed = "payments", "/payments", ("payments",), True
    params: ClassVar[dict[str, Any]] = {"entity_type": 0}

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        live = [r for r in records if not r.get("canceled")]
        documents = [str(d["id"]) for r in live for d in r.get("associated_documents") or []]
        invoices = ids.known("salesinvoices", documents)
        keys = [
            m.payment_key(r, d)
            for r in live
            for d in r.get("associated_documents") or []
            if str(d["id"]) in invoices
        ]
        local = ids.assign(self.name, s.payments, keys)
        upsert(conn, s.payments, [row for r in live for row in m.payment_rows(r, local, invoices)])
        cancelled = ids.known(
            self.name,
            [
                m.payment_key(r, d)
                for r in records
                if r.get("canceled")
                for d in r.get("associated_documents") or []
            ],
        )
        if cancelled:
            conn.execute(sa.delete(s.payments).where(s.payments.c.Id.in_(cancelled.values())))
            ids.forget(self.name, cancelled)
