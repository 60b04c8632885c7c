"""What is fetched from Fortnox and how each page is written.

``/3/`` resources offer ``lastmodified``: a run lists what changed since the cursor (less an
overlap of a few minutes, deduplicated by key), then fetches details in pages of ``page_size``,
each written in one transaction with a cursor that records how far the run got (the last
document number done), so a killed run resumes where it stopped. A full run (``--full``, or the
first) lists everything and ends by removing what it did not see (``connectors.core.lists.reconcile``
without asking for details: unlike a paged Wisedat or Asperion list, the one listing is complete
before anything is written, so an object it lacks is gone): documents are deleted, customers,
suppliers and articles are marked inactive (documents still name them).

The warehouse lists have neither ``lastmodified`` nor paging: each run lists everything (one
request) and fetches the detail of documents whose list entry changed (a fingerprint kept in the
id map), so open purchase orders and receipts are rescanned at the cost of one list call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from connectors.core.errors import SourceNotFound
from connectors.core.idmap import IdMap
from connectors.core.lists import (
    RecordStream,
    fingerprint,
    forget_local,
    mark_companies_inactive,
    mark_products_inactive,
    reconcile,
    remove_documents,
    remove_supplier_invoices,
    write_statuses,
)
from connectors.core.rows import upsert
from connectors.core.state import read_cursor, utc_now
from connectors.core.streams import Page, Stream
from connectors.fortnox import mapping as m
from connectors.fortnox.client import FortnoxApi, Json, lastmodified
from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments

OVERLAP = timedelta(minutes=3)
SOURCE = "fortnox"


def _number_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (2**63, key)


@dataclass
class _Run:
    """The cursor of a ``lastmodified`` stream: where the last complete run started, and how far
    an unfinished run got."""

    since: str | None = None  # naive UTC ISO; None: never completed a run
    run_since: str | None = None
    run_started: str | None = None  # our clock, for the sweep of a full run
    run_server_start: str | None = None  # Fortnox's clock, the next run's since
    run_full: bool = False
    run_after: str | None = None  # last key written by the unfinished run

    @classmethod
    def load(cls, cursor: str | None) -> _Run:
        return cls(**json.loads(cursor)) if cursor else cls()

    def dump(self) -> str:
        return json.dumps({k: v for k, v in vars(self).items() if v not in (None, False)}, sort_keys=True)

    @property
    def running(self) -> bool:
        return self.run_started is not None


class ModifiedSinceStream(RecordStream[FortnoxApi]):
    """The generic ``/3/`` stream: list ``/3/{name}`` changed since the cursor, fetch each
    ``/3/{name}/{key}`` (unless ``detail_key`` is None: the list entry is complete), map and write
    a page (``write_records``, and ``remove`` what is gone). A stream declares its names and its
    mapping, nothing else."""

    entity: ClassVar[str]  # the stream's name, the entity of its ids
    list_key: ClassVar[str]
    key_field: ClassVar[str]
    detail_key: ClassVar[str | None] = None
    page_size: ClassVar[int] = 50

    def __init__(self, api: FortnoxApi, engine: sa.Engine) -> None:
        super().__init__(api)
        self.engine = engine

    @property
    def list_path(self) -> str:
        return f"/3/{self.name}"

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        run = self._begin(_Run.load(cursor), full)
        params = (
            {"lastmodified": lastmodified(datetime.fromisoformat(run.run_since))} if run.run_since else {}
        )
        listed = {
            str(item[self.key_field]): item
            for item in self.api.everything(self.list_path, self.list_key, params)
        }
        run.run_server_start = run.run_server_start or self.api.server_now().isoformat()
        done = _number_order(run.run_after) if run.run_after else None
        keys = sorted((k for k in listed if done is None or _number_order(k) > done), key=_number_order)
        for start in range(0, len(keys), self.page_size):
            chunk = keys[start : start + self.page_size]
            records, gone = self._details(chunk, listed)
            run.run_after = chunk[-1]
            yield Page(records, run.dump(), total=len(keys), deleted=gone)
        finished = _Run(since=run.run_server_start).dump()
        if run.run_full and run.run_started:  # what the complete listing lacked is gone
            unseen = reconcile(
                self.engine, SOURCE, self.entity, datetime.fromisoformat(run.run_started), None
            )
            yield Page([], finished, total=len(keys), deleted=unseen.deleted)
        else:
            yield Page([], finished, total=len(keys))

    def _begin(self, run: _Run, full: bool) -> _Run:
        if run.running and (run.run_full or not full):
            return run  # resume the unfinished run
        since = (
            None if full or run.since is None else (datetime.fromisoformat(run.since) - OVERLAP).isoformat()
        )
        return _Run(run.since, since, utc_now().isoformat(), None, since is None, None)

    def _details(self, keys: Sequence[str], listed: dict[str, Json]) -> tuple[list[Json], list[str]]:
        if self.detail_key is None:
            return [listed[key] for key in keys], []
        records, gone = [], []
        for key in keys:
            try:
                records.append(self.api.detail(f"{self.list_path}/{key}", self.detail_key))
            except SourceNotFound:
                gone.append(key)  # deleted between the list and the detail
        return records, gone


# -- reference rows, parties, articles ---------------------------------------------------------


class Reference(Stream):
    """Status types and statuses (ours, plus Fortnox's invoiced order) and Fortnox's currencies."""

    name = "currencies"

    def __init__(self, api: FortnoxApi) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        currencies = self.api.everything("/3/currencies", "Currencies")
        sek = {"Code": "SEK", "Description": "Svensk krona", "SellRate": 1, "Unit": 1}
        yield Page([sek, *(c for c in currencies if c.get("Code") != "SEK")], None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        write_statuses(conn, m.FORTNOX_STATUSES)
        local = ids.assign("currency", s.currencies, [c["Code"] for c in page.records])
        upsert(conn, s.currencies, [m.currency_row(c, local[c["Code"]]) for c in page.records])


def _currencies(conn: sa.Connection) -> dict[str, int]:
    return {code: i for i, code in conn.execute(sa.select(s.currencies.c.Id, s.currencies.c.IsoCode))}


class _Parties(ModifiedSinceStream):
    """Customers or suppliers to companies (``company``: the mapping); gone ones become inactive."""

    def company(self, party: Json, company_id: int, refs: m.Refs, /) -> dict[str, Any]:
        raise NotImplementedError

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        local = ids.assign(self.entity, s.companies, [r[self.key_field] for r in records])
        refs = m.Refs(currencies=_currencies(conn))
        upsert(conn, s.companies, [self.company(r, local[r[self.key_field]], refs) for r in records])

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        mark_companies_inactive(conn, gone)


class Customers(_Parties):
    name = entity = "customers"
    list_key, key_field, detail_key = "Customers", "CustomerNumber", "Customer"
    company = staticmethod(m.customer_company)


class Suppliers(_Parties):
    name = entity = "suppliers"
    list_key, key_field = "Suppliers", "SupplierNumber"
    company = staticmethod(m.supplier_company)


class Articles(ModifiedSinceStream):
    name = entity = "articles"
    list_key, key_field, detail_key = "Articles", "ArticleNumber", "Article"

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        numbers = [r["ArticleNumber"] for r in records]
        products = ids.assign(self.entity, s.products, numbers)
        upsert(conn, s.products, [m.article_product(r, products[r["ArticleNumber"]]) for r in records])
        suppliers = ids.known("suppliers", [r.get("SupplierNumber") or "" for r in records])
        refs = m.Refs(companies=suppliers, products=products, currencies=_currencies(conn))
        priced = [r for r in records if r.get("SupplierNumber") in suppliers]
        price_ids = ids.assign("vendor-prices", s.supplier_prices, [r["ArticleNumber"] for r in priced])
        prices = [m.article_vendor_price(r, price_ids[r["ArticleNumber"]], refs) for r in priced]
        upsert(conn, s.supplier_prices, [p for p in prices if p is not None])
        unpriced = ids.known("vendor-prices", sorted(set(numbers) - {r["ArticleNumber"] for r in priced}))
        conn.execute(sa.delete(s.supplier_prices).where(s.supplier_prices.c.Id.in_(unpriced.values())))
        ids.forget("vendor-prices", unpriced)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        mark_products_inactive(conn, gone)


# -- sales documents and payments ---------------------------------------------------------------


def ensure_parties(
    conn: sa.Connection, ids: IdMap, entity: str, named: dict[str, str | None], *, vendor: bool
) -> dict[str, int]:
    """Our ids of the parties documents name, with placeholders for ones not synced yet."""
    known = ids.known(entity, named)
    missing = {number: name for number, name in named.items() if number not in known}
    if missing:
        new = ids.assign(entity, s.companies, missing)
        rows = [m.placeholder_company(n, name, new[n], vendor=vendor) for n, name in missing.items()]
        upsert(conn, s.companies, rows)
        known |= new
    return known


def ensure_products(conn: sa.Connection, ids: IdMap, named: dict[str, str | None]) -> dict[str, int]:
    named = {number: text for number, text in named.items() if number}
    known = ids.known("articles", named)
    missing = {number: text for number, text in named.items() if number not in known}
    if missing:
        new = ids.assign("articles", s.products, missing)
        upsert(conn, s.products, [m.placeholder_product(n, text, new[n]) for n, text in missing.items()])
        known |= new
    return known


def replace_lines(
    conn: sa.Connection, ids: IdMap, entity: str, doc_ids: list[int], lines: list[dict[str, Any]]
) -> None:
    """Upsert a page's lines and drop the lines its documents no longer have."""
    upsert(conn, s.order_items, lines)
    kept = [line["Id"] for line in lines]
    dropped = sa.select(s.order_items.c.Id).where(
        s.order_items.c.OrderId.in_(doc_ids), s.order_items.c.Id.not_in(kept)
    )
    dropped_ids = list(conn.execute(dropped).scalars())
    if dropped_ids:
        conn.execute(sa.delete(s.inv_transactions).where(s.inv_transactions.c.OrderItemId.in_(dropped_ids)))
        conn.execute(sa.delete(s.order_items).where(s.order_items.c.Id.in_(dropped_ids)))
        forget_local(conn, ids.source, f"{entity}-rows", dropped_ids)


class _SalesDocuments(ModifiedSinceStream):
    """Orders or invoices with their rows (``document`` and ``lines``: the mapping)."""

    key_field = "DocumentNumber"
    rows_key: ClassVar[str]
    payments: ClassVar[str | None] = None  # the entity of the payments of these documents

    def document(self, record: Json, local_id: int, refs: m.Refs, /) -> dict[str, Any]:
        raise NotImplementedError

    def lines(self, record: Json, local_id: int, refs: m.Refs, /) -> list[dict[str, Any]]:
        raise NotImplementedError

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        numbers = [r["DocumentNumber"] for r in records]
        docs = ids.assign(self.entity, s.orders, numbers)
        customers = ensure_parties(
            conn,
            ids,
            "customers",
            {r["CustomerNumber"]: r.get("CustomerName") for r in records},
            vendor=False,
        )
        rows = [row for r in records for row in r.get(self.rows_key, [])]
        products = ensure_products(
            conn, ids, {row.get("ArticleNumber") or "": row.get("Description") for row in rows}
        )
        line_keys = [
            m.line_key(r["DocumentNumber"], row["RowId"]) for r in records for row in r.get(self.rows_key, [])
        ]
        lines = ids.assign(f"{self.entity}-rows", s.order_items, line_keys)
        credited = ids.known(self.entity, [r.get("CreditInvoiceReference") or "" for r in records])
        refs = m.Refs(
            companies=customers,
            products=products,
            currencies=_currencies(conn),
            lines=lines,
            documents=credited | docs,
        )
        upsert(conn, s.orders, [self.document(r, docs[r["DocumentNumber"]], refs) for r in records])
        page_lines = [line for r in records for line in self.lines(r, docs[r["DocumentNumber"]], refs)]
        replace_lines(conn, ids, self.entity, list(docs.values()), page_lines)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        remove_documents(conn, ids, self.entity, gone, lines=f"{self.entity}-rows", payments=self.payments)


class Orders(_SalesDocuments):
    name = entity = "orders"
    list_key, detail_key, rows_key = "Orders", "Order", "OrderRows"
    document, lines = staticmethod(m.order_document), staticmethod(m.order_lines)


class Invoices(_SalesDocuments):
    name = entity = "invoices"
    list_key, detail_key, rows_key, payments = "Invoices", "Invoice", "InvoiceRows", "invoicepayments"
    document, lines = staticmethod(m.invoice_document), staticmethod(m.invoice_lines)


class _Payments(ModifiedSinceStream):
    """Payments of the invoices of ``invoices`` (an entity) into ``table`` (``payment``: the
    mapping). One for an invoice not synced yet keeps the cursor where it was, so the next run
    fetches it again (after the invoices stream has the invoice)."""

    key_field = "Number"
    invoices: ClassVar[str]
    table: ClassVar[sa.Table]

    def payment(self, payment: Json, payment_id: int, invoice_id: int, /) -> dict[str, Any]:
        raise NotImplementedError

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        self._waiting = False
        for page in super().pages(cursor, full=full):
            finished = not _Run.load(page.cursor).running
            if finished and self._waiting:
                held = _Run(since=_Run.load(cursor).since).dump()
                page = Page([], held, total=page.total, deleted=page.deleted)
            yield page

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        invoices = ids.known(self.invoices, [str(r["InvoiceNumber"]) for r in records])
        ready = [r for r in records if str(r["InvoiceNumber"]) in invoices]
        self._waiting = self._waiting or len(ready) < len(records)
        local = ids.assign(self.entity, self.table, [str(r["Number"]) for r in ready])
        rows = [self.payment(r, local[str(r["Number"])], invoices[str(r["InvoiceNumber"])]) for r in ready]
        upsert(conn, self.table, rows)

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        if gone:
            conn.execute(sa.delete(self.table).where(self.table.c.Id.in_(gone.values())))
            ids.forget(self.entity, gone)


class InvoicePayments(_Payments):
    """Customer payments; they come complete in the list."""

    name = entity = "invoicepayments"
    list_key, invoices, table = "InvoicePayments", "invoices", s.payments
    payment = staticmethod(m.payment_row)
    page_size = 500


# -- payables -------------------------------------------------------------------------------------


class SupplierInvoices(ModifiedSinceStream):
    """Booked supplier invoices to ``SupplierInvoice``; one cancelled or unbooked is removed."""

    name = entity = "supplierinvoices"
    list_key, key_field, detail_key = "SupplierInvoices", "GivenNumber", "SupplierInvoice"

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        payable = [r for r in records if m.is_payable(r)]
        self.remove(
            conn, ids, ids.known(self.entity, [r["GivenNumber"] for r in records if not m.is_payable(r)])
        )
        local = ids.assign(self.entity, supplier_invoices, [r["GivenNumber"] for r in payable])
        suppliers = ensure_parties(
            conn, ids, "suppliers", {r["SupplierNumber"]: r.get("SupplierName") for r in payable}, vendor=True
        )
        refs = m.Refs(companies=suppliers, currencies=_currencies(conn))
        upsert(
            conn,
            supplier_invoices,
            [m.supplier_invoice_row(r, local[r["GivenNumber"]], refs) for r in payable],
        )

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        remove_supplier_invoices(conn, ids, self.entity, gone)


class SupplierInvoicePayments(_Payments):
    """Payments of supplier invoices, each read in detail for its amount in the invoice's currency;
    one for an invoice not synced yet (or not payable) waits, as a customer payment does."""

    name = entity = "supplierinvoicepayments"
    list_key, detail_key = "SupplierInvoicePayments", "SupplierInvoicePayment"
    invoices, table = "supplierinvoices", supplier_payments
    payment = staticmethod(m.supplier_payment_row)


# -- the warehouse ------------------------------------------------------------------------------


class ChangedListStream(Stream):
    """A warehouse list without ``lastmodified``: the detail of each entry whose fingerprint changed."""

    list_path: ClassVar[str]  # the detail is {list_path}/{id}
    entity: ClassVar[str]
    page_size: ClassVar[int] = 50

    def __init__(self, api: FortnoxApi, engine: sa.Engine) -> None:
        self.api, self.engine = api, engine

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        listed = {str(item["id"]): item for item in self.api.warehouse(self.list_path)}
        with self.engine.connect() as conn:
            stored = IdMap(conn, SOURCE, utc_now()).fingerprints(self.entity)
        self._fingerprints = {key: fingerprint(item) for key, item in listed.items()}
        changed = sorted(
            (k for k in listed if full or stored.get(k) != self._fingerprints[k]), key=_number_order
        )
        for start in range(0, len(changed), self.page_size):
            chunk = changed[start : start + self.page_size]
            yield Page([self._detail(key) for key in chunk], None, total=len(changed))
        yield Page([], None, total=len(changed), deleted=sorted(set(stored) - set(listed)))

    def _detail(self, key: str) -> Json:
        body: Json = self.api.http.get_json(f"{self.list_path}/{key}")
        return body

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        if page.records:
            self.write_records(conn, ids, page.records)
        if page.deleted:
            gone = ids.known(self.entity, page.deleted)
            remove_documents(conn, ids, self.entity, gone, lines=f"{self.entity}-rows")

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        raise NotImplementedError


class PurchaseOrders(ChangedListStream):
    """Purchase orders and their rows. The cursor keeps what the open ones still bring into stock
    (``mapping.purchase_order_incoming`` per order, updated with each page's details in the page's
    transaction), which the stock balance reads as incoming quantities; a tenant synced before the
    cursor held it fetches every order once."""

    name = entity = "purchaseorders"
    list_path = "/api/warehouse/purchaseorders-v1"

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        incoming = incoming_per_order(cursor)
        for page in super().pages(cursor, full=full or cursor is None):
            for po in page.records:
                incoming.pop(str(po["id"]), None)
                if on_order := m.purchase_order_incoming(po):
                    incoming[str(po["id"])] = {key: str(qty) for key, qty in on_order.items()}
            for key in page.deleted:
                incoming.pop(key, None)
            yield replace(page, cursor=json.dumps({"incoming": incoming}, sort_keys=True))

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        keys = [str(r["id"]) for r in records]
        docs = ids.assign(self.entity, s.orders, keys, fingerprints={k: self._fingerprints[k] for k in keys})
        suppliers = ensure_parties(
            conn, ids, "suppliers", {r["supplierNumber"]: r.get("supplierName") for r in records}, vendor=True
        )
        rows = [row for r in records for row in r.get("rows", [])]
        products = ensure_products(
            conn, ids, {row.get("itemId") or "": row.get("itemDescription") for row in rows}
        )
        lines = ids.assign(f"{self.entity}-rows", s.order_items, [row["id"] for row in rows])
        refs = m.Refs(companies=suppliers, products=products, currencies=_currencies(conn), lines=lines)
        upsert(conn, s.orders, [m.purchase_order_document(r, docs[str(r["id"])], refs) for r in records])
        page_lines = [line for r in records for line in m.purchase_order_lines(r, docs[str(r["id"])], refs)]
        replace_lines(conn, ids, self.entity, list(docs.values()), page_lines)


class IncomingGoods(ChangedListStream):
    """Goods receipts: the received rows of released incoming-goods documents."""

    name = entity = "incominggoods"
    list_path = "/api/warehouse/incominggoods-v1"

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Json]) -> None:
        keys = [str(r["id"]) for r in records]
        ids.assign(
            self.entity, s.inv_transactions, keys, fingerprints={k: self._fingerprints[k] for k in keys}
        )
        counted = [r for r in records if r.get("released") and not r.get("voided")]
        rows = [row for r in counted for row in r.get("rows", [])]
        po_lines = ids.known("purchaseorders-rows", [row.get("purchaseOrderRowId") or "" for row in rows])
        receipts = ids.assign(f"{self.entity}-rows", s.inv_transactions, [row["id"] for row in rows])
        products = ensure_products(
            conn, ids, {row.get("itemId") or "": row.get("itemDescription") for row in rows}
        )
        locations = ids.known("stocklocations", [row.get("stockLocationId") or "" for row in rows])
        refs = m.Refs(products=products, lines=po_lines | receipts, locations=locations)
        written = [
            row for r in counted for row in m.receipt_rows(r, refs, _unit_prices_sek(conn, po_lines.values()))
        ]
        upsert(conn, s.inv_transactions, written)
        self._drop_receipts(conn, ids, records, {row["Id"] for row in written})

    def _drop_receipts(
        self, conn: sa.Connection, ids: IdMap, records: Sequence[Json], kept: set[int]
    ) -> None:
        """Receipts of these documents that are no longer there (voided, row removed)."""
        row_keys = [row["id"] for r in records for row in r.get("rows", [])]
        stale = {k: v for k, v in ids.known(f"{self.entity}-rows", row_keys).items() if v not in kept}
        if stale:
            conn.execute(
                sa.delete(s.purchase_invoice_matches).where(
                    s.purchase_invoice_matches.c.InvTransactionId.in_(stale.values())
                )
            )
            conn.execute(sa.delete(s.inv_transactions).where(s.inv_transactions.c.Id.in_(stale.values())))
            ids.forget(f"{self.entity}-rows", stale)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        if page.records:
            self.write_records(conn, ids, page.records)
        if page.deleted:
            ids.forget(self.entity, page.deleted)


