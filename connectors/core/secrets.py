"""Secrets come from the environment or a secrets file, never from the TOML config.

A secret of tenant ``acme`` named ``client_secret`` is ``ASSTIO_SECRET_ACME_CLIENT_SECRET``
(a hyphen in the tenant is an underscore), either in the environment or as a ``NAME=value``
line of the ``secrets_file`` (which must not be readable by group or others). The environment
wins. Values never appear in ``repr`` or in an error message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from connectors.core.errors import ConfigurationError

PREFIX = "ASSTIO_SECRET_"


def secret_name(tenant: str, name: str) -> str:
    return f"{PREFIX}{tenant}_{name}".replace("-", "_").upper()


class Secrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {key: value for key, value in values.items() if key.startswith(PREFIX)}

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, file: Path | None = None) -> Secrets:
        values = _read_file(file) if file else {}
        return cls(values | dict(os.environ if env is None else env))

    def get(self, tenant: str, name: str) -> str:
        key = secret_name(tenant, name)
        if not self._values.get(key):
            raise ConfigurationError(f"tenant {tenant}: set the secret {key} (environment or secrets_file)")
        return self._values[key]

    def optional(self, tenant: str, name: str) -> str | None:
        return self._values.get(secret_name(tenant, name)) or None

    def __repr__(self) -> str:
        return f"Secrets({len(self._values)} values)"


def _read_file(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read secrets_file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"secrets_file {path} is readable by others: chmod 600 {path}")
    pairs = (
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}
