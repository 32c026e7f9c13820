"""The OpenID Connect client against a real provider: PKCE, state, nonce, and every ID token check."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from status_platform import egress
from status_platform.errors import ValidationError
from status_platform.identity import oidc
from status_platform.identity.oidc import OidcError, OidcProvider
from tests.oidc_provider import OidcTestProvider, oidc_provider_fixture  # noqa: F401

REDIRECT_URI = "http://app.test/callback"


@pytest.fixture
def provider(oidc_provider: OidcTestProvider, redis_client) -> OidcProvider:
    oidc_provider.register_redirect_uri(REDIRECT_URI)
    return OidcProvider(
        oidc_provider.issuer, oidc_provider.client.client_id, oidc_provider.client.client_secret
    )


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _sign_on(store: dict, provider: OidcProvider, idp: OidcTestProvider, settings, **context: str) -> dict:
    """Begin, pass the provider, and return the callback's query."""
    url = oidc.begin(store, provider=provider, redirect_uri=REDIRECT_URI, settings=settings, context=context)
    return _query(idp.authorize(url))


def test_a_sign_on_uses_pkce_and_a_nonce_and_returns_the_checked_claims(
    provider,
    oidc_provider: OidcTestProvider,
    settings,
):
    store: dict = {}
    oidc_provider.sign_in_next(email="Ada@Example.test", sub="ada-1", groups=["ops"])
    url = oidc.begin(
        store, provider=provider, redirect_uri=REDIRECT_URI, settings=settings, context={"next": "/x"}
    )
    asked = _query(url)
    assert asked["code_challenge_method"] == "S256" and asked["response_type"] == "code"
    assert asked["state"] in store[oidc.STORE_KEY] and asked["nonce"] and asked["code_challenge"]
    assert "openid" in asked["scope"].split() and asked["redirect_uri"] == REDIRECT_URI

    callback = _query(oidc_provider.authorize(url))
    signed_on = oidc.complete(store, callback, settings=settings, provider=provider)

    assert signed_on.subject == "ada-1" and signed_on.email == "ada@example.test" and signed_on.email_verified
    assert signed_on.claims["groups"] == ["ops"] and signed_on.claims["nonce"] == asked["nonce"]
    assert signed_on.context == {"next": "/x"}
    # The verifier went to the token endpoint (the provider checked it against the challenge).
    assert oidc_provider.token_requests[-1]["code_verifier"]
    assert store[oidc.STORE_KEY] == {}


def test_a_state_is_used_once_even_by_a_copy_of_the_session(provider, oidc_provider, settings):
    store: dict = {}
    oidc_provider.sign_in_next(email="ada@example.test")
    callback = _sign_on(store, provider, oidc_provider, settings)
    copied = {oidc.STORE_KEY: dict(store[oidc.STORE_KEY])}
    oidc.complete(store, callback, settings=settings, provider=provider)

    with pytest.raises(OidcError, match="already used or has expired"):
        oidc.complete(store, callback, settings=settings, provider=provider)
    # A copy of the cookie taken before the callback still holds the state: refused all the same.
    with pytest.raises(OidcError, match="already used"):
        oidc.complete(copied, callback, settings=settings, provider=provider)
    with pytest.raises(OidcError, match="already used or has expired"):
        oidc.complete({}, {"state": "made-up", "code": "x"}, settings=settings, provider=provider)


def test_two_sign_ons_in_flight_do_not_clash(provider, oidc_provider, settings):
    store: dict = {}
    oidc_provider.sign_in_next(email="first@example.test")
    first = _sign_on(store, provider, oidc_provider, settings, tab="1")
    oidc_provider.sign_in_next(email="second@example.test")
    second = _sign_on(store, provider, oidc_provider, settings, tab="2")

    done_second = oidc.complete(store, second, settings=settings, provider=provider)
    done_first = oidc.complete(store, first, settings=settings, provider=provider)

    assert (done_first.email, done_first.context) == ("first@example.test", {"tab": "1"})
    assert (done_second.email, done_second.context) == ("second@example.test", {"tab": "2"})


