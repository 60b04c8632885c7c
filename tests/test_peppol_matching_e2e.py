"""End to end: an official example e-invoice is imported into a tenant whose goods receipts carry
the example's seller item ids, and suggest_invoice_matches ranks those receipts first, through
REST and through MCP; the drafts and inbound-documents views say where it came from."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.peppol.importer import import_document
from tests.peppol_support import example, expected
from tests.support import LiveServer, mcp_session, rest_client, start_server, walk
from tools import schema as s

EXAMPLE = "ubl-tc434-example1.xml"


def _next(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.Id), 0) + 1)).scalar_one())


def _purchase_status(conn: sa.Connection) -> int:
    st, stt = s.order_statuses, s.order_status_types
    return int(
        conn.execute(
            sa.select(st.c.Id)
            .join(stt, stt.c.Id == st.c.OrderStatusTypeId)
            .where(stt.c.SystemName == "PURCHASEORDER", st.c.IsPurchase.is_(True))
            .order_by(st.c.Id)
            .limit(1)
        ).scalar_one()
    )


def add_purchase_order(
    conn: sa.Connection, vendor_id: int, lines: list[tuple[int, str, Decimal, Decimal]], received: datetime
) -> list[int]:
    """A PO of the vendor with one line and one unbooked receipt per (product, sku, qty, EUR price);
    returns the receipts' ids."""
    eur = conn.execute(sa.select(s.currencies).where(s.currencies.c.IsoCode == "EUR")).one()
    order_id = _next(conn, s.orders)
    total = sum((qty * price for _, _, qty, price in lines), Decimal(0))
    conn.execute(
        sa.insert(s.orders).values(
            Id=order_id,
            OrderStatusId=_purchase_status(conn),
            CompanyId=vendor_id,
            PurchaseNumber=order_id,
            DateOrder=received - timedelta(days=10),
            DateDelivery=received,
            CurrencyId=eur.Id,
            TotalExVat=total,
            TotalVat=0,
            TotalIncVat=total,
        )
    )
    receipts = []
    for line_no, (product_id, sku, qty, price) in enumerate(lines, start=1):
        item_id, receipt_id = _next(conn, s.order_items), _next(conn, s.inv_transactions)
        conn.execute(
            sa.insert(s.order_items).values(
                Id=item_id,
                OrderId=order_id,
                LineNo=line_no,
                ProductId=product_id,
                Description=sku,
                VendorProductNumber=sku,
                QtyOrdered=qty,
                QtyDelivered=qty,
                Price=price,
                Discount=0,
                VatRate=Decimal("0.06"),
                SumExVat=qty * price,
                SumIncVat=qty * price,
            )
        )
        conn.execute(
            sa.insert(s.inv_transactions).values(
                Id=receipt_id,
                OrderItemId=item_id,
                ProductId=product_id,
                Qty=qty,
                UnitPriceSek=price * Decimal(str(eur.RateToSek)),
                DateTransaction=received,
                IsBooked=False,
            )
        )
        receipts.append(receipt_id)
    return receipts


def prepare_tenant(engine: sa.Engine) -> dict[int, int]:
    """The example's seller as a vendor, a PO whose receipts carry the example's seller item ids,
    qty and price, and a decoy PO of the same items (other qty, price and date). Returns the
    right receipt per invoice line index (lines with a positive amount)."""
    want = expected(EXAMPLE)
    issued = datetime.combine(want.issue_date, datetime.min.time())
    goods = [
        (index, sku, qty, total / qty)
        for index, (sku, qty, total) in enumerate(
            zip(want.seller_item_ids, want.quantities, want.line_totals, strict=True)
        )
        if sku and total > 0
    ]
    with engine.begin() as conn:
        vendor_id = _next(conn, s.companies)
        conn.execute(
            sa.insert(s.companies).values(
                Id=vendor_id,
                ContactNumber=vendor_id,
                Name="De Koksmaat",
                Orgno=want.seller_org_number,
                IsCustomer=False,
                IsVendor=True,
                Inactive=False,
                CreditStop=False,
            )
        )
        first_product = _next(conn, s.products)
        conn.execute(
            sa.insert(s.products),
            [
                {
                    "Id": first_product + n,
                    "ProductNumber": f"KM-{sku}",
                    "Description": f"Koksmaat {sku}",
                    "IsActive": True,
                    "DefaultPrice": price,
                }
                for n, (_, sku, _, price) in enumerate(goods)
            ],
        )
        items = [(first_product + n, sku, qty, price) for n, (_, sku, qty, price) in enumerate(goods)]
        add_purchase_order(
            conn,
            vendor_id,
            [(p, sku, qty + 5, price * Decimal("1.3")) for p, sku, qty, price in items],
            issued - timedelta(days=40),
        )
        right = add_purchase_order(conn, vendor_id, items, issued - timedelta(days=2))
    return {index: receipt for (index, *_), receipt in zip(goods, right, strict=True)}


