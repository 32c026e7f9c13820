"""The team screen: members, roles, invitations by mail end to end, leaving, and 404 across organizations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin_ui import auth
from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.models import User
from status_platform.tenancy.models import Invitation, Membership, Role, Tenant
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.team.services import invitation_token
from tests.conftest import PLATFORM_HOST, PlatformHostClient, add_member, csrf_token, fingerprint, log_in


def _team(org) -> str:
    return f"/t/{org.slug}/team"


def _post(client, url: str, data: dict[str, str] | None = None):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _new_client(admin_app):
    return PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)


def _plan(org, code: str) -> None:
    with platform_session() as s:
        s.get(Tenant, org.tenant_id).plan_code = code
        s.commit()


def _member_of(org, email: str) -> Membership | None:
    with platform_session() as s:
        return s.scalar(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == org.tenant_id, User.email == email)
        )


def _roles(org) -> dict[str, Role]:
    with platform_session() as s:
        rows = s.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.tenant_id == org.tenant_id)
        ).all()
    return dict(rows)


def _invite_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(rf"http://{re.escape(PLATFORM_HOST)}(/invite/\S+)", body)
    assert match, body
    return match.group(1)


def _events(org, action: str) -> list[AuditEvent]:
    with tenant_session(org.tenant_id) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_team_lists_members_with_roles_and_pending_invitations(staff_client, org_a, org_b):
    email, _ = add_member(org_a, "editor")
    response = staff_client.get(f"{_team(org_a)}/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert org_a.owner_email in page and email in page and f"invited@{org_a.slug}.test" in page
    assert "(you)" in page and "Editor" in page
    assert org_b.owner_email not in page and f"invited@{org_b.slug}.test" not in page


def test_the_team_is_searchable_and_paged_past_fifty(staff_client, org_a, org_b):
    _plan(org_a, "enterprise")
    with platform_session() as s:
        for number in range(60):
            user = User(email=f"person{number:02d}@{org_a.slug}.test", password_hash="x")
            s.add(user)
            s.flush()
            s.add(Membership(tenant_id=org_a.tenant_id, user_id=user.id, role=Role.VIEWER))
        s.commit()
    listed = re.compile(r"<span>person\d\d@acme\.test</span>")
    first = staff_client.get(f"{_team(org_a)}/").get_data(as_text=True)
    # The owner comes first, then 49 of the 60 viewers: 50 rows.
    assert len(listed.findall(first)) == 49 and "Next →" in first
    second = staff_client.get(f"{_team(org_a)}/?p=2").get_data(as_text=True)
    assert len(listed.findall(second)) == 11 and "← Previous" in second and "Next →" not in second
    found = staff_client.get(f"{_team(org_a)}/?q=person07").get_data(as_text=True)
    assert "person07@acme.test" in found and "person08@acme.test" not in found
    assert f"invited@{org_a.slug}.test" not in found


def test_a_new_person_is_invited_creates_an_account_and_joins(
    client_as, admin_app, org_a, org_b, mail, run_jobs
):
    _plan(org_a, "business")
    admin = client_as("admin")
    response = _post(admin, f"{_team(org_a)}/invitations", {"email": "Newbie@Example.test", "role": "editor"})
    assert response.status_code == 302
    run_jobs()
    [message] = mail.messages
    assert message["To"] == "newbie@example.test" and org_a.name in message["Subject"]
    link = _invite_link(message)
    browser = _new_client(admin_app)
    form = browser.get(link)
    assert form.status_code == 200 and "Create account and join" in form.get_data(as_text=True)
    response = _post(
        browser,
        link,
        {"name": "New Bie", "password": "the new password", "confirm_password": "the new password"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{org_a.slug}/")
    assert _roles(org_a)["newbie@example.test"] is Role.EDITOR
    assert browser.get(f"{_team(org_a)}/").status_code == 200
    assert browser.get(f"{_team(org_b)}/").status_code == 404
    with platform_session() as s:
        user = s.scalars(select(User).where(User.email == "newbie@example.test")).one()
        invitation = s.scalars(select(Invitation).where(Invitation.email == "newbie@example.test")).one()
    assert user.name == "New Bie" and user.email_verified_at is not None
    assert invitation.accepted_at is not None
    assert log_in(_new_client(admin_app), "newbie@example.test", "the new password").status_code == 302
    again = _new_client(admin_app).get(link)
    assert again.status_code == 400 and "already accepted" in again.get_data(as_text=True)
    assert [e.after for e in _events(org_a, "member.invited")] == [
        {"email": "newbie@example.test", "role": "editor"}
    ]
    assert _events(org_a, "member.joined")[0].after == {"email": "newbie@example.test", "role": "editor"}


def test_an_existing_user_signs_in_first_then_joins(staff_client, admin_app, org_a, org_b, mail, run_jobs):
    assert _post(staff_client, f"{_team(org_a)}/invitations", {"email": org_b.owner_email, "role": "viewer"})
    run_jobs()
    link = _invite_link(mail.messages[0])
    browser = _new_client(admin_app)
    response = browser.get(link)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/invite/")
    login_url = response.headers["Location"]
    token = csrf_token(browser.get(login_url).get_data(as_text=True))
    signed_in = browser.post(
        login_url, data={"email": org_b.owner_email, "password": org_b.owner_password, "csrf_token": token}
    )
    assert signed_in.headers["Location"] == link
    page = browser.get(link).get_data(as_text=True)
    assert f"Join {org_a.name}" in page and "password" not in page.split("<main")[1].lower()
    response = _post(browser, link)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{org_a.slug}/")
    assert _roles(org_a)[org_b.owner_email] is Role.VIEWER
    assert _roles(org_b)[org_b.owner_email] is Role.OWNER
    listing = browser.get("/orgs").get_data(as_text=True)
    assert org_a.name in listing and org_b.name in listing


def test_an_invitation_for_another_address_cannot_be_taken(
    staff_client, admin_app, org_a, org_b, mail, run_jobs
):
    _post(staff_client, f"{_team(org_a)}/invitations", {"email": "someone@example.test", "role": "admin"})
    run_jobs()
    link = _invite_link(mail.messages[0])
    intruder = _new_client(admin_app)
    log_in(intruder, org_b.owner_email, org_b.owner_password)
    before = fingerprint(org_a.tenant_id)
    page = intruder.get(link).get_data(as_text=True)
    assert "You are signed in as owner@globex.test" in page
    response = _post(intruder, link)
    assert response.status_code == 200
    assert fingerprint(org_a.tenant_id) == before
    assert intruder.get(f"{_team(org_a)}/").status_code == 404


def test_a_withdrawn_invitation_stops_working(staff_client, admin_app, org_a, mail, run_jobs):
    _post(staff_client, f"{_team(org_a)}/invitations", {"email": "late@example.test", "role": "viewer"})
    run_jobs()
    link = _invite_link(mail.messages[0])
    with platform_session() as s:
        invitation = s.scalars(select(Invitation).where(Invitation.email == "late@example.test")).one()
    response = _post(staff_client, f"{_team(org_a)}/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    page = _new_client(admin_app).get(link)
    assert page.status_code == 400 and "withdrawn" in page.get_data(as_text=True)
    assert "<td>late@example.test</td>" not in staff_client.get(f"{_team(org_a)}/").get_data(as_text=True)


def test_resending_an_invitation_mails_a_fresh_link(staff_client, admin_app, org_a, mail, run_jobs):
    with platform_session() as s:
        s.get(Invitation, org_a.ids["invitation"]).expires_at = utcnow() - timedelta(days=1)
        s.commit()
    response = _post(staff_client, f"{_team(org_a)}/invitations/{org_a.ids['invitation']}/resend")
    assert response.status_code == 302
    run_jobs()
    [message] = mail.messages
    assert message["To"] == f"invited@{org_a.slug}.test"
    assert _new_client(admin_app).get(_invite_link(message)).status_code == 200
    with platform_session() as s:
        assert s.get(Invitation, org_a.ids["invitation"]).expires_at > utcnow() + timedelta(days=6)


def test_after_a_resend_only_the_newest_link_works(staff_client, admin_app, org_a, org_b, mail, run_jobs):
    _plan(org_a, "business")
    _post(staff_client, f"{_team(org_a)}/invitations", {"email": "twice@example.test", "role": "editor"})
    run_jobs()
    first = _invite_link(mail.messages[0])
    with platform_session() as s:
        invitation = s.scalars(select(Invitation).where(Invitation.email == "twice@example.test")).one()
    assert _post(staff_client, f"{_team(org_a)}/invitations/{invitation.id}/resend").status_code == 302
    run_jobs()
    second = _invite_link(mail.messages[1])
    assert first != second
    browser = _new_client(admin_app)
    old = browser.get(first)
    assert old.status_code == 400 and "use the link of the newest email" in old.get_data(as_text=True)
    before = fingerprint(org_a.tenant_id)
    joined = _post(browser, first, {"password": "the new password", "confirm_password": "the new password"})
    assert joined.status_code == 400 and fingerprint(org_a.tenant_id) == before
    assert browser.get(second).status_code == 200
    response = _post(
        browser, second, {"password": "the new password", "confirm_password": "the new password"}
    )
    assert response.status_code == 302 and _roles(org_a)["twice@example.test"] is Role.EDITOR


def test_an_invitation_gone_while_it_is_accepted_is_no_longer_valid(admin_client, org_a, monkeypatch):
    invited = f"invited@{org_a.slug}.test"
    with platform_session() as s:
        link = f"/invite/{invitation_token(s.get(Invitation, org_a.ids['invitation']))}"
    page = admin_client.get(link)
    assert page.status_code == 200
    rebind = auth.rebind_request_session

    def rebind_as_the_invitation_goes(tenant_id: str):
        # Between the link's check and the acceptance, the invitation is deleted elsewhere.
        session = rebind(tenant_id)
        with platform_session() as s:
            s.delete(s.get(Invitation, org_a.ids["invitation"]))
            s.commit()
        return session

    monkeypatch.setattr(auth, "rebind_request_session", rebind_as_the_invitation_goes)
    response = _post(admin_client, link, {"password": "long enough pw", "confirm_password": "long enough pw"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This invitation cannot be used" in page and "This invitation is no longer valid." in page
    assert _member_of(org_a, invited) is None
    with platform_session() as s:
        assert s.scalar(select(User).where(User.email == invited)) is None
    assert admin_client.get(f"{_team(org_a)}/").status_code == 302


def test_an_expired_invitation_is_refused(admin_client, org_a):
    with platform_session() as s:
        invitation = s.get(Invitation, org_a.ids["invitation"])
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        s.commit()
        token = invitation_token(invitation)
    response = admin_client.get(f"/invite/{token}")
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_a_forged_invitation_link_is_refused(admin_client, org_a):
    response = admin_client.get("/invite/forged.token.here")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)


def test_inviting_a_member_again_is_refused(staff_client, org_a):
    editor, _ = add_member(org_a, "editor")
    for email, message in (
        (editor, "already a member"),
        (f"invited@{org_a.slug}.test", "pending invitation"),
    ):
        before = fingerprint(org_a.tenant_id)
        response = _post(staff_client, f"{_team(org_a)}/invitations", {"email": email, "role": "viewer"})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and message in page
        assert 'class="field invalid"' in page and 'aria-describedby="email-error"' in page
        assert fingerprint(org_a.tenant_id) == before


def test_the_plan_limits_members_and_pending_invitations(staff_client, org_a, org_b):
    # The Free plan seats 3: the owner and the pending invitation of the factory, then one more.
    assert (
        _post(staff_client, f"{_team(org_a)}/invitations", {"email": "third@example.test"}).status_code == 302
    )
    before = fingerprint(org_a.tenant_id)
    response = _post(staff_client, f"{_team(org_a)}/invitations", {"email": "fourth@example.test"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The Free plan includes 3 team members" in page and 'class="field invalid"' in page
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_below_admin_nobody_invites(client_as, org_a, role):
    client = client_as(role)
    before = fingerprint(org_a.tenant_id)
    response = _post(client, f"{_team(org_a)}/invitations", {"email": "x@example.test", "role": "viewer"})
    assert response.status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_an_admin_can_neither_remove_nor_demote_an_owner(client_as, org_a):
    admin = client_as("admin")
    owner = _member_of(org_a, org_a.owner_email)
    before = fingerprint(org_a.tenant_id)
    removed = _post(admin, f"{_team(org_a)}/{owner.id}/remove")
    demoted = _post(admin, f"{_team(org_a)}/{owner.id}/role", {"role": "viewer"})
    for response in (removed, demoted):
        assert response.status_code == 200
        assert "needs the owner role" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


def test_an_admin_cannot_make_an_owner(client_as, org_a):
    admin = client_as("admin")
    editor_email, _ = add_member(org_a, "editor")
    editor = _member_of(org_a, editor_email)
    before = fingerprint(org_a.tenant_id)
    response = _post(admin, f"{_team(org_a)}/{editor.id}/role", {"role": "owner"})
    assert response.status_code == 200 and "needs the owner role" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


def test_an_admin_changes_roles_and_removes_members(client_as, org_a, org_b):
    admin = client_as("admin")
    email, _ = add_member(org_a, "editor")
    member = _member_of(org_a, email)
    assert _post(admin, f"{_team(org_a)}/{member.id}/role", {"role": "viewer"}).status_code == 302
    assert _roles(org_a)[email] is Role.VIEWER
    [event] = _events(org_a, "member.role_changed")
    assert event.before == {"role": "editor"} and event.after == {"role": "viewer"}
    assert _post(admin, f"{_team(org_a)}/{member.id}/remove").status_code == 302
    assert email not in _roles(org_a)
    assert _events(org_a, "member.removed")[0].before == {"email": email, "role": "viewer"}


def test_the_last_owner_can_neither_leave_nor_be_demoted(staff_client, org_a):
    owner = _member_of(org_a, org_a.owner_email)
    before = fingerprint(org_a.tenant_id)
    left = _post(staff_client, f"{_team(org_a)}/leave")
    assert left.status_code == 200 and "last owner" in left.get_data(as_text=True)
    demoted = _post(staff_client, f"{_team(org_a)}/{owner.id}/role", {"role": "admin"})
    page = demoted.get_data(as_text=True)
    assert demoted.status_code == 200 and "last owner" in page
    assert f'aria-describedby="role-{owner.id}-error"' in page and 'class="field invalid"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_an_owner_may_leave_while_another_owner_stays(client_as, org_a):
    second_owner = client_as("owner")
    add_member(org_a, "owner")
    response = _post(second_owner, f"{_team(org_a)}/leave")
    assert response.status_code == 302 and response.headers["Location"].endswith("/orgs")
    assert org_a.owner_email not in _roles(org_a)


def test_any_member_can_leave(client_as, org_a, org_b):
    viewer = client_as("viewer")
    response = _post(viewer, f"{_team(org_a)}/leave")
    assert response.status_code == 302
    assert [r for r in _roles(org_a).values() if r is Role.VIEWER] == []
    assert viewer.get(f"{_team(org_a)}/").status_code == 404
    assert _events(org_a, "member.left")[0].before["role"] == "viewer"


def test_a_member_of_another_organization_cannot_see_or_change_the_team(client_as, org_a, org_b):
    outsider = client_as("owner", org_b)
    owner_a = _member_of(org_a, org_a.owner_email)
    before = fingerprint(org_a.tenant_id)
    assert outsider.get(f"{_team(org_a)}/").status_code == 404
    for url, data in (
        (f"{_team(org_a)}/invitations", {"email": "x@example.test"}),
        (f"{_team(org_a)}/{owner_a.id}/role", {"role": "viewer"}),
        (f"{_team(org_a)}/{owner_a.id}/remove", {}),
        (f"{_team(org_a)}/invitations/{org_a.ids['invitation']}/revoke", {}),
        (f"{_team(org_a)}/leave", {}),
    ):
        assert _post(outsider, url, data).status_code == 404, url
    assert fingerprint(org_a.tenant_id) == before


def test_ids_of_another_organization_are_404_in_ones_own_team(staff_client, org_a, org_b):
    owner_b = _member_of(org_b, org_b.owner_email)
    before = fingerprint(org_b.tenant_id)
    for url, data in (
        (f"{_team(org_a)}/{owner_b.id}/role", {"role": "viewer"}),
        (f"{_team(org_a)}/{owner_b.id}/remove", {}),
        (f"{_team(org_a)}/invitations/{org_b.ids['invitation']}/revoke", {}),
        (f"{_team(org_a)}/invitations/{org_b.ids['invitation']}/resend", {}),
    ):
        assert _post(staff_client, url, data).status_code == 404, url
    assert fingerprint(org_b.tenant_id) == before
