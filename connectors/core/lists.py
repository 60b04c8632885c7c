"""What the connectors over JSON lists (Wisedat, Asperion, Fortnox) share: the source object that
owns the client, a stream that writes a page's records and removes what the source no longer
has, our reference statuses, and the reconciliation of a run that listed everything.

Neither source has a feed of deletions, so a run that listed every object of a list
(``reconcile``) takes the objects no page of it stamped as candidates: each is asked for by its
detail, and only one the source answers 404 for is gone; one still there (it slid between two
pages while the source deleted another) is written again. A source whose run lists everything
before it writes anything (Fortnox) passes no ``detail``: what that listing lacks is gone. Gone
documents are removed with their lines and payments (``remove_documents``, supplier invoices
with ``remove_supplier_invoices``); gone parties and products are marked inactive, not removed,
since documents still name them, and a later listing of one writes it active again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa

from connectors.core.errors import SourceNotFound
from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.rows import upsert
from connectors.core.state import utc_now
from connectors.core.streams import Page, Stream
from tools import schema as s
from tools.payables_schema import supplier_invoices, supplier_payments
from tools.reference import STATUS_TYPES, Status
from tools.source_schema import external_ids as xid


class ClientSource:
    """A source whose streams share one ``SourceClient`` (and maybe a token provider to close)."""

    name: ClassVar[str]

    def __init__(self, api: SourceClient, *closing: Any) -> None:
        self.api, self._closing = api, closing

    @property
    def requests(self) -> int:
        return self.api.requests

    @property
    def retries(self) -> int:
        return self.api.retries

    def close(self) -> None:
        self.api.close()
        for resource in self._closing:
            resource.close()


Api = TypeVar("Api")


class RecordStream(Stream, Generic[Api]):
    """A stream whose pages carry records to upsert (``write_records``) and, where the source
    says so, external ids it no longer has (``remove``, given their ids in our tables); ``api``
    is the source's client."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        if page.records:
            self.write_records(conn, ids, page.records)
        if page.deleted:
            self.remove(conn, ids, ids.known(self.name, page.deleted))

    def write_records(self, conn: sa.Connection, ids: IdMap, records: Sequence[Any]) -> None:
        raise NotImplementedError

    def remove(self, conn: sa.Connection, ids: IdMap, gone: dict[str, int]) -> None:
        """Rows of external ids the source no longer has; a stream without deletions has none."""


def _mapping_code() -> bytes:
    """The digest of every connector's mapping functions: an object fingerprinted under other
    mapping code was written by that code, so a release that changes a mapping rewrites what
    its sources did not change (once) instead of keeping rows mapped the old way."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.parent.glob("*/mapping.py")):
        digest.update(path.read_bytes())
    return digest.digest()


MAPPING_CODE = _mapping_code()


def fingerprint(record: Any) -> str:
    """A digest of a source object as it was read, and of the code that maps it: equal digests,
    nothing to write."""
    text = json.dumps(record, sort_keys=True, default=str).encode()
    return hashlib.sha256(MAPPING_CODE + text).hexdigest()


def save_fingerprints(conn: sa.Connection, source: str, entity: str, prints: dict[str, str | None]) -> None:
    if prints:
        stmt = sa.update(xid).where(
            xid.c.Source == source, xid.c.Entity == entity, xid.c.ExternalId == sa.bindparam("e")
        )
        conn.execute(
            stmt.values(Fingerprint=sa.bindparam("fp")), [{"e": e, "fp": fp} for e, fp in prints.items()]
        )


def write_statuses(conn: sa.Connection, statuses: Iterable[Status]) -> None:
    """Our order status types and the statuses a source's documents are mapped to."""
    upsert(
        conn,
        s.order_status_types,
        [{"Id": i, "SystemName": n, "Name": t} for i, (n, t) in STATUS_TYPES.items()],
    )
    rows = [
        {
            "Id": st.id,
            "OrderStatusTypeId": st.type_id,
            "Name": st.name,
            "IsOrderIntake": st.is_order_intake,
            "IsSales": st.is_sales,
            "IsPurchase": st.is_purchase,
        }
        for st in statuses
    ]
    upsert(conn, s.order_statuses, rows)


