"""What is fetched from Wisedat and how each page is written.

Lists page with ``limit``/``page`` and say how many pages there are (``number_pages``); each takes
``modified_since`` (UTC, ISO 8601). A run lists what changed since the last completed run (less an
overlap, writes are upserts so an object seen twice is written once), one page per transaction
with a cursor that records the next page, so a killed run resumes at the page it lost. Sales
invoices, orders and payments carry their lines and settled invoices only in the detail (``?id=``), so
each listed one is fetched. Parties and products are listed with ``show_inactive``.

Wisedat has no feed of deletions, and ``modified_since`` lists only objects that still exist. What
a run can prove it removes: a document Wisedat cancels (deleting a closed one cancels it, and the
list shows it ``canceled``), a listed document whose detail answers 404 (deleted in between), a
payment's settled invoice its detail no longer names. Anything else deleted in Wisedat is
noticed only by a run that lists everything (the first, and ``--full``): once a list's last page
has committed, the objects no page of the run listed are asked for by their detail
(``connectors.core.lists.reconcile``); only a 404 removes a document (with its lines and
payments) or marks a customer, supplier or product inactive. The cursor records that the
listing is done, so a run killed while asking resumes with the asking, not the listing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from connectors.core.errors import SourceNotFound
from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.lists import (
    RecordStream,
    forget_local,
    mark_companies_inactive,
    mark_products_inactive,
    reconcile,
    remove_documents,
    write_statuses,
)
from connectors.core.rows import upsert
from connectors.core.state import utc_now
from connectors.core.streams import Page, Stream
from connectors.core.values import dec
from connectors.wisedat import mapping as m
from tools import schema as s
from tools.source_schema import external_ids as xid

SOURCE = "wisedat"
OVERLAP = timedelta(minutes=5)
LIMIT = 100


def modified_since(moment: str) -> str:
    return moment[:19] + "Z"


class ListStream(RecordStream[SourceClient]):
    path: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]  # the list's key in the answer (the first one present)
    detailed: ClassVar[bool] = False
    params: ClassVar[dict[str, Any]] = {}
    since_param: ClassVar[str] = "modified_since"
    reconciles: ClassVar[bool] = True  # a run that lists everything looks for what it did not see

    def __init__(self, api: SourceClient, engine: sa.Engine, limit: int = LIMIT) -> None:
        super().__init__(api)
        self.engine, self.limit = engine, limit

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        state = json.loads(cursor) if cursor else {}
        run = state.get("run")
        if run is None or (full and not run.get("full")):
            since = None if full else state.get("since")
            now = utc_now()
            # ``started`` (less the overlap) is the next run's modified_since; ``began`` (our
            # clock, exact) divides what this run stamped from what it did not see
            run = {"since": since, "started": (now - OVERLAP).isoformat(), "began": now.isoformat()}
            run |= {"page": 1, "full": since is None}
        reconciling = bool(run["full"]) and self.reconciles
        finished = json.dumps({"since": run["started"]})
        page_no = int(run["page"])
        while not run.get("listed"):
            params = {"limit": self.limit, "page": page_no, **self.params}
            if run["since"]:
                params[self.since_param] = modified_since(run["since"])
            body = self.api.get_json(self.path, params)
            items: list[m.Json] = next((body[key] for key in self.keys if body.get(key)), [])
            records, gone = self.details(items) if self.detailed else (items, [])
            pagination = body.get("pagination") or {}
            last = page_no >= int(pagination.get("number_pages") or 0)
            run["page"], run["listed"] = page_no + 1, last
            after = (
                finished
                if last and not reconciling
                else json.dumps({"since": state.get("since"), "run": run})
            )
            yield Page(records, after, total=pagination.get("number_items"), deleted=gone)
            page_no += 1
        if reconciling:
            yield self.unseen(datetime.fromisoformat(run.get("began") or run["started"]), finished)

    def details(self, items: Sequence[m.Json]) -> tuple[list[m.Json], list[str]]:
        """The details of listed objects, and the ids of those deleted since they were listed."""
        records, gone = [], []
        for item in items:
            found = self.detail(str(item["id"]))
            if found is None:
                gone.append(str(item["id"]))
            else:
                records.append(found)
        return records, gone

    def detail(self, key: str) -> m.Json | None:
        """``GET <list>?id=``: the object, inactive ones too; ``None`` on Wisedat's 404."""
        try:
            found: m.Json = self.api.get_json(self.path, {"id": key})
        except SourceNotFound:
            return None
        return found

    def unseen(self, began: datetime, cursor: str) -> Page:
        """The last page of a run that listed everything: what it did not see, there or gone."""
        return reconcile(self.engine, SOURCE, self.name, began, self.detail, cursor)


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

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        mark_companies_inactive(conn, gone)


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

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        """A deleted product is inactive (lines name it) and has no stock left anywhere."""
        mark_products_inactive(conn, gone)
        stock = sa.select(s.product_stock.c.Id).where(s.product_stock.c.ProductId.in_(list(gone.values())))
        forget_local(conn, ids.source, "stock", stock)
        conn.execute(sa.delete(s.product_stock).where(s.product_stock.c.ProductId.in_(list(gone.values()))))


