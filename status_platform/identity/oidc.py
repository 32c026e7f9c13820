"""OpenID Connect single sign-on: the authorization code flow with PKCE, for staff and for viewers.

A small client around Authlib (its OAuth 2 parameters and PKCE helpers, its OpenID Connect ID
token claims) and joserfc, the JOSE library Authlib itself builds on. The caller keeps the
login in flight in a mapping it passes (the Flask session): `begin` adds one entry per login,
keyed by its `state`, so two logins in flight (two tabs, two organizations) do not clash, and
`complete` consumes it, so a callback URL used twice is refused.

The identity provider is configured by tenant staff and is untrusted: its issuer is checked as a
URL (`clean_issuer`), every request to it goes through `status_platform.egress.fetch` (addresses
checked at connect time, no redirects, no proxy), and every ID token is checked for its
signature against the provider's published keys, its issuer (exactly), its audience, its times
and the nonce of the login it answers. Every refusal is one `OidcError`, logged with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import redis
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet

from status_platform.config import Settings
from status_platform.egress import EgressRefused, check_url, fetch
from status_platform.errors import ValidationError
from status_platform.jobs.queues import get_redis
from status_platform.validation import clean_text

log = logging.getLogger(__name__)

# Where `begin` keeps the logins in flight inside the caller's mapping.
STORE_KEY: Final = "oidc_logins"
# A login left this long at the identity provider is refused on return; at most this many are
# kept in flight per browser (the oldest go first).
LOGIN_MAX_AGE: Final = 600
MAX_IN_FLIGHT: Final = 5
# Discovery documents and key sets are kept this long; a token naming an unknown key refetches
# the key set once at once.
CACHE_SECONDS: Final = 300
# Clock difference allowed between us and the identity provider for exp, iat and nbf.
LEEWAY_SECONDS: Final = 60
SCOPE: Final = "openid email profile"
ISSUER_MAX_LENGTH: Final = 500
# Signature algorithms an ID token may use: public-key ones only ("none" and the HMAC ones,
# whose key would be the client secret, are refused).
ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_DOCUMENT_BYTES: Final = 256 * 1024

_UNREACHABLE = "The identity provider could not be reached. Try again in a moment, or ask your administrator."
_UNVERIFIED = (
    "The identity provider's answer could not be verified, so you were not signed in. "
    "Try again, or ask your administrator to check the single sign-on settings."
)


class OidcError(Exception):
    """A single sign-on refused: `message` is for the person, `reason` for the log.

    `context` is the context the login was begun with, once `complete` has found the login
    (for a "Try again" that keeps where the person was going).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.context: dict[str, str] = {}


def _refuse(message: str, reason: str, issuer: str | None) -> OidcError:
    log.warning("single sign-on refused (issuer %s): %s", issuer or "unknown", reason)
    return OidcError(message, reason=reason)


@dataclass(frozen=True)
class OidcProvider:
    """The identity provider of one organization or page, as its staff configured it."""

    issuer: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ProviderMetadata:
    """What an issuer's discovery document says, checked."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class SignOn:
    """A completed sign-on: the ID token's checked claims and the context given to `begin`."""

    claims: dict[str, Any]
    context: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value.strip().lower() if isinstance(value, str) and value.strip() else None

    @property
    def email_verified(self) -> bool:
        """True only when the provider says so: a missing claim vouches for nothing."""
        return self.claims.get("email_verified") is True

    def verified_email(self, needed_for: str) -> str:
        """The email address the provider vouches for, to find, link or admit someone by.

        Raises OidcError (logged) when the token has no email, or does not say that it is
        verified (`email_verified` must be true; a missing claim is refused as well).
        `needed_for` ends "…, which `needed_for` needs." in the message.
        """
        email, issuer = self.email, self.claims.get("iss")
        if email is None:
            raise refuse(
                f"Your identity provider did not share your email address, which {needed_for} needs.",
                f"no email claim for sub {self.subject!r}",
                issuer,
            )
        if "email_verified" not in self.claims:
            raise refuse(
                "Your identity provider did not say whether your email address is verified, so you "
                "were not signed in. Ask your administrator to have it send the email_verified claim.",
                f"no email_verified claim for {email}",
                issuer,
            )
        if not self.email_verified:
            raise refuse(
                "Your email address is not verified at your identity provider. Verify it there, "
                "then try again.",
                f"unverified email {email} (email_verified {self.claims.get('email_verified')!r})",
                issuer,
            )
        return email


