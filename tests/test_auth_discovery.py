"""RFC 9728 metadata and the WWW-Authenticate challenge every 401 carries."""

from __future__ import annotations

from auth.discovery import audience_scope, protected_resource_metadata, www_authenticate

METADATA_URL = "https://erp.example.test/.well-known/oauth-protected-resource/mcp"
SCOPES = ["openid", "profile", audience_scope("301234567890123456")]


def test_the_audience_scope_is_zitadels_project_audience_scope() -> None:
    assert audience_scope("301234567890123456") == "urn:zitadel:iam:org:project:id:301234567890123456:aud"


def test_protected_resource_metadata_names_resource_issuer_and_scopes() -> None:
    metadata = protected_resource_metadata(
        resource="https://erp.example.test/mcp",
        authorization_servers=["https://idp.example.test"],
        scopes=SCOPES,
    )
    assert metadata["resource"] == "https://erp.example.test/mcp"
    assert metadata["authorization_servers"] == ["https://idp.example.test"]
    assert metadata["scopes_supported"] == SCOPES
    assert metadata["bearer_methods_supported"] == ["header"]
    assert metadata["resource_name"]


def test_a_request_without_a_token_gets_a_challenge_without_an_error() -> None:
    assert www_authenticate(resource_metadata_url=METADATA_URL, scopes=SCOPES) == (
        f'Bearer resource_metadata="{METADATA_URL}", '
        'scope="openid profile urn:zitadel:iam:org:project:id:301234567890123456:aud"'
    )


def test_a_refused_token_gets_invalid_token() -> None:
    header = www_authenticate(
        resource_metadata_url=METADATA_URL,
        scopes=["openid"],
        error="invalid_token",
        error_description="token has expired",
    )
    assert header.endswith(', error="invalid_token", error_description="token has expired"')


def test_quotes_and_line_breaks_cannot_break_the_header() -> None:
    header = www_authenticate(
        resource_metadata_url=METADATA_URL,
        scopes=["openid"],
        error="invalid_token",
        error_description='bad "quote"\r\nSet-Cookie: x=1',
    )
    assert "\r" not in header and "\n" not in header
    assert 'error_description="bad \\"quote\\"Set-Cookie: x=1"' in header
