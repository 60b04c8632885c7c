"""The company profile: ``GET /company-profile``, what a reader needs to interpret every figure."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from tools import schema as s
from tools.capabilities import lacking_arguments, missing_reason, source_kind, source_label
from tools.home_currency import HomeCurrency, home_currency
from tools.matching.models import Tolerances
from tools.presence import has_table
from tools.source_schema import sync_state
from tools.view import View, ViewContext, register, registered_views
from tools.wire import Exact, IsoDate, Params, UtcDateTime, WireModel

LOCATIONS_SHOWN = 20


class CompanyProfileParams(Params):
    pass


class CurrencyRateDto(WireModel):
    currency_id: int
    currency_iso_code: str
    name: str
    rate_to_home: Exact = Field(
        description="Value of one unit in the home currency, six decimals; amountHome = amount x rate, "
        "rounded to the cent"
    )


class StatusDto(WireModel):
    id: int
    name: str
    is_order_intake: bool = Field(description="Counts as order intake (the order book)")
    is_sales: bool = Field(description="Counts as revenue")
    is_purchase: bool = Field(description="An active purchase order")


class DocumentTypeDto(WireModel):
    system_name: str = Field(description="SALESORDER, SALESINVOICE, SALESCREDIT or PURCHASEORDER")
    name: str
    statuses: list[StatusDto]


class LocationDto(WireModel):
    id: int
    name: str


class WarehouseDto(WireModel):
    id: int
    name: str
    location_count: int
    locations: list[LocationDto] = Field(description=f"The first {LOCATIONS_SHOWN} locations by name")


class SourceFreshnessDto(WireModel):
    source: str = Field(description="Where the data comes from, e.g. fortnox")
    stream: str = Field(description="What of it, e.g. invoices")
    last_successful_sync_at: UtcDateTime | None
    last_failed_sync_at: UtcDateTime | None
    last_error: str | None


class DataFreshnessDto(WireModel):
    latest_document_date: UtcDateTime | None = Field(description="The newest order date in the data")
    sources: list[SourceFreshnessDto] | None = Field(
        description="Per connected source its last successful sync; null when no connector feeds the data"
    )


class CompanyProfileDto(WireModel):
    today: IsoDate = Field(description="The server's date (UTC): 'overdue', 'late' and default ranges use it")
    home_currency_iso_code: str = Field(description="Currency of every *Home amount")
    currencies: list[CurrencyRateDto]
    document_types: list[DocumentTypeDto]
    warehouses: list[WarehouseDto]
    matching_tolerances: Tolerances
    data_freshness: DataFreshnessDto
    source: str | None = Field(
        description="Where the tenant's books are kept (Fortnox, Wisedat, Asperion); null when read directly"
    )
    views: list[ViewCoverageDto] = Field(
        description="Per view whether the tenant's source fills it; one it does not answers not_in_source"
    )


class ViewCoverageDto(WireModel):
    view: str
    tool: str
    filled: bool
    missing: str | None = Field(
        description="What the source does not provide (for a filled view: the arguments it cannot answer); "
        "null when nothing is missing"
    )


def company_profile(conn: sa.Connection, ctx: ViewContext, params: CompanyProfileParams) -> CompanyProfileDto:
    home = home_currency(conn, ctx)
    latest = conn.scalar(sa.select(sa.func.max(s.orders.c.DateOrder)))
    return CompanyProfileDto(
        today=ctx.today,
        home_currency_iso_code=home.iso_code,
        currencies=_currencies(home),
        document_types=_document_types(conn),
        warehouses=_warehouses(conn),
        matching_tolerances=Tolerances.model_validate(ctx.options.get("matching", {})),
        data_freshness=DataFreshnessDto(latest_document_date=_datetime(latest), sources=_sources(conn, ctx)),
        source=None if (kind := source_kind(ctx.options)) is None else source_label(kind),
        views=_coverage(ctx),
    )


def _coverage(ctx: ViewContext) -> list[ViewCoverageDto]:
    coverage = []
    for view in registered_views():
        missing = missing_reason(ctx.options, view.name)
        partly = lacking_arguments(ctx.options, view.name)
        coverage.append(
            ViewCoverageDto(view=view.name, tool=view.tool, filled=missing is None, missing=missing or partly)
        )
    return coverage


def _sources(conn: sa.Connection, ctx: ViewContext) -> list[SourceFreshnessDto] | None:
    """Per synced source and stream its last sync; None when no connector feeds this database
    (a demo tenant, or an ERP database read directly, which may not have the table)."""
    if not has_table(conn, ctx, sync_state):
        return None
    rows = conn.execute(sa.select(sync_state).order_by(sync_state.c.Source, sync_state.c.Stream)).all()
    return [
        SourceFreshnessDto(
            source=row.Source,
            stream=row.Stream,
            last_successful_sync_at=_datetime(row.LastSuccessAt),
            last_failed_sync_at=_datetime(row.LastErrorAt),
            last_error=row.LastError,
        )
        for row in rows
    ] or None


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _currencies(home: HomeCurrency) -> list[CurrencyRateDto]:
    return [
        CurrencyRateDto(
            currency_id=r.currency_id, currency_iso_code=r.iso_code, name=r.name, rate_to_home=r.to_home
        )
        for r in sorted(home.rates.values(), key=lambda r: r.currency_id)
    ]


def _document_types(conn: sa.Connection) -> list[DocumentTypeDto]:
    st, ost = s.order_statuses, s.order_status_types
    rows = conn.execute(
        sa.select(ost.c.SystemName, ost.c.Name.label("TypeName"), st)
        .join(ost, ost.c.Id == st.c.OrderStatusTypeId)
        .order_by(ost.c.Id, st.c.Id)
    ).all()
    return [
        DocumentTypeDto(system_name=system_name, name=type_name, statuses=[_status(r) for r in statuses])
        for (system_name, type_name), statuses in groupby(rows, key=lambda r: (r.SystemName, r.TypeName))
    ]


def _status(row: Any) -> StatusDto:
    return StatusDto(
        id=row.Id,
        name=row.Name,
        is_order_intake=row.IsOrderIntake,
        is_sales=row.IsSales,
        is_purchase=row.IsPurchase,
    )


def _warehouses(conn: sa.Connection) -> list[WarehouseDto]:
    w, loc = s.warehouses, s.warehouse_locations
    numbered = sa.func.row_number().over(partition_by=loc.c.WarehouseId, order_by=(loc.c.Name, loc.c.Id))
    shown = sa.select(loc.c.Id, loc.c.WarehouseId, loc.c.Name, numbered.label("N")).subquery()
    counts = sa.select(loc.c.WarehouseId, sa.func.count().label("Count")).group_by(loc.c.WarehouseId)
    count_of: dict[int, int] = {row.WarehouseId: row.Count for row in conn.execute(counts)}
    locations = conn.execute(
        sa.select(shown).where(shown.c.N <= LOCATIONS_SHOWN).order_by(shown.c.WarehouseId, shown.c.N)
    ).all()
    by_warehouse = {key: list(rows) for key, rows in groupby(locations, key=lambda r: r.WarehouseId)}
    return [
        WarehouseDto(
            id=row.Id,
            name=row.Name,
            location_count=count_of.get(row.Id, 0),
            locations=[LocationDto(id=r.Id, name=r.Name) for r in by_warehouse.get(row.Id, [])],
        )
        for row in conn.execute(sa.select(w.c.Id, w.c.Name).order_by(w.c.Id))
    ]


register(
    View(
        name="company-profile",
        tool="get_company_profile",
        method="GET",
        path="/company-profile",
        params=CompanyProfileParams,
        result=CompanyProfileDto,
        query=company_profile,
        title="Company profile: today, home currency, rates, statuses, warehouses",
        description=(
            "Call this first when a question depends on how to read the figures: the server's "
            "`today` (UTC; what 'overdue', 'late', 'this month' mean), the company's home currency "
            "and each currency's `rateToHome` (amountHome = amount x rate, to the cent), the order "
            "statuses of each document type with their flags (isOrderIntake: order book, isSales: "
            "revenue, isPurchase: active purchase order), warehouses with their locations, the "
            "3-way matching tolerances, and how fresh the data is. No arguments; small and cheap. "
            "For figures use summarize (sales, order intake, purchases per period) or "
            "get_receivables (overdue and aging per customer)."
        ),
    )
)