# --- the issuer, as staff type it ------------------------------------------------------------------


def clean_issuer(value: object, *, settings: Settings, field: str = "issuer") -> str:
    """The issuer URL staff typed, checked: https (http only in test and development), a host
    that is neither internal nor private (EGRESS_ALLOWLIST aside), no query, fragment or user.

    Returned as typed but for surrounding spaces: ID tokens must name it exactly. Raises
    ValidationError naming `field`.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError("Enter the issuer URL of your identity provider.", field=field)
    if len(text) > ISSUER_MAX_LENGTH or any(ord(ch) <= 0x20 for ch in text):
        raise ValidationError("The issuer must be a URL such as https://login.example.com.", field=field)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise ValidationError(
            "The issuer must be a URL such as https://login.example.com.", field=field
        ) from None
    allowed = {"https"} if settings.is_production else {"https", "http"}
    if parts.scheme not in allowed or not host:
        raise ValidationError(
            "The issuer must be an https URL such as https://login.example.com.", field=field
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(
            "The issuer is the provider's base URL, without a query, fragment or user name.", field=field
        )
    try:
        check_url(text, settings)
    except EgressRefused as refused:
        head = refused.message.split("; ")[0].rstrip(".")
        raise ValidationError(
            f"{head}; the identity provider must be on a public address.", field=field
        ) from None
    return text


@dataclass(frozen=True)
class ProviderSettings:
    """A provider's settings as staff typed them, checked (`clean_provider_settings`).

    `client_secret` is a new secret, or None to keep the stored one.
    """

    issuer: str | None
    client_id: str | None
    client_secret: str | None

    def secret_change(self, stored: str | None) -> tuple[str | None, str] | None:
        """How the audit log shows a secret replacing `stored`, (before, after); None when it does not.

        The secret itself is never shown: "(set)" (or nothing) before, "(replaced)" after.
        """
        if self.client_secret is None or self.client_secret == stored:
            return None
        return ("(set)" if stored else None), "(replaced)"


def clean_provider_settings(
    *,
    issuer: object,
    client_id: object,
    client_secret: object,
    is_enabled: bool,
    stored_secret: str | None,
    settings: Settings,
    prefix: str,
) -> ProviderSettings:
    """The issuer, client id and new client secret staff typed, checked; raises ValidationError.

    Empty values mean none (an empty secret keeps `stored_secret`). Turning single sign-on on
    (`is_enabled`) needs all three. The fields are named `prefix` + "issuer", "client_id" and
    "client_secret".
    """
    text = issuer.strip() if isinstance(issuer, str) else ""
    new_issuer = clean_issuer(text, settings=settings, field=f"{prefix}issuer") if text else None
    new_client_id = (
        clean_text(client_id, field=f"{prefix}client_id", label="Client ID", max_length=255, required=False)
        or None
    )
    secret = (
        clean_text(
            client_secret,
            field=f"{prefix}client_secret",
            label="Client secret",
            max_length=500,
            required=False,
        )
        or None
    )
    if is_enabled:
        if new_issuer is None:
            raise ValidationError("Enter the issuer URL to turn single sign-on on.", field=f"{prefix}issuer")
        if new_client_id is None:
            raise ValidationError(
                "Enter the client ID to turn single sign-on on.", field=f"{prefix}client_id"
            )
        if secret is None and not stored_secret:
            raise ValidationError(
                "Enter the client secret to turn single sign-on on.", field=f"{prefix}client_secret"
            )
    return ProviderSettings(new_issuer, new_client_id, secret)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


# --- discovery and keys, cached --------------------------------------------------------------------

_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cached(kind: str, key: str) -> Any | None:
    with _cache_lock:
        hit = _cache.get((kind, key))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def _remember(kind: str, key: str, value: Any) -> None:
    with _cache_lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[(kind, key)] = (time.monotonic() + CACHE_SECONDS, value)


def forget_cached() -> None:
    """Drop every cached discovery document and key set (a test's provider may reuse a port)."""
    with _cache_lock:
        _cache.clear()


def _get_json(url: str, settings: Settings, what: str, issuer: str) -> dict[str, Any]:
    result = fetch(url, settings=settings, max_bytes=MAX_DOCUMENT_BYTES)
    if not result.ok:
        raise _refuse(_UNREACHABLE, f"{what}: {result.error}", issuer)
    try:
        document = json.loads(result.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise _refuse(_UNREACHABLE, f"{what} is not a JSON object", issuer)
    return document


def _endpoint(document: Mapping[str, Any], name: str, settings: Settings, issuer: str) -> str:
    value = document.get(name)
    schemes = {"https"} if settings.is_production else {"https", "http"}
    try:
        usable = (
            isinstance(value, str) and urlsplit(value).scheme in schemes and bool(urlsplit(value).hostname)
        )
    except ValueError:
        usable = False
    if not usable:
        raise _refuse(_UNREACHABLE, f"the discovery document has no usable {name}: {value!r}", issuer)
    return str(value)


def discover(issuer: str, *, settings: Settings) -> ProviderMetadata:
    """The issuer's discovery document (cached for CACHE_SECONDS); raises OidcError.

    The document must name `issuer` exactly (OpenID Connect Discovery 4.3), and its endpoints
    must be http(s) URLs (https in production); each is checked by egress again when used.
    """
    found = _cached("discovery", issuer)
    if found is not None:
        return found  # type: ignore[no-any-return]
    document = _get_json(discovery_url(issuer), settings, "discovery document", issuer)
    if document.get("issuer") != issuer:
        named = document.get("issuer")
        raise _refuse(_UNREACHABLE, f"the discovery document names another issuer: {named!r}", issuer)
    offered = document.get("id_token_signing_alg_values_supported")
    algorithms = tuple(a for a in offered if a in ALGORITHMS) if isinstance(offered, list) else ()
    methods = document.get("token_endpoint_auth_methods_supported")
    metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint", settings, issuer),
        token_endpoint=_endpoint(document, "token_endpoint", settings, issuer),
        jwks_uri=_endpoint(document, "jwks_uri", settings, issuer),
        # RS256 is the one every provider must offer (OpenID Connect Core 15.1).
        algorithms=algorithms or ("RS256",),
        auth_methods=tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) else (),
    )
    _remember("discovery", issuer, metadata)
    return metadata


