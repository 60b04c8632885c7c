"""RFC 7591 dynamic client registration for the development authorization server (in memory)."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_CLIENTS = 1000
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OAuthError(Exception):
    """An RFC 6749 / RFC 7591 error, answered as JSON ``{"error", "error_description"}``, 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    secret: str | None

    def redirect_uri_for(self, requested: str | None) -> str | None:
        """The registered redirect_uri the request names (or the only one), else None."""
        if requested is None and len(self.redirect_uris) == 1:
            return self.redirect_uris[0]
        return requested if requested in self.redirect_uris else None


class ClientRegistry:
    def __init__(self) -> None:
        self._clients: dict[str, RegisteredClient] = {}

    def register(self, metadata: object) -> dict[str, Any]:
        """Registers a client and answers its client information (RFC 7591 section 3.2.1)."""
        if not isinstance(metadata, dict):
            raise OAuthError("invalid_client_metadata", "the body must be a JSON object")
        client = _new_client(metadata)
        if len(self._clients) >= MAX_CLIENTS:  # the endpoint is open: bound the memory it can take
            del self._clients[next(iter(self._clients))]
        self._clients[client.client_id] = client
        return _client_information(client, metadata)

    def get(self, client_id: str | None) -> RegisteredClient | None:
        return self._clients.get(client_id or "")

    def authenticate(self, client_id: str | None, secret: str | None) -> RegisteredClient:
        client = self.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client")
        if client.secret is not None and not hmac.compare_digest(
            (secret or "").encode(), client.secret.encode()
        ):
            raise OAuthError("invalid_client", "client authentication failed")
        return client


def _new_client(metadata: Mapping[str, Any]) -> RegisteredClient:
    auth_method = metadata.get("token_endpoint_auth_method", "client_secret_basic")  # RFC 7591 default
    if auth_method not in AUTH_METHODS:
        raise OAuthError(
            "invalid_client_metadata", f"token_endpoint_auth_method must be one of {AUTH_METHODS}"
        )
    if not _GRANT_TYPES.issuperset(_string_list(metadata, "grant_types", ["authorization_code"])):
        raise OAuthError(
            "invalid_client_metadata", "grant_types may only be authorization_code, refresh_token"
        )
    if _string_list(metadata, "response_types", ["code"]) != ["code"]:
        raise OAuthError("invalid_client_metadata", "response_types may only be code")
    name = metadata.get("client_name")
    return RegisteredClient(
        client_id=secrets.token_urlsafe(16),
        name=name[:200] if isinstance(name, str) and name else "An unnamed client",
        redirect_uris=_redirect_uris(metadata),
        auth_method=auth_method,
        secret=None if auth_method == "none" else secrets.token_urlsafe(32),
    )


def _string_list(metadata: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    value = metadata.get(name, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OAuthError("invalid_client_metadata", f"{name} must be a list of strings")
    return value


def _redirect_uris(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    try:
        uris = _string_list(metadata, "redirect_uris", [])
    except OAuthError as exc:
        raise OAuthError("invalid_redirect_uri", str(exc)) from exc
    if not uris or not all(_acceptable_redirect_uri(uri) for uri in uris):
        raise OAuthError(
            "invalid_redirect_uri", "redirect_uris must be https URLs or http URLs on localhost/127.0.0.1"
        )
    return tuple(uris)


def _acceptable_redirect_uri(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return False
    if parts.fragment or not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK_HOSTS)


def _client_information(client: RegisteredClient, metadata: Mapping[str, Any]) -> dict[str, Any]:
    information = {
        **metadata,
        "client_id": client.client_id,
        "client_id_issued_at": int(time.time()),
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.auth_method,
        "grant_types": metadata.get("grant_types", ["authorization_code"]),
        "response_types": ["code"],
    }
    if client.secret is not None:
        information |= {"client_secret": client.secret, "client_secret_expires_at": 0}
    return information