def reconcile(
    engine: sa.Engine,
    source: str,
    entity: str,
    began: datetime,
    detail: Callable[[str], Any] | None,
    cursor: str | None = None,
) -> Page:
    """The last page of a run that listed every object of ``entity`` since ``began``: the objects
    no page of it wrote or stamped. With ``detail`` (the object by its external id; ``None`` or
    ``SourceNotFound`` when the source has no such object) each is asked for: the ones still there
    are the page's records, written again, the others its ``deleted``. Without, all are deleted.

    Nothing is written before the page commits, so a run killed while asking starts the asking
    over: nothing is lost or doubled."""
    with engine.connect() as conn:
        stale = sorted(IdMap(conn, source, utc_now()).stale(entity, began))
    if detail is None:
        return Page([], cursor, deleted=stale)
    present, gone = [], []
    for key in stale:
        try:
            found = detail(key)
        except SourceNotFound:
            found = None
        if found is None:
            gone.append(key)
        else:
            present.append(found)
    return Page(present, cursor, deleted=gone)


def mark_companies_inactive(conn: sa.Connection, gone: dict[str, int]) -> None:
    """Customers or suppliers the source no longer has (documents still name them)."""
    if gone:
        conn.execute(sa.update(s.companies).where(s.companies.c.Id.in_(gone.values())).values(Inactive=True))


def mark_products_inactive(conn: sa.Connection, gone: dict[str, int]) -> None:
    """Products the source no longer has (document lines still name them)."""
    if gone:
        conn.execute(sa.update(s.products).where(s.products.c.Id.in_(gone.values())).values(IsActive=False))


def remove_documents(
    conn: sa.Connection,
    ids: IdMap,
    entity: str,
    gone: dict[str, int],
    *,
    lines: str,
    payments: str | None = None,
) -> None:
    """Remove the sales documents ``gone`` (external id: our id) of ``entity`` with their lines and
    payments, and forget their ids and those of their lines (entity ``lines``) and payment rows
    (entity ``payments``), so that nothing of them is left to reconcile."""
    if not gone:
        return
    doc_ids = list(gone.values())
    items = sa.select(s.order_items.c.Id).where(s.order_items.c.OrderId.in_(doc_ids))
    forget_local(conn, ids.source, lines, items)
    if payments:
        paid = sa.select(s.payments.c.Id).where(s.payments.c.OrderId.in_(doc_ids))
        forget_local(conn, ids.source, payments, paid)
    delete_documents(conn, doc_ids)
    ids.forget(entity, gone)


def remove_supplier_invoices(conn: sa.Connection, ids: IdMap, entity: str, gone: dict[str, int]) -> None:
    """Remove the supplier invoices ``gone`` (external id: our id) of ``entity`` with their
    payments, and forget their ids."""
    if gone:
        invoices = list(gone.values())
        conn.execute(sa.delete(supplier_payments).where(supplier_payments.c.SupplierInvoiceId.in_(invoices)))
        conn.execute(sa.delete(supplier_invoices).where(supplier_invoices.c.Id.in_(invoices)))
        ids.forget(entity, gone)


def forget_local(
    conn: sa.Connection, source: str, entity: str, local: sa.Select[Any] | Sequence[int]
) -> None:
    """Forget the external ids of ``entity`` whose rows are among ``local`` (our ids, or a select of them)."""
    conn.execute(
        sa.delete(xid).where(xid.c.Source == source, xid.c.Entity == entity, xid.c.LocalId.in_(local))
    )


def delete_documents(conn: sa.Connection, doc_ids: Sequence[int]) -> None:
    """Sales documents (orders, invoices) the source no longer has, with their lines and payments."""
    if not doc_ids:
        return
    items = sa.select(s.order_items.c.Id).where(s.order_items.c.OrderId.in_(doc_ids))
    conn.execute(
        sa.delete(s.purchase_invoice_matches).where(s.purchase_invoice_matches.c.OrderItemId.in_(items))
    )
    conn.execute(sa.delete(s.inv_transactions).where(s.inv_transactions.c.OrderItemId.in_(items)))
    conn.execute(sa.delete(s.payments).where(s.payments.c.OrderId.in_(doc_ids)))
    conn.execute(sa.delete(s.order_items).where(s.order_items.c.OrderId.in_(doc_ids)))
    conn.execute(
        sa.update(s.orders).where(s.orders.c.CreditOfOrderId.in_(doc_ids)).values(CreditOfOrderId=None)
    )
    conn.execute(sa.delete(s.orders).where(s.orders.c.Id.in_(doc_ids)))