def key_set(metadata: ProviderMetadata, *, settings: Settings, refresh: bool = False) -> KeySet:
    """The issuer's published signing keys (cached for CACHE_SECONDS unless `refresh`)."""
    cache_key = metadata.jwks_uri
    found = None if refresh else _cached(f"jwks:{metadata.issuer}", cache_key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    document = _get_json(metadata.jwks_uri, settings, "key set", metadata.issuer)
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise _refuse(_UNREACHABLE, f"the key set is unusable: {error}", metadata.issuer) from None
    _remember(f"jwks:{metadata.issuer}", cache_key, keys)
    return keys


# --- the flow --------------------------------------------------------------------------------------


def _in_flight(store: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    raw = store.get(STORE_KEY)
    if not isinstance(raw, dict):
        return {}
    now = int(time.time())
    return {
        state: entry
        for state, entry in raw.items()
        if isinstance(entry, dict) and now - int(entry.get("at", 0)) <= LOGIN_MAX_AGE
    }


def begin(
    store: MutableMapping[str, Any],
    *,
    provider: OidcProvider,
    redirect_uri: str,
    settings: Settings,
    context: Mapping[str, str] | None = None,
) -> str:
    """Start a sign-on: returns the provider's authorization URL to redirect the browser to.

    A fresh `state`, `nonce` and PKCE verifier (S256) are kept in `store` under the state, with
    `context` (what the caller needs back in `complete`, such as where to go next). Raises
    OidcError when the provider's discovery document cannot be had.
    """
    metadata = discover(provider.issuer, settings=settings)
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    logins = _in_flight(store)
    logins[state] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "nonce": nonce,
        "verifier": verifier,
        "at": int(time.time()),
        "context": dict(context or {}),
    }
    newest = sorted(logins.items(), key=lambda item: item[1]["at"])[-MAX_IN_FLIGHT:]
    store[STORE_KEY] = dict(newest)
    return str(
        prepare_grant_uri(
            metadata.authorization_endpoint,
            provider.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
    )


def _take(store: MutableMapping[str, Any], state: str, settings: Settings) -> dict[str, Any]:
    """The login `state` names, removed from `store`; refused when unknown or seen before."""
    logins = _in_flight(store)
    entry = logins.pop(state, None) if state else None
    if STORE_KEY in store:
        store[STORE_KEY] = logins
    if entry is None:
        raise _refuse(
            "This sign-in link was already used or has expired. Start the sign-in again.",
            "unknown, expired or replayed state",
            None,
        )
    # The session cookie that held the state may have been copied; the state is also marked
    # used where every process sees it. Without Redis the identity provider's single-use code
    # is what refuses a replay.
    digest = hashlib.sha256(state.encode()).hexdigest()
    try:
        first = get_redis().set(
            f"{settings.RQ_QUEUE_PREFIX}:oidc-state:{digest}", 1, nx=True, ex=LOGIN_MAX_AGE
        )
    except redis.RedisError:
        log.exception("could not record a used single sign-on state")
        first = True
    if not first:
        raise _refuse(
            "This sign-in link was already used. Start the sign-in again.",
            "replayed state",
            entry.get("issuer"),
        )
    return entry


def _exchange(
    provider: OidcProvider,
    metadata: ProviderMetadata,
    *,
    code: str,
    entry: Mapping[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": entry["redirect_uri"],
        "code_verifier": entry["verifier"],
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if "client_secret_basic" in metadata.auth_methods or "client_secret_post" not in metadata.auth_methods:
        # RFC 6749 2.3.1: each part is form-encoded before the two are joined.
        pair = f"{urlencode({'': provider.client_id})[1:]}:{urlencode({'': provider.client_secret})[1:]}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
    result = fetch(
        metadata.token_endpoint,
        settings=settings,
        method="POST",
        body=urlencode(form).encode(),
        headers=headers,
        max_bytes=MAX_DOCUMENT_BYTES,
    )
    if not result.ok:
        if result.status is not None and 400 <= result.status < 500:
            raise _refuse(
                "The identity provider did not accept this sign-in. Start the sign-in again.",
                f"token endpoint refused the code: {result.error}",
                provider.issuer,
            )
        raise _refuse(_UNREACHABLE, f"token endpoint: {result.error}", provider.issuer)
    try:
        token = json.loads(result.body)
    except ValueError:
        token = None
    if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
        raise _refuse(_UNVERIFIED, "the token response has no id_token", provider.issuer)
    return token


def _decode(id_token: str, metadata: ProviderMetadata, settings: Settings) -> jwt.Token:
    try:
        return jwt.decode(
            id_token, key_set(metadata, settings=settings), algorithms=list(metadata.algorithms)
        )
    except InvalidKeyIdError:
        # The provider may have rotated its keys since we fetched them: fetch once more.
        return jwt.decode(
            id_token, key_set(metadata, settings=settings, refresh=True), algorithms=list(metadata.algorithms)
        )


def validate_id_token(
    id_token: str,
    *,
    provider: OidcProvider,
    nonce: str,
    settings: Settings,
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of `id_token` once checked; raises OidcError (logged with the reason).

    Checked: the signature against the issuer's keys (a key id we do not know refetches them
    once), `iss` equal to the configured issuer, `aud` containing the client id (and `azp` the
    client id when present or when there are several audiences), `exp`, `iat` and `nbf` within
    LEEWAY_SECONDS, `sub` present, `nonce` equal to the login's, and `at_hash` when present.
    """
    metadata = discover(provider.issuer, settings=settings)
    try:
        token = _decode(id_token, metadata, settings)
    except BadSignatureError:
        raise _refuse(_UNVERIFIED, "ID token signature does not verify", provider.issuer) from None
    except InvalidKeyIdError:
        raise _refuse(
            _UNVERIFIED, "ID token is signed with a key the issuer does not publish", provider.issuer
        ) from None
    except (JoseError, ValueError, TypeError) as error:
        raise _refuse(
            _UNVERIFIED, f"ID token cannot be decoded: {type(error).__name__} {error}", provider.issuer
        ) from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
        },
        {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except ExpiredTokenError:
        raise _refuse(
            _UNVERIFIED, f"ID token expired at {token.claims.get('exp')}", provider.issuer
        ) from None
    except ClaimError as error:
        value = token.claims.get(error.claim)
        reason = f"ID token claim {error.claim!r} refused ({error.description}; it was {value!r})"
        raise _refuse(_UNVERIFIED, reason, provider.issuer) from None
    return dict(claims)


def complete(
    store: MutableMapping[str, Any],
    params: Mapping[str, str],
    *,
    settings: Settings,
    provider: OidcProvider | Callable[[Mapping[str, str]], OidcProvider | None],
) -> SignOn:
    """Finish the sign-on the provider redirected back with `params` (the callback's query).

    The `state` must name a login begun in `store`; it is consumed whatever happens next. The
    code is exchanged at the token endpoint (client secret, PKCE verifier) and the ID token
    checked (see `validate_id_token`). `provider` may be a function of the login's context
    (the organization it was begun for); it must be the provider the login was begun with.
    Raises OidcError.
    """
    entry = _take(store, params.get("state", ""), settings)
    context = dict(entry.get("context") or {})
    try:
        return _finish(entry, params, context, settings=settings, provider=provider)
    except OidcError as error:
        error.context = context
        raise


def _finish(
    entry: Mapping[str, Any],
    params: Mapping[str, str],
    context: dict[str, str],
    *,
    settings: Settings,
    provider: OidcProvider | Callable[[Mapping[str, str]], OidcProvider | None],
) -> SignOn:
    issuer = entry.get("issuer")
    if params.get("error"):
        detail = str(params.get("error_description") or params["error"])[:200]
        raise _refuse(
            "The identity provider did not sign you in. Start the sign-in again.",
            f"the provider answered {params['error']!r}: {detail}",
            issuer,
        )
    code = params.get("code", "")
    if not code:
        raise _refuse(_UNVERIFIED, "the callback has no code", issuer)
    configured = provider(context) if callable(provider) else provider
    if configured is None or (configured.issuer, configured.client_id) != (issuer, entry.get("client_id")):
        raise _refuse(
            "The single sign-on settings changed during your sign-in. Start the sign-in again.",
            "the provider settings changed since the login began",
            issuer,
        )
    metadata = discover(configured.issuer, settings=settings)
    token = _exchange(configured, metadata, code=code, entry=entry, settings=settings)
    access_token = token.get("access_token")
    claims = validate_id_token(
        token["id_token"],
        provider=configured,
        nonce=entry["nonce"],
        settings=settings,
        access_token=access_token if isinstance(access_token, str) else None,
    )
    return SignOn(claims=claims, context=context)


def refuse(message: str, reason: str, issuer: str | None = None) -> OidcError:
    """An OidcError for a refusal the caller decides on (an unverified email, an unknown user), logged."""
    return _refuse(message, reason, issuer)
