"""A Wisedat API server double: a real HTTP server on loopback, shaped after the Wisedat API
description (``GET /status``, ``POST /authentication/login``, paged lists with ``limit``, ``page``,
``number_pages`` and ``modified_since``, details by ``?id=``).

``/status`` serves the public half of a key pair generated here; the login decrypts its
``WDAPI`` header with the private half and checks the three fields (API key, user, password).
Tokens are JWTs whose ``exp`` the double enforces (401 "Invalid/Inexistent/Expired token").
Data is made deterministically from a seed; ``modified`` stamps drive ``modified_since``.

``delete`` (and ``DELETE <list>?id=``) does what the description says: an order, invoice or
payment that is not closed is deleted, a closed one is cancelled (and so modified); a customer,
supplier or product is deleted. A deleted object is in no list and its detail answers 404; there
is no feed of deletions. ``unlisted`` ids are left out of lists though still there (an object that
slid between two pages while another was deleted).
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests import loopback
from tests.loopback import JsonHandler

Json = dict[str, Any]
START = datetime(2026, 1, 1, tzinfo=UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class WisedatData:
    customers: list[Json] = field(default_factory=list)
    suppliers: list[Json] = field(default_factory=list)
    products: list[Json] = field(default_factory=list)
    invoices: list[Json] = field(default_factory=list)
    orders: list[Json] = field(default_factory=list)
    payments: list[Json] = field(default_factory=list)
    warehouses: list[Json] = field(default_factory=list)
    company_currency: str = "EUR"


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _items(rng: random.Random, products: list[Json]) -> tuple[list[Json], Decimal, Decimal]:
    """Items as an invoice or order carries them: merchandise lines at 23 % VAT and a note."""
    items, merchandise, taxes = [], Decimal(0), Decimal(0)
    for _ in range(rng.randint(1, 4)):
        product = rng.choice(products)
        qty, price = Decimal(rng.randint(1, 20)), Decimal(str(product["price"]))
        ex_vat = (qty * price).quantize(Decimal("0.01"))
        merchandise += ex_vat
        taxes += (ex_vat * Decimal("0.23")).quantize(Decimal("0.01"))
        items.append(
            {
                "product": {
                    "id": product["id"],
                    "name": product["name"],
                    "barcode": product["barcode"],
                    "type": 1,
                },
                "tax": {"id": "NOR", "value": 23.0, "description": "Normal", "type": 1},
                "price": float(price),
                "quantity": float(qty),
                "discount": 0.0,
                "type": 1,
                "description": product["description"],
                "warehouse": 1,
            }
        )
    items.append({"type": 6, "description": "Obrigado pela preferência", "price": 0, "quantity": 0})
    return items, merchandise, taxes


# Product descriptions as a Portuguese shop writes them, diacritics and all (the question suite
# searches them as a person types, without the diacritics and in any order).
DESCRIPTIONS = (
    "Cadeira ergonómica",
    "Mesa de reunião",
    "Candeeiro de pé",
    "Armário metálico",
    "Estante dupla",
    "Secretária compacta",
    "Cabide de chão",
    "Tapete antiderrapante",
)


def make_data(
    seed: int = 7,
    invoices: int = 130,
    orders: int = 40,
    today: date = date(2026, 11, 20),
    *,
    history_days: int = 200,
    settled_after_days: int | None = None,
) -> WisedatData:
    """Invoices dated up to ``history_days`` back, every other one paid (a third of those by
    half). With ``settled_after_days``, an invoice due longer ago than that is settled a month
    after its due date, one in nine excepted: books of several years whose old invoices are
    mostly paid, as the question suite's year-on-year and receivables questions want."""
    rng = random.Random(seed)
    data = WisedatData()
    for i in range(1, 13):
        data.customers.append(
            {
                "id": i,
                "code": f"{1000 + i}",
                "name": f"Cliente {i} Lda",
                "tax_id": f"PT5{i:08d}",
                "active": i != 12,
            }
        )
    for i in range(1, 4):
        data.suppliers.append(
            {"id": 100 + i, "code": f"F{i}", "name": f"Fornecedor {i} SA", "tax_id": None, "active": True}
        )
    for i in range(1, 9):
        price = Decimal(rng.randint(200, 9000)) / 100
        data.products.append(
            {
                "id": i,
                "name": f"REF-{i:03d}",
                "description": DESCRIPTIONS[i - 1],
                "barcode": f"560{i:010d}",
                "price": float(price),
                "active": True,
            }
        )
    data.warehouses = [
        {"id": 1, "code": "A1", "description": "Armazém Lisboa"},
        {"id": 2, "code": "P1", "description": "Armazém Porto"},
    ]
    for product in data.products:
        product["stocks"] = [
            {
                "id_warehouse": wh,
                "id_location": loc,
                "id_lot": lot,
                "current_stock": float(rng.randint(0, 400)),
                "reserved_stock": float(rng.randint(0, 20)),
            }
            for wh in (1, 2)
            for loc in (1, 2)
            for lot in (0, 1)
            if rng.random() < 0.6
        ]
    for n in range(1, invoices + 1):
        customer = data.customers[rng.randrange(11)]
        day = today - timedelta(days=rng.randint(0, history_days))
        items, merchandise, taxes = _items(rng, data.products)
        currency = "USD" if n % 17 == 0 else "EUR"
        data.invoices.append(
            {
                "id": f"FT{n:05d}",
                "document_number": n,
                "customer": {k: customer[k] for k in ("id", "code", "name", "tax_id", "active")},
                "currency": {
                    "id": currency,
                    "description": currency,
                    "symbol": "$" if currency == "USD" else "€",
                    "decimal_cases": 2,
                },
                "exchange_rate": 0.92 if currency == "USD" else 1.0,
                "date": day.isoformat(),
                "expiration_date": (day + timedelta(days=30)).isoformat(),
                "canceled": n % 41 == 0,
                "closed": False,
                "merchandise": _money(merchandise),
                "postage": 0.0,
                "discounts": 0.0,
                "subtotal": _money(merchandise),
                "taxes": _money(taxes),
                "adjustment": 0.0,
                "total": _money(merchandise + taxes),
                "items": items,
            }
        )
    for n, invoice in enumerate(data.invoices[::2], start=1):
        if invoice["canceled"]:
            continue
        total = Decimal(str(invoice["total"]))
        value = total if n % 3 else (total / 2).quantize(Decimal("0.01"))
        data.payments.append(
            {
                "id": f"RC{n:05d}",
                "entity": dict(invoice["customer"], entity_type=0),
                "date": invoice["expiration_date"],
                "canceled": False,
                "received_value": _money(value),
                "associated_documents": [
                    {"id": invoice["id"], "received_value": _money(value), "discount_value": 0}
                ],
            }
        )
    if settled_after_days is not None:
        _settle_old(data, today - timedelta(days=settled_after_days))
    for n in range(1, orders + 1):
        customer = data.customers[rng.randrange(11)]
        day = today - timedelta(days=rng.randint(0, 60))
        items, merchandise, taxes = _items(rng, data.products)
        data.orders.append(
            {
                "id": f"EC{n:05d}",
                "document_number": n,
                "customer": {k: customer[k] for k in ("id", "code", "name", "tax_id", "active")},
                "sales_document": {"id": "EC", "description": "Encomenda", "document_type": 2},
                "currency": {"id": "EUR", "description": "Euro", "symbol": "€", "decimal_cases": 2},
                "exchange_rate": 1.0,
                "date": day.isoformat(),
                "expiration_date": (day + timedelta(days=14)).isoformat(),
                "canceled": n % 11 == 0,
                "closed": n % 3 == 0,
                "merchandise": _money(merchandise),
                "postage": 0.0,
                "discounts": 0.0,
                "subtotal": _money(merchandise),
                "taxes": _money(taxes),
                "adjustment": 0.0,
                "total": _money(merchandise + taxes),
                "your_reference": f"PO-{n}",
                "items": items,
            }
        )
    kinds = (data.customers, data.suppliers, data.products, data.invoices, data.orders, data.payments)
    for kind in kinds:
        for obj in kind:
            obj["_modified"] = START
    for product in data.products:
        product["_stock_modified"] = START
    return data


