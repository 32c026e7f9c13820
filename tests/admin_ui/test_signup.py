"""Signing up: an organization, its owner and its first page in one step; bad input creates nothing."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from admin_ui import auth
from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.models import User
from status_platform.ratelimit import Limit
from status_platform.tenancy.models import Membership, PageRoute, Role, Tenant
from tenants.incidents.models import IncidentType
from tenants.organizations import services as organizations
from tenants.pages.models import Page
from tests.conftest import PlatformHostClient, csrf_token, fingerprint, log_in
from tests.factories import PASSWORD

GOOD = {
    "name": "Initech Systems",
    "page_name": "Initech Status",
    "page_slug": "initech",
    "owner_email": "Peter@Initech.test",
    "owner_password": "a long enough password",
    "confirm_password": "a long enough password",
}


def _sign_up(client, **changes: str):
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    return client.post("/signup", data={**GOOD, **changes, "csrf_token": token})


def _counts() -> tuple[int, int, int]:
    with platform_session() as s:
        return (
            s.scalar(select(func.count()).select_from(Tenant)),
            s.scalar(select(func.count()).select_from(User)),
            s.scalar(select(func.count()).select_from(PageRoute)),
        )


def test_signing_up_creates_the_organization_its_owner_and_page_and_signs_in(admin_client, org_a, org_b):
    response = _sign_up(admin_client)
    assert response.status_code == 302
    with platform_session() as s:
        tenant = s.scalars(select(Tenant).where(Tenant.name == "Initech Systems")).one()
        owner = s.scalars(select(User).where(User.email == "peter@initech.test")).one()
        membership = s.scalars(select(Membership).where(Membership.tenant_id == tenant.id)).one()
        route = s.scalars(select(PageRoute).where(PageRoute.tenant_id == tenant.id)).one()
    assert tenant.slug == "initech-systems"
    assert membership.user_id == owner.id and membership.role is Role.OWNER
    assert route.slug == "initech"
    assert response.headers["Location"].endswith(f"/t/{tenant.slug}/p/{route.page_id}/")
    with tenant_session(tenant.id) as s:
        assert s.get(Page, route.page_id).name == "Initech Status"
        assert s.scalar(select(func.count()).select_from(IncidentType)) > 0
    # Signed in as the new owner, in the new organization only.
    assert admin_client.get(f"/t/{tenant.slug}/team/").status_code == 200
    assert admin_client.get(f"/t/{org_a.slug}/team/").status_code == 404
    assert admin_client.get(f"/t/{org_b.slug}/team/").status_code == 404


def test_a_taken_organization_slug_gets_a_number(admin_client, org_a, org_b):
    response = _sign_up(admin_client, name="Acme", page_slug="acme-status")
    assert response.status_code == 302
    with platform_session() as s:
        slugs = set(s.scalars(select(Tenant.slug).where(Tenant.name == "Acme")))
    assert slugs == {"acme", "acme-2"}
    assert "/t/acme-2/" in response.headers["Location"]


def test_the_page_name_defaults_to_the_company_name(admin_client, org_a):
    assert _sign_up(admin_client, page_name="").status_code == 302
    with platform_session() as s:
        tenant = s.scalars(select(Tenant).where(Tenant.name == "Initech Systems")).one()
    with tenant_session(tenant.id) as s:
        assert s.scalars(select(Page.name)).all() == ["Initech Systems"]


BAD = [
    pytest.param({"name": ""}, "name", "is required", id="empty-company"),
    pytest.param({"name": "!!!"}, "name", "at least one letter or digit", id="company-without-letters"),
    # The name goes into mail subjects: a line break there would start a header of its own.
    pytest.param(
        {"name": "Initech\r\nBcc: everyone@example.test"},
        "name",
        "must be on one line",
        id="company-line-break",
    ),
    pytest.param({"page_slug": "Not a slug!"}, "page_slug", "lowercase letters", id="bad-page-address"),
    pytest.param({"page_slug": ""}, "page_slug", "is required", id="empty-page-address"),
    pytest.param({"page_slug": "admin"}, "page_slug", "reserved", id="reserved-page-address"),
    pytest.param({"page_slug": "acme"}, "page_slug", "already taken", id="duplicate-page-address"),
    pytest.param({"owner_email": "not-an-email"}, "owner_email", "is not valid", id="invalid-email"),
    pytest.param(
        {"owner_password": "short", "confirm_password": "short"}, "owner_password", "at least 8", id="short"
    ),
    pytest.param({"confirm_password": "something else"}, "confirm_password", "not the same", id="mismatch"),
    pytest.param(
        {
            "owner_email": "owner@acme.test",
            "owner_password": "not their password 1",
            "confirm_password": "not their password 1",
        },
        "owner_email",
        "There is already an account for this address. Sign in first",
        id="existing-account-wrong-password",
    ),
    pytest.param(
        {
            "owner_email": "Owner@Acme.test",
            "owner_password": PASSWORD,
            "confirm_password": PASSWORD,
        },
        "owner_email",
        "There is already an account for this address. Sign in first",
        id="existing-account-right-password",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD)
def test_bad_signup_input_is_marked_and_creates_nothing(admin_client, org_a, org_b, changes, field, message):
    before, before_b, counts = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id), _counts()
    response = _sign_up(admin_client, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="field invalid"' in page and message in page
    assert f'id="f-{field}"' in page and f'aria-describedby="{field}-error"' in page
    assert f'name="{field}"' in page.split('aria-invalid="true"')[0].rsplit("<input", 1)[1]
    assert _counts() == counts
    assert fingerprint(org_a.tenant_id) == before and fingerprint(org_b.tenant_id) == before_b
    # Still signed out: the refused sign-up signed nobody in.
    assert admin_client.get(f"/t/{org_a.slug}/team/").status_code == 302


def test_the_form_keeps_what_was_typed_but_not_the_passwords(admin_client, org_a):
    page = _sign_up(admin_client, confirm_password="something else").get_data(as_text=True)
    assert 'value="Initech Systems"' in page and 'value="initech"' in page
    assert "a long enough password" not in page


def test_a_signed_in_user_adds_an_organization_with_their_own_password(staff_client, org_a, org_b):
    response = _sign_up(
        staff_client,
        owner_email=org_a.owner_email,
        owner_password=org_a.owner_password,
        confirm_password=org_a.owner_password,
    )
    assert response.status_code == 302
    with platform_session() as s:
        owner = s.scalars(select(User).where(User.email == org_a.owner_email)).one()
        roles = dict(
            s.execute(
                select(Tenant.slug, Membership.role)
                .join(Membership, Membership.tenant_id == Tenant.id)
                .where(Membership.user_id == owner.id)
            ).all()
        )
    assert roles == {org_a.slug: Role.OWNER, "initech-systems": Role.OWNER}
    listing = staff_client.get("/orgs")
    assert listing.status_code == 200
    assert "Initech Systems" in listing.get_data(as_text=True) and org_a.name in listing.get_data(
        as_text=True
    )
    assert staff_client.get(f"/t/{org_b.slug}/team/").status_code == 404


def test_the_signup_form_of_a_signed_in_user_offers_their_address(staff_client, org_a):
    page = staff_client.get("/signup").get_data(as_text=True)
    assert f'value="{org_a.owner_email}"' in page and "current password" in page


def test_signups_are_limited_per_address(admin_client, org_a, monkeypatch):
    monkeypatch.setattr(auth, "SIGNUP_PER_IP", Limit("signup-ip", attempts=2, window_seconds=3600))
    _sign_up(admin_client, name="")
    _sign_up(admin_client, name="")
    counts = _counts()
    response = _sign_up(admin_client)
    assert response.status_code == 429
    assert "Too many sign-ups from your network. Try again in 60 minutes." in response.get_data(as_text=True)
    assert _counts() == counts
    other = admin_client.get("/signup", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    token = csrf_token(other.get_data(as_text=True))
    response = admin_client.post(
        "/signup", data={**GOOD, "csrf_token": token}, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert response.status_code == 302


def test_the_signup_form_needs_its_csrf_token(admin_client, org_a):
    counts = _counts()
    assert admin_client.post("/signup", data=GOOD).status_code == 400
    assert _counts() == counts


def _new_client(admin_app):
    return PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)


@pytest.fixture
def limits(admin_app, monkeypatch):
    """Change the app's sign-in limits for one test."""

    def change(**values: int) -> None:
        settings = dataclasses.replace(admin_app.config["SETTINGS"], **values)
        monkeypatch.setitem(admin_app.config, "SETTINGS", settings)

    return change


