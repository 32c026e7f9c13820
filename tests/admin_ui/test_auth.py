"""Staff sign-in on the platform host: CSRF, fresh sessions, ended sessions, 404 across organizations."""

from __future__ import annotations

from sqlalchemy import select

from status_platform.db.session import platform_session
from status_platform.identity.models import User
from tests.conftest import csrf_token, log_in


def test_signing_in_leads_to_the_organizations_dashboard(admin_client, org_a):
    response = log_in(admin_client, org_a.owner_email, org_a.owner_password)
    assert response.status_code == 302
    follow = admin_client.get(response.headers["Location"])
    assert follow.status_code == 302 and follow.headers["Location"].endswith(f"/t/{org_a.slug}/")
    page = admin_client.get(f"/t/{org_a.slug}/", follow_redirects=True).get_data(as_text=True)
    assert f"{org_a.name} REST" in page and f"{org_a.name} outage" in page


def test_a_wrong_password_is_refused_with_a_message(admin_client, org_a):
    response = log_in(admin_client, org_a.owner_email, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "email address or password is not right" in page
    assert 'aria-invalid="true"' in page and 'class="field invalid"' in page
    assert admin_client.get(f"/t/{org_a.slug}/").status_code == 302


def test_a_form_without_csrf_token_is_refused(admin_client, org_a):
    response = admin_client.post(
        "/login", data={"email": org_a.owner_email, "password": org_a.owner_password}
    )
    assert response.status_code == 400
    assert admin_client.get(f"/t/{org_a.slug}/").status_code == 302


def test_signing_in_starts_a_fresh_session(admin_client, org_a):
    with admin_client.session_transaction() as session:
        session["planted"] = "from before"
    log_in(admin_client, org_a.owner_email, org_a.owner_password)
    with admin_client.session_transaction() as session:
        assert "planted" not in session


def test_bumping_the_session_version_ends_every_session(staff_client, org_a):
    assert staff_client.get(f"/t/{org_a.slug}/", follow_redirects=True).status_code == 200
    with platform_session() as s:
        user = s.scalar(select(User).where(User.email == org_a.owner_email))
        user.session_version += 1
        s.commit()
    assert staff_client.get(f"/t/{org_a.slug}/").status_code == 302


def test_anonymous_visitors_are_sent_to_sign_in(admin_client, org_a):
    response = admin_client.get(f"/t/{org_a.slug}/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_another_organizations_dashboard_is_404(staff_client, org_a, org_b):
    assert staff_client.get(f"/t/{org_b.slug}/").status_code == 404
    assert staff_client.get("/t/no-such-org/").status_code == 404


def test_sign_in_never_redirects_off_site(admin_client, org_a):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf_token(admin_client.get("/login").get_data(as_text=True))
        response = admin_client.post(
            f"/login?next={target}",
            data={"email": org_a.owner_email, "password": org_a.owner_password, "csrf_token": token},
        )
        assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_signing_out_ends_the_session(staff_client, org_a):
    token = csrf_token(staff_client.get(f"/t/{org_a.slug}/", follow_redirects=True).get_data(as_text=True))
    assert staff_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert staff_client.get(f"/t/{org_a.slug}/").status_code == 302


def test_a_member_of_two_organizations_chooses_and_switches_between_them(admin_client, org_a, org_b):
    from status_platform.tenancy.models import Membership, Role

    with platform_session() as s:
        user = s.scalar(select(User).where(User.email == org_a.owner_email))
        s.add(Membership(tenant_id=org_b.tenant_id, user_id=user.id, role=Role.EDITOR))
        s.commit()
    log_in(admin_client, org_a.owner_email, org_a.owner_password)
    choice = admin_client.get("/orgs").get_data(as_text=True)
    assert f'href="/t/{org_a.slug}/"' in choice and f'href="/t/{org_b.slug}/"' in choice
    assert "owner" in choice and "editor" in choice
    in_b = admin_client.get(f"/t/{org_b.slug}/", follow_redirects=True).get_data(as_text=True)
    assert f"{org_b.name} REST" in in_b and "(editor)" in in_b and "Switch organization" in in_b
    in_a = admin_client.get(f"/t/{org_a.slug}/", follow_redirects=True).get_data(as_text=True)
    assert f"{org_a.name} REST" in in_a and f"{org_b.name} REST" not in in_a