@pytest.fixture(scope="module")
def tenant_url(sqlite_tenants: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the seeded demo tenant, so the session's shared tenants stay as they are."""
    path = tmp_path_factory.mktemp("einvoice-e2e") / "demo.db"
    shutil.copy(sa.make_url(sqlite_tenants["demo"]).database or "", path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def live(tenant_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("einvoice-server"), {"demo": tenant_url})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def imported(tenant_url: str) -> tuple[int, dict[int, int]]:
    engine = sa.create_engine(tenant_url)
    right = prepare_tenant(engine)
    result = import_document(engine, example(EXAMPLE), source="file")
    unknown = import_document(engine, example("ubl-tc434-example9.xml"), source="file")
    engine.dispose()
    assert result.draft_id is not None and unknown.state == "parked"
    return result.draft_id, right


@pytest.fixture
async def rest(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_client(live) as client:
        yield client


def top_receipts(body: dict[str, Any]) -> dict[int, int]:
    return {
        line["invoiceLineIndex"]: line["candidates"][0]["invTransactionId"]
        for line in body["suggestions"]
        if line["candidates"]
    }


async def test_suggest_ranks_the_receipts_of_the_invoiced_items_first_over_rest(
    rest: httpx.AsyncClient, imported: tuple[int, dict[int, int]]
) -> None:
    draft_id, right = imported
    response = await rest.get(f"/purchase-invoice-matches/{draft_id}")
    assert response.status_code == 200, response.text
    top = top_receipts(response.json())
    assert {index: top.get(index) for index in right} == right
    assert len(right) == 19


async def test_suggest_ranks_the_receipts_of_the_invoiced_items_first_over_mcp(
    live: LiveServer, imported: tuple[int, dict[int, int]]
) -> None:
    draft_id, right = imported
    async with mcp_session(live, sub="einvoice-mcp") as session:
        result = await session.call_tool("suggest_invoice_matches", {"invoiceId": draft_id})
    assert not result.is_error, result.content
    top = top_receipts(result.structured_content or {})
    assert {index: top.get(index) for index in right} == right


async def test_the_drafts_view_says_the_draft_came_from_a_valid_e_invoice(
    rest: httpx.AsyncClient, live: LiveServer, imported: tuple[int, dict[int, int]]
) -> None:
    draft_id, _ = imported
    want = expected(EXAMPLE)
    body = (await rest.get("/purchase-invoice-drafts", params={"q": want.number})).json()
    (draft,) = [row for row in body["items"] if row["invoiceId"] == draft_id]
    assert (draft["source"], draft["documentType"], draft["validationState"]) == ("file", "invoice", "valid")
    assert draft["validationFindingCount"] == 0 and len(draft["sourceId"]) == 64
    assert (draft["invoiceNumber"], draft["currencyIsoCode"]) == (want.number, want.currency)
    demo_drafts = (await rest.get("/purchase-invoice-drafts", params={"matchState": "any"})).json()["items"]
    assert {row["source"] for row in demo_drafts if row["invoiceId"] != draft_id} == {None}


async def test_the_parked_document_is_listed_with_why_through_rest_and_mcp(
    rest: httpx.AsyncClient, live: LiveServer, imported: tuple[int, dict[int, int]]
) -> None:
    want = expected("ubl-tc434-example9.xml")
    body = (await rest.get("/inbound-documents")).json()
    (parked,) = body["items"]
    assert (parked["state"], parked["invoiceNumber"], parked["invoiceId"]) == ("parked", want.number, None)
    assert (
        want.seller_org_number in parked["reason"] and want.seller_org_number in parked["supplierIdentifiers"]
    )
    async with mcp_session(live, sub="einvoice-mcp-2") as session:
        result = await session.call_tool("list_inbound_documents", {})
    assert not result.is_error and result.structured_content == body
    imported_docs = (await rest.get("/inbound-documents", params={"state": "imported"})).json()["items"]
    assert [row["invoiceId"] for row in imported_docs] == [imported[0]]


async def test_inbound_documents_filter_by_source_and_text_and_page_with_a_cursor(
    rest: httpx.AsyncClient, imported: tuple[int, dict[int, int]]
) -> None:
    every = await walk(rest, "/inbound-documents", state="any", pageSize=1)
    assert [row["invoiceNumber"] for row in every] == [
        expected("ubl-tc434-example9.xml").number,  # received last, listed first
        expected(EXAMPLE).number,
    ]
    assert await walk(rest, "/inbound-documents", state="any", source="maventa") == []
    found = await walk(rest, "/inbound-documents", state="any", q=expected(EXAMPLE).number)
    assert [row["invoiceId"] for row in found] == [imported[0]]
    bad = await rest.get("/inbound-documents", params={"state": "lost"})
    assert bad.status_code == 400 and "state" in bad.json()["message"]