def test_someone_elses_account_is_refused_without_checking_its_password(
    admin_client, org_a, org_b, monkeypatch
):
    def must_not_be_called(*_args: object) -> bool:
        raise AssertionError("the password was checked")

    monkeypatch.setattr(organizations, "verify_password", must_not_be_called)
    before, counts = fingerprint(org_a.tenant_id), _counts()
    response = _sign_up(
        admin_client,
        owner_email=org_a.owner_email,
        owner_password=org_a.owner_password,
        confirm_password=org_a.owner_password,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-describedby="owner_email-error"' in page and "There is already an account" in page
    assert 'href="/login?next=/signup">Sign in to that account</a>' in page
    assert _counts() == counts and fingerprint(org_a.tenant_id) == before
    assert admin_client.get(f"/t/{org_a.slug}/team/").status_code == 302


def test_a_signed_in_user_cannot_sign_up_with_another_persons_account(staff_client, org_a, org_b):
    before_b, counts = fingerprint(org_b.tenant_id), _counts()
    response = _sign_up(
        staff_client,
        owner_email=org_b.owner_email,
        owner_password=org_b.owner_password,
        confirm_password=org_b.owner_password,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "There is already an account for this address" in page
    assert 'aria-describedby="owner_email-error"' in page
    assert _counts() == counts and fingerprint(org_b.tenant_id) == before_b
    # Still the owner of A, and nobody else.
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 200
    assert staff_client.get(f"/t/{org_b.slug}/team/").status_code == 404


def test_a_wrong_password_of_the_signed_in_user_counts_against_their_sign_in_limit(
    staff_client, admin_app, org_a, org_b, limits
):
    limits(LOGIN_ATTEMPTS_PER_ACCOUNT=3)
    wrong = {"owner_email": org_a.owner_email, "owner_password": "a guess", "confirm_password": "a guess"}
    before, counts = fingerprint(org_a.tenant_id), _counts()
    for _ in range(2):
        response = _sign_up(staff_client, **wrong)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "That is not your current password." in page
        assert 'aria-describedby="owner_password-error"' in page
    # The sign-in form shares the count: one more failure there, and the account is locked.
    assert log_in(_new_client(admin_app), org_a.owner_email, "another guess").status_code == 200
    right = {
        "owner_email": org_a.owner_email,
        "owner_password": org_a.owner_password,
        "confirm_password": org_a.owner_password,
    }
    response = _sign_up(staff_client, **right)
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert "Too many sign-in attempts for this account." in response.get_data(as_text=True)
    assert _counts() == counts and fingerprint(org_a.tenant_id) == before
    assert log_in(_new_client(admin_app), org_a.owner_email, org_a.owner_password).status_code == 429
    # Another account is not held back.
    assert log_in(_new_client(admin_app), org_b.owner_email, org_b.owner_password).status_code == 302


def test_the_right_password_of_the_signed_in_user_starts_their_count_afresh(
    staff_client, admin_app, org_a, limits
):
    limits(LOGIN_ATTEMPTS_PER_ACCOUNT=2)
    _sign_up(
        staff_client, owner_email=org_a.owner_email, owner_password="x guess", confirm_password="x guess"
    )
    right = {
        "owner_email": org_a.owner_email,
        "owner_password": org_a.owner_password,
        "confirm_password": org_a.owner_password,
    }
    assert _sign_up(staff_client, **right).status_code == 302
    for _ in range(2):
        assert log_in(_new_client(admin_app), org_a.owner_email, "wrong password").status_code == 200
    assert log_in(_new_client(admin_app), org_a.owner_email, org_a.owner_password).status_code == 429
