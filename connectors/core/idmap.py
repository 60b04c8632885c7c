"""The map from a source's ids to our integer ids, used inside one page's transaction.

Our tables have integer ids; Fortnox has strings, UUIDs and int64s. A new external id gets the
next free id of the table its rows live in (customers and suppliers share ``Company``; orders,
invoices and purchase orders share ``Orders``), which is safe because one worker at a time
writes a tenant (``connectors.core.locks``). Every id a page writes is stamped with the page's
``synced_at``: a full sync then knows what the source no longer has.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from tools.source_schema import external_ids as xid


class IdMap:
    def __init__(self, conn: sa.Connection, source: str, synced_at: datetime) -> None:
        self.conn, self.source, self.synced_at = conn, source, synced_at
        self._next_id: dict[str, int] = {}

    def known(self, entity: str, external: Iterable[str]) -> dict[str, int]:
        """Our ids of those of ``external`` that a sync has written before."""
        wanted = sorted(set(external))
        if not wanted:
            return {}
        rows = self.conn.execute(
            sa.select(xid.c.ExternalId, xid.c.LocalId).where(
                xid.c.Source == self.source, xid.c.Entity == entity, xid.c.ExternalId.in_(wanted)
            )
        )
        return {external_id: local_id for external_id, local_id in rows}

    def assign(
        self,
        entity: str,
        table: sa.Table,
        external: Iterable[str],
        *,
        fingerprints: dict[str, str] | None = None,
    ) -> dict[str, int]:
        """Our ids of ``external`` (new ones allocated in ``table``), all stamped as written now."""
        wanted = sorted(set(external))
        ids = self.known(entity, wanted)
        fingerprints = fingerprints or {}
        new = {e: self._allocate(table) for e in wanted if e not in ids}
        if new:
            rows = [self._row(entity, e, local, fingerprints.get(e)) for e, local in new.items()]
            self.conn.execute(sa.insert(xid), rows)
        self._stamp(entity, [e for e in wanted if e in ids], fingerprints)
        return ids | new

    def touch(self, entity: str, external: Iterable[str]) -> None:
        """Stamp ids of ``entity`` written before as seen now, without writing their rows."""
        self._stamp(entity, sorted(set(external)), {})

    def fingerprints_of(self, entity: str, external: Iterable[str]) -> dict[str, str | None]:
        """The fingerprints stored with those of ``external`` written before."""
        wanted = sorted(set(external))
        if not wanted:
            return {}
        rows = self.conn.execute(
            sa.select(xid.c.ExternalId, xid.c.Fingerprint).where(
                xid.c.Source == self.source, xid.c.Entity == entity, xid.c.ExternalId.in_(wanted)
            )
        )
        return {external_id: fingerprint for external_id, fingerprint in rows}

    def fingerprints(self, entity: str) -> dict[str, str | None]:
        rows = self.conn.execute(
            sa.select(xid.c.ExternalId, xid.c.Fingerprint).where(
                xid.c.Source == self.source, xid.c.Entity == entity
            )
        )
        return {external_id: fingerprint for external_id, fingerprint in rows}

    def stale(self, entity: str, before: datetime) -> dict[str, int]:
        """The ids of ``entity`` no sync has written since ``before``: gone from the source."""
        rows = self.conn.execute(
            sa.select(xid.c.ExternalId, xid.c.LocalId).where(
                xid.c.Source == self.source, xid.c.Entity == entity, xid.c.SyncedAt < before
            )
        )
        return {external_id: local_id for external_id, local_id in rows}

    def forget(self, entity: str, external: Iterable[str]) -> None:
        gone = sorted(set(external))
        if gone:
            self.conn.execute(
                sa.delete(xid).where(
                    xid.c.Source == self.source, xid.c.Entity == entity, xid.c.ExternalId.in_(gone)
                )
            )

    def _stamp(self, entity: str, external: list[str], fingerprints: dict[str, str]) -> None:
        if not external:
            return
        where = (xid.c.Source == self.source, xid.c.Entity == entity)
        if not fingerprints:
            self.conn.execute(
                sa.update(xid).where(*where, xid.c.ExternalId.in_(external)).values(SyncedAt=self.synced_at)
            )
            return
        stmt = sa.update(xid).where(*where, xid.c.ExternalId == sa.bindparam("e"))
        params = [{"e": e, "at": self.synced_at, "fp": fingerprints.get(e)} for e in external]
        self.conn.execute(stmt.values(SyncedAt=sa.bindparam("at"), Fingerprint=sa.bindparam("fp")), params)

    def _allocate(self, table: sa.Table) -> int:
        if table.name not in self._next_id:
            highest = self.conn.execute(sa.select(sa.func.max(table.c.Id))).scalar_one_or_none()
            self._next_id[table.name] = (highest or 0) + 1
        allocated = self._next_id[table.name]
        self._next_id[table.name] += 1
        return allocated

    def _row(
        self, entity: str, external_id: str, local_id: int, fingerprint: str | None
    ) -> dict[str, object]:
        return {
            "Source": self.source,
            "Entity": entity,
            "ExternalId": external_id,
            "LocalId": local_id,
            "Fingerprint": fingerprint,
            "SyncedAt": self.synced_at,
        }
