"""Staff single sign-on through an organization's OpenID Connect provider, end to end against a real one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.models import User
from status_platform.tenancy.models import Membership, Role, Tenant
from tenants.audit.models import AuditEvent
from tenants.organizations.services import update_sso_settings
from tests.conftest import PLATFORM_HOST, PlatformHostClient, csrf_token, log_in, post_form
from tests.factories import ACTOR
from tests.oidc_provider import OidcTestProvider, callback_path, oidc_provider_fixture  # noqa: F401

CALLBACK = f"http://{PLATFORM_HOST}/login/sso/callback"


def _sso_org(
    org, provider: OidcTestProvider, *, jit_domain: str = "", role: str = "viewer", required: bool = False
):  # noqa: ANN001, ANN202
    provider.register_redirect_uri(CALLBACK)
    with tenant_session(org.tenant_id) as s:
        tenant = s.get(Tenant, org.tenant_id)
        tenant.plan_code = "business"
        update_sso_settings(
            s,
            tenant,
            actor=ACTOR,
            is_enabled=True,
            is_required=required,
            issuer=provider.issuer,
            client_id=provider.client.client_id,
            client_secret=provider.client.client_secret,
            jit_domain=jit_domain,
            jit_role=role,
            signed_on_with=(provider.issuer, provider.client.client_id),
        )
        s.commit()


def _browser(admin_app) -> FlaskClient:  # noqa: ANN001
    return PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)


def _sign_on(client: FlaskClient, provider: OidcTestProvider, identifier: str, next_path: str = ""):  # noqa: ANN202
    """Ask for single sign-on by short name, pass the provider, come back: (response, callback URL)."""
    form = client.get("/login/sso").get_data(as_text=True)
    started = client.post(
        "/login/sso", data={"identifier": identifier, "next": next_path, "csrf_token": csrf_token(form)}
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    authorize = started.headers["Location"]
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [CALLBACK]
    callback = provider.authorize(authorize)
    return client.get(callback_path(callback)), callback


def _opens(client: FlaskClient, org) -> bool:  # noqa: ANN001
    """Whether the browser gets into the organization's screens (its team list, which every member reads)."""
    return client.get(f"/t/{org.slug}/team/").status_code == 200


def _signed_in(client: FlaskClient) -> bool:
    answer = client.get("/orgs")
    return not (answer.status_code == 302 and "/login" in answer.headers["Location"])


def test_a_new_colleague_signs_on_and_joins_with_the_configured_role(admin_app, org_a, oidc_provider):
    _sso_org(org_a, oidc_provider, jit_domain="acme.test", role="editor")
    client = _browser(admin_app)
    assert "Sign in with single sign-on" in client.get("/login").get_data(as_text=True)

    oidc_provider.sign_in_next(email="New.Hire@acme.test", sub="nh-1")
    answer, _ = _sign_on(client, oidc_provider, org_a.slug)

    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/t/{org_a.slug}/")
    assert _opens(client, org_a)
    with platform_session() as s:
        user = s.scalar(select(User).where(User.email == "new.hire@acme.test"))
        assert user is not None and user.password_hash is None and user.last_login_at is not None
        membership = s.scalar(select(Membership).where(Membership.user_id == user.id))
        assert membership.tenant_id == org_a.tenant_id and membership.role is Role.EDITOR
    with tenant_session(org_a.tenant_id) as s:
        joined = s.scalar(select(AuditEvent).where(AuditEvent.action == "member.joined_through_sso"))
        assert joined is not None and "new.hire@acme.test" in joined.summary

    # A member signs on by the organization's short name, and goes where it asked.
    oidc_provider.sign_in_next(email=org_a.owner_email)
    answer, _ = _sign_on(_browser(admin_app), oidc_provider, org_a.slug, next_path=f"/t/{org_a.slug}/team/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/t/{org_a.slug}/team/")


def test_every_wrong_answer_is_refused_and_leaves_no_session(admin_app, org_a, oidc_provider):
    _sso_org(org_a, oidc_provider, jit_domain="acme.test")
    for how in ("wrong_issuer", "wrong_audience", "expired", "tampered", "unknown_key"):
        client = _browser(admin_app)
        oidc_provider.sign_in_next(email=org_a.owner_email)
        oidc_provider.misbehave_next(how)
        refused, _ = _sign_on(client, oidc_provider, org_a.slug)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 400, how
        assert "could not be verified" in body and "Try again" in body and "/login/sso?org=acme" in body, how
        assert not _signed_in(client), how

    client = _browser(admin_app)
    oidc_provider.sign_in_next(email=org_a.owner_email)
    answer, callback = _sign_on(client, oidc_provider, org_a.slug)
    assert answer.status_code == 302 and _signed_in(client)
    replayed = client.get(callback_path(callback))
    assert replayed.status_code == 400 and "already used" in replayed.get_data(as_text=True)
    elsewhere = _browser(admin_app)
    assert elsewhere.get(callback_path(callback)).status_code == 400 and not _signed_in(elsewhere)
    # A refused callback drops only its own login: a link to it signs nobody out.
    assert client.get("/login/sso/callback?state=x&code=y").status_code == 400
    assert _signed_in(client) and _opens(client, org_a)


