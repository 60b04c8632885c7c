"""``asstio-mcp sync``: sync source-backed tenants once, or every N seconds.

Each failure is one line on stderr (``asstio-mcp sync: tenant acme: ...``) and makes a
``--once`` run exit non-zero; a tenant another worker holds is skipped with a line, not an error.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from connectors.core.config import SourceSettings
from connectors.core.errors import ConfigurationError, ConnectorError, SyncLocked
from connectors.core.secrets import Secrets
from connectors.core.sync import SourceContext, sync_tenant
from tools.db import create_tenant_engine

WRITE_STATEMENT_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class SyncPlan:
    sources: Mapping[str, SourceSettings]
    tenant_urls: Mapping[str, str]
    secrets: Secrets
    rate_limit_storage: str = "memory://"

    def tenants(self, only: str | None) -> list[str]:
        if only is None:
            return sorted(self.sources)
        if only not in self.sources:
            raise ConfigurationError(f"tenant {only} has no [sources.{only}] in the configuration")
        return [only]


def sync_once(plan: SyncPlan, tenants: list[str], *, full: bool, out: TextIO = sys.stderr) -> bool:
    """Sync each tenant once; True when none failed."""
    ok = True
    for tenant in tenants:
        engine = create_tenant_engine(
            plan.tenant_urls[tenant], statement_timeout_ms=WRITE_STATEMENT_TIMEOUT_MS
        )
        context = SourceContext(tenant, plan.sources[tenant], plan.secrets, engine, plan.rate_limit_storage)
        try:
            report = sync_tenant(context, full=full, progress=out.isatty())
            print(f"asstio-mcp sync: tenant {tenant}: {report.summary()}", file=out)
        except SyncLocked as exc:
            print(f"asstio-mcp sync: tenant {tenant}: skipped, {exc}", file=out)
        except ConnectorError as exc:
            ok = False
            print(f"asstio-mcp sync: tenant {tenant}: {exc}", file=out)
        finally:
            engine.dispose()
    return ok


def sync_forever(
    plan: SyncPlan, tenants: list[str], every: float, *, full: bool, stop: threading.Event
) -> None:
    """Sync, wait ``every`` seconds, repeat until ``stop`` is set; the first run may be ``full``."""
    while not stop.is_set():
        sync_once(plan, tenants, full=full)
        full = False
        stop.wait(every)


def load_secrets(secrets_file: Path | None) -> Secrets:
    return Secrets.load(file=secrets_file)
