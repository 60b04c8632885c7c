"""The fixed reference rows of ``tools.reference``, as rows of their tables (never offset)."""

from __future__ import annotations

import sqlalchemy as sa

from demo.bulk import Row, as_row
from tools.reference import (
    CURRENCIES,
    DELIVERY_TERMS,
    PAYMENT_TERMS,
    PRICE_LISTS,
    STATUS_TYPES,
    STATUSES,
    VAT_TYPES,
)
from tools.schema import (
    currencies,
    delivery_terms,
    order_status_types,
    order_statuses,
    payment_terms,
    price_lists,
    vat_types,
)


def reference_rows() -> dict[sa.Table, list[Row]]:
    return {
        currencies: [
            as_row(currencies, Id=c.id, IsoCode=c.iso_code, Name=c.name, RateToSek=c.rate_to_sek)
            for c in CURRENCIES
        ],
        payment_terms: [as_row(payment_terms, Id=i, Name=n, Days=d) for i, (n, d) in PAYMENT_TERMS.items()],
        delivery_terms: [as_row(delivery_terms, Id=i, Name=n) for i, n in DELIVERY_TERMS.items()],
        price_lists: [as_row(price_lists, Id=i, Name=n) for i, n in PRICE_LISTS.items()],
        vat_types: [as_row(vat_types, Id=i, Name=n, Rate=r) for i, (n, r) in VAT_TYPES.items()],
        order_status_types: [
            as_row(order_status_types, Id=i, SystemName=s, Name=n) for i, (s, n) in STATUS_TYPES.items()
        ],
        order_statuses: [
            as_row(
                order_statuses,
                Id=s.id,
                OrderStatusTypeId=s.type_id,
                Name=s.name,
                IsOrderIntake=s.is_order_intake,
                IsSales=s.is_sales,
                IsPurchase=s.is_purchase,
            )
            for s in STATUSES
        ],
    }


def missing_reference_rows(conn: sa.Connection) -> dict[sa.Table, list[Row]]:
    """Reference rows not yet in the database (a second tenant in one database shares them)."""
    missing = {}
    for table, rows in reference_rows().items():
        present = set(conn.execute(sa.select(table.c.Id)).scalars())
        missing[table] = [row for row in rows if row[0] not in present]
    return missing
