"""JwtVerifier against local identity providers served through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from auth.principal import Principal
from auth.verifier import JwtVerifier, VerifierConfig
from tools.errors import ServiceUnavailable, Unauthorized

ISSUER = "https://idp.example.test"
ISSUER_B = "https://tenant-b.idp.example.test"
AUDIENCE = "301234567890123456"


KEY_POOL: dict[str, list[Any]] = defaultdict(list)
HANDED_OUT: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def fresh_keys() -> None:
    """Within a test every key is new; across tests keys are reused (RSA takes ~0.1 s each)."""
    HANDED_OUT.clear()


def new_key(algorithm: str) -> Any:
    pool, n = KEY_POOL[algorithm], HANDED_OUT[algorithm]
    HANDED_OUT[algorithm] += 1
    while len(pool) <= n:
        pool.append(generate_key(algorithm))
    return pool[n]


def generate_key(algorithm: str) -> Any:
    if algorithm.startswith("ES"):
        return ec.generate_private_key(ec.SECP256R1() if algorithm == "ES256" else ec.SECP384R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalIssuer:
    """An OIDC issuer with rotating keys: discovery + JWKS, counting JWKS fetches."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.signing_keys: dict[str, tuple[str, Any]] = {}
        self.jwks_fetches = 0
        self.reachable = True
        self.add_key("key-1", "RS256")

    def add_key(self, kid: str, algorithm: str) -> None:
        self.signing_keys[kid] = (algorithm, new_key(algorithm))

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                self._public_jwk(kid, algorithm, key) for kid, (algorithm, key) in self.signing_keys.items()
            ]
        }

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "user-1",
            "aud": [AUDIENCE, "client-app-id"],
            "iid": "demo",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str = "key-1", **overrides: Any) -> str:
        algorithm, key = self.signing_keys[kid]
        return jwt.encode(self.claims(**overrides), key, algorithm=algorithm, headers={"kid": kid})

    def public_pem(self, kid: str = "key-1") -> bytes:
        key = self.signing_keys[kid][1]
        return bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent verifications interleave, as over a network
        if not self.reachable:
            return httpx.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": self.url, "jwks_uri": f"{self.url}/oauth/v2/keys"})
        if request.url.path == "/oauth/v2/keys":
            self.jwks_fetches += 1
            return httpx.Response(200, json=self.jwks())
        return httpx.Response(404)

    @staticmethod
    def _public_jwk(kid: str, algorithm: str, key: Any) -> dict[str, Any]:
        algorithm_object = jwt.get_algorithm_by_name(algorithm)
        jwk: dict[str, Any] = algorithm_object.to_jwk(key.public_key(), as_dict=True)
        return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp() -> LocalIssuer:
    return LocalIssuer(ISSUER)


@pytest.fixture
def idp_b() -> LocalIssuer:
    return LocalIssuer(ISSUER_B)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(idp: LocalIssuer, idp_b: LocalIssuer) -> AsyncIterator[httpx.AsyncClient]:
    issuers = {httpx.URL(issuer.url).host: issuer for issuer in (idp, idp_b)}

    async def route(request: httpx.Request) -> httpx.Response:
        return await issuers[request.url.host].handle(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(route)) as client:
        yield client


def make_verifier(http: httpx.AsyncClient, clock: Clock, **config: Any) -> JwtVerifier:
    settings: dict[str, Any] = {"issuers": (ISSUER,), "audience": AUDIENCE, **config}
    return JwtVerifier(VerifierConfig(**settings), http, clock=clock)


@pytest.fixture
def verifier(http: httpx.AsyncClient, clock: Clock) -> JwtVerifier:
    return make_verifier(http, clock)


async def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    assert not token or token not in caught.value.message
    return caught.value.message


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    header_part = b64url(json.dumps(header).encode())
    claims_part = b64url(json.dumps(claims).encode())
    return f"{header_part}.{claims_part}.{b64url(signature)}"


