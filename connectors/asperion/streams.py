"""What is fetched from Asperion and how each page is written.

Lists page with ``page``/``pageSize`` and say how many pages there are (``totalPages``; the paging
is inferred, see ``mapping``). Asperion's endpoint list documents no modification filter and no
cursor, so every run lists everything: one request per 100 objects of each list (4 400 objects
cost 44 list requests a run). One page is written per transaction with a cursor that records the
next page and when the run started, so a killed run resumes where it stopped; writes are upserts,
so nothing is doubled.

An object whose content (a fingerprint of its JSON) is what a run last wrote is only stamped as
seen, not written again; ``--full`` writes every object (after a change of the mapping).

Because every run sees every object, every run also reconciles: once a list's last page has
committed, the objects no page of this run listed are gone from the list. A document among them
is asked for by its detail (``/v1/<list>/{id}``) before it is removed: only a 404 removes it
(with its lines and payments), so an object that slid between two pages while the source
deleted another is kept. A debtor, creditor or article that is gone is marked inactive
(documents still name it).

The outstanding sales and purchase invoices come last, in one transaction each: every synced
invoice's paid part is its total less what Asperion still lists as outstanding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from connectors.asperion import mapping as m
from connectors.core.errors import MissingScope
from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.lists import (
    RecordStream,
    fingerprint,
    mark_companies_inactive,
    mark_products_inactive,
    reconcile,
    remove_documents,
    remove_supplier_invoices,
    save_fingerprints,
    write_statuses,
)
from connectors.core.rows import upsert
from connectors.core.state import utc_now
from connectors.core.streams import Page, Stream
from connectors.core.values import money
from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.reference import STATUSES
from tools.source_schema import external_ids as xid

SOURCE = "asperion"
PAGE_SIZE = 100
CURRENCY = {"id": "EUR", "description": "Euro"}


def everything(api: SourceClient, path: str, start: int = 1) -> Iterator[tuple[int, int, list[m.Json]]]:
    """(page, totalPages, items) of every page of ``path`` from ``start``."""
    page = start
    while True:
        body = api.get_json(path, {"page": page, "pageSize": PAGE_SIZE})
        total = int(body.get("totalPages") or 0)
        yield page, total, list(body.get("data") or [])
        if page >= total:
            return
        page += 1


class ListStream(RecordStream[SourceClient]):
    """Every page of one list, each run, then what the run did not see (see the module)."""

    path: ClassVar[str]
    confirm: ClassVar[bool] = True  # ask for the detail of an unseen object before removing it
    optional: ClassVar[bool] = False  # a 403 means the administration lacks the module: no objects

    def __init__(self, api: SourceClient, engine: sa.Engine) -> None:
        super().__init__(api)
        self.engine, self.full = engine, False

    def key(self, record: m.Json) -> str:
        return str(record["id"])

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        self.full = full
        run = json.loads(cursor) if cursor else {}
        started = str(run.get("started") or utc_now().isoformat())
        try:
            for page, _, items in everything(self.api, self.path, int(run.get("page") or 1)):
                yield Page(items, json.dumps({"page": page + 1, "started": started}))
        except MissingScope:
            if not self.optional:
                raise
        yield self.unseen(datetime.fromisoformat(started))

    def unseen(self, started: datetime) -> Page:
        """The last page of a run: the objects no page of it listed, still there or gone."""
        detail = self.detail if self.confirm else None
        return reconcile(self.engine, SOURCE, self.name, started, detail)

    def detail(self, key: str) -> m.Json | None:
        """The object ``key`` (``SourceNotFound`` when Asperion has none); ``None`` when the
        administration lost the module: its objects are gone with it."""
        try:
            body = self.api.get_json(f"{self.path}/{key}")
        except MissingScope:
            if not self.optional:
                raise
            return None
        found: m.Json = body["data"] if isinstance(body.get("data"), dict) else body
        return found

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        """Write the page's objects that changed since a run last wrote them (all of them with
        ``--full``); the others are only stamped as seen."""
        prints = {self.key(r): fingerprint(r) for r in page.records}
        stored = {} if self.full else ids.fingerprints_of(self.name, prints)
        changed = [r for r in page.records if stored.get(self.key(r)) != prints[self.key(r)]]
        ids.touch(self.name, [k for k in prints if stored.get(k) == prints[k]])
        super().write(conn, ids, Page(changed, page.cursor, deleted=page.deleted))
        written: dict[str, str | None] = {self.key(r): prints[self.key(r)] for r in changed}
        # one marked inactive and not forgotten is written again when it is listed again
        save_fingerprints(conn, ids.source, self.name, written | dict.fromkeys(page.deleted))


class Reference(Stream):
    name = "reference"

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        yield Page([CURRENCY], None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        write_statuses(conn, STATUSES)
        local = ids.assign("currency", s.currencies, [CURRENCY["id"]])
        row = {"Id": local["EUR"], "IsoCode": "EUR", "Name": "Euro", "RateToSek": Decimal(1)}
        upsert(conn, s.currencies, [row])


def euro(ids: IdMap) -> int:
    return ids.known("currency", ["EUR"])["EUR"]


class _Parties(ListStream):
    number_field: ClassVar[str]
    vendor: ClassVar[bool]
    confirm = False  # marked inactive, not removed: a later listing makes it active again

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        local = ids.assign(self.name, s.companies, [str(r["id"]) for r in records])
        rows = [
            m.party_company(r, local[str(r["id"])], self.number_field, vendor=self.vendor) for r in records
        ]
        upsert(conn, s.companies, rows)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        mark_companies_inactive(conn, gone)


class Debtors(_Parties):
    name, path, number_field, vendor = "debtors", "/v1/debtors", "debtorNumber", False


class Creditors(_Parties):
    name, path, number_field, vendor = "creditors", "/v1/creditors", "creditorNumber", True


class Articles(ListStream):
    """Articles, keyed by their SKU (the lines name them by it)."""

    name, path = "articles", "/v1/articles"
    confirm = False

    def key(self, record: m.Json) -> str:
        return str(record["sku"])

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        local = ids.assign(self.name, s.products, [str(r["sku"]) for r in records])
        upsert(conn, s.products, [m.article_product(r, local[str(r["sku"])]) for r in records])

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        mark_products_inactive(conn, gone)


def _parties(
    conn: sa.Connection, ids: IdMap, entity: str, wanted: list[str], *, vendor: bool
) -> dict[str, int]:
    """Our ids of the parties documents name, with a placeholder for one not synced yet."""
    known = ids.known(entity, wanted)
    missing = sorted(set(wanted) - set(known))
    if missing:
        new = ids.assign(entity, s.companies, missing)
        number = "creditorNumber" if vendor else "debtorNumber"
        upsert(
            conn, s.companies, [m.party_company({"id": k}, new[k], number, vendor=vendor) for k in missing]
        )
        known |= new
    return known


class _SalesDocuments(ListStream):
    """Sales invoices and sales orders: a header naming a debtor, and lines."""

    lines_entity: ClassVar[str]
    paid_entity: ClassVar[str | None] = None  # the payment rows ``_Outstanding`` keeps per document

    def document(self, record: m.Json, local_id: int, customer: int, currency: int) -> m.Row:
        raise NotImplementedError

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        customers = _parties(conn, ids, "debtors", [str(r["debtorId"]) for r in records], vendor=False)
        docs = ids.assign(self.name, s.orders, [str(r["id"]) for r in records])
        keys = [m.line_key(r, line) for r in records for line in r.get("lines") or []]
        lines = ids.assign(self.lines_entity, s.order_items, keys)
        products = ids.known(
            "articles", [m.article_sku(line) for r in records for line in r.get("lines") or []]
        )
        currency = euro(ids)
        upsert(
            conn,
            s.orders,
            [self.document(r, docs[str(r["id"])], customers[str(r["debtorId"])], currency) for r in records],
        )
        rows = [row for r in records for row in m.document_lines(r, docs[str(r["id"])], lines, products)]
        upsert(conn, s.order_items, rows)
        kept = [row["Id"] for row in rows]
        stale = sa.delete(s.order_items).where(
            s.order_items.c.OrderId.in_(list(docs.values())), s.order_items.c.Id.not_in(kept)
        )
        conn.execute(stale)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        remove_documents(conn, ids, self.name, gone, lines=self.lines_entity, payments=self.paid_entity)


class SalesInvoices(_SalesDocuments):
    name, path, lines_entity, paid_entity = (
        "salesinvoices",
        "/v1/salesinvoiceswithlines",
        "salesinvoice-lines",
        "paid-sales",
    )

    def document(self, record: m.Json, local_id: int, customer: int, currency: int) -> m.Row:
        return m.sales_invoice_document(record, local_id, customer, currency)


class SalesOrders(_SalesDocuments):
    """Sales orders with their lines; an administration without the module answers 403 (taken
    as having none)."""

    name, path, lines_entity = "salesorders", "/v1/salesorderwithlines", "salesorder-lines"
    optional = True

    def document(self, record: m.Json, local_id: int, customer: int, currency: int) -> m.Row:
        return m.sales_order_document(record, local_id, customer, currency)


class PurchaseInvoices(ListStream):
    """Booked purchase invoices: the payables (their lines are read but not kept: no view shows them)."""

    name, path = "purchaseinvoices", "/v1/purchaseinvoiceswithlines"

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[m.Json]) -> None:
        suppliers = _parties(conn, ids, "creditors", [str(r["creditorId"]) for r in records], vendor=True)
        local = ids.assign(self.name, supplier_invoices, [str(r["id"]) for r in records])
        currency = euro(ids)
        rows = [
            m.supplier_invoice_row(r, local[str(r["id"])], suppliers[str(r["creditorId"])], currency)
            for r in records
        ]
        upsert(conn, supplier_invoices, rows)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        remove_supplier_invoices(conn, ids, self.name, gone)
        ids.forget("paid-purchases", gone)


class _Outstanding(Stream):
    """All of Asperion's outstanding invoices of one kind, written in one transaction as the paid
    part of every synced invoice of that kind."""

    path: ClassVar[str]
    invoices: ClassVar[str]  # the entity of the invoices
    paid_entity: ClassVar[str]

    def __init__(self, api: SourceClient) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        records = [item for _, _, items in everything(self.api, self.path) for item in items]
        yield Page(records, None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        outstanding = m.outstanding_amounts(list(page.records))
        synced = dict(
            conn.execute(
                sa.select(xid.c.ExternalId, xid.c.LocalId).where(
                    xid.c.Source == ids.source, xid.c.Entity == self.invoices
                )
            ).all()
        )
        totals = self.totals(conn, list(synced.values()))
        paid = {
            ext: m.paid_part(totals[local], outstanding.get(ext))
            for ext, local in synced.items()
            if local in totals
        }
        positive = {ext: amount for ext, amount in paid.items() if amount > 0}
        payment_ids = ids.assign(self.paid_entity, self.table(), list(positive))
        before = self.existing(conn, list(payment_ids.values()))
        today = datetime.combine(utc_now().date(), datetime.min.time())
        rows = []
        for ext, amount in positive.items():
            pid = payment_ids[ext]
            kept = before.get(pid)
            when = kept[1] if kept is not None and money(kept[0]) == amount else today
            rows.append(self.payment(pid, synced[ext], amount, when))
        upsert(conn, self.table(), rows)
        settled_none = ids.known(self.paid_entity, [ext for ext in paid if ext not in positive])
        if settled_none:
            conn.execute(sa.delete(self.table()).where(self.table().c.Id.in_(settled_none.values())))
            ids.forget(self.paid_entity, settled_none)

    def table(self) -> sa.Table:
        raise NotImplementedError

    def totals(self, conn: sa.Connection, local: list[int]) -> dict[int, Decimal]:
        raise NotImplementedError

    def existing(self, conn: sa.Connection, ids: list[int]) -> dict[int, tuple[Any, datetime]]:
        table = self.table()
        date_paid = table.c.DatePaid
        rows = conn.execute(sa.select(table.c.Id, table.c.Amount, date_paid).where(table.c.Id.in_(ids))).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    def payment(self, pid: int, invoice: int, amount: Decimal, when: datetime) -> dict[str, Any]:
        raise NotImplementedError


class OutstandingSales(_Outstanding):
    name, path, invoices, paid_entity = (
        "outstandingsalesinvoices",
        "/v1/outstandingsalesinvoices",
        "salesinvoices",
        "paid-sales",
    )

    def table(self) -> sa.Table:
        return s.payments

    def totals(self, conn: sa.Connection, local: list[int]) -> dict[int, Decimal]:
        o = s.orders
        return {
            r[0]: money(r[1])
            for r in conn.execute(sa.select(o.c.Id, o.c.TotalIncVat).where(o.c.Id.in_(local)))
        }

    def payment(self, pid: int, invoice: int, amount: Decimal, when: datetime) -> dict[str, Any]:
        return {"Id": pid, "OrderId": invoice, "Amount": amount, "DatePaid": when}


class OutstandingPurchases(_Outstanding):
    name, path, invoices, paid_entity = (
        "outstandingpurchaseinvoices",
        "/v1/outstandingpurchaseinvoices",
        "purchaseinvoices",
        "paid-purchases",
    )

    def table(self) -> sa.Table:
        return supplier_payments

    def totals(self, conn: sa.Connection, local: list[int]) -> dict[int, Decimal]:
        si = supplier_invoices
        return {
            r[0]: money(r[1])
            for r in conn.execute(sa.select(si.c.Id, si.c.TotalIncVat).where(si.c.Id.in_(local)))
        }

    def payment(self, pid: int, invoice: int, amount: Decimal, when: datetime) -> dict[str, Any]:
        return {"Id": pid, "SupplierInvoiceId": invoice, "Amount": amount, "DatePaid": when}
