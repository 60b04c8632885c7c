"""Configuration: one TOML file, ASSTIO_* environment variables on top, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.settings import load_settings

CONFIG = """
public_url = "https://erp-mcp.example.com"
issuers = ["https://example.zitadel.cloud"]
audience = "281234567890123456"
rate_limit_storage = "redis://127.0.0.1:6379/0"

[tenants]
acme = "postgresql+psycopg://reader@db1/acme"

[matching.acme]
qtyPercent = 0.05
"""


def test_the_environment_overrides_the_file_and_adds_tenants(tmp_path: Path) -> None:
    path = tmp_path / "asstio.toml"
    path.write_text(CONFIG)
    env = {
        "ASSTIO_PUBLIC_URL": "https://other.example.com",
        "ASSTIO_ISSUERS": "https://a.zitadel.cloud, https://b.zitadel.cloud",
        "ASSTIO_TENANT_GLOBEX": "sqlite:////data/globex.db",
        "PATH": "/usr/bin",
    }
    settings = load_settings(path, env)
    assert settings.public_url == "https://other.example.com"
    assert settings.mcp_url == "https://other.example.com/mcp"
    assert settings.issuers == ["https://a.zitadel.cloud", "https://b.zitadel.cloud"]
    assert settings.tenant_urls() == {
        "acme": "postgresql+psycopg://reader@db1/acme",
        "globex": "sqlite:////data/globex.db",
    }
    assert settings.tenant_options() == {"acme": {"matching": {"qtyPercent": 0.05}}}


def test_a_url_template_serves_the_listed_tenants(tmp_path: Path) -> None:
    path = tmp_path / "asstio.toml"
    path.write_text(
        'issuers = ["https://z"]\naudience = "p"\n'
        'tenant_url_template = "postgresql+psycopg://r@db/{iid}"\ntenant_iids = ["a", "b"]\n'
    )
    assert load_settings(path, {}).tenant_urls() == {
        "a": "postgresql+psycopg://r@db/a",
        "b": "postgresql+psycopg://r@db/b",
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('issuers = ["https://z"]\naudience = "p"\n', "no tenants configured"),
        ('audience = "p"\n[tenants]\na = "sqlite://"\n', "no trusted issuers"),
        ('issuers = ["https://z"]\n[tenants]\na = "sqlite://"\n', "no audience"),
        ('issuers = ["https://z"]\naudience = "p"\nbogus = 1\n[tenants]\na = "sqlite://"\n', "bogus"),
    ],
)
def test_a_bad_configuration_stops_the_server_with_a_sentence(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "asstio.toml"
    path.write_text(text)
    with pytest.raises(SystemExit, match=says):
        load_settings(path, {})