async def test_a_valid_token_becomes_a_principal(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    principal = await verifier.verify(idp.token())
    assert principal == Principal(issuer=ISSUER, sub="user-1", tenant="demo")
    assert principal.rate_key == f"{ISSUER}|user-1"


@pytest.mark.parametrize("algorithm", ["RS384", "PS256", "ES256", "ES384", "EdDSA"])
async def test_every_allowed_asymmetric_algorithm_verifies(
    verifier: JwtVerifier, idp: LocalIssuer, algorithm: str
) -> None:
    idp.add_key("other", algorithm)
    assert (await verifier.verify(idp.token("other"))).sub == "user-1"


async def test_an_audience_given_as_a_plain_string_is_accepted(
    verifier: JwtVerifier, idp: LocalIssuer
) -> None:
    assert (await verifier.verify(idp.token(aud=AUDIENCE))).tenant == "demo"


async def test_an_expired_token_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = idp.token(iat=int(time.time()) - 600, exp=int(time.time()) - 120)
    assert await refused(verifier, token) == "token has expired"


async def test_a_token_expired_within_the_leeway_is_accepted(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    assert await verifier.verify(idp.token(exp=int(time.time()) - 10))


async def test_a_token_not_yet_valid_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = idp.token(nbf=int(time.time()) + 120)
    assert await refused(verifier, token) == "token is not yet valid"


async def test_a_token_without_exp_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    assert await refused(verifier, idp.token(exp=None)) == "token lacks the 'exp' claim"


async def test_a_token_from_an_untrusted_issuer_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = idp.token(iss="https://evil.example.test")
    assert await refused(verifier, token) == "token issuer is not trusted"
    assert idp.jwks_fetches == 0


async def test_a_token_for_another_audience_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = idp.token(aud=["another-project"])
    assert await refused(verifier, token) == "token audience does not include this server"


async def test_alg_none_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = unsigned_token({"alg": "none", "typ": "JWT", "kid": "key-1"}, idp.claims())
    assert await refused(verifier, token) == "token algorithm is not allowed"


async def test_hs256_signed_with_the_public_key_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    await verifier.verify(idp.token())  # keys are cached: the attack has the best chance
    signing_input = unsigned_token({"alg": "HS256", "typ": "JWT", "kid": "key-1"}, idp.claims()).rstrip(".")
    signature = hmac.new(idp.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    assert await refused(verifier, f"{signing_input}.{b64url(signature)}") == "token algorithm is not allowed"


async def test_a_forged_signature_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    header, claims, _ = idp.token().split(".")
    _, _, other_signature = idp.token(sub="someone-else").split(".")
    assert await refused(verifier, f"{header}.{claims}.{other_signature}") == "token signature is invalid"


async def test_an_algorithm_other_than_the_keys_is_refused(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    _, key = idp.signing_keys["key-1"]
    token = jwt.encode(idp.claims(), key, algorithm="PS256", headers={"kid": "key-1"})
    assert await refused(verifier, token) == "token algorithm does not match its signing key"


async def test_an_unknown_key_refetches_once_then_is_refused(
    verifier: JwtVerifier, idp: LocalIssuer, clock: Clock
) -> None:
    await verifier.verify(idp.token())
    clock.now += 61
    stranger = LocalIssuer(ISSUER)
    stranger.signing_keys["stranger"] = stranger.signing_keys.pop("key-1")
    assert await refused(verifier, stranger.token("stranger")) == "token signing key is unknown"
    assert idp.jwks_fetches == 2
    clock.now += 59
    assert await refused(verifier, stranger.token("stranger", sub="again")) == "token signing key is unknown"
    assert idp.jwks_fetches == 2
    clock.now += 2
    await refused(verifier, stranger.token("stranger"))
    assert idp.jwks_fetches == 3


async def test_concurrent_unknown_keys_share_one_fetch(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    stranger = LocalIssuer(ISSUER)
    tokens = [stranger.token(sub=f"user-{n}") for n in range(20)]
    results = await asyncio.gather(*(verifier.verify(token) for token in tokens), return_exceptions=True)
    assert all(isinstance(result, Unauthorized) for result in results)
    assert idp.jwks_fetches == 1


async def test_a_rotated_key_is_accepted_after_refetch(
    verifier: JwtVerifier, idp: LocalIssuer, clock: Clock
) -> None:
    await verifier.verify(idp.token())
    idp.add_key("key-2", "ES256")
    del idp.signing_keys["key-1"]
    clock.now += 61  # the previous fetch is older than jwks_min_refresh_seconds
    assert (await verifier.verify(idp.token("key-2"))).sub == "user-1"
    assert idp.jwks_fetches == 2


async def test_the_key_cache_expires(http: httpx.AsyncClient, idp: LocalIssuer, clock: Clock) -> None:
    verifier = make_verifier(http, clock, jwks_cache_seconds=600)
    await verifier.verify(idp.token())
    clock.now += 599
    await verifier.verify(idp.token())
    assert idp.jwks_fetches == 1
    clock.now += 1
    await verifier.verify(idp.token())
    assert idp.jwks_fetches == 2


@pytest.mark.parametrize("sub", [None, ""])
async def test_a_token_without_a_subject_is_refused(
    verifier: JwtVerifier, idp: LocalIssuer, sub: str | None
) -> None:
    assert await refused(verifier, idp.token(sub=sub)) == "token lacks the 'sub' claim"


@pytest.mark.parametrize("tenant", [None, "", 42])
async def test_a_token_without_a_tenant_is_refused(
    verifier: JwtVerifier, idp: LocalIssuer, tenant: object
) -> None:
    assert await refused(verifier, idp.token(iid=tenant)) == "token lacks the 'iid' tenant claim"


async def test_the_tenant_claim_name_is_configurable(
    http: httpx.AsyncClient, idp: LocalIssuer, clock: Clock
) -> None:
    verifier = make_verifier(http, clock, tenant_claim="urn:asstio:tenant")
    principal = await verifier.verify(idp.token(iid=None, **{"urn:asstio:tenant": "demo-b"}))
    assert principal.tenant == "demo-b"


async def test_the_tenant_can_come_from_the_issuer(
    http: httpx.AsyncClient, idp: LocalIssuer, idp_b: LocalIssuer, clock: Clock
) -> None:
    verifier = make_verifier(http, clock, issuers=(ISSUER, ISSUER_B), tenant_by_issuer={ISSUER_B: "demo-b"})
    assert (await verifier.verify(idp_b.token(iid=None))).tenant == "demo-b"
    assert (await verifier.verify(idp_b.token(iid="demo-b"))).tenant == "demo-b"
    assert (await verifier.verify(idp.token())).tenant == "demo"
    assert await refused(verifier, idp_b.token(iid="demo")) == "token tenant does not match its issuer"
    assert await refused(verifier, idp.token(iid="demo-b")) == "token tenant belongs to another issuer"


async def test_a_token_signed_by_another_trusted_issuer_is_refused(
    http: httpx.AsyncClient, idp: LocalIssuer, idp_b: LocalIssuer, clock: Clock
) -> None:
    verifier = make_verifier(http, clock, issuers=(ISSUER, ISSUER_B))
    _, key_b = idp_b.signing_keys["key-1"]
    token = jwt.encode(idp.claims(), key_b, algorithm="RS256", headers={"kid": "key-1"})
    assert await refused(verifier, token) == "token signature is invalid"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "Bearer",
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "abc.def.ghi",
        "e30.e30.",
        unsigned_token({"alg": "RS256"}, {"iss": ISSUER})[:-1] + "@@",
        b64url(b"[1, 2]") + "." + b64url(b"{}") + ".c2ln",
        b64url(b'{"alg": "RS256", "kid": "key-1"}') + "." + b64url(b"not json") + ".c2ln",
        "\u00e9" * 20 + ".e30.e30",
    ],
)
async def test_garbage_is_a_malformed_token(verifier: JwtVerifier, token: str) -> None:
    message = await refused(verifier, token)
    assert message in {"malformed bearer token", "token algorithm is not allowed"}


async def test_garbage_header_is_malformed(verifier: JwtVerifier) -> None:
    assert await refused(verifier, "abc.def.ghi") == "malformed bearer token"


async def test_an_oversized_token_is_refused_before_any_work(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = idp.token(padding="x" * 100_000)
    assert await refused(verifier, token) == "malformed bearer token"
    assert idp.jwks_fetches == 0


@pytest.mark.parametrize("kid", [None, ""])
async def test_a_token_without_a_key_id_is_refused(
    verifier: JwtVerifier, idp: LocalIssuer, kid: str | None
) -> None:
    _, key = idp.signing_keys["key-1"]
    headers = {} if kid is None else {"kid": kid}
    token = jwt.encode(idp.claims(), key, algorithm="RS256", headers=headers)
    assert await refused(verifier, token) == "token has no key id"


async def test_a_key_id_that_is_not_a_string_is_malformed(verifier: JwtVerifier, idp: LocalIssuer) -> None:
    token = unsigned_token({"alg": "RS256", "kid": 7}, idp.claims(), b"signature")
    assert await refused(verifier, token) == "malformed bearer token"


async def test_an_unreachable_identity_provider_is_a_service_outage(
    verifier: JwtVerifier, idp: LocalIssuer
) -> None:
    idp.reachable = False
    with pytest.raises(ServiceUnavailable) as caught:
        await verifier.verify(idp.token())
    assert caught.value.message == "identity provider unreachable"
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(idp.token())  # within the interval: answered without a new fetch


async def test_a_refused_connection_is_a_service_outage(clock: Clock, idp: LocalIssuer) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ServiceUnavailable):
            await make_verifier(http, clock).verify(idp.token())


async def test_stale_keys_keep_working_while_the_provider_is_down(
    verifier: JwtVerifier, idp: LocalIssuer, clock: Clock
) -> None:
    await verifier.verify(idp.token())
    idp.reachable = False
    clock.now += 7200
    assert (await verifier.verify(idp.token())).sub == "user-1"


async def test_the_provider_recovers_after_an_outage(
    verifier: JwtVerifier, idp: LocalIssuer, clock: Clock
) -> None:
    idp.reachable = False
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(idp.token())
    idp.reachable = True
    clock.now += 61
    assert await verifier.verify(idp.token())


async def test_a_discovery_document_for_another_issuer_is_not_trusted(clock: Clock, idp: LocalIssuer) -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"issuer": "https://evil.example.test", "jwks_uri": "https://evil/keys"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(lying)) as http:
        with pytest.raises(ServiceUnavailable):
            await make_verifier(http, clock).verify(idp.token())


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_symmetric_algorithms_cannot_be_configured(algorithm: str) -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        VerifierConfig(issuers=(ISSUER,), audience=AUDIENCE, algorithms=("RS256", algorithm))


def test_the_tenant_map_may_only_name_trusted_issuers() -> None:
    with pytest.raises(ValueError, match="untrusted"):
        VerifierConfig(issuers=(ISSUER,), audience=AUDIENCE, tenant_by_issuer={ISSUER_B: "demo-b"})
