"""How fresh a source-backed tenant is: its streams' last success and last error (``SyncState``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tools.source_schema import sync_state as state


def source_freshness(conn: sa.Connection) -> dict[str, Any]:
    """``lastSuccessAt``: when every stream had last succeeded (the oldest stream's success, so
    all data is at least this fresh); ``lastErrorAt``/``lastError``: the latest failure still
    unresolved; ``streams``: each stream's own times."""
    rows = conn.execute(sa.select(state).order_by(state.c.Source, state.c.Stream)).all()
    successes = [row.LastSuccessAt for row in rows]
    failures = sorted((row for row in rows if row.LastErrorAt), key=lambda row: row.LastErrorAt)
    return {
        "lastSuccessAt": _iso(min(successes)) if successes and all(successes) else None,
        "lastErrorAt": _iso(failures[-1].LastErrorAt) if failures else None,
        "lastError": failures[-1].LastError if failures else None,
        "streams": {
            f"{row.Source}/{row.Stream}": {
                "lastSuccessAt": _iso(row.LastSuccessAt),
                "lastErrorAt": _iso(row.LastErrorAt),
            }
            for row in rows
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if moment else None
