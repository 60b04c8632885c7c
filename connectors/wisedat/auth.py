"""Wisedat's login: the server's RSA public key from ``GET /status``, then ``POST
/authentication/login`` with ``Authorization: WDAPI base64(RSA(ApiKey;User;Password))``; the
answer is a JWT used as a bearer until it expires (its ``exp`` claim), then the login is repeated.
PKCS#1 v1.5 padding, as the server's .NET ``RSA.Encrypt`` expects by default.

Wisedat's description gives neither answer's body ("Returned Values - Success" only): the key is
read from ``public_key`` (or ``publicKey``), PEM or base64 DER, and the JWT from ``token`` (or
``jwt``); both are inferred.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from connectors.core.errors import AuthenticationFailed, SourceRejected, SourceUnavailable
from connectors.core.tokens import Token, TokenProvider

DEFAULT_LIFETIME = 3600.0


def public_key_of(status: Any) -> rsa.RSAPublicKey:
    """The RSA key of a ``/status`` answer: PEM text, or base64 DER."""
    text = str(status.get("public_key") or status.get("publicKey") or "") if isinstance(status, dict) else ""
    try:
        key = (
            load_pem_public_key(text.encode())
            if "BEGIN" in text
            else load_der_public_key(base64.b64decode(text))
        )
    except (ValueError, binascii.Error) as exc:
        raise SourceRejected("Wisedat /status did not return an RSA public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SourceRejected("Wisedat /status returned a key that is not RSA")
    return key


def login_header(key: rsa.RSAPublicKey, api_key: str, user: str, password: str) -> str:
    secret = f"{api_key};{user};{password}".encode()
    return "WDAPI " + base64.b64encode(key.encrypt(secret, padding.PKCS1v15())).decode()


def jwt_expiry(token: str, now: float) -> float:
    """The ``exp`` claim of a JWT (read, not verified: the server verifies it); an hour if absent."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return now + DEFAULT_LIFETIME


class RsaLogin(TokenProvider):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        user: str,
        password: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__()
        self._base_url, self._timeout, self._transport = base_url, timeout, transport
        self._api_key, self._user, self._password = api_key, user, password
        self.logins = 0

    def fetch_token(self) -> Token:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        try:
            with httpx.Client(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport, headers=headers
            ) as http:
                status = http.get("/status", headers={"Authorization": f"WDAPI {self._api_key}"})
                self._check(status, "/status")
                header = login_header(public_key_of(status.json()), self._api_key, self._user, self._password)
                answer = http.post("/authentication/login", headers={"Authorization": header})
                self._check(answer, "/authentication/login")
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"Wisedat is unreachable at {self._base_url}: {exc!r}") from exc
        body = answer.json()
        token = str(body.get("token") or body.get("jwt") or "") if isinstance(body, dict) else ""
        if not token:
            raise SourceRejected("Wisedat's login answered without a token")
        self.logins += 1
        return Token(token, jwt_expiry(token, time.time()))

    @staticmethod
    def _check(response: httpx.Response, path: str) -> None:
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(
                f"Wisedat {path} refused the login (HTTP {response.status_code}): check the API key, user "
                "and password"
            )
        if response.status_code >= 500:
            raise SourceUnavailable(f"Wisedat {path}: HTTP {response.status_code}")
        if not response.is_success:
            raise SourceRejected(f"Wisedat {path}: HTTP {response.status_code}")
