"""What a tenant's source does not have is said, not hidden: a view its source cannot fill answers
``not_in_source`` naming the source on both doors, and the company profile lists what is filled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.core.config import SourceSettings
from tests.support import LiveServer, mcp_session, rest_client, start_server

SOURCES = {"demo": "wisedat", "demo-b": "asperion"}


@pytest.fixture(scope="module")
def sourced(sqlite_tenants: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo databases served as if synced from Wisedat (demo) and Asperion (demo-b)."""
    sources = {tenant: SourceSettings(kind=kind) for tenant, kind in SOURCES.items()}
    live = start_server(Path(tmp_path_factory.mktemp("sourced")), sqlite_tenants, sources=sources)
    yield live
    live.stop()


@pytest.mark.parametrize(
    ("tenant", "path", "tool", "source"),
    [
        ("demo", "/purchase-orders", "list_purchase_orders", "Wisedat"),
        ("demo", "/payables/aging", "get_payables_aging", "Wisedat"),
        ("demo-b", "/warehouse-stock", "list_warehouse_stock", "Asperion"),
    ],
)
async def test_a_view_the_source_cannot_fill_is_an_error_naming_the_source_on_both_doors(
    sourced: LiveServer, tenant: str, path: str, tool: str, source: str
) -> None:
    async with rest_client(sourced, tenant) as rest:
        response = await rest.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_in_source" and source in body["message"] and tool in body["message"]
    async with mcp_session(sourced, tenant) as session:
        result = await session.call_tool(tool, {})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "not_in_source" in text and source in text


async def test_a_summary_of_purchases_on_a_source_without_purchase_orders_says_so(
    sourced: LiveServer,
) -> None:
    async with rest_client(sourced, "demo") as rest:
        purchases = await rest.get("/summary", params={"measure": "purchases"})
        sales = await rest.get("/summary", params={"measure": "sales"})
    assert purchases.status_code == 404 and purchases.json()["code"] == "not_in_source"
    assert "Wisedat" in purchases.json()["message"]
    assert sales.status_code == 200


async def test_views_the_source_fills_still_answer(sourced: LiveServer) -> None:
    async with rest_client(sourced, "demo") as rest:
        invoices = await rest.get("/sales-invoices", params={"pageSize": 5})
    async with rest_client(sourced, "demo-b") as rest:
        payables = await rest.get("/payables/aging")
    assert invoices.status_code == 200 and invoices.json()["items"]
    assert payables.status_code == 200 and payables.json()["suppliers"]


async def test_the_profile_lists_per_view_whether_the_source_fills_it(
    sourced: LiveServer, server: LiveServer
) -> None:
    async with rest_client(sourced, "demo") as rest:
        profile = (await rest.get("/company-profile")).json()
    coverage = {v["view"]: v for v in profile["views"]}
    assert profile["source"] == "Wisedat"
    assert coverage["purchase-orders"]["filled"] is False and coverage["purchase-orders"]["missing"]
    assert coverage["summary"]["filled"] is True and "measure=purchases" in coverage["summary"]["missing"]
    assert coverage["sales-invoices"] == {
        "view": "sales-invoices",
        "tool": "list_sales_invoices",
        "filled": True,
        "missing": None,
    }
    async with rest_client(server, "demo") as rest:
        demo = (await rest.get("/company-profile")).json()
    assert demo["source"] is None and all(v["filled"] for v in demo["views"])
    assert {v["view"] for v in demo["views"]} == set(coverage)


def test_the_openapi_document_documents_the_error_code(sourced: LiveServer) -> None:
    document = httpx.get(sourced.url + "/api/v1/openapi.json", timeout=10).json()
    operation = document["paths"]["/api/v1/purchase-orders"]["get"]
    assert "not_in_source" in json.dumps(operation["responses"]["404"])
