"""A real OpenID Connect provider for the tests, built with Authlib's server side.

Authorization code grant with the OpenID Connect extension and PKCE (S256 required), RS256 ID
tokens, a discovery document, a JWKS and a token endpoint (client_secret_basic or _post),
served by werkzeug on 127.0.0.1 on a free port in a thread. There is no login form: the test
says who signs in next (`sign_in_next`), and may tell the provider to misbehave for the next
token (`misbehave_next`): a wrong issuer, a wrong audience, an expired token, a tampered
payload under the old signature, or a signature by a key it does not publish.

Use the `oidc_provider` fixture (import `oidc_provider_fixture` into the test module);
`authorize(url)` plays the browser at the provider and returns
the callback URL the provider redirects back to.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

from status_platform.identity import oidc

Misbehaviour = Literal["wrong_issuer", "wrong_audience", "expired", "tampered", "unknown_key"]
CLIENT_ID = "status-platform"


@dataclass
class ProviderUser:
    """Who the provider signs in: the claims of its ID token."""

    sub: str
    email: str
    # None leaves the claim out of the ID token.
    email_verified: bool | None = True
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: set[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in {"openid", "email", "profile"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _first_key() -> RSAKey:
    # Generating an RSA key takes a few tenths of a second: the providers of a run share their first.
    return RSAKey.generate_key(2048, parameters={"kid": generate_token(8), "use": "sig"})


class OidcTestProvider:
    """The provider's state; the Flask app below reads and changes it."""

    def __init__(self) -> None:
        self.issuer = ""
        self.client = _Client(CLIENT_ID, generate_token(32), set())
        self.key = _first_key()
        self.next_user: ProviderUser | None = None
        self.next_misbehaviour: Misbehaviour | None = None
        self.codes: dict[str, _Code] = {}
        self.nonces: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.jwks_requests = 0
        self.lock = threading.Lock()
        self.browser = httpx.Client(trust_env=False, follow_redirects=False)

    # --- what the tests call ---

    def sign_in_next(
        self, *, email: str, sub: str | None = None, email_verified: bool | None = True, **claims: Any
    ) -> ProviderUser:
        """The user the next authorization request signs in, with extra ID token claims.

        `email_verified` None leaves that claim out.
        """
        self.next_user = ProviderUser(sub or f"sub-{generate_token(10)}", email, email_verified, dict(claims))
        return self.next_user

    def misbehave_next(self, how: Misbehaviour) -> None:
        """Make the next ID token wrong in this one way."""
        self.next_misbehaviour = how

    def register_redirect_uri(self, uri: str) -> None:
        self.client.redirect_uris.add(uri)

    def rotate_key(self) -> None:
        """Sign with a new key (a new key id), publishing only that one from now on."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": generate_token(8), "use": "sig"})

    def authorize(self, url: str) -> str:
        """Open the authorization URL as the browser would; returns where the provider redirects to."""
        assert url.startswith(self.issuer + "/authorize?"), url
        answer = self.browser.get(url)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    # --- what the server side uses ---

    def id_token_claims(self, client: _Client) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": [client.client_id], "iat": now, "exp": now + 300}
        how = self.next_misbehaviour
        if how == "wrong_issuer":
            # A trailing slash: close, but not the issuer.
            claims["iss"] = self.issuer + "/"
        elif how == "wrong_audience":
            claims["aud"] = ["another-client"]
        elif how == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        return claims

    def spoil(self, body: dict[str, Any]) -> dict[str, Any]:
        """The token response as the next misbehaviour has it (tampered, or signed by a stray key)."""
        how, self.next_misbehaviour = self.next_misbehaviour, None
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or how not in {"tampered", "unknown_key"}:
            return body
        header, payload, signature = id_token.split(".")
        if how == "tampered":
            claims = json.loads(_unb64(payload))
            claims["email"] = "mallory@evil.test"
            payload = _b64(json.dumps(claims).encode())
        else:
            from joserfc import jwt

            stray = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
            claims = json.loads(_unb64(payload))
            header, payload, signature = jwt.encode(
                {"alg": "RS256", "kid": self.key.kid}, claims, stray
            ).split(".")
        return {**body, "id_token": f"{header}.{payload}.{signature}"}


def build_provider_app(provider: OidcTestProvider) -> Flask:
    """The provider's Flask app: discovery, JWKS, authorization and token endpoints."""
    app = Flask("oidc_test_provider")
    app.config.update(SECRET_KEY=generate_token(20), OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": 300})

    class CodeGrant(AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            with provider.lock:
                provider.codes[code] = _Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope,
                    user=req.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    auth_time=int(time.time()),
                    expires_at=time.time() + 60,
                )
                if data.get("nonce"):
                    provider.nonces.add(data["nonce"])

        def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
            found = provider.codes.get(code)
            if found is None or found.client_id != client.client_id or found.expires_at < time.time():
                return None
            return found

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            with provider.lock:
                provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: _Code) -> ProviderUser:
            return authorization_code.user

    class Pkce(CodeChallenge):
        def get_authorization_code_challenge(self, authorization_code: _Code) -> str | None:
            return authorization_code.code_challenge

        def get_authorization_code_challenge_method(self, authorization_code: _Code) -> str | None:
            return authorization_code.code_challenge_method

    class OpenIdCode(OpenIDCode):
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return nonce in provider.nonces

        def resolve_client_private_key(self, client: _Client) -> RSAKey:
            return provider.key

        def get_client_algorithm(self, client: _Client) -> str:
            return "RS256"

        def get_encode_header(self, client: _Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": provider.key.kid or ""}

        def get_client_claims(self, client: _Client) -> dict[str, Any]:
            return provider.id_token_claims(client)

        def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
            verified = {} if user.email_verified is None else {"email_verified": user.email_verified}
            return UserInfo(sub=user.sub, email=user.email, **verified, **user.claims)

    def query_client(client_id: str) -> _Client | None:
        return provider.client if client_id == provider.client.client_id else None

    server = AuthorizationServer(app, query_client=query_client, save_token=lambda token, req: None)
    server.register_grant(CodeGrant, [OpenIdCode(require_nonce=True), Pkce(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        issuer = provider.issuer
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            jwks_uri=f"{issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            code_challenge_methods_supported=["S256"],
            scopes_supported=["openid", "email", "profile"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        provider.jwks_requests += 1
        return jsonify(keys=[provider.key.as_dict(private=False)])

    @app.get("/authorize")
    def authorize() -> Any:
        user, provider.next_user = provider.next_user, None
        if user is None:
            return "The test did not say who signs in next.", 400
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant_user=user, grant=grant)

    @app.post("/token")
    def token() -> Any:
        provider.token_requests.append(dict(request.form))
        response = server.create_token_response()
        if response.status_code == 200:
            body = provider.spoil(json.loads(response.get_data()))
            response.set_data(json.dumps(body))
        return response

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def callback_path(url: str) -> str:
    """The path and query of a callback URL, to send to the app under test."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture() -> Iterator[OidcTestProvider]:
    """A running OpenID Connect provider on 127.0.0.1 (a free port), stopped after the test."""
    # A port of an earlier test's provider may come round again: nothing of that one is kept.
    oidc.forget_cached()
    provider = OidcTestProvider()
    server = make_server(
        "127.0.0.1", 0, build_provider_app(provider), threaded=True, request_handler=_QuietHandler
    )
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="oidc-provider", daemon=True)
    thread.start()
    yield provider
    provider.browser.close()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
