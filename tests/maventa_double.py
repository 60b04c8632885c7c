"""A Maventa AutoXChange double: a real HTTP server on a loopback port.

As Maventa documents it: ``POST /oauth2/token`` takes the company's client credentials as a
form (``grant_type=client_credentials``, ``client_id`` = company UUID, ``client_secret`` = user
API key, ``vendor_api_key``) and answers a bearer token with ``expires_in``; ``GET
/v1/invoices?direction=RECEIVED&received_at_start&received_at_end`` lists received invoices,
paged with ``page``/``per_page``; ``GET /v1/invoices/{id}?return_format=PEPPOLBIS30`` downloads
one. It records what it was asked, and can hold a request (to kill a client in the middle).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

COMPANY_UUID = "53a4e05d-42f0-4e76-acd6-968ab4558c6f"
USER_API_KEY = "user-key-" + "7f3c9a"
VENDOR_API_KEY = "vendor-key-" + "b81e44"


@dataclass(frozen=True)
class Received:
    id: str
    number: str
    received_at: datetime
    content: bytes | None  # None: listed, but the download answers 404 (withdrawn)


@dataclass
class Record:
    token_forms: list[dict[str, list[str]]] = field(default_factory=list)
    list_queries: list[dict[str, list[str]]] = field(default_factory=list)
    downloads: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)


class MaventaDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, invoices: list[Received]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.invoices = invoices
        self.tokens: set[str] = set()
        self.record = Record()
        self.hold_page: int | None = None  # a list request for this page waits for `release`
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> MaventaDouble:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


class _Handler(BaseHTTPRequestHandler):
    server: MaventaDouble

    def log_message(self, *_args: object) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status: int, why: str) -> None:
        self.server.record.refused.append(why)
        self._send(status, {"code": "error", "message": why})

    def do_POST(self) -> None:
        if self.path != "/oauth2/token":
            return self._refuse(404, f"no POST {self.path}")
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._refuse(415, "the token request must be a form")
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        self.server.record.token_forms.append(form)
        expected = {
            "grant_type": ["client_credentials"],
            "client_id": [COMPANY_UUID],
            "client_secret": [USER_API_KEY],
            "vendor_api_key": [VENDOR_API_KEY],
        }
        if any(form.get(key) != value for key, value in expected.items()):
            return self._refuse(401, "invalid client credentials")
        token = secrets.token_urlsafe(24)
        self.server.tokens.add(token)
        self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "eui"})

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.server.tokens:
            return self._refuse(401, "missing or unknown bearer token")
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/v1/invoices":
            return self._list(query)
        if url.path.startswith("/v1/invoices/"):
            return self._download(url.path.rsplit("/", 1)[1], query)
        return self._refuse(404, f"no GET {url.path}")

    def _list(self, query: dict[str, list[str]]) -> None:
        self.server.record.list_queries.append(query)
        if query.get("direction") != ["RECEIVED"]:
            return self._refuse(400, "direction=RECEIVED is required for received invoices")
        try:
            start, end = _time(query["received_at_start"][0]), _time(query["received_at_end"][0])
            page, per_page = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["20"])[0])
        except (KeyError, ValueError):
            return self._refuse(400, "bad received_at_start, received_at_end, page or per_page")
        if page == self.server.hold_page:
            self.server.holding.set()
            self.server.release.wait(timeout=30)
        window = sorted(
            (i for i in self.server.invoices if start <= i.received_at <= end), key=lambda i: i.received_at
        )
        chosen = window[(page - 1) * per_page : page * per_page]
        self._send(
            200,
            [
                {
                    "id": i.id,
                    "status": "RECEIVED",
                    "number": i.number,
                    "received_at": i.received_at.isoformat() + "Z",
                    "sender": {"name": "Supplier"},
                }
                for i in chosen
            ],
        )

    def _download(self, invoice_id: str, query: dict[str, list[str]]) -> None:
        if query.get("return_format") != ["PEPPOLBIS30"]:
            return self._refuse(400, "return_format=PEPPOLBIS30 expected")
        found = [i for i in self.server.invoices if i.id == invoice_id]
        self.server.record.downloads[invoice_id] += 1
        content = found[0].content if found else None
        if content is None:
            return self._send(404, {"code": "not_found", "message": "no such invoice"})
        self._send(200, content, "application/xml")
