"""``uvicorn mcp_server.asgi:app`` for multi-worker or external process managers.

Reads the config file named by ``ASSTIO_CONFIG`` (optional) and ``ASSTIO_*`` overrides when
the server process starts, not at import by anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcp_server.app import build_app
from mcp_server.settings import load_settings

_config = os.environ.get("ASSTIO_CONFIG")
app = build_app(load_settings(Path(_config) if _config else None))
