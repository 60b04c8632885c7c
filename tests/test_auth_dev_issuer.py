"""The demo's own issuer: its key file, its tokens, and verification through its own JWKS."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from auth.principal import Principal
from auth.verifier import JwtVerifier
from demo.dev_issuer import KEY_FILE_NAME, DevIssuer, _thumbprint
from tests.support import AUDIENCE, DEV_ISSUER_URL, dev_issuer, dev_oauth_client, dev_verifier
from tools.errors import Unauthorized

ISSUER_URL = DEV_ISSUER_URL


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path / "data", ISSUER_URL)


@pytest.fixture
async def http(issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    async with dev_oauth_client(issuer) as client:
        yield client


@pytest.fixture
def verifier(http: httpx.AsyncClient) -> JwtVerifier:
    return dev_verifier(http)


def test_the_signing_key_file_is_private(tmp_path: Path) -> None:
    DevIssuer.load_or_create(tmp_path, ISSUER_URL)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [KEY_FILE_NAME]


def test_the_signing_key_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first = DevIssuer.load_or_create(tmp_path, ISSUER_URL)
    second = DevIssuer.load_or_create(tmp_path, ISSUER_URL)
    assert first.kid == second.kid
    assert second.jwks() == first.jwks()


def test_separate_data_dirs_get_separate_keys(tmp_path: Path) -> None:
    first = DevIssuer.load_or_create(tmp_path / "a", ISSUER_URL)
    assert DevIssuer.load_or_create(tmp_path / "b", ISSUER_URL).kid != first.kid


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    example = {  # RFC 7638 section 3.1
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
            "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
            "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
            "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
    }
    assert _thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_jwks_publishes_the_public_key_only(issuer: DevIssuer) -> None:
    (key,) = issuer.jwks()["keys"]
    assert key["kid"] == issuer.kid
    assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_a_minted_token_looks_like_zitadels(issuer: DevIssuer) -> None:
    token = issuer.mint(tenant="demo-b", sub="alice", audience=AUDIENCE, ttl_seconds=60, scope="openid")
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": issuer.kid, "typ": "JWT"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == ISSUER_URL
    assert claims["aud"] == [AUDIENCE]
    assert (claims["iid"], claims["sub"], claims["scope"]) == ("demo-b", "alice", "openid")
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nbf"] == claims["iat"]
    assert (
        claims["jti"]
        != jwt.decode(
            issuer.mint(tenant="demo", sub="a", audience=AUDIENCE), options={"verify_signature": False}
        )["jti"]
    )


def test_discovery_points_at_the_zitadel_style_endpoints(issuer: DevIssuer) -> None:
    configuration = issuer.openid_configuration()
    assert configuration["issuer"] == ISSUER_URL
    assert configuration["jwks_uri"] == f"{ISSUER_URL}/oauth/v2/keys"
    assert configuration["token_endpoint"] == f"{ISSUER_URL}/oauth/v2/token"
    assert configuration["registration_endpoint"] == f"{ISSUER_URL}/oauth/v2/register"
    assert configuration["code_challenge_methods_supported"] == ["S256"]
    assert set(configuration["grant_types_supported"]) == {"authorization_code", "refresh_token"}


async def test_a_minted_token_verifies_through_the_served_jwks(
    issuer: DevIssuer, verifier: JwtVerifier
) -> None:
    token = issuer.mint(tenant="demo", sub="demo-user", audience=AUDIENCE)
    assert await verifier.verify(token) == Principal(issuer=ISSUER_URL, sub="demo-user", tenant="demo")


async def test_a_token_from_another_data_dir_does_not_verify(tmp_path: Path, verifier: JwtVerifier) -> None:
    impostor = DevIssuer.load_or_create(tmp_path / "impostor", ISSUER_URL)
    with pytest.raises(Unauthorized):
        await verifier.verify(impostor.mint(tenant="demo", sub="demo-user", audience=AUDIENCE))


async def test_a_token_for_another_audience_does_not_verify(issuer: DevIssuer, verifier: JwtVerifier) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(issuer.mint(tenant="demo", sub="demo-user", audience="someone-else"))
