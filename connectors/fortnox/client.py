"""The Fortnox API as the streams use it: paged lists, details, warehouse lists, its errors.

``/3/`` lists page with ``page``/``limit`` and a ``MetaInformation`` envelope; their items are
summaries, so a document's rows need a detail call. The ``/api/warehouse`` lists return plain
arrays without paging. Errors come as ``ErrorInformation`` with capitalised keys (``Message``,
``Code``) in the spec and lowercase ones in Fortnox's guides; both are read. ``lastmodified``
is Fortnox's local time (Europe/Stockholm) to the minute.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from connectors.core.http import SourceClient
from connectors.core.state import utc_now

Json = Mapping[str, Any]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
PAGE_LIMIT = 500  # Fortnox's largest page


class FortnoxApi:
    def __init__(self, http: SourceClient) -> None:
        self.http = http

    def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Json]]:
        """Every page of a ``/3/`` list, first to last."""
        page, last = 1, 1
        while page <= last:
            body = self.http.get_json(path, {**(params or {}), "page": page, "limit": PAGE_LIMIT})
            meta = body.get("MetaInformation") or {}
            last = int(meta.get("@TotalPages") or 1)
            yield list(body.get(key) or [])
            page += 1

    def everything(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[Json]:
        return [item for page in self.pages(path, key, params) for item in page]

    def detail(self, path: str, key: str) -> Json:
        body: Json = self.http.get_json(path)[key]
        return body

    def warehouse(self, path: str, params: Mapping[str, Any] | None = None) -> list[Json]:
        body = self.http.get_json(path, params)
        return list(body) if isinstance(body, list) else [body]

    def server_now(self) -> datetime:
        """Fortnox's clock at its last answer (naive UTC); ours before the first one."""
        if self.http.server_time is None:
            return utc_now()
        return datetime.fromtimestamp(self.http.server_time, UTC).replace(tzinfo=None)

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()


def lastmodified(moment: datetime) -> str:
    """``moment`` (naive UTC) as Fortnox's ``lastmodified`` parameter, floored to the minute."""
    return moment.replace(tzinfo=UTC).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def error_message(response: httpx.Response) -> str:
    """Fortnox's own error text: ``ErrorInformation`` (either case) or a warehouse ``message``."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    info = body.get("ErrorInformation") or body.get("errorInformation") or body
    lowered = {str(k).lower(): v for k, v in info.items()} if isinstance(info, dict) else {}
    message = lowered.get("message") or f"HTTP {response.status_code}"
    return f"{message} (code {lowered['code']})" if lowered.get("code") else str(message)
