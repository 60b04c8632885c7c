"""A Fortnox-backed tenant: its token provider, client and streams, from ``[sources.<tenant>]``.

```toml
[sources.acme]
kind = "fortnox"
auth = "client_credentials"        # or "refresh_token"
client_id = "..."                  # not a secret; the client secret is ASSTIO_SECRET_ACME_CLIENT_SECRET
tenant_id = "123456"               # Fortnox tenant id (client credentials)
```

Secrets: ``client_secret``; with ``auth = "refresh_token"`` also ``refresh_token`` (read once,
then rotated in the database) and ``encryption_key`` (a Fernet key for storing it).
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import sqlalchemy as sa

from connectors.core.credentials import CredentialStore
from connectors.core.errors import ConfigurationError
from connectors.core.http import SourceClient
from connectors.core.limiter import SourceRateLimiter
from connectors.core.streams import Stream
from connectors.core.sync import SourceContext
from connectors.core.tokens import TokenProvider
from connectors.fortnox import streams as st
from connectors.fortnox.auth import REFRESH_TOKEN, TOKEN_URL, ClientCredentials, RotatingRefreshToken
from connectors.fortnox.client import FortnoxApi, error_message

API_URL = "https://api.fortnox.se"
# Fortnox allows 25 requests in any 5 seconds per client and tenant; one fewer absorbs the jitter
# between our clock and Fortnox's arrival times (a 429 would be retried, but costs a backoff).
RATE_LIMIT = "24/5 seconds"


class FortnoxSource:
    name = st.SOURCE

    def __init__(self, api: FortnoxApi, engine: sa.Engine) -> None:
        self.api, self.engine = api, engine

    @property
    def requests(self) -> int:
        return self.api.requests

    @property
    def retries(self) -> int:
        return self.api.http.retries

    def streams(self) -> Sequence[Stream]:
        api = self.api
        return [
            st.Reference(api),
            st.StockPoints(api),
            st.Customers(api, self.engine),
            st.Suppliers(api, self.engine),
            st.Articles(api, self.engine),
            st.Orders(api, self.engine),
            st.Invoices(api, self.engine),
            st.InvoicePayments(api, self.engine),
            st.SupplierInvoices(api, self.engine),
            st.SupplierInvoicePayments(api, self.engine),
            st.PurchaseOrders(api, self.engine),
            st.IncomingGoods(api, self.engine),
            st.StockBalance(api),
        ]

    def close(self) -> None:
        self.api.close()


def build_source(context: SourceContext, *, transport: httpx.BaseTransport | None = None) -> FortnoxSource:
    config = context.config
    limiter = SourceRateLimiter(config.rate_limit or RATE_LIMIT, context.rate_limit_storage)
    http = SourceClient(
        config.base_url or API_URL,
        source=st.SOURCE,
        tenant=context.tenant,
        limiter=limiter,
        auth=token_provider(context),
        error_message=error_message,
        transport=transport,
    )
    return FortnoxSource(FortnoxApi(http), context.engine)


def token_provider(context: SourceContext) -> TokenProvider:
    config, secrets, tenant = context.config, context.secrets, context.tenant
    token_url = config.option("token_url", TOKEN_URL) or TOKEN_URL
    client_id = config.option("client_id")
    if not client_id:
        raise ConfigurationError(f"[sources.{tenant}]: set client_id (from Fortnox's developer portal)")
    client_secret = secrets.get(tenant, "client_secret")
    flow = config.option("auth", "client_credentials")
    if flow == "client_credentials":
        fortnox_tenant = config.option("tenant_id")
        if not fortnox_tenant:
            raise ConfigurationError(
                f"[sources.{tenant}]: set tenant_id (the Fortnox tenant of the service account)"
            )
        return ClientCredentials(token_url, client_id, client_secret, fortnox_tenant)
    if flow == "refresh_token":
        store = CredentialStore(context.engine, st.SOURCE, secrets.get(tenant, "encryption_key"))
        if first := secrets.optional(tenant, REFRESH_TOKEN):
            store.seed(REFRESH_TOKEN, first)
        return RotatingRefreshToken(token_url, client_id, client_secret, store)
    raise ConfigurationError(
        f"[sources.{tenant}]: auth must be client_credentials or refresh_token, not {flow!r}"
    )
