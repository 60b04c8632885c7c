"""An Asperion-backed tenant: one administration, from ``[sources.<tenant>]``.

```toml
[sources.bakkerij]
kind = "asperion"
administration = "1001"          # the administration (Asperion "tenant") this tenant mirrors
client_id = "your-client-id"
# base_url = "https://api.asperion.nl"; token_url = "https://identity.asperion.nl/connect/token"
```

Secrets: ``refresh_token`` (read once, then rotated in the database), ``encryption_key`` (a
Fernet key for storing it), ``client_secret`` if the client has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from connectors.asperion import streams as st
from connectors.asperion.auth import REFRESH_TOKEN, TOKEN_URL, AsperionTokens
from connectors.core.credentials import CredentialStore
from connectors.core.errors import ConfigurationError
from connectors.core.http import SourceClient
from connectors.core.limiter import SourceRateLimiter
from connectors.core.lists import ClientSource
from connectors.core.streams import Stream
from connectors.core.sync import SourceContext

API_URL = "https://api.asperion.nl"
RATE_LIMIT = "5/second"


class AsperionSource(ClientSource):
    name = st.SOURCE

    def __init__(self, api: SourceClient, tokens: AsperionTokens, engine: sa.Engine) -> None:
        super().__init__(api, tokens)
        self.engine = engine

    def streams(self) -> Sequence[Stream]:
        api, engine = self.api, self.engine
        return [
            st.Reference(),
            st.Debtors(api, engine),
            st.Creditors(api, engine),
            st.Articles(api, engine),
            st.SalesInvoices(api, engine),
            st.SalesOrders(api, engine),
            st.PurchaseInvoices(api, engine),
            st.OutstandingSales(api),
            st.OutstandingPurchases(api),
        ]


def build_source(context: SourceContext) -> AsperionSource:
    config, tenant, secrets = context.config, context.tenant, context.secrets
    administration, client_id = config.option("administration"), config.option("client_id")
    if not administration or not client_id:
        raise ConfigurationError(f"[sources.{tenant}] kind = 'asperion' needs administration and client_id")
    store = CredentialStore(context.engine, st.SOURCE, secrets.get(tenant, "encryption_key"))
    if (seed := secrets.optional(tenant, REFRESH_TOKEN)) is not None:
        store.seed(REFRESH_TOKEN, seed)
    tokens = AsperionTokens(
        config.option("token_url", TOKEN_URL) or TOKEN_URL,
        client_id,
        secrets.optional(tenant, "client_secret"),
        store,
        administration,
    )
    limiter = SourceRateLimiter(config.rate_limit or RATE_LIMIT, context.rate_limit_storage)
    api = SourceClient(
        config.base_url or API_URL, source=st.SOURCE, tenant=tenant, limiter=limiter, auth=tokens
    )
    return AsperionSource(api, tokens, context.engine)
