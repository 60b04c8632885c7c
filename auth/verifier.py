"""Bearer JWT verification against trusted OIDC issuers (Zitadel in production, the demo's own).

Order of checks: size and shape, then the *unverified* header and ``iss`` - used only to pick
the allowed algorithm and the issuer's keys - then PyJWT verifies signature, ``iss``, ``aud``,
``exp`` and ``nbf`` (with leeway), and finally ``sub`` and the tenant are read.

Outcomes:

- ``Unauthorized`` (401) for every token that cannot be accepted; the message is safe to show
  and never contains the token.
- ``Forbidden`` (403) for a valid token that names no tenant: the caller is who they say, but
  has no access to any tenant's resources (the contract's 403).
- ``ServiceUnavailable`` (503, "identity provider unreachable") when an issuer's discovery
  document or JWKS cannot be fetched and no cached key can decide. The token may be fine; the
  server just cannot check it, so the caller should retry rather than re-authenticate.

Keys come only from the issuer's discovery document, never from ``jku``/``x5u`` headers.
A verified token is remembered (by its SHA-256, at most ``verified_cache_size`` of them) until
its ``exp`` or until its issuer's keys are reloaded, whichever comes first, so a client's
repeated calls with one token cost one hash, not a signature check.
Keys are cached per issuer for ``jwks_cache_seconds``; an unknown ``kid`` triggers a refetch, at
most one per ``jwks_min_refresh_seconds`` per issuer, and concurrent requests share it. If a
refresh of an expired cache fails, the stale keys keep working until the issuer answers again.

Tenant: when ``tenant_by_issuer`` maps the token's issuer, the map wins (one Zitadel instance
per tenant: whoever runs that instance must not be able to name another tenant in a claim), and
a tenant claim that disagrees with it is refused. Issuers not in the map use the claim.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from auth.principal import Principal
from tools.errors import Forbidden, ServiceUnavailable, Unauthorized

log = logging.getLogger(__name__)

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SYMMETRIC_OR_NONE = frozenset({"none", "HS256", "HS384", "HS512"})
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token has expired"),
    (jwt.ImmatureSignatureError, "token is not yet valid"),
    (jwt.InvalidAudienceError, "token audience does not include this server"),
    (jwt.InvalidIssuerError, "token issuer is not trusted"),
    (jwt.exceptions.InvalidSubjectError, "token subject is invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not allowed"),
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.DecodeError, "malformed bearer token"),
)


@dataclass(frozen=True)
class VerifierConfig:
    issuers: tuple[str, ...]
    audience: str
    tenant_claim: str = "iid"
    tenant_by_issuer: Mapping[str, str] | None = None
    algorithms: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
    leeway_seconds: int = 30
    jwks_min_refresh_seconds: float = 60.0
    jwks_cache_seconds: float = 3600.0
    max_token_bytes: int = 8192
    verified_cache_size: int = 4096

    def __post_init__(self) -> None:
        if not self.issuers or not self.audience:
            raise ValueError("the verifier needs at least one trusted issuer and an audience")
        if unsafe := _SYMMETRIC_OR_NONE.intersection(self.algorithms):
            raise ValueError(f"algorithms {sorted(unsafe)} are not allowed: use asymmetric ones only")
        if unknown := set(self.tenant_by_issuer or {}) - set(self.issuers):
            raise ValueError(f"tenant_by_issuer names untrusted issuers {sorted(unknown)}")


class _IdentityProviderError(Exception):
    """Discovery or JWKS could not be fetched or made no sense."""


@dataclass
class _IssuerKeys:
    jwks: dict[str, dict[str, Any]] = field(default_factory=dict)
    parsed: dict[tuple[str, str], jwt.PyJWK] = field(default_factory=dict)
    jwks_uri: str | None = None
    loaded_at: float | None = None
    attempted_at: float | None = None
    last_attempt_failed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def replace(self, jwks: dict[str, dict[str, Any]], now: float) -> None:
        self.jwks, self.parsed, self.loaded_at = jwks, {}, now


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires: float  # the token's exp (epoch seconds)
    keys_loaded_at: float | None  # the issuer's key set it was checked against


class JwtVerifier:
    """Turns a bearer token into a ``Principal``; give ``http`` sensible timeouts."""

    def __init__(
        self,
        config: VerifierConfig,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._wall_clock = wall_clock
        self._keys = {issuer: _IssuerKeys() for issuer in config.issuers}
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None and self._still_valid(cached):
            self._verified.move_to_end(digest)
            return cached.principal
        header = _unverified_header(token, self._config.max_token_bytes)
        algorithm = self._allowed_algorithm(header)
        issuer = self._trusted_issuer(token)
        key = await self._signing_key(issuer, header.get("kid"), algorithm)
        claims = self._verified_claims(token, key, algorithm, issuer)
        principal = Principal(issuer=issuer, sub=_subject(claims), tenant=self._tenant(issuer, claims))
        self._remember(digest, principal, claims["exp"])
        return principal

    def _still_valid(self, cached: _Verified) -> bool:
        keys = self._keys[cached.principal.issuer]
        fresh_keys = keys.loaded_at == cached.keys_loaded_at and not self._expired(keys)
        return fresh_keys and self._wall_clock() < cached.expires

    def _remember(self, digest: bytes, principal: Principal, expires: Any) -> None:
        if not isinstance(expires, int | float) or expires <= self._wall_clock():
            return  # accepted within the leeway: checked again on every use
        loaded_at = self._keys[principal.issuer].loaded_at
        self._verified[digest] = _Verified(principal, float(expires), loaded_at)
        self._verified.move_to_end(digest)
        while len(self._verified) > self._config.verified_cache_size:
            self._verified.popitem(last=False)

    def _allowed_algorithm(self, header: dict[str, Any]) -> str:
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._config.algorithms:
            raise Unauthorized("token algorithm is not allowed")
        return algorithm

    def _trusted_issuer(self, token: str) -> str:
        issuer = _unverified_claims(token).get("iss")
        if not isinstance(issuer, str) or issuer not in self._keys:
            # For the operator only (the caller learns no more than "not trusted").
            log.warning("token refused: issuer %.200r is not one of the trusted %s", issuer, list(self._keys))
            raise Unauthorized("token issuer is not trusted")
        return issuer

    def _verified_claims(self, token: str, key: jwt.PyJWK, algorithm: str, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._config.audience,
                issuer=issuer,
                leeway=self._config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(_reason(exc)) from exc
        return claims

    def _tenant(self, issuer: str, claims: Mapping[str, Any]) -> str:
        claimed = claims.get(self._config.tenant_claim)
        mapped = (self._config.tenant_by_issuer or {}).get(issuer)
        if mapped is not None:
            if claimed is not None and claimed != mapped:
                raise Unauthorized("token tenant does not match its issuer")
            return mapped
        if not isinstance(claimed, str) or not claimed:
            raise Forbidden(f"token lacks the '{self._config.tenant_claim}' tenant claim")
        if claimed in (self._config.tenant_by_issuer or {}).values():
            raise Unauthorized("token tenant belongs to another issuer")
        return claimed

    async def _signing_key(self, issuer: str, kid: object, algorithm: str) -> jwt.PyJWK:
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token has no key id")
        keys = self._keys[issuer]
        if kid not in keys.jwks or self._expired(keys):
            await self._refresh(issuer, keys, kid)
        if kid not in keys.jwks:
            raise Unauthorized("token signing key is unknown")
        return _parsed_key(keys, kid, algorithm)

    async def _refresh(self, issuer: str, keys: _IssuerKeys, kid: str) -> None:
        async with keys.lock:
            if kid in keys.jwks and not self._expired(keys):
                return  # another request refreshed while this one waited
            if self._attempted_recently(keys):
                if keys.last_attempt_failed and kid not in keys.jwks:
                    raise ServiceUnavailable("identity provider unreachable")
                return
            await self._reload(issuer, keys, kid)

    async def _reload(self, issuer: str, keys: _IssuerKeys, kid: str) -> None:
        keys.attempted_at = self._clock()
        try:
            jwks = await self._fetch_jwks(issuer, keys)
        except _IdentityProviderError as exc:
            keys.last_attempt_failed, keys.jwks_uri = True, None
            log.warning("cannot fetch signing keys of issuer %s: %s", issuer, exc)
            if kid not in keys.jwks:
                raise ServiceUnavailable("identity provider unreachable") from exc
            return
        keys.last_attempt_failed = False
        keys.replace(jwks, keys.attempted_at)

    def _expired(self, keys: _IssuerKeys) -> bool:
        return keys.loaded_at is None or self._clock() - keys.loaded_at >= self._config.jwks_cache_seconds

    def _attempted_recently(self, keys: _IssuerKeys) -> bool:
        return (
            keys.attempted_at is not None
            and self._clock() - keys.attempted_at < self._config.jwks_min_refresh_seconds
        )

    async def _fetch_jwks(self, issuer: str, keys: _IssuerKeys) -> dict[str, dict[str, Any]]:
        if keys.jwks_uri is None:
            keys.jwks_uri = await self._discover_jwks_uri(issuer)
        return _signing_jwks(await self._get_json(keys.jwks_uri))

    async def _discover_jwks_uri(self, issuer: str) -> str:
        document = await self._get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
        if document.get("issuer") != issuer:
            raise _IdentityProviderError("discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise _IdentityProviderError("discovery document has no jwks_uri")
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _IdentityProviderError(f"GET {url} failed: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise _IdentityProviderError(f"GET {url} did not return a JSON object")
        return document


def _unverified_header(token: str, max_token_bytes: int) -> dict[str, Any]:
    if len(token) > max_token_bytes or not _COMPACT_JWS.fullmatch(token):
        raise Unauthorized("malformed bearer token")
    try:
        return jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("malformed bearer token") from exc


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("malformed bearer token") from exc
    return claims


def _subject(claims: Mapping[str, Any]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("token lacks the 'sub' claim")
    return sub


def _reason(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token lacks the '{exc.claim}' claim"
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "invalid token")


def _signing_jwks(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise _IdentityProviderError("JWKS has no 'keys' list")
    return {
        jwk["kid"]: jwk
        for jwk in entries
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str) and jwk.get("use", "sig") == "sig"
    }


def _parsed_key(keys: _IssuerKeys, kid: str, algorithm: str) -> jwt.PyJWK:
    """The JWK bound to the token's algorithm, refusing a key published for another one."""
    cached = keys.parsed.get((kid, algorithm))
    if cached is not None:
        return cached
    jwk = keys.jwks[kid]
    if jwk.get("alg", algorithm) != algorithm:
        raise Unauthorized("token algorithm does not match its signing key")
    try:
        parsed = jwt.PyJWK(jwk, algorithm=algorithm)
    except jwt.PyJWTError as exc:
        raise Unauthorized("token algorithm does not match its signing key") from exc
    keys.parsed[(kid, algorithm)] = parsed
    return parsed