def _unit_prices_sek(conn: sa.Connection, item_ids: Any) -> dict[int, Decimal]:
    """The purchase-order rows' unit prices in SEK (price times the currency's rate)."""
    i, o, c = s.order_items, s.orders, s.currencies
    stmt = (
        sa.select(i.c.Id, i.c.Price * c.c.RateToSek)
        .join(o, o.c.Id == i.c.OrderId)
        .join(c, c.c.Id == o.c.CurrencyId)
        .where(i.c.Id.in_(list(item_ids)))
    )
    return {item: Decimal(str(price)).quantize(Decimal("0.0001")) for item, price in conn.execute(stmt)}


class StockPoints(Stream):
    """Stock points to warehouses, their stock locations to locations, plus each stock point's
    location ``*`` on which its balance is shown."""

    name = "stockpoints"

    def __init__(self, api: FortnoxApi) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        yield Page(self.api.warehouse("/api/warehouse/stockpoints-v1"), None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        points = page.records
        houses = ids.assign("stockpoints", s.warehouses, [p["id"] for p in points])
        upsert(conn, s.warehouses, [m.warehouse_row(p, houses[p["id"]]) for p in points])
        locations = [loc for p in points for loc in p.get("stockLocations") or []]
        local = ids.assign("stocklocations", s.warehouse_locations, [loc["id"] for loc in locations])
        whole = ids.assign("stockpoint-locations", s.warehouse_locations, [p["code"] for p in points])
        rows = [m.location_row(loc, local[loc["id"]], houses[loc["stockPointId"]]) for loc in locations]
        rows += [
            m.location_row({"code": m.WHOLE_STOCK_POINT}, whole[p["code"]], houses[p["id"]]) for p in points
        ]
        upsert(conn, s.warehouse_locations, rows)


def incoming_per_order(cursor: str | None) -> dict[str, dict[str, str]]:
    """The purchase orders stream's cursor: per open order, what it brings per ``stock_key``."""
    return dict(json.loads(cursor)["incoming"]) if cursor else {}


def incoming_stock(conn: sa.Connection) -> dict[str, Decimal]:
    """What all open purchase orders bring, per ``stock_key``, as the last purchase-order page left it."""
    total: dict[str, Decimal] = {}
    for on_order in incoming_per_order(read_cursor(conn, SOURCE, PurchaseOrders.name)).values():
        for key, qty in on_order.items():
            total[key] = total.get(key, Decimal(0)) + Decimal(qty)
    return total


class StockBalance(Stream):
    """Every article's balance per stock point (one list), with what open purchase orders bring
    (an article on order at a stock point that holds none of it gets a row of its own);
    balances no longer listed are dropped."""

    name = "stockbalance"

    def __init__(self, api: FortnoxApi) -> None:
        self.api = api

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        yield Page(self.api.warehouse("/api/warehouse/status-v1/stockbalance"), None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        incoming = incoming_stock(conn)
        balances = [b for b in page.records if b.get("itemId") and b.get("stockPointCode")]
        held = {m.stock_key(b["itemId"], b["stockPointCode"]) for b in balances}
        balances += [
            {"itemId": item, "stockPointCode": point, "inStock": 0, "availableStock": 0}
            for item, point in (key.rsplit("@", 1) for key in sorted(incoming))
            if m.stock_key(item, point) not in held
        ]
        whole = ids.known("stockpoint-locations", [b["stockPointCode"] for b in balances])
        wl = s.warehouse_locations
        warehouse_of = dict(
            conn.execute(sa.select(wl.c.Id, wl.c.WarehouseId).where(wl.c.Id.in_(whole.values()))).all()
        )
        known = [b for b in balances if b["stockPointCode"] in whole]
        refs = m.Refs(
            products=ensure_products(conn, ids, {b["itemId"]: None for b in known}),
            warehouses={code: warehouse_of[location] for code, location in whole.items()},
            locations=whole,
        )
        keys = [m.stock_key(b["itemId"], b["stockPointCode"]) for b in known]
        local = ids.assign(self.name, s.product_stock, keys)
        rows = [
            m.stock_row(b, local[k], refs, incoming.get(k, Decimal(0)))
            for b, k in zip(known, keys, strict=True)
        ]
        upsert(conn, s.product_stock, rows)
        gone = ids.stale(self.name, ids.synced_at)
        conn.execute(sa.delete(s.product_stock).where(s.product_stock.c.Id.in_(gone.values())))
        ids.forget(self.name, gone)
