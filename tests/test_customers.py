"""Customers through both doors, against seeded SQLite and PostgreSQL, two tenants present."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from mcp.client.session import ClientSession

from tests.support import TODAY, LiveServer, walk
from tools import schema as s


def tenant_engine(server: LiveServer, tenant: str = "demo") -> sa.Engine:
    return sa.create_engine(server.settings.tenants[tenant])


def active_customer_ids(server: LiveServer, tenant: str = "demo", inactive: bool = False) -> list[int]:
    c = s.companies
    stmt = sa.select(c.c.Id).where(c.c.IsCustomer.is_(True))
    if not inactive:
        stmt = stmt.where(c.c.Inactive.is_(False))
    with tenant_engine(server, tenant).connect() as conn:
        return list(conn.scalars(stmt))


async def test_paging_through_customers_returns_every_customer_exactly_once_in_name_order(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, "/customers", pageSize=7)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(active_customer_ids(server))
    assert [(r["name"], r["id"]) for r in rows] == sorted((r["name"], r["id"]) for r in rows)


async def test_page_size_is_clamped_to_one_hundred(server: LiveServer, rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/customers", params={"pageSize": 1000, "inactive": "true"})).json()
    assert body["pageSizeApplied"] == 100
    assert len(body["items"]) == min(100, len(active_customer_ids(server, inactive=True)))


async def test_bad_parameters_are_400_envelopes_naming_the_parameter(rest: httpx.AsyncClient) -> None:
    for path, params, named in [
        ("/customers", {"pageSize": 0}, "pageSize"),
        ("/customers", {"pageSize": "ten"}, "pageSize"),
        ("/customers", {"cursor": "not-a-cursor!"}, "cursor"),
        ("/customers", {"inactive": "maybe"}, "inactive"),
        ("/customers/abc", {}, "customerId"),
    ]:
        response = await rest.get(path, params=params)
        assert response.status_code == 400, (path, params)
        body = response.json()
        assert body["code"] == "bad_request"
        assert named in body["message"]
        assert body["traceId"] == response.headers["x-trace-id"]
        assert response.headers["x-asstio-api-version"] == "v1"


async def test_a_cursor_is_bound_to_its_filters(rest: httpx.AsyncClient) -> None:
    first = (await rest.get("/customers", params={"pageSize": 2})).json()
    response = await rest.get("/customers", params={"pageSize": 2, "q": "a", "cursor": first["nextCursor"]})
    assert response.status_code == 400
    assert "cursor" in response.json()["message"]


async def test_another_tenants_customer_is_not_found(server: LiveServer, rest: httpx.AsyncClient) -> None:
    other_id = active_customer_ids(server, "demo-b")[0]
    response = await rest.get(f"/customers/{other_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    async with httpx.AsyncClient(base_url=server.url + "/api/v1", headers=server.headers("demo-b")) as b:
        assert (await b.get(f"/customers/{other_id}")).status_code == 200


async def test_customer_search_ignores_case_for_all_of_unicode(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    names = [r["name"] for r in await walk(rest, "/customers", pageSize=100)]
    with_a_ring = [n for n in names if "å" in n.lower()]
    assert with_a_ring, "the demo data has Swedish names"
    found = [r["name"] for r in await walk(rest, "/customers", q="Å", pageSize=100)]
    assert sorted(found) == sorted(n for n in names if "å" in n.lower())


async def test_percent_and_underscore_match_literally(rest: httpx.AsyncClient) -> None:
    everyone = [r["name"] for r in await walk(rest, "/customers", pageSize=100, inactive="true")]
    for text in ("%", "_"):
        found = [r["name"] for r in await walk(rest, "/customers", q=text, pageSize=100, inactive="true")]
        assert sorted(found) == sorted(n for n in everyone if text in n)


async def test_inactive_customers_appear_only_when_asked(server: LiveServer, rest: httpx.AsyncClient) -> None:
    active = {r["id"] for r in await walk(rest, "/customers", pageSize=100)}
    everyone = await walk(rest, "/customers", pageSize=100, inactive="true")
    inactive = {r["id"] for r in everyone if r["inactive"]}
    assert inactive and not inactive & active
    assert {r["id"] for r in everyone} == active | inactive


def expected_customer_figures(server: LiveServer, customer_id: int) -> dict[str, Any]:
    """The README's rules (Views), computed in Python from the raw ERP rows."""
    o, i, p, st, t = s.orders, s.order_items, s.payments, s.order_statuses, s.order_status_types
    with tenant_engine(server).connect() as conn:
        docs = conn.execute(
            sa.select(o.c.Id, o.c.TotalIncVat, o.c.DateDue, t.c.SystemName, st.c.IsOrderIntake, st.c.IsSales)
            .join(st, st.c.Id == o.c.OrderStatusId)
            .join(t, t.c.Id == st.c.OrderStatusTypeId)
            .where(o.c.CompanyId == customer_id)
        ).all()
        ids = [d.Id for d in docs]
        lines = conn.execute(
            sa.select(i.c.OrderId, i.c.QtyOrdered, i.c.QtyDelivered).where(i.c.OrderId.in_(ids))
        )
        open_docs = {line.OrderId for line in lines if line.QtyDelivered < line.QtyOrdered}
        paid: dict[int, Decimal] = {}
        for pay in conn.execute(sa.select(p.c.OrderId, p.c.Amount).where(p.c.OrderId.in_(ids))):
            paid[pay.OrderId] = paid.get(pay.OrderId, Decimal(0)) + pay.Amount
    overdue = sum(
        (
            max(d.TotalIncVat - paid.get(d.Id, Decimal(0)), Decimal(0))
            for d in docs
            if d.SystemName == "SALESINVOICE" and d.IsSales and d.DateDue and d.DateDue.date() < TODAY
        ),
        Decimal(0),
    )
    return {
        "openOrderCount": sum(
            1 for d in docs if d.SystemName == "SALESORDER" and d.IsOrderIntake and d.Id in open_docs
        ),
        "orderCount": sum(1 for d in docs if d.IsOrderIntake),
        "overdueOrderSum": float(overdue.quantize(Decimal("0.01"))),
    }