@pytest.mark.parametrize(
    ("how", "logged"),
    [
        ("wrong_issuer", "claim 'iss' refused"),
        ("wrong_audience", "claim 'aud' refused"),
        ("expired", "ID token expired"),
        ("tampered", "signature does not verify"),
        ("unknown_key", "signature does not verify"),
    ],
)
def test_a_wrong_id_token_is_refused_and_the_reason_logged(
    provider,
    oidc_provider,
    settings,
    caplog,
    how,
    logged,
):
    store: dict = {}
    oidc_provider.sign_in_next(email="ada@example.test")
    oidc_provider.misbehave_next(how)
    callback = _sign_on(store, provider, oidc_provider, settings)

    with (
        caplog.at_level(logging.WARNING, logger="status_platform.identity.oidc"),
        pytest.raises(OidcError) as refused,
    ):
        oidc.complete(store, callback, settings=settings, provider=provider)

    assert "could not be verified" in refused.value.message
    assert logged in refused.value.reason and logged in caplog.text
    # The login is used up: the same callback cannot be tried again.
    with pytest.raises(OidcError, match="already used"):
        oidc.complete(store, callback, settings=settings, provider=provider)


def test_a_wrong_nonce_is_refused(provider, oidc_provider, settings):
    store: dict = {}
    oidc_provider.sign_in_next(email="ada@example.test")
    callback = _sign_on(store, provider, oidc_provider, settings)
    entry = store[oidc.STORE_KEY][callback["state"]]
    entry["nonce"] = "another-login"

    with pytest.raises(OidcError) as refused:
        oidc.complete(store, callback, settings=settings, provider=provider)
    assert "'nonce' refused" in refused.value.reason


def test_a_rotated_key_is_fetched_once_when_a_token_names_it(provider, oidc_provider, settings):
    store: dict = {}
    oidc_provider.sign_in_next(email="ada@example.test")
    oidc.complete(
        store, _sign_on(store, provider, oidc_provider, settings), settings=settings, provider=provider
    )
    oidc_provider.sign_in_next(email="ada@example.test")
    oidc.complete(
        store, _sign_on(store, provider, oidc_provider, settings), settings=settings, provider=provider
    )
    assert oidc_provider.jwks_requests == 1  # cached between sign-ons

    oidc_provider.rotate_key()
    oidc_provider.sign_in_next(email="ada@example.test")
    done = oidc.complete(
        store, _sign_on(store, provider, oidc_provider, settings), settings=settings, provider=provider
    )

    assert done.email == "ada@example.test" and oidc_provider.jwks_requests == 2


def test_a_discovery_document_naming_another_issuer_is_refused(oidc_provider, settings, redis_client):
    # The provider's document names its issuer without the trailing slash staff typed.
    typed = OidcProvider(oidc_provider.issuer + "/", oidc_provider.client.client_id, "secret")
    with pytest.raises(OidcError) as refused:
        oidc.begin({}, provider=typed, redirect_uri=REDIRECT_URI, settings=settings)
    assert "names another issuer" in refused.value.reason


def test_the_settings_changed_during_a_sign_on_are_refused(provider, oidc_provider, settings):
    store: dict = {}
    oidc_provider.sign_in_next(email="ada@example.test")
    callback = _sign_on(store, provider, oidc_provider, settings)
    with pytest.raises(OidcError, match="settings changed"):
        oidc.complete(store, callback, settings=settings, provider=replace(provider, client_id="other"))


def test_the_provider_refusing_the_sign_in_is_refused(provider, oidc_provider, settings):
    store: dict = {}
    url = oidc.begin(store, provider=provider, redirect_uri=REDIRECT_URI, settings=settings)
    state = _query(url)["state"]
    with pytest.raises(OidcError, match="did not sign you in"):
        oidc.complete(store, {"state": state, "error": "access_denied"}, settings=settings, provider=provider)


