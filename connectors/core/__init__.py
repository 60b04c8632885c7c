"""What every connector is built from (see each module's docstring).

- ``SourceClient`` (``http``): httpx with the source's rate limit and retries on 429/5xx.
- ``SourceRateLimiter`` (``limiter``): a moving window per (source, tenant), Redis-shared.
- ``TokenProvider`` (``tokens``): override ``fetch_token``.
- ``Stream`` and ``Page`` (``streams``): pages of changes since a cursor, written one
  transaction per page by ``run_stream``.
- ``IdMap`` (``idmap``): external ids to our integer ids; ``SyncedAt`` per written row.
- ``tenant_lock`` (``locks``), ``Secrets`` (``secrets``), ``CredentialStore`` (``credentials``).
- ``sync_tenant`` (``sync``): a tenant's streams under its lock; source kinds registered there.
- errors: one tree at the top of ``errors``.
"""

from connectors.core.config import SourceSettings
from connectors.core.credentials import CredentialStore
from connectors.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectorError,
    MissingScope,
    RateLimited,
    SourceError,
    SourceNotFound,
    SourceRejected,
    SourceUnavailable,
    SyncLocked,
)
from connectors.core.http import SourceClient
from connectors.core.idmap import IdMap
from connectors.core.limiter import SourceRateLimiter
from connectors.core.locks import tenant_lock
from connectors.core.rows import insert_missing, upsert
from connectors.core.secrets import Secrets
from connectors.core.streams import Page, Stream, run_stream, writing
from connectors.core.sync import SOURCE_KINDS, SourceContext, TenantReport, sync_tenant
from connectors.core.tokens import Token, TokenProvider

__all__ = [
    "SOURCE_KINDS",
    "AuthenticationFailed",
    "ConfigurationError",
    "ConnectorError",
    "CredentialStore",
    "IdMap",
    "MissingScope",
    "Page",
    "RateLimited",
    "Secrets",
    "SourceClient",
    "SourceContext",
    "SourceError",
    "SourceNotFound",
    "SourceRateLimiter",
    "SourceRejected",
    "SourceSettings",
    "SourceUnavailable",
    "Stream",
    "SyncLocked",
    "TenantReport",
    "Token",
    "TokenProvider",
    "insert_missing",
    "run_stream",
    "sync_tenant",
    "tenant_lock",
    "upsert",
    "writing",
]
