"""Rotating credentials (a single-use refresh token), encrypted at rest in the tenant database.

Encrypted with Fernet (AES-128-CBC + HMAC) under the tenant's ``encryption_key`` secret. A
rotation replaces the stored value in one UPDATE that names the value it replaces, so two
writers can never interleave a stale token over a fresh one; the new value is committed before
the caller uses the new access token.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from connectors.core.errors import ConfigurationError
from connectors.core.rows import insert_missing
from connectors.core.state import utc_now
from connectors.core.streams import writing
from tools.source_schema import source_credentials as creds


class CredentialStore:
    def __init__(self, engine: sa.Engine, source: str, encryption_key: str) -> None:
        self._engine, self._source = engine, source
        try:
            self._fernet = Fernet(encryption_key.encode())
        except ValueError as exc:
            raise ConfigurationError(
                "the encryption_key secret is not a Fernet key (32 url-safe base64 bytes)"
            ) from exc

    def read(self, name: str) -> str | None:
        with self._engine.connect() as conn:
            stored: str | None = conn.execute(self._select(name)).scalar_one_or_none()
        if stored is None:
            return None
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                f"the stored {name} does not decrypt with the encryption_key secret"
            ) from exc

    def seed(self, name: str, value: str) -> None:
        """Store ``value`` unless a value is stored already (first start with a new token)."""
        with writing(self._engine) as conn:
            insert_missing(conn, creds, [self._row(name, value)])

    def replace(self, name: str, old: str, new: str) -> bool:
        """Swap ``old`` for ``new``; False when someone else replaced ``old`` first."""
        with writing(self._engine) as conn:
            for ciphertext in conn.execute(self._select(name)).scalars().all():
                assert isinstance(ciphertext, str)
                if self._fernet.decrypt(ciphertext.encode()).decode() == old:
                    stmt = sa.update(creds).where(*self._key(name), creds.c.Ciphertext == ciphertext)
                    return conn.execute(stmt.values(self._row(name, new))).rowcount == 1
        return False

    def _row(self, name: str, value: str) -> dict[str, object]:
        ciphertext = self._fernet.encrypt(value.encode()).decode()
        return {"Source": self._source, "Name": name, "Ciphertext": ciphertext, "UpdatedAt": utc_now()}

    def _select(self, name: str) -> sa.Select[Any]:
        return sa.select(creds.c.Ciphertext).where(*self._key(name))

    def _key(self, name: str) -> tuple[sa.ColumnElement[bool], ...]:
        return (creds.c.Source == self._source, creds.c.Name == name)