class ProductStock(Products):
    """Products whose stock changed (``stock_modified_since``), written as ``Products`` does; the
    products stream reconciles them."""

    name = "stock"
    since_param = "stock_modified_since"
    reconciles = False


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
            {str(r["currency"]["id"]): (r["currency"], dec(r.get("exchange_rate") or 1)) for r in records},
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

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        remove_documents(conn, ids, self.name, gone, lines=self.lines_name, payments="payments")


class SalesInvoices(_SalesDocuments):
    name, path, keys, lines_name = "salesinvoices", "/salesinvoices", ("sales_invoice",), "salesinvoice-lines"
    mappings = (m.invoice_document, m.invoice_lines)


class Orders(_SalesDocuments):
    """Sales orders (``modified_since``), their items from the detail as an invoice's are."""

    name, path, keys, lines_name = "orders", "/orders", ("orders",), "order-lines"
    mappings = (m.order_document, m.order_lines)


class Payments(ListStream):
    """Customer payments (``entity_type=0``), one row per invoice each settles, keyed
    ``<payment>/<invoice>``. A payment's rows are what its detail says now: a cancelled or deleted
    payment, or an invoice it no longer settles, loses its row. ``deleted`` of a page are
    payment ids, not row keys."""

    name, path, keys, detailed = "payments", "/payments", ("payments",), True
    params: ClassVar[dict[str, Any]] = {"entity_type": 0}

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        if page.records:
            self.write_records(conn, ids, page.records)
        if page.deleted:
            self.drop(conn, ids, held_payment_rows(conn, ids.source, page.deleted))

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
        held = held_payment_rows(conn, ids.source, [str(r["id"]) for r in records])
        local = ids.assign(self.name, s.payments, keys)
        upsert(conn, s.payments, [row for r in live for row in m.payment_rows(r, local, invoices)])
        self.drop(conn, ids, {key: held[key] for key in set(held) - set(keys)})

    def drop(self, conn: sa.Connection, ids: IdMap, rows: dict[str, tuple[str, int]]) -> None:
        if rows:
            conn.execute(
                sa.delete(s.payments).where(s.payments.c.Id.in_([local for _, local in rows.values()]))
            )
            ids.forget(self.name, rows)

    def unseen(self, began: datetime, cursor: str) -> Page:
        """The payments of rows no page of this run listed, each asked for by its detail."""
        with self.engine.connect() as conn:
            stale = held_payment_rows(conn, SOURCE, None, before=began)
        present, gone = [], []
        for payment in sorted({pid for pid, _ in stale.values()}):
            found = self.detail(payment)
            if found is None:
                gone.append(payment)
            else:
                present.append(found)
        return Page(present, cursor, deleted=gone)


def held_payment_rows(
    conn: sa.Connection, source: str, payments: Sequence[str] | None, *, before: datetime | None = None
) -> dict[str, tuple[str, int]]:
    """The payment rows we hold (of ``payments``, or all; of those last stamped before ``before``):
    row key: (payment id, our id). The payment id is the key less ``/<invoice id>``, read from the
    invoice the row settles, since either id may hold a ``/``."""
    rows, invoice = xid.alias("rows"), xid.alias("invoice")
    settled = sa.and_(
        invoice.c.Source == rows.c.Source,
        invoice.c.Entity == "salesinvoices",
        invoice.c.LocalId == s.payments.c.OrderId,
    )
    stmt = (
        sa.select(rows.c.ExternalId, rows.c.LocalId, invoice.c.ExternalId)
        .select_from(rows.join(s.payments, s.payments.c.Id == rows.c.LocalId).join(invoice, settled))
        .where(rows.c.Source == source, rows.c.Entity == "payments")
    )
    if before is not None:
        stmt = stmt.where(rows.c.SyncedAt < before)
    wanted = None if payments is None else set(payments)
    if wanted is not None:
        if not wanted:
            return {}
        stmt = stmt.where(
            sa.or_(*(rows.c.ExternalId.startswith(f"{p}/", autoescape=True) for p in sorted(wanted)))
        )
    held = {}
    for key, local, document in conn.execute(stmt):
        payment = key[: -len(document) - 1] if key.endswith(f"/{document}") else None
        if payment is not None and (wanted is None or payment in wanted):
            held[key] = (payment, local)
    return held
