"""A Wisedat-backed tenant, from ``[sources.<tenant>]``.

```toml
[sources.loja]
kind = "wisedat"
base_url = "https://wisedat.loja.example:8443"   # the customer's Wisedat API server
user = "asstio"                                  # a Wisedat user for the API
```

Secrets: ``api_key`` and ``password`` (``ASSTIO_SECRET_LOJA_API_KEY``, ``..._PASSWORD``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from connectors.core.errors import ConfigurationError
from connectors.core.http import SourceClient
from connectors.core.limiter import SourceRateLimiter
from connectors.core.lists import ClientSource
from connectors.core.streams import Stream
from connectors.core.sync import SourceContext
from connectors.wisedat import streams as st
from connectors.wisedat.auth import RsaLogin

RATE_LIMIT = "10/second"  # an on-premises server: be gentle


class WisedatSource(ClientSource):
    name = st.SOURCE

    def __init__(self, api: SourceClient, engine: sa.Engine) -> None:
        super().__init__(api)
        self.engine = engine

    def streams(self) -> Sequence[Stream]:
        api, engine = self.api, self.engine
        return [
            st.Reference(api),
            st.Customers(api, engine),
            st.Suppliers(api, engine),
            st.Warehouses(api),
            st.Products(api, engine),
            st.ProductStock(api, engine),
            st.SalesInvoices(api, engine),
            st.Orders(api, engine),
            st.Payments(api, engine),
        ]


def build_source(context: SourceContext) -> WisedatSource:
    config = context.config
    user = config.option("user")
    if not config.base_url or not user:
        raise ConfigurationError(f"[sources.{context.tenant}] kind = 'wisedat' needs base_url and user")
    auth = RsaLogin(
        config.base_url,
        context.secrets.get(context.tenant, "api_key"),
        user,
        context.secrets.get(context.tenant, "password"),
    )
    limiter = SourceRateLimiter(config.rate_limit or RATE_LIMIT, context.rate_limit_storage)
    api = SourceClient(config.base_url, source=st.SOURCE, tenant=context.tenant, limiter=limiter, auth=auth)
    return WisedatSource(api, context.engine)