def _settle_old(data: WisedatData, due_before: date) -> None:
    """What is left open on an invoice due before ``due_before`` is paid a month after its due
    date, one invoice in nine excepted (what stays long overdue)."""
    paid: dict[str, Decimal] = {}
    for payment in data.payments:
        for document in payment["associated_documents"]:
            value = Decimal(str(document["received_value"]))
            paid[document["id"]] = paid.get(document["id"], Decimal(0)) + value
    for invoice in data.invoices:
        due = date.fromisoformat(invoice["expiration_date"])
        left = Decimal(str(invoice["total"])) - paid.get(invoice["id"], Decimal(0))
        if invoice["canceled"] or left <= 0 or due >= due_before or invoice["document_number"] % 9 == 0:
            continue
        data.payments.append(
            {
                "id": f"RL{invoice['document_number']:05d}",
                "entity": dict(invoice["customer"], entity_type=0),
                "date": (due + timedelta(days=30)).isoformat(),
                "canceled": False,
                "received_value": _money(left),
                "associated_documents": [
                    {"id": invoice["id"], "received_value": _money(left), "discount_value": 0}
                ],
            }
        )


class WisedatDouble:
    def __init__(self, data: WisedatData, *, token_seconds: float = 3600.0) -> None:
        self.data = data
        self.api_key, self.user, self.password = secrets.token_hex(16), "asstio", secrets.token_urlsafe(12)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.token_seconds = token_seconds
        self.tokens: dict[str, float] = {}
        self.logins = 0
        self.requests: list[str] = []
        self.fail_once: str | None = None  # a request path prefix failed once (tests/loopback.py)
        self.fail_status = 404
        self.unlisted: set[str] = set()
        self.lock = threading.Lock()

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def touch(self, obj: Json, moment: datetime) -> None:
        obj["_modified"] = moment

    def kinds(self) -> dict[str, tuple[str, list[Json]]]:
        """Each list's path: its key in the answer and its objects."""
        return {
            "/customers": ("customers", self.data.customers),
            "/suppliers": ("salesmen", self.data.suppliers),  # the key Wisedat's description shows
            "/products": ("products", self.data.products),
            "/salesinvoices": ("sales_invoice", self.data.invoices),
            "/orders": ("orders", self.data.orders),
            "/payments": ("payments", self.data.payments),
        }

    def delete(self, path: str, object_id: str) -> tuple[int, Json]:
        """``DELETE <path>?id=`` as described: a closed document is cancelled, any other object deleted."""
        path = {"/product": "/products"}.get(path, path)  # the description deletes at /product
        if path not in self.kinds():
            return 404, {"message": "Not Found"}
        objects = self.kinds()[path][1]
        found = next((o for o in objects if str(o["id"]) == str(object_id)), None)
        if found is None:
            return 404, {"message": "Not Found"}
        if path in ("/salesinvoices", "/orders", "/payments") and found.get("closed"):
            found["canceled"] = True
            self.touch(found, datetime.now(UTC))
        else:
            objects.remove(found)
        return 200, {}

    def login(self, header: str | None) -> tuple[int, Json]:
        if not header or not header.startswith("WDAPI "):
            return 400, {"message": "No Authorization property on the request header"}
        try:
            plain = self.private_key.decrypt(base64.b64decode(header[6:]), padding.PKCS1v15()).decode()
        except ValueError:
            return 401, {"message": "Login failed"}
        if plain.split(";") != [self.api_key, self.user, self.password]:
            return 401, {"message": "Login failed"}
        expires = time.time() + self.token_seconds
        claims = {"api_key": self.api_key, "exp": int(expires) if self.token_seconds >= 1 else expires}
        token = ".".join(
            [
                _b64url(b'{"alg":"HS256","typ":"JWT"}'),
                _b64url(json.dumps(claims).encode()),
                _b64url(secrets.token_bytes(32)),
            ]
        )
        with self.lock:
            self.tokens[token] = expires
            self.logins += 1
        return 200, {"token": token}

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        expires = self.tokens.get(header[7:])
        return expires is not None and expires > time.time()

    def listing(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        kinds = self.kinds()
        if path == "/warehouses":
            return 200, self.data.warehouses
        if path == "/company":
            currency = self.data.company_currency
            return 200, {
                "id": "1",
                "name": "Loja Exemplo Lda",
                "tax_id": "PT500000000",
                "currency": {"id": currency, "description": "Euro", "symbol": "€", "decimal_cases": 2},
            }
        if path not in kinds:
            return 404, {"message": "Not Found"}
        key, objects = kinds[path]
        if "id" in query:
            found = [o for o in objects if str(o["id"]) == query["id"]]
            return (200, _public(found[0])) if found else (404, {"message": "Not Found"})
        chosen = [o for o in objects if str(o["id"]) not in self.unlisted]
        if path in ("/customers", "/suppliers", "/products") and query.get("show_inactive") != "true":
            chosen = [o for o in chosen if o.get("active", True)]
        if path == "/payments" and "entity_type" in query:
            chosen = [o for o in chosen if str(o["entity"]["entity_type"]) == query["entity_type"]]
        if since := query.get("modified_since"):
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            chosen = [o for o in chosen if o["_modified"] >= moment]
        if since := query.get("stock_modified_since"):
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            chosen = [o for o in chosen if o["_stock_modified"] >= moment]
        limit, page = int(query.get("limit", 50)), int(query.get("page", 1))
        pages = (len(chosen) + limit - 1) // limit
        shown = chosen[(page - 1) * limit : page * limit]
        summary = [_summary(path, o) for o in shown]
        return 200, {
            "pagination": {"limit": limit, "page": page, "number_pages": pages, "number_items": len(chosen)},
            key: summary,
        }


def _public(obj: Json) -> Json:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _summary(path: str, obj: Json) -> Json:
    """List entries as the description shows them: invoices and orders without items, payments without
    associated documents (those only come with ``?id=``)."""
    public = _public(obj)
    if path in ("/salesinvoices", "/orders"):
        public.pop("items", None)
    if path == "/payments":
        public.pop("associated_documents", None)
    return public


class _Handler(JsonHandler):
    double: WisedatDouble

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.double.requests.append(self.path)
        header = self.headers.get("Authorization")
        if self.failed_once():
            return None
        if self.headers.get("Accept") != "application/json":
            return self.send_json(400, {"message": "Accept: application/json is required"})
        if url.path == "/status":
            if not header or not header.startswith("WDAPI "):
                return self.send_json(400, {"message": "No Authorization property on the request header"})
            return self.send_json(200, {"status": "online", "public_key": self.double.public_pem()})
        if not self.double.authorized(header):
            return self.send_json(401, {"message": "Invalid/Inexistent/Expired token"})
        self.send_json(*self.double.listing(url.path, query))

    def do_DELETE(self) -> None:
        url = urlparse(self.path)
        self.double.requests.append(self.path)
        if not self.double.authorized(self.headers.get("Authorization")):
            return self.send_json(401, {"message": "Invalid/Inexistent/Expired token"})
        object_id = parse_qs(url.query).get("id", [""])[0]
        self.send_json(*self.double.delete(url.path, object_id))

    def do_POST(self) -> None:
        self.double.requests.append(self.path)
        if urlparse(self.path).path != "/authentication/login":
            return self.send_json(404, {"message": "Not Found"})
        if self.headers.get("Content-Type") != "application/json":
            return self.send_json(400, {"message": "Content-Type: application/json is required"})
        self.send_json(*self.double.login(self.headers.get("Authorization")))


def serve(double: WisedatDouble) -> AbstractContextManager[str]:
    return loopback.serve(_Handler, double)
