"""A JSON double's HTTP plumbing on loopback (the Wisedat and Asperion doubles): a handler base
that answers JSON and a context manager that serves a double on a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    double: Any  # set per server by ``serve``

    def log_message(self, format: str, *args: Any) -> None:
        return

    def failed_once(self) -> bool:
        """Answer the request the double's ``fail_once`` names (a path prefix, query included)
        with its ``fail_status`` (404 unless set), once: a crash mid-sync. True when it did."""
        failing = getattr(self.double, "fail_once", None)
        if not failing or not self.path.startswith(failing):
            return False
        self.double.fail_once = None
        self.send_json(getattr(self.double, "fail_status", 404), {"message": "Not Found (failed once)"})
        return True

    def send_json(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def serve(handler: type[JsonHandler], double: Any) -> Iterator[str]:
    """Serve ``double`` with ``handler`` on 127.0.0.1; yields the base URL."""
    bound = type(handler.__name__, (handler,), {"double": double})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