def test_an_address_outside_the_domain_that_joins_on_its_own_is_refused(admin_app, org_a, oidc_provider):
    _sso_org(org_a, oidc_provider, jit_domain="acme.test")
    client = _browser(admin_app)
    oidc_provider.sign_in_next(email="stranger@elsewhere.test")
    refused, _ = _sign_on(client, oidc_provider, org_a.slug)

    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "stranger@elsewhere.test is not a member of Acme" in body and "Only acme.test addresses" in body
    assert not _signed_in(client)
    with platform_session() as s:
        assert s.scalar(select(User).where(User.email == "stranger@elsewhere.test")) is None

    # An address the provider does not say is verified is refused, at the right domain and for
    # a member alike: unverified, or without the email_verified claim.
    for email, verified, says in [
        ("new@acme.test", False, "not verified"),
        ("new@acme.test", None, "did not say whether your email address is verified"),
        (org_a.owner_email, None, "did not say whether your email address is verified"),
    ]:
        oidc_provider.sign_in_next(email=email, email_verified=verified)
        unverified, _ = _sign_on(client, oidc_provider, org_a.slug)
        assert unverified.status_code == 400 and says in unverified.get_data(as_text=True), email
        assert not _signed_in(client)
    with platform_session() as s:
        assert s.scalar(select(User).where(User.email == "new@acme.test")) is None

    # The form takes a short name only, never an email (its domain routes nowhere), and says
    # what is wrong.
    form = client.get("/login/sso").get_data(as_text=True)
    assert "the part after /t/" in form.lower()
    for identifier, says in [
        ("who@acme.test", "not an email address"),
        ("nope", "no organization"),
    ]:
        shown = client.post("/login/sso", data={"identifier": identifier, "csrf_token": csrf_token(form)})
        text = shown.get_data(as_text=True)
        assert shown.status_code == 422 and says in text and 'class="field invalid"' in text


def test_required_sso_stops_a_password_session_for_that_organization_only(
    admin_app, org_a, org_b, oidc_provider
):
    _sso_org(org_a, oidc_provider, required=True)
    with platform_session() as s:
        owner = s.scalar(select(User).where(User.email == org_a.owner_email))
        s.add(Membership(tenant_id=org_b.tenant_id, user_id=owner.id, role=Role.EDITOR))
        s.commit()
    client = _browser(admin_app)
    assert log_in(client, org_a.owner_email, org_a.owner_password).status_code == 302

    sent = client.get(f"/t/{org_a.slug}/")
    assert sent.status_code == 302 and sent.headers["Location"].startswith(f"/login/sso?org={org_a.slug}")
    assert "requires single sign-on" in client.get(sent.headers["Location"].split("?")[0]).get_data(
        as_text=True
    )
    write = post_form(client, f"/t/{org_a.slug}/settings/", {"name": "Renamed"})
    assert write.status_code == 403
    assert _opens(client, org_b)  # other organizations still open

    # Through the organization's provider, the same session opens it, and keeps the other one.
    oidc_provider.sign_in_next(email=org_a.owner_email)
    answer = client.get(sent.headers["Location"])
    back = client.get(callback_path(oidc_provider.authorize(answer.headers["Location"])))
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/t/{org_a.slug}/")
    assert _opens(client, org_a)
    assert _opens(client, org_b)


