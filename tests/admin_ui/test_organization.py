"""Organization settings: rename, plan, ownership transfer, deletion by typed name, 404 elsewhere."""

from __future__ import annotations

from sqlalchemy import func, select

from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.models import User
from status_platform.tenancy.models import Membership, PageRoute, Role, Tenant
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tests.conftest import add_member, csrf_token, fingerprint


def _settings(org) -> str:
    return f"/t/{org.slug}/settings"


def _post(client, url: str, data: dict[str, str] | None = None):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _rows_of(org) -> dict[str, list[tuple[str, ...]]]:
    """The rows that carry the organization's id, table by table."""
    return {
        table: [row for row in rows if org.tenant_id in row]
        for table, rows in fingerprint(org.tenant_id).items()
    }


def _membership(org, email: str) -> Membership:
    with platform_session() as s:
        return s.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == org.tenant_id, User.email == email)
        ).one()


def test_the_owner_sees_the_name_the_plan_and_the_danger_zone(staff_client, org_a):
    page = staff_client.get(f"{_settings(org_a)}/").get_data(as_text=True)
    assert f'value="{org_a.name}"' in page and "Free" in page and "1 of 3" not in page
    assert "2 of 3 (pending invitations included)" in page
    assert "Transfer ownership" in page and "Delete organization" in page


def test_admins_rename_but_see_no_danger_zone_and_viewers_only_read(client_as, org_a):
    admin_page = client_as("admin").get(f"{_settings(org_a)}/").get_data(as_text=True)
    assert f'value="{org_a.name}"' in admin_page and "Delete organization" not in admin_page
    viewer_page = client_as("viewer").get(f"{_settings(org_a)}/").get_data(as_text=True)
    assert 'name="name"' not in viewer_page and org_a.name in viewer_page


def test_an_admin_renames_the_organization(client_as, org_a, org_b):
    response = _post(client_as("admin"), f"{_settings(org_a)}/", {"name": "Acme Corporation"})
    assert response.status_code == 302
    with platform_session() as s:
        assert s.get(Tenant, org_a.tenant_id).name == "Acme Corporation"
        assert s.get(Tenant, org_a.tenant_id).slug == org_a.slug
        assert s.get(Tenant, org_b.tenant_id).name == org_b.name
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "organization.renamed")).one()
    assert event.before == {"name": "Acme"} and event.after == {"name": "Acme Corporation"}


def test_a_blank_name_is_marked_and_changes_nothing(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    response = _post(staff_client, f"{_settings(org_a)}/", {"name": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Organization name is required." in page
    assert 'class="field invalid"' in page and 'aria-describedby="name-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_name_with_a_line_break_is_marked_and_changes_nothing(staff_client, org_a, org_b):
    # The name goes into mail subjects: a line break there would start a header of its own.
    before, before_b = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id)
    for name in ("Acme\r\nBcc: everyone@example.test", "Acme\nCorp", "Acme\rCorp"):
        response = _post(staff_client, f"{_settings(org_a)}/", {"name": name})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "Organization name must be on one line." in page
        assert 'class="field invalid"' in page and 'aria-describedby="name-error"' in page
    assert fingerprint(org_a.tenant_id) == before and fingerprint(org_b.tenant_id) == before_b


def test_an_editor_cannot_rename(client_as, org_a):
    editor = client_as("editor")
    before = fingerprint(org_a.tenant_id)
    assert _post(editor, f"{_settings(org_a)}/", {"name": "Hijacked"}).status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_the_owner_transfers_ownership_and_becomes_admin(staff_client, org_a, org_b):
    admin_email, _ = add_member(org_a, "admin")
    new_owner = _membership(org_a, admin_email)
    response = _post(staff_client, f"{_settings(org_a)}/transfer", {"member_id": new_owner.id})
    assert response.status_code == 302
    assert _membership(org_a, admin_email).role is Role.OWNER
    assert _membership(org_a, org_a.owner_email).role is Role.ADMIN
    assert _membership(org_b, org_b.owner_email).role is Role.OWNER
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "organization.ownership_transferred")
        ).one()
    assert event.before == {"new_owner_role": "admin", "previous_owner_role": "owner"}
    assert event.after == {"new_owner_role": "owner", "previous_owner_role": "admin"}
    # Now an admin, the former owner may no longer delete the organization.
    before = fingerprint(org_a.tenant_id)
    assert _post(staff_client, f"{_settings(org_a)}/delete", {"confirm": org_a.name}).status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_an_admin_cannot_transfer_ownership(client_as, org_a):
    admin = client_as("admin")
    editor_email, _ = add_member(org_a, "editor")
    before = fingerprint(org_a.tenant_id)
    response = _post(
        admin, f"{_settings(org_a)}/transfer", {"member_id": _membership(org_a, editor_email).id}
    )
    assert response.status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_ownership_cannot_go_to_a_member_of_another_organization(staff_client, org_a, org_b):
    add_member(org_a, "editor")
    outsider = _membership(org_b, org_b.owner_email)
    before, before_b = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id)
    for member_id in (outsider.id, "", _membership(org_a, org_a.owner_email).id):
        response = _post(staff_client, f"{_settings(org_a)}/transfer", {"member_id": member_id})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'aria-describedby="member_id-error"' in page
    assert fingerprint(org_a.tenant_id) == before and fingerprint(org_b.tenant_id) == before_b


