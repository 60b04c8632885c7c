"""All configuration, built once at start-up: from a TOML file, then environment overrides.

Nothing reads the environment at import time. A bad combination fails at start-up with a
sentence that says how to fix it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.core.config import SourceSettings

ENV_PREFIX = "ASSTIO_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, str] = Field(
        default_factory=dict, description="Tenant iid -> SQLAlchemy database URL of its ERP database"
    )
    tenant_url_template: str | None = Field(
        None, description="A database URL with {iid}, for tenants not listed in `tenants`"
    )
    tenant_iids: list[str] = Field(default_factory=list, description="Tenants served via the template")
    public_url: str = Field("http://127.0.0.1:8000", description="Base URL users type; MCP is at /mcp")
    issuers: list[str] = Field(default_factory=list, description="Trusted token issuers (Zitadel URLs)")
    audience: str = Field("", description="Zitadel project id that must appear in the token's aud")
    tenant_claim: str = "iid"
    tenant_by_issuer: dict[str, str] | None = Field(
        None, description="One Zitadel instance per tenant: issuer URL -> tenant iid"
    )
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"])
    rate_limit_storage: str = "memory://"
    rate_limit_per_minute: int = Field(60, gt=0, description="MCP tool calls per user and minute")
    rest_rate_limit_per_minute: int | None = Field(
        None,
        gt=0,
        description="REST requests per user and minute; off by default (the contract: no REST limit)",
    )
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    statement_timeout_ms: int = 10_000
    request_deadline_ms: int | None = Field(
        None,
        gt=0,
        description="Longest wait for a tenant database per request (default: statement timeout + 2 s)",
    )
    request_body_timeout_seconds: float = Field(
        15.0, gt=0, description="Longest wait for each part of a request body before a 408"
    )
    dev_issuer_dir: Path | None = Field(None, description="Demo only: be our own token issuer")
    fixed_today: date | None = Field(None, description="Tests only: the server's 'today'")
    log_level: str = "INFO"
    matching: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per tenant matching tolerances overriding the built-in defaults, e.g. "
        "[matching.acme] qtyPercent = 0.05",
    )

    home_currency: dict[str, str] = Field(
        default_factory=dict,
        description="Per tenant ISO code of its home currency (default SEK): [home_currency] acme = 'EUR'",
    )
    sources: dict[str, SourceSettings] = Field(
        default_factory=dict,
        description="Tenant iid -> the outside source its database is synced from, e.g. "
        '[sources.acme] kind = "fortnox"; secrets come from ASSTIO_SECRET_* or secrets_file',
    )
    secrets_file: Path | None = Field(None, description="NAME=value lines of ASSTIO_SECRET_* (mode 600)")

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        if not self.tenant_urls():
            raise ValueError("no tenants configured: set [tenants] iid = 'database url'")
        if not self.issuers:
            raise ValueError("no trusted issuers: set issuers = ['https://your-zitadel-host']")
        if not self.audience:
            raise ValueError("no audience: set audience to your Zitadel project id")
        if self.tenant_iids and not self.tenant_url_template:
            raise ValueError("tenant_iids needs tenant_url_template (a URL containing {iid})")
        for tenant, url in self.tenant_urls().items():
            _check_database_url(tenant, url)
        for tenant, tolerances in self.matching.items():
            _check_tolerances(tenant, tolerances)
        _check_storage(self.rate_limit_storage)
        for tenant, code in self.home_currency.items():
            if not (len(code) == 3 and code.isalpha() and code.isupper()):
                raise ValueError(f"home_currency.{tenant} must be an ISO 4217 code such as SEK, got {code!r}")
        if unknown := sorted(set(self.sources) - set(self.tenant_urls())):
            raise ValueError(f"[sources] names tenants without a database: {', '.join(unknown)}")
        return self

    def tenant_urls(self) -> dict[str, str]:
        templated = {iid: (self.tenant_url_template or "").replace("{iid}", iid) for iid in self.tenant_iids}
        return templated | self.tenants

    def tenant_options(self) -> dict[str, dict[str, Any]]:
        options: dict[str, dict[str, Any]] = {}
        for tenant, tolerances in self.matching.items():
            options.setdefault(tenant, {})["matching"] = tolerances
        for tenant, code in self.home_currency.items():
            options.setdefault(tenant, {})["homeCurrency"] = code
        for tenant, source in self.sources.items():
            options.setdefault(tenant, {})["source"] = source.kind
        return options

    @property
    def request_deadline_seconds(self) -> float:
        return (self.request_deadline_ms or self.statement_timeout_ms + 2000) / 1000

    @property
    def mcp_url(self) -> str:
        return self.public_url.rstrip("/") + "/mcp"

    @property
    def resource_metadata_url(self) -> str:
        return self.public_url.rstrip("/") + "/.well-known/oauth-protected-resource/mcp"


def _check_database_url(tenant: str, url: str) -> None:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ValueError(f"tenant {tenant!r}: {url!r} is not a database URL") from exc
    if parsed.get_backend_name() not in {"sqlite", "postgresql", "postgres"}:
        raise ValueError(
            f"tenant {tenant!r}: use a sqlite:/// or postgresql:// URL, not {parsed.drivername}://"
        )


def _check_tolerances(tenant: str, tolerances: dict[str, Any]) -> None:
    from tools.matching.models import Tolerances

    try:
        Tolerances.model_validate(tolerances)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(map(str, first["loc"]))
        raise ValueError(f"[matching.{tenant}] {name}: {first['msg']} (got {first.get('input')!r})") from exc
    unknown = set(tolerances) - {f.alias for f in Tolerances.model_fields.values()}
    if unknown:
        raise ValueError(f"[matching.{tenant}] unknown tolerances {sorted(unknown)}")


def _check_storage(storage: str) -> None:
    scheme = storage.partition("://")[0].removeprefix("async+")
    if "://" not in storage or scheme not in {"memory", "redis", "rediss"}:
        raise ValueError(f"rate_limit_storage {storage!r}: use memory:// or redis://host:port/db")


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SystemExit(f"asstio-mcp: config file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"asstio-mcp: cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(f"asstio-mcp: config file {path} is not valid TOML: {exc}") from exc


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from a TOML file with ``ASSTIO_*`` environment variables on top."""
    values: dict[str, Any] = read_config_file(path) if path else {}
    overrides = env_overrides(os.environ if env is None else env)
    tenants = values.get("tenants", {}) | overrides.pop("tenants", {})
    values |= overrides | ({"tenants": tenants} if tenants else {})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
        raise SystemExit(f"asstio-mcp: bad configuration: {problems}") from exc


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(map(str, loc))}: {message}" if loc else message


_LIST_FIELDS = {"issuers", "scopes", "allowed_hosts", "allowed_origins", "tenant_iids"}


def env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """``ASSTIO_PUBLIC_URL=...``; lists comma-separated; ``ASSTIO_TENANT_<IID>=url`` per tenant."""
    values: dict[str, Any] = {}
    tenants: dict[str, str] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name.startswith("tenant_") and name not in Settings.model_fields:
            tenants[name[len("tenant_") :].replace("_", "-")] = value
        elif name in _LIST_FIELDS:
            values[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif name in Settings.model_fields:
            values[name] = value
    if tenants:
        values["tenants"] = tenants
    return values
