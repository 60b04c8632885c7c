"""How a client finds out where to get a token: RFC 9728 metadata and the 401 challenge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def audience_scope(project_id: str) -> str:
    """The Zitadel scope that puts ``project_id`` into the token's ``aud``."""
    return f"urn:zitadel:iam:org:project:id:{project_id}:aud"


def protected_resource_metadata(
    *,
    resource: str,
    authorization_servers: Sequence[str],
    scopes: Sequence[str],
    resource_name: str = "Asstio ERP data (read-only)",
) -> dict[str, Any]:
    return {
        "resource": resource,
        "authorization_servers": list(authorization_servers),
        "scopes_supported": list(scopes),
        "bearer_methods_supported": ["header"],
        "resource_name": resource_name,
    }


def www_authenticate(
    *,
    resource_metadata_url: str,
    scopes: Sequence[str],
    error: str | None = None,
    error_description: str | None = None,
) -> str:
    """The ``WWW-Authenticate`` value for a 401 (RFC 6750 section 3, RFC 9728 section 5.1).

    Pass ``error="invalid_token"`` when a token was presented and refused; leave it out when
    the request carried no token at all.
    """
    params = {"resource_metadata": resource_metadata_url, "scope": " ".join(scopes)}
    if error is not None:
        params["error"] = error
    if error_description is not None:
        params["error_description"] = error_description
    return "Bearer " + ", ".join(f"{name}={_quoted(value)}" for name, value in params.items())


def _quoted(value: str) -> str:
    printable = "".join(char for char in value if " " <= char <= "~")  # no header injection
    escaped = printable.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