async def test_customer_figures_follow_the_document_model(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = await walk(rest, "/customers", pageSize=100)
    busiest = sorted(rows, key=lambda r: -r["openOrderCount"])[:3] + rows[:2]
    assert busiest[0]["openOrderCount"] > 0
    for row in busiest:
        detail = (await rest.get(f"/customers/{row['id']}")).json()
        expected = expected_customer_figures(server, row["id"])
        assert row["openOrderCount"] == expected["openOrderCount"]
        assert detail["orderCount"] == expected["orderCount"]
        assert detail["overdueOrderSum"] == expected["overdueOrderSum"]


async def test_customer_detail_has_every_field_of_the_seed(rest: httpx.AsyncClient) -> None:
    first = (await rest.get("/customers", params={"pageSize": 1})).json()["items"][0]
    response = await rest.get(f"/customers/{first['id']}")
    assert set(response.json()) == {
        "id", "contactNumber", "name", "orgno", "creditLimit", "overdueOrderSum", "creditStop",
        "paymentTermId", "paymentTermName", "deliveryTermId", "deliveryTermName", "priceListId",
        "priceListName", "currencyId", "currencyIsoCode", "vatTypeId", "vatTypeName", "inactive",
        "orderCount",
    }  # fmt: skip
    assert set(first) == {
        "id",
        "contactNumber",
        "name",
        "orgno",
        "currencyIsoCode",
        "inactive",
        "openOrderCount",
        "openAmountHome",  # additive (issue 14): what the customer owes, home currency
        "overdueAmountHome",
    }


async def test_money_is_written_with_two_decimals(rest: httpx.AsyncClient) -> None:
    rows = (await rest.get("/customers", params={"pageSize": 100})).json()["items"]
    response = await rest.get(f"/customers/{rows[0]['id']}")
    raw = response.text
    assert '"overdueOrderSum":' in raw
    value = raw.split('"overdueOrderSum":')[1].split(",")[0]
    assert value.count(".") == 1 and len(value.split(".")[1]) == 2


async def test_unknown_parameters_are_ignored(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/customers", params={"pageSize": 1, "someFutureFilter": "x"})
    assert response.status_code == 200


async def test_mcp_lists_both_customer_tools_with_schemas_and_read_only_annotations(
    mcp: ClientSession,
) -> None:
    tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    for name in ("list_customers", "get_customer"):
        tool = tools[name]
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.idempotent_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.annotations.open_world_hint is False
        for argument in tool.input_schema["properties"].values():
            assert argument.get("description")
    assert set(tools["list_customers"].input_schema["properties"]) == {
        "q",
        "inactive",
        "cursor",
        "pageSize",
        "overdueMin",  # additive (issue 14)
        "openMin",
    }
    assert tools["get_customer"].input_schema["required"] == ["customerId"]


async def test_mcp_and_rest_return_the_same_customer_bodies(
    mcp: ClientSession, rest: httpx.AsyncClient
) -> None:
    for arguments in ({"pageSize": 5}, {"q": "ab", "inactive": True, "pageSize": 3}):
        result = await mcp.call_tool("list_customers", arguments)
        assert not result.is_error
        rest_body = (await rest.get("/customers", params=arguments)).json()
        assert result.structured_content == rest_body
        assert json.loads(result.content[0].text) == rest_body  # type: ignore[union-attr]
    customer_id = rest_body["items"][0]["id"] if rest_body["items"] else 1
    result = await mcp.call_tool("get_customer", {"customerId": customer_id})
    assert result.structured_content == (await rest.get(f"/customers/{customer_id}")).json()


async def test_mcp_bad_arguments_and_not_found_are_error_results_with_the_envelope(
    mcp: ClientSession,
) -> None:
    bad = await mcp.call_tool("list_customers", {"pageSize": 0})
    assert bad.is_error
    envelope = json.loads(bad.content[0].text)  # type: ignore[union-attr]
    assert envelope["code"] == "bad_request" and "pageSize" in envelope["message"]
    missing = await mcp.call_tool("get_customer", {"customerId": 999_999_999})
    assert missing.is_error
    assert json.loads(missing.content[0].text)["code"] == "not_found"  # type: ignore[union-attr]