def test_deleting_needs_the_typed_name_and_then_removes_everything(staff_client, org_a, org_b):
    before, before_b = fingerprint(org_a.tenant_id), _rows_of(org_b)
    for typed in ("", "acme", "Globex"):
        response = _post(staff_client, f"{_settings(org_a)}/delete", {"confirm": typed})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "exactly to confirm" in page
        assert 'class="field invalid"' in page and 'aria-describedby="confirm-error"' in page
        assert fingerprint(org_a.tenant_id) == before
    response = _post(staff_client, f"{_settings(org_a)}/delete", {"confirm": org_a.name})
    assert response.status_code == 302 and response.headers["Location"].endswith("/orgs")
    with platform_session() as s:
        assert s.get(Tenant, org_a.tenant_id) is None
        assert (
            s.scalar(
                select(func.count()).select_from(Membership).where(Membership.tenant_id == org_a.tenant_id)
            )
            == 0
        )
        assert (
            s.scalar(
                select(func.count()).select_from(PageRoute).where(PageRoute.tenant_id == org_a.tenant_id)
            )
            == 0
        )
        assert s.scalars(select(User).where(User.email == org_a.owner_email)).one()
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert _rows_of(org_b) == before_b and before_b["pages"] and before_b["memberships"]
    assert "You are not a member of any organization yet." in staff_client.get("/orgs").get_data(as_text=True)
    assert staff_client.get(f"/t/{org_a.slug}/settings/").status_code == 404


def test_the_public_page_of_a_deleted_organization_is_gone(staff_client, web, org_a):
    assert web.get("/", headers={"Host": org_a.host}).status_code == 200
    _post(staff_client, f"{_settings(org_a)}/delete", {"confirm": org_a.name})
    assert web.get("/", headers={"Host": org_a.host}).status_code == 404


def test_a_member_of_another_organization_cannot_see_or_change_the_settings(client_as, org_a, org_b):
    outsider = client_as("owner", org_b)
    before = fingerprint(org_a.tenant_id)
    assert outsider.get(f"{_settings(org_a)}/").status_code == 404
    for url, data in (
        (f"{_settings(org_a)}/", {"name": "Taken"}),
        (f"{_settings(org_a)}/transfer", {"member_id": _membership(org_b, org_b.owner_email).id}),
        (f"{_settings(org_a)}/delete", {"confirm": org_a.name}),
    ):
        assert _post(outsider, url, data).status_code == 404, url
    assert fingerprint(org_a.tenant_id) == before