def test_a_session_begun_by_sso_opens_only_organizations_entered_through_it(
    admin_app, org_a, org_b, oidc_provider
):
    _sso_org(org_a, oidc_provider)
    with platform_session() as s:
        owner = s.scalar(select(User).where(User.email == org_b.owner_email))
        s.add(Membership(tenant_id=org_a.tenant_id, user_id=owner.id, role=Role.VIEWER))
        s.commit()
    # Acme's provider vouches for Globex's owner: that opens Acme, never Globex.
    client = _browser(admin_app)
    oidc_provider.sign_in_next(email=org_b.owner_email)
    answer, _ = _sign_on(client, oidc_provider, org_a.slug)
    assert answer.status_code == 302 and _opens(client, org_a)
    refused = client.get(f"/t/{org_b.slug}/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login?next=")
    # Its list of organizations is Acme alone (so it goes straight there), and the account stays
    # as it is: the provider speaks for Acme, not for the person's account.
    orgs = client.get("/orgs")
    assert orgs.status_code == 302 and orgs.headers["Location"].endswith(f"/t/{org_a.slug}/")
    for form in ({"form": "profile", "name": "Mallory"}, {"form": "password", "current_password": "x"}):
        changed = post_form(client, "/account", form)
        assert changed.status_code == 403 and "Sign in with your password" in changed.get_data(as_text=True)
    with platform_session() as s:
        owner = s.scalar(select(User).where(User.email == org_b.owner_email))
        assert owner.name != "Mallory"

    # Once Acme's provider changes, the session from the old one no longer opens Acme.
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).sso_client_id = "another-client"
        s.commit()
    stale = client.get(f"/t/{org_a.slug}/team/")
    assert stale.status_code == 302 and stale.headers["Location"].startswith(f"/login/sso?org={org_a.slug}")
    assert post_form(client, f"/t/{org_a.slug}/settings/", {"name": "Renamed"}).status_code == 403


def test_require_waits_for_a_session_signed_on_through_the_provider(
    admin_app, org_a, oidc_provider, client_as
):
    oidc_provider.register_redirect_uri(CALLBACK)
    client = _browser(admin_app)
    assert log_in(client, org_a.owner_email, org_a.owner_password).status_code == 302
    settings_path = f"/t/{org_a.slug}/settings/"
    form = {
        "sso_issuer": oidc_provider.issuer,
        "sso_client_id": oidc_provider.client.client_id,
        "sso_client_secret": oidc_provider.client.client_secret,
        "sso_jit_domain": "acme.test",
        "sso_jit_role": "editor",
        "sso_is_enabled": "1",
        "sso_is_enabled__present": "1",
        "sso_is_required__present": "1",
    }
    free_plan = post_form(client, settings_path + "sso", form)
    assert free_plan.status_code == 422 and "does not include single sign-on" in free_plan.get_data(
        as_text=True
    )
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.commit()

    too_soon = post_form(client, settings_path + "sso", {**form, "sso_is_required": "1"})
    shown = too_soon.get_data(as_text=True)
    assert too_soon.status_code == 422 and "Sign in through this single sign-on once" in shown
    assert 'class="field check invalid"' in shown
    assert oidc_provider.client.client_secret not in shown  # write-only, even in a refused form
    with platform_session() as s:
        assert not s.get(Tenant, org_a.tenant_id).sso_is_enabled

    saved = post_form(client, settings_path + "sso", form)
    assert saved.status_code == 302
    page = client.get(settings_path).get_data(as_text=True)
    assert "A secret is stored" in page and oidc_provider.client.client_secret not in page
    assert "signed in with a password" in page and "Test single sign-on" in page

    # "Test single sign-on", then require it.
    oidc_provider.sign_in_next(email=org_a.owner_email)
    started = client.get(f"/login/sso?org={org_a.slug}&next={settings_path}")
    back = client.get(callback_path(oidc_provider.authorize(started.headers["Location"])))
    assert back.status_code == 302 and back.headers["Location"].endswith(settings_path)
    required = post_form(
        client, settings_path + "sso", {**form, "sso_client_secret": "", "sso_is_required": "1"}
    )
    assert required.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        tenant = s.get(Tenant, org_a.tenant_id)
        assert tenant.sso_is_required and tenant.sso_client_secret == oidc_provider.client.client_secret
        assert tenant.sso_jit_role is Role.EDITOR and tenant.sso_jit_domain == "acme.test"
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "organization.sso_updated")))
        assert len(events) == 2
        assert all(oidc_provider.client.client_secret not in str((e.before, e.after)) for e in events)
        assert events[0].after["sso_client_secret"] == "(replaced)"

    # Newcomers never join as admin; members below admin see the settings and cannot change them.
    assert post_form(client, settings_path + "sso", {**form, "sso_jit_role": "admin"}).status_code == 422
    editor = client_as("editor")
    shown = editor.get(settings_path)
    assert shown.status_code == 302 and shown.headers["Location"].startswith("/login/sso?org=acme")
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).sso_is_required = False
        s.commit()
    seen = editor.get(settings_path).get_data(as_text=True)
    assert "Single sign-on is on" in seen and "Admins and owners change it." in seen
    assert post_form(editor, settings_path + "sso", form).status_code == 403
