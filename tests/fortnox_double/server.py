"""The Fortnox double: Fortnox's token endpoint and the API the connector reads, on loopback.

It behaves as Fortnox documents: bearer tokens that expire (``token_ttl``), a moving window of
``rate`` requests per ``window`` seconds per tenant answered with 429, ``page``/``limit`` with
``MetaInformation`` on ``/3/`` lists, ``lastmodified`` (Stockholm time, to the minute), scopes
(403 without), ``ErrorInformation`` errors. Every request must be an operation of Fortnox's
OpenAPI description and every response it serves must match that operation's response schema
(``spec``): a mismatch is answered 500 and kept in ``violations``, which the tests assert empty.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from typing import Any
from zoneinfo import ZoneInfo

import simplejson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fortnox_double import spec
from tests.fortnox_double.data import FortnoxData, now
from tests.support import free_port, serve_in_thread

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ALL_SCOPES = frozenset(
    {
        "customer",
        "supplier",
        "article",
        "currency",
        "order",
        "invoice",
        "payment",
        "warehouse",
        "supplierinvoice",
    }
)
LISTS = {  # path -> (collection, list key, scope, detail key)
    "customers": ("customers", "Customers", "customer", "Customer"),
    "suppliers": ("suppliers", "Suppliers", "supplier", "Supplier"),
    "articles": ("articles", "Articles", "article", "Article"),
    "currencies": ("currencies", "Currencies", "currency", "Currency"),
    "orders": ("orders", "Orders", "order", "Order"),
    "invoices": ("invoices", "Invoices", "invoice", "Invoice"),
    "invoicepayments": ("payments", "InvoicePayments", "payment", "InvoicePayment"),
    "supplierinvoices": ("supplier_invoices", "SupplierInvoices", "supplierinvoice", "SupplierInvoice"),
    "supplierinvoicepayments": (
        "supplier_payments",
        "SupplierInvoicePayments",
        "supplierinvoice",
        "SupplierInvoicePayment",
    ),
}
LIST_FIELDS = {  # the fields a /3/ list entry carries (the detail has them all), space-separated
    "customers": "CustomerNumber Name OrganisationNumber City",
    "articles": "ArticleNumber Description EAN Unit",
    "orders": "DocumentNumber CustomerNumber CustomerName OrderDate Currency Cancelled Total",
    "invoices": "DocumentNumber CustomerNumber CustomerName InvoiceDate DueDate Currency Cancelled Booked "
    "Sent Total Balance InvoiceType",
    "supplierinvoices": "GivenNumber SupplierNumber SupplierName InvoiceNumber InvoiceDate DueDate Currency "
    "CurrencyRate Booked Total Balance",
    "supplierinvoicepayments": "Number InvoiceNumber Amount Currency CurrencyRate PaymentDate Booked",
}


@dataclass
class Credentials:
    client_id: str = "asstio-test-client"
    client_secret: str = "double-secret"
    tenant_id: str = "1234567"
    scopes: frozenset[str] = ALL_SCOPES


@dataclass
class FortnoxDouble:
    data: FortnoxData
    credentials: Credentials = field(default_factory=Credentials)
    rate: int = 25
    window: float = 5.0
    token_ttl: float = 3600.0
    validate: bool = True
    refresh_tokens: set[str] = field(default_factory=set)
    tokens: dict[str, float] = field(default_factory=dict)
    hits: deque[float] = field(default_factory=deque)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    log: list[tuple[float, str, int]] = field(default_factory=list)
    admitted: list[float] = field(default_factory=list)  # when each request was let through
    on_request: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests do to the source ------------------------------------------------------

    def touch(self, kind: str, key: str) -> None:
        self.data.modified[kind, key] = now()

    def issue_refresh_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.refresh_tokens.add(token)
        return token

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.statuses.clear()
            self.log.clear()

    # -- the HTTP side ---------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth-v1/token", self._token, methods=["POST"]),
                Route("/3/{resource}", self._api),
                Route("/3/{resource}/{key}", self._api),
                Route("/api/warehouse/{path:path}", self._api),
            ]
        )

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_ok(request.headers.get("authorization", "")):
            return _json({"error": "invalid_client", "error_description": "Invalid client credentials"}, 401)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if request.headers.get("TenantId") != self.credentials.tenant_id:
                return _json({"error": "invalid_request", "error_description": "Unknown TenantId"}, 400)
            return _json(self._access_token())
        if grant == "refresh_token":
            presented = str(form.get("refresh_token", ""))
            with self.lock:
                if presented not in self.refresh_tokens:
                    return _json(
                        {"error": "invalid_grant", "error_description": "Invalid refresh token"}, 400
                    )
                self.refresh_tokens.discard(presented)
            return _json(self._access_token() | {"refresh_token": self.issue_refresh_token()})
        return _json({"error": "unsupported_grant_type"}, 400)

    def _client_ok(self, header: str) -> bool:
        expected = f"{self.credentials.client_id}:{self.credentials.client_secret}".encode()
        return header == "Basic " + base64.b64encode(expected).decode()

    def _access_token(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_ttl
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.token_ttl),
            "scope": " ".join(sorted(self.credentials.scopes)),
        }

    async def _api(self, request: Request) -> Response:
        path, query = request.url.path, dict(request.query_params)
        if self.on_request:
            self.on_request(path)
        if self.validate and (problems := spec.request_errors(request.method, path, query)):
            return self._violation(f"{request.method} {path} is not an operation of the spec: {problems}")
        status, body = self._answer(request, path, query)
        data = simplejson.dumps(body, use_decimal=True).encode()
        if self.validate and (problems := spec.response_errors(request.method, path, query, status, data)):
            return self._violation(f"{request.method} {path} answered off-spec: {problems[0][:600]}")
        with self.lock:
            self.requests[path] += 1
            self.statuses[status] += 1
            self.log.append((time.monotonic(), path, status))
        headers = {"Date": formatdate(usegmt=True)}
        return Response(data, status, headers=headers, media_type="application/json")

    def _violation(self, message: str) -> Response:
        with self.lock:
            self.violations.append(message)
        return _json(_error("double: off-spec", 2000000), 500)

    def _answer(self, request: Request, path: str, query: dict[str, str]) -> tuple[int, Any]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            expires = self.tokens.get(token)
            if expires is None or expires < time.time():
                return 401, _error("Invalid or expired access token", 2000311)
            if not self._admit():
                return 429, _error("Too many requests", 2000440)
        scope = (
            "warehouse" if path.startswith("/api/warehouse") else LISTS.get(path.split("/")[2], ("",) * 4)[2]
        )
        if scope not in self.credentials.scopes:
            return 403, _error(f"Missing scope {scope}", 2000663)
        if path.startswith("/3/"):
            return self._fortnox(path.split("/")[2:], query)
        return self._warehouse(path.removeprefix("/api/warehouse/").split("/"))

    def _admit(self) -> bool:
        moment = time.monotonic()
        while self.hits and self.hits[0] <= moment - self.window:
            self.hits.popleft()
        if len(self.hits) >= self.rate:
            return False
        self.hits.append(moment)
        self.admitted.append(moment)
        return True

    def _fortnox(self, parts: list[str], query: dict[str, str]) -> tuple[int, Any]:
        collection, list_key, _, detail_key = LISTS[parts[0]]
        objects: dict[str, Any] = getattr(self.data, collection)
        if len(parts) == 2:
            found = objects.get(parts[1])
            return (200, {detail_key: found}) if found else (404, _error("Kan inte hitta objektet", 2000430))
        since = _since(query.get("lastmodified"))
        keys = [
            k for k in objects if since is None or self.data.modified.get((collection, k), since) >= since
        ]
        keys.sort(key=lambda k: (len(k), k))
        limit, page = min(int(query.get("limit", 100)), 500), max(int(query.get("page", 1)), 1)
        pages = max((len(keys) + limit - 1) // limit, 1)
        chunk = keys[(page - 1) * limit : page * limit]
        fields = LIST_FIELDS.get(parts[0], "").split()
        items = [
            {f: objects[k][f] for f in fields if f in objects[k]} if fields else objects[k] for k in chunk
        ]
        meta = {"@TotalResources": len(keys), "@TotalPages": pages, "@CurrentPage": page}
        return 200, {list_key: items, "MetaInformation": meta}

    def _warehouse(self, parts: list[str]) -> tuple[int, Any]:
        collections = {
            "purchaseorders-v1": self.data.purchase_orders,
            "incominggoods-v1": self.data.incoming_goods,
        }
        if parts[0] == "stockpoints-v1":
            return 200, list(self.data.stock_points.values())
        if parts == ["status-v1", "stockbalance"]:
            return 200, self.data.stock_balance
        objects = collections[parts[0]]
        if len(parts) == 2:
            found = objects.get(parts[1])
            return (200, found) if found else (404, {"message": "Not found", "code": 404})
        return 200, [_list_entry(parts[0], o) for o in objects.values()]


def _list_entry(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in document.items() if k != "rows"}
    if kind == "incominggoods-v1":
        keep = (
            "id",
            "date",
            "supplierNumber",
            "supplierName",
            "released",
            "completed",
            "voided",
            "stockPointId",
        )
        entry = {k: document[k] for k in keep if k in document}
        entry["unmatchedValue"] = sum(
            r["receivedQuantity"] - r.get("invoicedQuantity", 0) for r in document["rows"]
        )
    return entry


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    local = datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=STOCKHOLM)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _error(message: str, code: int) -> dict[str, Any]:
    return {"ErrorInformation": {"Error": 1, "Message": message, "Code": code}}


def _json(body: Any, status: int = 200) -> Response:
    return Response(simplejson.dumps(body), status, media_type="application/json")


@dataclass
class RunningDouble:
    double: FortnoxDouble
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def token_url(self) -> str:
        return self.url + "/oauth-v1/token"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(double: FortnoxDouble) -> RunningDouble:
    spec.openapi()  # load once before the first request
    port = free_port()
    server, thread = serve_in_thread(double.app(), port, "the Fortnox double", lifespan="off")
    return RunningDouble(double, f"http://127.0.0.1:{port}", server, thread)
