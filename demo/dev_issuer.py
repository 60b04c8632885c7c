"""The demo's own token issuer: one RSA key in the data dir, tokens shaped like Zitadel's.

The server verifies these tokens through the same discovery + JWKS path as production tokens;
nothing here is trusted directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_FILE_NAME = "signing-key.pem"
SCOPES = ("openid", "profile", "offline_access")


class DevIssuer:
    def __init__(self, private_key: rsa.RSAPrivateKey, issuer_url: str) -> None:
        self.issuer_url = issuer_url
        self._private_key = private_key
        self._public_jwk = _public_jwk(private_key.public_key())
        self.kid = _thumbprint(self._public_jwk)

    @classmethod
    def load_or_create(cls, data_dir: Path, issuer_url: str) -> DevIssuer:
        """Reuses ``data_dir/signing-key.pem``, or creates it (mode 0600) on first use."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            _write_new_key(path)
        return cls(_read_key(path), issuer_url)

    def mint(
        self,
        *,
        tenant: str,
        sub: str,
        ttl_seconds: int = 3600,
        audience: str,
        scope: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_url,
            "sub": sub,
            "aud": [audience],
            "iid": tenant,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        if scope is not None:
            claims["scope"] = scope
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public_jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def openid_configuration(self) -> dict[str, Any]:
        base = self.issuer_url.rstrip("/")
        return {
            "issuer": self.issuer_url,
            "jwks_uri": f"{base}/oauth/v2/keys",
            "authorization_endpoint": f"{base}/oauth/v2/authorize",
            "token_endpoint": f"{base}/oauth/v2/token",
            "registration_endpoint": f"{base}/oauth/v2/register",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": list(SCOPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": True,
        }


def _write_new_key(path: Path) -> None:
    """Written whole to a private temporary file, then linked into place: two processes
    starting at once end up sharing one complete key, and it is never readable by others."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race; its key is used
    finally:
        temporary.unlink()


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key; delete it to create a new one")
    return key


def _public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}


def _thumbprint(public_jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace."""
    canonical = json.dumps(
        {name: public_jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
