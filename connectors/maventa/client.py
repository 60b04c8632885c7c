"""Maventa AutoInvoice (AutoXChange REST API): the company token, received invoices, downloads.

- Token: ``POST /oauth2/token``, form-encoded ``grant_type=client_credentials`` with
  ``client_id`` = the company UUID, ``client_secret`` = the user API key, ``vendor_api_key`` and
  ``scope``; the answer's ``expires_in`` says how long it lasts. The three values are secrets
  (``ASSTIO_SECRET_<TENANT>_COMPANY_UUID``, ``..._USER_API_KEY``, ``..._VENDOR_API_KEY``); they
  go into that form and nowhere else, never into a message or a log line.
- Received invoices: ``GET /v1/invoices?direction=RECEIVED&received_at_start=&received_at_end=``
  with ``page`` and ``per_page``; a page shorter than ``per_page`` is the last.
- One invoice: ``GET /v1/invoices/{id}?return_format=PEPPOLBIS30`` is its Peppol BIS 3.0 UBL.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import httpx

from connectors.core.errors import AuthenticationFailed, SourceRejected, SourceUnavailable
from connectors.core.http import SourceClient
from connectors.core.tokens import Token, TokenProvider

RETURN_FORMAT = "PEPPOLBIS30"
INVOICE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class MaventaToken(TokenProvider):
    """The company's client-credentials token (company UUID, user API key, vendor API key)."""

    def __init__(
        self,
        token_url: str,
        *,
        company_uuid: str,
        user_api_key: str,
        vendor_api_key: str,
        scope: str = "eui",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__()
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": company_uuid,
            "client_secret": user_api_key,
            "vendor_api_key": vendor_api_key,
            "scope": scope,
        }
        self._transport = transport

    def __repr__(self) -> str:
        return f"MaventaToken({self._url})"

    def fetch_token(self) -> Token:
        try:
            with httpx.Client(timeout=30, transport=self._transport) as http:
                response = http.post(self._url, data=self._form, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"maventa token endpoint {self._url} is unreachable: {exc!r}") from exc
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(
                f"maventa refused the company credentials (HTTP {response.status_code}): check the "
                "company UUID, user API key and vendor API key secrets"
            )
        if not response.is_success:
            raise SourceUnavailable(f"maventa token endpoint answered HTTP {response.status_code}")
        return _token(response)


def _token(response: httpx.Response) -> Token:
    try:
        body = response.json()
        return Token(str(body["access_token"]), time.time() + float(body.get("expires_in", 3600)))
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceRejected("maventa token endpoint answered without an access_token") from exc


def _is_invoice(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str) and bool(INVOICE_ID.match(item["id"]))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class MaventaClient:
    def __init__(self, http: SourceClient, *, per_page: int = 100) -> None:
        self.http = http
        self.per_page = per_page

    def received_invoices(self, start: datetime, end: datetime, page: int) -> list[dict[str, Any]]:
        """One page of the invoices received between ``start`` and ``end`` (UTC)."""
        params = {
            "direction": "RECEIVED",
            "received_at_start": _iso(start),
            "received_at_end": _iso(end),
            "page": page,
            "per_page": self.per_page,
        }
        body = self.http.get_json("/v1/invoices", params)
        if not isinstance(body, list) or not all(_is_invoice(item) for item in body):
            raise SourceRejected("maventa /v1/invoices answered something other than a list of invoices")
        return body

    def download(self, invoice_id: str) -> bytes:
        return self.http.get_content(f"/v1/invoices/{invoice_id}", {"return_format": RETURN_FORMAT})
