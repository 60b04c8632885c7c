"""Bookkeeping of tenants whose data a connector syncs from an outside source (Fortnox, ...).

Registered on the ERP's ``metadata`` by one import at the end of ``tools/schema.py``; a demo
tenant simply has these tables empty.

- ``SourceExternalId``: the source's id (a string, UUID or int64) of each row a sync wrote,
  mapped to our integer id, unique per source, entity and external id. ``SyncedAt`` is the
  modification time of that row: when a sync last wrote it (a full sync deletes the rows it
  did not write, i.e. those the source no longer has). ``Fingerprint`` lets a stream without
  ``lastmodified`` skip objects whose list entry did not change.
- ``SyncState``: per source and stream, the cursor (opaque to the core, written in the same
  transaction as the page it follows), the last success and the last error.
- ``SyncFullPending``: the streams a ``--full`` run started and that have not finished a run
  since: the next run, incremental or not, runs them full (a table of its own, so that databases
  synced before it get it from ``create_all``).
- ``SourceCredential``: rotating credentials (a refresh token), encrypted, replaced atomically.
"""

from __future__ import annotations

import sqlalchemy as sa

from tools.schema import metadata

external_ids = sa.Table(
    "SourceExternalId",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("Source", sa.String(40), nullable=False),
    sa.Column("Entity", sa.String(40), nullable=False),
    sa.Column("ExternalId", sa.String(100), nullable=False),
    sa.Column("LocalId", sa.Integer, nullable=False),
    sa.Column("Fingerprint", sa.String(64), nullable=True),
    sa.Column("SyncedAt", sa.DateTime, nullable=False),
    sa.UniqueConstraint("Source", "Entity", "ExternalId", name="uq_source_external_id"),
    sa.Index("ix_source_local_id", "Source", "Entity", "LocalId"),
    sa.Index("ix_source_synced_at", "Source", "Entity", "SyncedAt"),
)

sync_state = sa.Table(
    "SyncState",
    metadata,
    sa.Column("Source", sa.String(40), primary_key=True),
    sa.Column("Stream", sa.String(60), primary_key=True),
    sa.Column("Cursor", sa.Text, nullable=True),
    sa.Column("LastSuccessAt", sa.DateTime, nullable=True),
    sa.Column("LastErrorAt", sa.DateTime, nullable=True),
    sa.Column("LastError", sa.String(500), nullable=True),
)

sync_full_pending = sa.Table(
    "SyncFullPending",
    metadata,
    sa.Column("Source", sa.String(40), primary_key=True),
    sa.Column("Stream", sa.String(60), primary_key=True),
)

source_credentials = sa.Table(
    "SourceCredential",
    metadata,
    sa.Column("Source", sa.String(40), primary_key=True),
    sa.Column("Name", sa.String(60), primary_key=True),
    sa.Column("Ciphertext", sa.Text, nullable=False),
    sa.Column("UpdatedAt", sa.DateTime, nullable=False),
)