def test_the_issuer_staff_type_is_checked(settings, monkeypatch):
    production = replace(settings, STATUSPLATFORM_ENV="production", EGRESS_ALLOWLIST=())
    strict = replace(settings, EGRESS_ALLOWLIST=())
    assert oidc.clean_issuer("  https://login.example.com/realms/acme ", settings=settings) == (
        "https://login.example.com/realms/acme"
    )
    assert oidc.clean_issuer("http://127.0.0.1:9999", settings=settings) == "http://127.0.0.1:9999"
    for bad, settings_used, says in [
        ("", settings, "Enter the issuer"),
        ("login.example.com", settings, "https URL"),
        ("http://login.example.com", production, "https URL"),
        ("https://login.example.com/?tenant=1", settings, "without a query"),
        ("https://user:pw@login.example.com", settings, "without a query"),
        ("http://127.0.0.1:9999", strict, "public address"),
        ("https://169.254.169.254/", settings, "public address"),
        ("https://10.1.2.3/", settings, "public address"),
    ]:
        with pytest.raises(ValidationError, match=says) as refused:
            oidc.clean_issuer(bad, settings=settings_used, field="sso_issuer")
        assert refused.value.field == "sso_issuer"


def test_provider_requests_are_checked_when_connecting(settings, monkeypatch, oidc_provider):
    """A name that resolves to loopback is refused at connect time; redirects are not followed."""
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        return real("127.0.0.1" if host == "idp.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    strict = replace(settings, EGRESS_ALLOWLIST=())
    port = urlsplit(oidc_provider.issuer).port
    refused = egress.fetch(f"http://idp.example.test:{port}/jwks", settings=strict)
    assert refused.error == "refused: idp.example.test resolves to a loopback address (127.0.0.1)"
    assert oidc_provider.jwks_requests == 0
    allowed = egress.fetch(f"http://idp.example.test:{port}/jwks", settings=settings)
    assert allowed.ok and b'"keys"' in allowed.body

    with pytest.raises(OidcError) as unreachable:
        oidc.discover(f"http://idp.example.test:{port}", settings=strict)
    assert "loopback" in unreachable.value.reason and "could not be reached" in unreachable.value.message


def test_only_an_email_the_provider_says_is_verified_is_vouched_for():
    base = {"iss": "https://login.example.com", "sub": "s-1"}
    vouched = oidc.SignOn({**base, "email": " Ada@Example.test ", "email_verified": True})
    assert vouched.email_verified and vouched.verified_email("this page") == "ada@example.test"
    for claims, says in [
        ({"email": "ada@example.test"}, "did not say whether your email address is verified"),
        ({"email": "ada@example.test", "email_verified": False}, "not verified"),
        ({"email": "ada@example.test", "email_verified": "true"}, "not verified"),
        ({"email_verified": True}, "did not share your email address, which this page needs"),
    ]:
        signed_on = oidc.SignOn({**base, **claims})
        with pytest.raises(OidcError, match=says):
            signed_on.verified_email("this page")


def test_provider_settings_are_cleaned_alike_and_the_secret_is_never_audited(settings):
    cleaned = oidc.clean_provider_settings(
        issuer=" https://login.example.com ",
        client_id=" app ",
        client_secret="",
        is_enabled=True,
        stored_secret="old",
        settings=settings,
        prefix="sso_",
    )
    assert (cleaned.issuer, cleaned.client_id, cleaned.client_secret) == (
        "https://login.example.com",
        "app",
        None,
    )
    assert cleaned.secret_change("old") is None
    assert replace(cleaned, client_secret="new").secret_change("old") == ("(set)", "(replaced)")
    assert replace(cleaned, client_secret="new").secret_change(None) == (None, "(replaced)")
    assert replace(cleaned, client_secret="old").secret_change("old") is None
    off = oidc.clean_provider_settings(
        issuer="",
        client_id="",
        client_secret="",
        is_enabled=False,
        stored_secret=None,
        settings=settings,
        prefix="x_",
    )
    assert (off.issuer, off.client_id, off.client_secret) == (None, None, None)
    for typed, field in [
        ({"issuer": "", "client_id": "app", "client_secret": "s"}, "viewer_oidc_issuer"),
        (
            {"issuer": "https://login.example.com", "client_id": "", "client_secret": "s"},
            "viewer_oidc_client_id",
        ),
        (
            {"issuer": "https://login.example.com", "client_id": "app", "client_secret": ""},
            "viewer_oidc_client_secret",
        ),
    ]:
        with pytest.raises(ValidationError, match="to turn single sign-on on") as refused:
            oidc.clean_provider_settings(
                **typed, is_enabled=True, stored_secret=None, settings=settings, prefix="viewer_oidc_"
            )
        assert refused.value.field == field
