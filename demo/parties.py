"""Customers and vendors: the ``Company`` rows and what documents need to know about each party."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from demo import names
from demo.bulk import Row, as_row
from demo.chance import popularity
from demo.run import CURRENCY_ID, Run, clamp
from tools.reference import PAYMENT_TERMS
from tools.schema import companies

CUSTOMER, VENDOR, BOTH = "customer", "vendor", "both"
DEFAULT_TERM_DAYS = 30
EXEMPT_VAT_TYPES = (3, 4)
PRICE_FACTOR_PCT = {None: 100, 1: 100, 2: 85, 3: 80, 7: 95}
CREDIT_LIMITS = (20_000, 50_000, 100_000, 150_000, 250_000, 500_000, 1_000_000)
EXPORT_CURRENCIES = ("EUR", "USD", "NOK")


@dataclass(frozen=True, slots=True)
class Party:
    id: int
    name: str
    currency_id: int  # the company's own currency, else the tenant's
    term_days: int
    vat_exempt: bool
    price_factor_pct: int
    inactive: bool


@dataclass(frozen=True)
class Parties:
    customers: list[Party]
    customer_weights: list[float]  # cumulative, for rng.choices
    vendors: list[Party]
    vendor_weights: list[float]
    rows: list[Row]


def customer_count(orders: int) -> int:
    return clamp(orders // 200, 60, 8000)


def vendor_count(orders: int) -> int:
    return clamp(orders // 2000, 15, 600)


def build_parties(run: Run) -> Parties:
    rng = run.rng("companies")
    roles = _roles(rng, customer_count(run.orders), vendor_count(run.orders))
    featured = names.FEATURED_CUSTOMERS + names.FEATURED_VENDORS
    company_names = names.company_names(rng, len(roles), featured)
    rows: list[Row] = []
    customers: list[Party] = []
    vendors: list[Party] = []
    for index, (company_id, role, name) in enumerate(
        zip(run.ids(len(roles)), roles, company_names, strict=True)
    ):
        company = _company(rng, run, role, name, featured=index < len(featured))
        rows.append(as_row(companies, Id=company_id, ContactNumber=10001 + index, **company))
        party = _party(run, company_id, company)
        if role != VENDOR:
            customers.append(party)
        if role != CUSTOMER:
            vendors.append(party)
    return Parties(
        customers, popularity(rng, len(customers), 0.9), vendors, popularity(rng, len(vendors), 0.9), rows
    )


def _roles(rng: random.Random, customers: int, vendors: int) -> list[str]:
    both = max(2, vendors // 10)
    featured_customers, featured_vendors = len(names.FEATURED_CUSTOMERS), len(names.FEATURED_VENDORS)
    rest = (
        [CUSTOMER] * (customers - both - featured_customers)
        + [VENDOR] * (vendors - both - featured_vendors)
        + [BOTH] * both
    )
    rng.shuffle(rest)
    return [CUSTOMER] * featured_customers + [VENDOR] * featured_vendors + rest


def _company(
    rng: random.Random, run: Run, role: str, name: names.CompanyName, *, featured: bool
) -> dict[str, Any]:
    currency_id = _own_currency(rng, run, name)
    is_customer = role != VENDOR
    return {
        "Name": name.name,
        "Orgno": names.org_number(rng, name.native_currency),
        "IsCustomer": is_customer,
        "IsVendor": role != CUSTOMER,
        "Inactive": not featured and rng.random() < 0.05,
        "CreditLimit": _credit_limit(rng) if is_customer else None,
        "CreditStop": is_customer and not featured and rng.random() < 0.03,
        "PaymentTermId": rng.choices((3, 2, 1, 4, 5, None), (50, 15, 10, 15, 4, 6))[0],
        "DeliveryTermId": rng.choices((1, 2, 3, 4, None), (40, 35, 10, 5, 10))[0],
        "PriceListId": _price_list(rng, currency_id),
        "CurrencyId": currency_id,
        "VatTypeId": _vat_type(rng, currency_id),
    }


def _own_currency(rng: random.Random, run: Run, name: names.CompanyName) -> int | None:
    """``None`` (the usual case) means the company trades in the tenant's currency."""
    code = name.native_currency
    if code is None and rng.random() < 0.05:
        code = rng.choice(EXPORT_CURRENCIES)
    if code is None or CURRENCY_ID[code] == run.currency_id:
        return None
    return CURRENCY_ID[code]


def _credit_limit(rng: random.Random) -> Decimal | None:
    return Decimal(rng.choice(CREDIT_LIMITS)).quantize(Decimal("0.01")) if rng.random() < 0.65 else None


def _price_list(rng: random.Random, currency_id: int | None) -> int | None:
    if currency_id is not None:
        return 7 if rng.random() < 0.7 else 1
    return rng.choices((1, 2, 3, None), (55, 18, 15, 12))[0]


def _vat_type(rng: random.Random, currency_id: int | None) -> int | None:
    if currency_id is not None:
        return 4 if rng.random() < 0.85 else 1
    return rng.choices((1, None, 3, 2), (78, 12, 6, 4))[0]


def _party(run: Run, company_id: int, company: dict[str, Any]) -> Party:
    term_id = company["PaymentTermId"]
    return Party(
        id=company_id,
        name=company["Name"],
        currency_id=company["CurrencyId"] or run.currency_id,
        term_days=PAYMENT_TERMS[term_id][1] if term_id else DEFAULT_TERM_DAYS,
        vat_exempt=company["VatTypeId"] in EXEMPT_VAT_TYPES,
        price_factor_pct=PRICE_FACTOR_PCT[company["PriceListId"]],
        inactive=company["Inactive"],
    )
