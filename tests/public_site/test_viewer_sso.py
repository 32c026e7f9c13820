"""Viewers signing on through the page's OpenID Connect provider, end to end against a real provider."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from tenants.audiences import queries
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.services import (
    add_audience_components,
    create_audience,
    deactivate_viewer,
    update_viewer_sign_in,
)
from tenants.components.models import ComponentVisibility
from tenants.components.services import create_component
from tenants.pages.models import Page, PageVisibility
from tests.factories import ACTOR
from tests.oidc_provider import OidcTestProvider, callback_path, oidc_provider_fixture  # noqa: F401


def _sso_page(org, provider: OidcTestProvider, *, claim: str | None = None) -> str:  # noqa: ANN001
    """Make the factory's page private with single sign-on; its audience gets "Private Dock"."""
    provider.register_redirect_uri(f"http://{org.host}/login/sso/callback")
    with tenant_session(org.tenant_id) as s:
        s.get(Tenant, org.tenant_id).plan_code = "business"
        page = s.get(Page, org.page_id)
        page.visibility = PageVisibility.PRIVATE
        dock = create_component(
            s, page, name="Private Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        add_audience_components(s, s.get(Audience, org.ids["audience"]), [dock.id], actor=ACTOR)
        update_viewer_sign_in(
            s,
            page,
            actor=ACTOR,
            is_enabled=True,
            issuer=provider.issuer,
            client_id=provider.client.client_id,
            client_secret=provider.client.client_secret,
            audience_claim=claim,
        )
        s.commit()
        return dock.id


def _start(client: Client, org, next_path: str | None = None) -> str:  # noqa: ANN001
    query = {"next": next_path} if next_path else {}
    started = client.get("/login/sso", headers={"Host": org.host}, query_string=query)
    assert started.status_code == 302, started.get_data(as_text=True)
    assert started.headers["Cache-Control"] == "private, no-store"
    return started.headers["Location"]


def _sign_on(client: Client, org, provider: OidcTestProvider, next_path: str | None = None):  # noqa: ANN001, ANN202
    """Start on the page, pass the provider, and come back: returns (callback response, callback URL)."""
    callback = provider.authorize(_start(client, org, next_path))
    assert urlsplit(callback).netloc == org.host
    return client.get(callback_path(callback), headers={"Host": org.host}), callback


def _signed_in_as(client: Client, org) -> str | None:  # noqa: ANN001
    account = client.get("/account", headers={"Host": org.host})
    if account.status_code == 302:
        assert "/login?next=" in account.headers["Location"]
        return None
    assert account.status_code == 200
    return account.get_data(as_text=True)


def _audience_names(org, email: str) -> list[str]:  # noqa: ANN001
    with tenant_session(org.tenant_id) as s:
        viewer = s.scalar(select(Viewer).where(Viewer.email == email))
        assert viewer is not None
        ids = queries.audience_ids_by_viewer(s, [viewer.id]).get(viewer.id, [])
        return sorted(s.get(Audience, audience_id).name for audience_id in ids)


def test_a_viewer_signs_on_and_sees_its_page(router, org_a, oidc_provider: OidcTestProvider):
    _sso_page(org_a, oidc_provider)
    client = Client(router)
    login = client.get("/login", headers={"Host": org_a.host}).get_data(as_text=True)
    assert "Sign in with single sign-on" in login and "/login/sso?next=" in login

    oidc_provider.sign_in_next(email="Viewer@acme.test", sub="idp-viewer-1")
    answer, _ = _sign_on(client, org_a, oidc_provider, next_path="/history")

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/history")
    account = _signed_in_as(client, org_a)
    assert account is not None and "viewer@acme.test" in account and "Acme client" in account
    page = client.get("/", headers={"Host": org_a.host})
    assert page.status_code == 200 and "Private Dock" in page.get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        viewer = s.get(Viewer, org_a.ids["viewer"])
        # The existing viewer (found by email) is now known by its login at the provider too.
        assert viewer.external_login == "idp-viewer-1" and viewer.last_login_at is not None
    # The PKCE verifier and the client secret went to the token endpoint.
    sent = oidc_provider.token_requests[-1]
    assert sent["code_verifier"] and sent["redirect_uri"] == f"http://{org_a.host}/login/sso/callback"

    # An unsafe `next` goes to the status page instead.
    oidc_provider.sign_in_next(email="viewer@acme.test", sub="idp-viewer-1")
    again, _ = _sign_on(Client(router), org_a, oidc_provider, next_path="//evil.test/x")
    assert again.status_code == 302 and urlsplit(again.headers["Location"]).path == "/"
    assert urlsplit(again.headers["Location"]).netloc in {"", org_a.host}


def test_every_wrong_answer_is_refused_and_leaves_no_session(router, org_a, oidc_provider: OidcTestProvider):
    _sso_page(org_a, oidc_provider)
    for how in ("wrong_issuer", "wrong_audience", "expired", "tampered", "unknown_key"):
        client = Client(router)
        oidc_provider.sign_in_next(email="viewer@acme.test")
        oidc_provider.misbehave_next(how)
        refused, _ = _sign_on(client, org_a, oidc_provider)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 400, how
        assert "could not be verified" in body and "Try again" in body and "/login/sso" in body, how
        assert _signed_in_as(client, org_a) is None, how

    # A replayed state: the same callback URL once more, in the browser that used it and in another.
    client = Client(router)
    oidc_provider.sign_in_next(email="viewer@acme.test", sub="idp-viewer-1")
    answer, callback = _sign_on(client, org_a, oidc_provider)
    assert answer.status_code == 302 and _signed_in_as(client, org_a) is not None
    replayed = client.get(callback_path(callback), headers={"Host": org_a.host})
    assert replayed.status_code == 400 and "already used" in replayed.get_data(as_text=True)
    elsewhere = Client(router)
    stolen = elsewhere.get(callback_path(callback), headers={"Host": org_a.host})
    assert stolen.status_code == 400 and _signed_in_as(elsewhere, org_a) is None
    # A refused callback drops only its own login: a link to it signs nobody out.
    unknown = client.get("/login/sso/callback?state=x&code=y", headers={"Host": org_a.host})
    assert unknown.status_code == 400 and _signed_in_as(client, org_a) is not None

    # Another account at the provider with the same email does not take the viewer over.
    client = Client(router)
    oidc_provider.sign_in_next(email="viewer@acme.test", sub="idp-mallory")
    taken, _ = _sign_on(client, org_a, oidc_provider)
    assert taken.status_code == 400 and "linked to another account" in taken.get_data(as_text=True)
    assert _signed_in_as(client, org_a) is None

    # An email the provider does not say is verified (false, or no claim at all) finds nobody and
    # makes nobody: for the linked viewer, a viewer to link by email, and a domain audience.
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        create_audience(s, page, actor=ACTOR, name="Partner", email_domain="partner.test")
        s.commit()
    for email, sub, verified, says in [
        ("viewer@acme.test", "idp-viewer-1", False, "not verified"),
        ("viewer@acme.test", "idp-viewer-1", None, "did not say whether your email address is verified"),
        ("ops@partner.test", None, None, "did not say whether your email address is verified"),
    ]:
        oidc_provider.sign_in_next(email=email, sub=sub, email_verified=verified)
        unverified, _ = _sign_on(client, org_a, oidc_provider)
        assert unverified.status_code == 400 and says in unverified.get_data(as_text=True), email
        assert _signed_in_as(client, org_a) is None
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalar(select(Viewer).where(Viewer.email == "ops@partner.test")) is None

    # A deactivated viewer, and a stranger the page's audiences do not name.
    oidc_provider.sign_in_next(email="someone@elsewhere.test")
    stranger, _ = _sign_on(client, org_a, oidc_provider)
    assert stranger.status_code == 400 and "no access" in stranger.get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalar(select(Viewer).where(Viewer.email == "someone@elsewhere.test")) is None
        deactivate_viewer(s, s.get(Viewer, org_a.ids["viewer"]), actor=ACTOR)
        s.commit()
    oidc_provider.sign_in_next(email="viewer@acme.test", sub="idp-viewer-1")
    inactive, _ = _sign_on(client, org_a, oidc_provider)
    assert inactive.status_code == 400 and "turned off" in inactive.get_data(as_text=True)
    assert _signed_in_as(client, org_a) is None


def test_audiences_come_from_a_claim_and_follow_it_at_every_sign_on(
    router, org_a, oidc_provider: OidcTestProvider
):
    _sso_page(org_a, oidc_provider, claim="groups")
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        create_audience(s, page, actor=ACTOR, name="Beta", external_identifier="grp-beta")
        create_audience(s, page, actor=ACTOR, name="Gamma")
        s.commit()

    oidc_provider.sign_in_next(email="new@partner.test", sub="p-1", groups=["grp-beta", "gamma", "unknown"])
    answer, _ = _sign_on(Client(router), org_a, oidc_provider)
    assert answer.status_code == 302
    assert _audience_names(org_a, "new@partner.test") == ["Beta", "Gamma"]  # created just in time

    # The provider now says only "Acme client" (by name: that audience has no identifier); found by sub.
    oidc_provider.sign_in_next(email="renamed@partner.test", sub="p-1", groups="Acme client")
    client = Client(router)
    answer, _ = _sign_on(client, org_a, oidc_provider)
    assert answer.status_code == 302
    assert _audience_names(org_a, "new@partner.test") == ["Acme client"]
    assert "Private Dock" in client.get("/", headers={"Host": org_a.host}).get_data(as_text=True)

    # "Beta" by name does not match an audience known by its identifier.
    oidc_provider.sign_in_next(email="other@partner.test", groups=["Beta"])
    refused, _ = _sign_on(Client(router), org_a, oidc_provider)
    assert refused.status_code == 400


def test_audiences_come_from_the_email_domain_without_a_claim(router, org_a, oidc_provider: OidcTestProvider):
    _sso_page(org_a, oidc_provider)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        create_audience(s, page, actor=ACTOR, name="Partner", email_domain="partner.test")
        create_audience(s, page, actor=ACTOR, name="Vendor", email_domain="vendor.test")
        s.commit()

    oidc_provider.sign_in_next(email="ops@partner.test")
    answer, _ = _sign_on(Client(router), org_a, oidc_provider)
    assert answer.status_code == 302
    assert _audience_names(org_a, "ops@partner.test") == ["Partner"]

    # Staff-given audiences without a domain stay; domain audiences follow the email at each sign-on.
    with tenant_session(org_a.tenant_id) as s:
        vendor = s.scalar(select(Audience).where(Audience.name == "Vendor"))
        viewer = s.scalar(select(Viewer).where(Viewer.email == "viewer@acme.test"))
        from tenants.audiences.services import set_viewer_audiences

        set_viewer_audiences(s, viewer, [org_a.ids["audience"], vendor.id], actor=ACTOR)
        s.commit()
    oidc_provider.sign_in_next(email="viewer@acme.test")
    answer, _ = _sign_on(Client(router), org_a, oidc_provider)
    assert answer.status_code == 302
    assert _audience_names(org_a, "viewer@acme.test") == ["Acme client"]


@pytest.mark.parametrize("visibility", [PageVisibility.PUBLIC, PageVisibility.PRIVATE])
def test_single_sign_on_is_not_found_unless_the_page_uses_it(router, org_a, visibility):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.visibility = visibility
        page.viewer_oidc_issuer, page.viewer_oidc_client_id = "https://login.example.com", "client"
        page.viewer_oidc_client_secret = "secret"
        page.viewer_oidc_is_enabled = visibility is PageVisibility.PUBLIC
        s.commit()
    client = Client(router)
    for path in ("/login/sso", "/login/sso/callback?state=x&code=y"):
        assert client.get(path, headers={"Host": org_a.host}).status_code == 404
