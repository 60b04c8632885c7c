"""The company profile, summaries and receivables: shapes, rules and refusals a user would notice
(their figures are checked against SQL of the question suite, tests/test_questions.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from demo.tenants import seed_database
from tests.support import TODAY, LiveServer, rest_client, start_server
from tools.source_schema import sync_state


async def test_the_profile_names_today_and_each_tenants_home_currency(server: LiveServer) -> None:
    for tenant, home in (("demo", "SEK"), ("demo-b", "EUR")):
        async with rest_client(server, tenant) as rest:
            profile = (await rest.get("/company-profile")).json()
        assert profile["today"] == TODAY.isoformat()
        assert profile["homeCurrencyIsoCode"] == home
        rates = {c["currencyIsoCode"]: Decimal(str(c["rateToHome"])) for c in profile["currencies"]}
        assert rates[home] == 1
        assert profile["dataFreshness"]["sources"] is None
        assert profile["matchingTolerances"]["autoEligibleScore"] == 70


async def test_eur_converts_at_the_ratio_of_the_erps_sek_rates(rest: httpx.AsyncClient) -> None:
    profile = (await rest.get("/company-profile")).json()
    eur = next(c for c in profile["currencies"] if c["currencyIsoCode"] == "EUR")
    assert eur["rateToHome"] == 11.45  # demo is in SEK; the ERP keeps 1 EUR = 11.45 SEK


async def test_a_summary_defaults_to_this_month_so_far(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/summary", params={"measure": "sales"})).json()
    assert (body["from"], body["to"]) == (TODAY.replace(day=1).isoformat(), TODAY.isoformat())
    assert [p["period"] for p in body["periods"]] == [f"{TODAY:%Y-%m}"]
    assert Decimal(str(body["total"]["amountHome"])) == sum(
        Decimal(str(c["amountHome"])) for c in body["total"]["byCurrency"]
    )


async def test_a_summary_lists_every_period_of_the_range_even_empty_ones(rest: httpx.AsyncClient) -> None:
    body = (
        await rest.get("/summary", params={"measure": "purchases", "period": "week", "from": "2026-11-01"})
    ).json()
    assert [p["period"] for p in body["periods"]] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert body["periods"][0]["start"] == "2026-10-26"  # the ISO week holding 1 November starts on Monday


async def test_groups_are_cut_at_top_and_say_so(rest: httpx.AsyncClient) -> None:
    body = (
        await rest.get(
            "/summary", params={"measure": "sales", "period": "year", "groupBy": "customer", "top": 3}
        )
    ).json()
    assert len(body["groups"]) == 3 and body["groupCount"] > 3 and body["truncated"] is True
    amounts = [g["amountHome"] for g in body["groups"]]
    assert amounts == sorted(amounts, reverse=True)
    assert all(len(g["periodAmountsHome"]) == len(body["periods"]) for g in body["groups"])


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"measure": "sales", "groupBy": "vendor"}, "groupBy"),
        ({"measure": "purchases", "customerId": 1}, "customerId"),
        ({"measure": "sales", "rankBy": "quantity", "groupBy": "customer"}, "rankBy"),
        ({"measure": "sales", "from": "2026-11-10", "to": "2026-11-01"}, "from"),
        ({"measure": "sales", "period": "day", "from": "2025-01-01"}, "period"),
        ({"measure": "sales", "from": "11/01/2026"}, "from"),
        ({"measure": "turnover"}, "measure"),
    ],
)
async def test_a_summary_refuses_what_it_cannot_answer_naming_the_parameter(
    rest: httpx.AsyncClient, params: dict[str, object], named: str
) -> None:
    response = await rest.get("/summary", params={k: str(v) for k, v in params.items()})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and f"'{named}'" in response.json()["message"]


async def test_receivables_totals_add_up_over_every_matching_customer(rest: httpx.AsyncClient) -> None:
    everyone = (await rest.get("/receivables", params={"limit": 100})).json()
    assert not everyone["truncated"]
    for bucket in ("notDue", "overdue1To30", "overdue31To60", "overdue61To90", "overdueOver90", "open"):
        column = sum(Decimal(str(c[bucket])) for c in everyone["customers"])
        assert Decimal(str(everyone["totals"][bucket])) == column
    first = (await rest.get("/receivables", params={"limit": 1})).json()
    assert first["totals"] == everyone["totals"] and first["truncated"] is True


async def test_a_customer_row_agrees_with_the_customer_list(rest: httpx.AsyncClient) -> None:
    rows = (await rest.get("/receivables", params={"limit": 5})).json()["customers"]
    listed = (
        await rest.get("/customers", params={"openMin": "0.01", "pageSize": 100, "inactive": "true"})
    ).json()
    owed = {c["id"]: (c["openAmountHome"], c["overdueAmountHome"]) for c in listed["items"]}
    for row in rows:
        assert owed[row["customerId"]] == (row["open"], row["overdue"])


async def test_receivables_refuse_a_bad_minimum(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/receivables", params={"overdueMin": "lots"})
    assert response.status_code == 400 and "'overdueMin'" in response.json()["message"]


async def test_the_profile_says_when_each_synced_source_last_succeeded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'synced.db'}"
    seed_database(url, seed=5, orders=200, today=TODAY, draft_lines=10)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(sync_state).values(
                Source="fortnox", Stream="invoices", LastSuccessAt=datetime(2026, 11, 20, 6, 30)
            )
        )
    engine.dispose()
    server = start_server(tmp_path / "server", {"demo": url})
    try:
        async with rest_client(server) as rest:
            freshness = (await rest.get("/company-profile")).json()["dataFreshness"]
    finally:
        server.stop()
    assert freshness["sources"] == [
        {
            "source": "fortnox",
            "stream": "invoices",
            "lastSuccessfulSyncAt": "2026-11-20T06:30:00Z",
            "lastFailedSyncAt": None,
            "lastError": None,
        }
    ]
