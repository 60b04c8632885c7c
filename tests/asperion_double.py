"""An Asperion double: a real HTTP server on loopback with an OAuth token endpoint and the
``/v1`` lists the Asperion endpoint description names, for several administrations.

There is no machine-readable description to check against offline; the shapes follow the
description's words (debtors, creditors, articles, sales and purchase invoices with lines, sales
orders with lines of bookingType "A" (with the article's SKU) or "T", outstanding invoices with
outstanding amount, date, age and days overdue, and the debtor's or creditor's name, number and
id); field names the description does not spell are the connector's inferred ones
(``connectors/asperion/mapping.py``). A list's object is also served alone at ``<list>/{id}``.
An administration without the sales-order module answers 403 on the sales-order list. The
administration is chosen with a tenant header: the endpoint list spells it ``X-TenantId``, the
REST API page ``X-Tenant-Id``; either is accepted, and both, when sent, must agree. Every API
request must name an administration the user may see. Refresh tokens are single use: each
refresh answers the next one of its chain.
"""

from __future__ import annotations

import random
import secrets
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests import loopback
from tests.loopback import JsonHandler

Json = dict[str, Any]
CENT = Decimal("0.01")


@dataclass
class Administration:
    id: str
    name: str
    debtors: list[Json] = field(default_factory=list)
    creditors: list[Json] = field(default_factory=list)
    articles: list[Json] = field(default_factory=list)
    sales_invoices: list[Json] = field(default_factory=list)
    purchase_invoices: list[Json] = field(default_factory=list)
    sales_orders: list[Json] = field(default_factory=list)
    has_sales_orders: bool = True  # the inTrade package or the sales-order module
    outstanding_sales: dict[str, Decimal] = field(default_factory=dict)  # invoice id -> outstanding
    outstanding_purchases: dict[str, Decimal] = field(default_factory=dict)


def _lines(rng: random.Random, articles: list[Json]) -> tuple[list[Json], Decimal, Decimal]:
    lines, ex_vat, vat = [], Decimal(0), Decimal(0)
    for k in range(rng.randint(1, 3)):
        article = rng.choice(articles)
        qty, price = Decimal(rng.randint(1, 12)), Decimal(str(article["salesPrice"]))
        total = (qty * price).quantize(CENT)
        ex_vat += total
        vat += (total * Decimal("0.21")).quantize(CENT)
        lines.append(
            {
                "id": k + 1,
                "bookingType": "A",
                "articleSku": article["sku"],
                "description": article["description"],
                "quantity": float(qty),
                "unitPrice": float(price),
                "vatPercentage": 21.0,
                "totalExclVat": float(total),
            }
        )
    lines.append({"id": 99, "bookingType": "T", "description": "Bedankt voor uw bestelling"})
    return lines, ex_vat, vat


# Articles as a Dutch shop describes them, diacritics and all (the question suite searches them
# as a person types, without the diacritics and in any order).
ARTICLES = ("crème brûlée", "croissant beurré", "volkorenbrood", "appeltaart", "café au lait", "roggebrood")
# Invoices go back to the start of the year before last, so that a year is compared with the
# one before it (the question suite's quarters and year-on-year questions).
HISTORY_DAYS = 1050


def _invoice(rng: random.Random, prefix: str, n: int, today: date, articles: list[Json]) -> Json:
    day = today - timedelta(days=rng.randint(0, HISTORY_DAYS))
    lines, ex_vat, vat = _lines(rng, articles)
    return {
        "id": f"{prefix}{n}",
        "invoiceNumber": str(n),
        "invoiceDate": day.isoformat(),
        "dueDate": (day + timedelta(days=rng.choice((14, 30)))).isoformat(),
        "totalExclVat": float(ex_vat),
        "totalVat": float(vat),
        "totalInclVat": float(ex_vat + vat),
        "lines": lines,
    }


