"""How uvicorn serves the app: its C HTTP parser (httptools), as its default does where it is
installed. Uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but waits for ever
on a request whose headers never finish; ``HeaderDeadlineProtocol`` closes a connection that has
not sent complete request headers within ``header_timeout_seconds`` of connecting or of the
first byte of its next request. (Body reads are bounded by the app's ``BodyLimit``.)"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

KEEP_ALIVE_SECONDS = 5


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout_seconds = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:  # the first byte of a request
        if self._header_deadline is None:
            self._arm()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_seconds, self._headers_overdue)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_overdue(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
