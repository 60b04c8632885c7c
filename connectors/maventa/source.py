"""The Maventa source of ``asstio-mcp sync``: parked documents first, then received invoices.

``received_invoices`` lists what Maventa received since the cursor minus an overlap (so an
invoice Maventa files a little late is still seen), downloads each one not imported yet as
``PEPPOLBIS30`` and imports it. Each list page's documents are written in one transaction; the
cursor moves to the end of the listed window only with the last page, so a run killed halfway
lists the same window again and skips what it already imported (the inbound record of each
Maventa id is unique): every document is imported exactly once.

Options under ``[sources.<tenant>]``: ``base_url`` (default the production AutoXChange API),
``token_url`` (default ``{base_url}/oauth2/token``), ``scope`` (``eui``), ``per_page`` (100),
``overlap_minutes`` (60), ``first_sync_days`` (30), ``rate_limit`` (``5/second``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from connectors.core.errors import ConfigurationError, SourceNotFound
from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.limiter import SourceRateLimiter
from connectors.core.streams import Page, Stream
from connectors.core.sync import SourceContext
from connectors.maventa.client import MaventaClient, MaventaToken
from connectors.peppol.importer import (
    Prepared,
    ensure_ready,
    parked_documents,
    prepare,
    received_already,
    store,
)
from connectors.peppol.importer import received as received_document

SOURCE = "maventa"
DEFAULT_BASE_URL = "https://ax.maventa.com"
DEFAULT_RATE = "5/second"
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class ParkedDocuments(Stream):
    """Documents parked by an earlier run (e.g. unknown vendor), tried again from their content."""

    name = "parked_documents"

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        parked = parked_documents(self._engine)
        if parked:
            yield Page(records=parked, cursor=None)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        for prepared in page.records:
            store(conn, prepared)


class ReceivedInvoices(Stream):
    name = "received_invoices"

    def __init__(
        self,
        client: MaventaClient,
        engine: sa.Engine,
        *,
        overlap: timedelta,
        first_sync: timedelta,
        clock: Clock = _utc_now,
    ) -> None:
        self._client, self._engine = client, engine
        self._overlap, self._first_sync, self._clock = overlap, first_sync, clock

    def pages(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        end = self._clock()
        since = _parse_time(cursor) if cursor and not full else None
        start = since - self._overlap if since else end - self._first_sync
        page = 1
        while True:
            listed = self._client.received_invoices(start, end, page)
            last = len(listed) < self._client.per_page
            yield Page(records=self._fetch(listed), cursor=end.isoformat() if last else cursor)
            if last:
                return
            page += 1

    def _fetch(self, listed: Sequence[dict[str, Any]]) -> list[Prepared]:
        """Download and read the listed invoices not imported yet (before any transaction)."""
        done = received_already(self._engine, SOURCE, [item["id"] for item in listed])
        return [self._download(item) for item in listed if item["id"] not in done]

    def _download(self, item: dict[str, Any]) -> Prepared:
        received_at = _parse_time(item.get("received_at"))
        try:
            content = self._client.download(item["id"])
        except SourceNotFound:  # withdrawn between the list and the download: recorded, not fatal
            doc = received_document(b"", source=SOURCE, external_id=item["id"], received_at=received_at)
            return Prepared(doc, None, refused="listed by Maventa but not downloadable (HTTP 404)")
        doc = received_document(content, source=SOURCE, external_id=item["id"], received_at=received_at)
        return prepare(doc, content)

    def write(self, conn: sa.Connection, ids: IdMap, page: Page) -> None:
        for prepared in page.records:
            store(conn, prepared)


class MaventaSource:
    name = SOURCE

    def __init__(self, context: SourceContext, *, clock: Clock = _utc_now) -> None:
        config, secrets, tenant = context.config, context.secrets, context.tenant
        if config.kind != SOURCE:
            raise ConfigurationError(f"tenant {tenant}: source kind {config.kind} is not maventa")
        base_url = config.base_url or DEFAULT_BASE_URL
        token = MaventaToken(
            config.option("token_url") or base_url.rstrip("/") + "/oauth2/token",
            company_uuid=secrets.get(tenant, "company_uuid"),
            user_api_key=secrets.get(tenant, "user_api_key"),
            vendor_api_key=secrets.get(tenant, "vendor_api_key"),
            scope=config.option("scope", "eui") or "eui",
        )
        limiter = SourceRateLimiter(config.rate_limit or DEFAULT_RATE, context.rate_limit_storage)
        self._http = SourceClient(base_url, source=SOURCE, tenant=tenant, limiter=limiter, auth=token)
        client = MaventaClient(self._http, per_page=_int(config.option("per_page", "100"), "per_page"))
        ensure_ready(context.engine)
        self._streams = [
            ParkedDocuments(context.engine),
            ReceivedInvoices(
                client,
                context.engine,
                overlap=timedelta(minutes=_int(config.option("overlap_minutes", "60"), "overlap_minutes")),
                first_sync=timedelta(days=_int(config.option("first_sync_days", "30"), "first_sync_days")),
                clock=clock,
            ),
        ]

    @property
    def requests(self) -> int:
        return self._http.requests

    @property
    def retries(self) -> int:
        return self._http.retries

    def streams(self) -> Sequence[Stream]:
        return self._streams

    def close(self) -> None:
        self._http.close()


def _int(value: str | None, name: str) -> int:
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(f"maventa {name} must be a whole number of at least 1, not {value!r}")
    return number


def build_source(context: SourceContext) -> MaventaSource:
    return MaventaSource(context)