def make_administration(
    admin_id: str, name: str, seed: int, today: date, sales: int, purchases: int, orders: int = 0
) -> Administration:
    rng = random.Random(seed)
    adm = Administration(admin_id, name)
    tag = name.split()[0]
    adm.debtors = [
        {"id": seed * 100 + i, "debtorNumber": str(10000 + i), "name": f"{tag} klant {i}", "blocked": False}
        for i in range(1, 8)
    ]
    adm.creditors = [
        {"id": seed * 100 + 50 + i, "creditorNumber": str(20000 + i), "name": f"{tag} leverancier {i}"}
        for i in range(1, 5)
    ]
    adm.articles = [
        {
            "id": i,
            "sku": f"{tag[:3].upper()}-{i}",
            "description": f"{tag} {ARTICLES[i - 1]}",
            "salesPrice": rng.randint(300, 9000) / 100,
        }
        for i in range(1, 7)
    ]
    for n in range(1, sales + 1):
        invoice = _invoice(rng, f"S{admin_id}-", 2026000 + n, today, adm.articles)
        invoice["debtorId"] = rng.choice(adm.debtors)["id"]
        adm.sales_invoices.append(invoice)
        _settle(rng, invoice, adm.outstanding_sales, today, n)
    for n in range(1, purchases + 1):
        invoice = _invoice(rng, f"P{admin_id}-", 5000 + n, today, adm.articles)
        invoice["creditorId"] = rng.choice(adm.creditors)["id"]
        invoice["invoiceNumber"] = f"INK-{n:04d}"
        adm.purchase_invoices.append(invoice)
        _settle(rng, invoice, adm.outstanding_purchases, today, n)
    for n in range(1, orders + 1):
        day = today - timedelta(days=rng.randint(0, 40))
        lines, ex_vat, vat = _lines(rng, adm.articles)
        adm.sales_orders.append(
            {
                "id": f"O{admin_id}-{n}",
                "orderNumber": str(9000 + n),
                "debtorId": rng.choice(adm.debtors)["id"],
                "orderDate": day.isoformat(),
                "deliveryDate": (day + timedelta(days=rng.choice((3, 7, 21)))).isoformat(),
                "description": f"{tag} order {n}",
                "totalExclVat": float(ex_vat),
                "totalVat": float(vat),
                "totalInclVat": float(ex_vat + vat),
                "lines": lines,
            }
        )
    return adm


def _settle(rng: random.Random, invoice: Json, outstanding: dict[str, Decimal], today: date, n: int) -> None:
    total = Decimal(str(invoice["totalInclVat"])).quantize(CENT)
    roll = rng.random()
    if roll < 0.35:
        outstanding[invoice["id"]] = total
    elif roll < 0.5:
        outstanding[invoice["id"]] = (total * Decimal(rng.randint(10, 90)) / 100).quantize(CENT)
    # Invoices get paid in the end: one due more than 90 days ago is settled, one in nine
    # excepted (what stays long overdue).
    if date.fromisoformat(invoice["dueDate"]) < today - timedelta(days=90) and n % 9:
        outstanding.pop(invoice["id"], None)


class AsperionDouble:
    def __init__(self, administrations: list[Administration], today: date) -> None:
        self.administrations = {a.id: a for a in administrations}
        self.today = today
        self.client_id = "asstio-test"
        self.refresh_tokens: dict[str, str] = {}  # live refresh token -> chain name
        self.access_tokens: set[str] = set()
        self.tenant_headers: list[str] = []  # the administration named by each API request
        self.refreshes = 0
        self.fail_once: str | None = None  # a request path prefix failed once (tests/loopback.py)
        self.fail_status = 404
        self.listed: list[str] = []
        # ids left out of the lists but still served alone: an object that slid from one page to
        # the one already read while the source deleted another
        self.unlisted: set[str] = set()
        self.lock = threading.Lock()

    def grant(self, chain: str) -> str:
        token = secrets.token_urlsafe(24)
        self.refresh_tokens[token] = chain
        return token

    def token(self, form: dict[str, str]) -> tuple[int, Json]:
        with self.lock:
            chain = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if (
                form.get("grant_type") != "refresh_token"
                or form.get("client_id") != self.client_id
                or chain is None
            ):
                return 400, {"error": "invalid_grant"}
            self.refreshes += 1
            access = secrets.token_urlsafe(24)
            self.access_tokens.add(access)
            return 200, {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": self.grant(chain),
            }

    def api(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return 401, {"message": "Unauthorized"}
        named = {v for v in (headers.get("X-TenantId"), headers.get("X-Tenant-Id")) if v}
        if len(named) != 1:
            return 400, {"message": "name one administration in X-TenantId (or X-Tenant-Id)"}
        adm = self.administrations.get(named.pop())
        if adm is None:
            return 403, {"message": "no access to this administration"}
        self.tenant_headers.append(adm.id)
        if path.lower().startswith("/v1/salesorderwithlines") and not adm.has_sales_orders:
            return 403, {"message": "the administration has no sales-order module"}
        items = self.items(adm, path)
        if items is None:
            parent, _, key = path.rpartition("/")
            found = [i for i in self.items(adm, parent) or [] if str(i["id"]) == key]
            return (200, found[0]) if found else (404, {"message": "Not Found"})
        items = [i for i in items if str(i.get("id")) not in self.unlisted]
        page, size = int(query.get("page", 1)), int(query.get("pageSize", 25))
        pages = (len(items) + size - 1) // size
        return 200, {
            "data": items[(page - 1) * size : page * size],
            "page": page,
            "pageSize": size,
            "totalPages": pages,
        }

    def items(self, adm: Administration, path: str) -> list[Json] | None:
        if path == "/v1/outstandingsalesinvoices":
            return self.outstanding(adm.sales_invoices, adm.outstanding_sales, adm.debtors, "debtor")
        if path == "/v1/outstandingpurchaseinvoices":
            return self.outstanding(
                adm.purchase_invoices, adm.outstanding_purchases, adm.creditors, "creditor"
            )
        return {
            "/v1/debtors": adm.debtors,
            "/v1/creditors": adm.creditors,
            "/v1/articles": adm.articles,
            "/v1/salesinvoiceswithlines": adm.sales_invoices,
            "/v1/purchaseinvoiceswithlines": adm.purchase_invoices,
            "/v1/salesorderwithlines": adm.sales_orders,
        }.get(path.lower())

    def outstanding(
        self, invoices: list[Json], open_: dict[str, Decimal], parties: list[Json], kind: str
    ) -> list[Json]:
        by_id = {p["id"]: p for p in parties}
        rows = []
        for invoice in invoices:
            if invoice["id"] not in open_:
                continue
            party = by_id.get(invoice[f"{kind}Id"]) or {"id": invoice[f"{kind}Id"], "name": None}
            rows.append(
                {
                    "invoiceId": invoice["id"],
                    "invoiceNumber": invoice["invoiceNumber"],
                    "invoiceDate": invoice["invoiceDate"],
                    "dueDate": invoice["dueDate"],
                    "outstandingAmount": float(open_[invoice["id"]]),
                    "age": (self.today - date.fromisoformat(invoice["invoiceDate"])).days,
                    "daysOverdue": (self.today - date.fromisoformat(invoice["dueDate"])).days,
                    f"{kind}Id": party["id"],
                    f"{kind}Name": party["name"],
                    f"{kind}Number": party.get(f"{kind}Number"),
                }
            )
        return rows


class _Handler(JsonHandler):
    double: AsperionDouble

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.double.listed.append(self.path)
        if self.failed_once():
            return None
        self.send_json(
            *self.double.api(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, self.headers)
        )

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/connect/token":
            return self.send_json(404, {"message": "Not Found"})
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.send_json(*self.double.token(form))


def serve(double: AsperionDouble) -> AbstractContextManager[str]:
    return loopback.serve(_Handler, double)
