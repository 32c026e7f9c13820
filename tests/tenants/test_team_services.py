"""Team services: who may invite, re-role, remove and transfer; the last owner; the plan's seats; audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import Conflict, NotFound, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.tenancy.models import Invitation, Membership, Plan, Role, Tenant
from tenants.audit.models import AuditEvent
from tenants.team import queries, services
from tests.conftest import add_member


@pytest.fixture(autouse=True)
def _settings_active(admin_app):
    """Invitation links are signed with the active settings' secret key."""


def _actor(s, org, email: str) -> Actor:
    membership = _membership(s, org, email)
    return Actor(label=email, user_id=membership.user_id, role=membership.role)


def _membership(s, org, email: str) -> Membership:
    return s.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == org.tenant_id, User.email == email)
    ).one()


def _events(s, action: str) -> list[AuditEvent]:
    return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_admin_invites_and_the_invitation_is_audited(org_a, org_b):
    admin, _ = add_member(org_a, "admin")
    with tenant_session(org_a.tenant_id) as s:
        tenant = s.get(Tenant, org_a.tenant_id)
        tenant.plan = s.get(Plan, "business")
        invitation = services.invite_member(
            s, tenant, email="Pat@Example.test", role="editor", actor=_actor(s, org_a, admin)
        )
        assert (invitation.email, invitation.role, invitation.tenant_id) == (
            "pat@example.test",
            Role.EDITOR,
            org_a.tenant_id,
        )
        assert services.invitation_from_token(s, services.invitation_token(invitation)) is invitation
        [event] = _events(s, "member.invited")
        assert event.after == {"email": "pat@example.test", "role": "editor"}


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_below_admin_nobody_invites(org_a, role):
    email, _ = add_member(org_a, role)
    with tenant_session(org_a.tenant_id) as s, pytest.raises(PermissionDenied, match="needs the admin role"):
        services.invite_member(
            s,
            s.get(Tenant, org_a.tenant_id),
            email="x@example.test",
            role="viewer",
            actor=_actor(s, org_a, email),
        )


def test_only_owners_invite_owners(org_a):
    admin, _ = add_member(org_a, "admin")
    with tenant_session(org_a.tenant_id) as s:
        tenant = s.get(Tenant, org_a.tenant_id)
        tenant.plan = s.get(Plan, "business")
        with pytest.raises(PermissionDenied, match="needs the owner role"):
            services.invite_member(
                s, tenant, email="x@example.test", role="owner", actor=_actor(s, org_a, admin)
            )
        owner = _actor(s, org_a, org_a.owner_email)
        assert (
            services.invite_member(s, tenant, email="x@example.test", role="owner", actor=owner).role
            is Role.OWNER
        )


def test_a_bad_role_is_a_validation_error(org_a):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(ValidationError) as error:
            services.invite_member(
                s,
                s.get(Tenant, org_a.tenant_id),
                email="x@example.test",
                role="superuser",
                actor=_actor(s, org_a, org_a.owner_email),
            )
        assert error.value.field == "role"


def test_the_plans_seats_count_members_and_pending_invitations(org_a):
    with tenant_session(org_a.tenant_id) as s:
        tenant = s.get(Tenant, org_a.tenant_id)
        owner = _actor(s, org_a, org_a.owner_email)
        assert queries.seats_used(s, tenant.id) == 2
        services.invite_member(s, tenant, email="three@example.test", role="viewer", actor=owner)
        with pytest.raises(ValidationError, match="Free plan includes 3 team members"):
            services.invite_member(s, tenant, email="four@example.test", role="viewer", actor=owner)
        services.revoke_invitation(s, s.get(Invitation, org_a.ids["invitation"]), actor=owner)
        assert services.invite_member(s, tenant, email="four@example.test", role="viewer", actor=owner)


def test_the_last_owner_is_neither_demoted_removed_nor_let_go(org_a):
    with tenant_session(org_a.tenant_id) as s:
        owner = _actor(s, org_a, org_a.owner_email)
        membership = _membership(s, org_a, org_a.owner_email)
        with pytest.raises(ValidationError, match="last owner"):
            services.change_role(s, membership, Role.ADMIN, actor=owner)
        with pytest.raises(ValidationError, match="last owner"):
            services.remove_member(s, membership, actor=owner)
        with pytest.raises(ValidationError, match="last owner"):
            services.leave_organization(s, s.get(Tenant, org_a.tenant_id), actor=owner)
        assert membership.role is Role.OWNER


def test_admins_manage_non_owners_but_never_owners(org_a):
    admin, _ = add_member(org_a, "admin")
    editor, _ = add_member(org_a, "editor")
    with tenant_session(org_a.tenant_id) as s:
        actor = _actor(s, org_a, admin)
        owner = _membership(s, org_a, org_a.owner_email)
        for attempt in (
            lambda: services.change_role(s, owner, Role.ADMIN, actor=actor),
            lambda: services.remove_member(s, owner, actor=actor),
            lambda: services.change_role(s, _membership(s, org_a, editor), Role.OWNER, actor=actor),
        ):
            with pytest.raises(PermissionDenied, match="needs the owner role"):
                attempt()
        target = _membership(s, org_a, editor)
        assert services.change_role(s, target, "admin", actor=actor) is True
        assert services.change_role(s, target, "admin", actor=actor) is False
        [event] = _events(s, "member.role_changed")
        assert event.before == {"role": "editor"} and event.after == {"role": "admin"}
        services.remove_member(s, target, actor=actor)
        assert s.get(Membership, target.id) is None


def test_transferring_ownership_swaps_the_roles(org_a, org_b):
    editor, _ = add_member(org_a, "editor")
    with tenant_session(org_a.tenant_id) as s:
        tenant = s.get(Tenant, org_a.tenant_id)
        owner = _actor(s, org_a, org_a.owner_email)
        target = _membership(s, org_a, editor)
        services.transfer_ownership(s, tenant, target, actor=owner)
        assert target.role is Role.OWNER
        assert _membership(s, org_a, org_a.owner_email).role is Role.ADMIN
        assert _events(s, "organization.ownership_transferred")[0].after["new_owner_role"] == "owner"
        with pytest.raises(NotFound):
            services.transfer_ownership(
                s, tenant, s.get(Membership, _membership(s, org_b, org_b.owner_email).id), actor=owner
            )


def test_a_new_account_accepts_once(org_a):
    with tenant_session(org_a.tenant_id) as s:
        invitation = s.get(Invitation, org_a.ids["invitation"])
        actor = Actor(label="visitor")
        with pytest.raises(ValidationError, match="at least 8"):
            services.accept_invitation(s, invitation, actor=actor, password="short")
        membership = services.accept_invitation(
            s, invitation, actor=actor, name="Ivy", password="long enough pw"
        )
        assert membership.role is Role.EDITOR and membership.user.email == invitation.email
        assert invitation.accepted_at is not None
        with pytest.raises(Conflict, match="already accepted"):
            services.accept_invitation(s, invitation, actor=actor, password="long enough pw")
        with pytest.raises(NotFound, match="already accepted"):
            services.invitation_from_token(s, services.invitation_token(invitation))


def test_a_signed_in_user_of_another_address_cannot_accept(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        invitation = s.get(Invitation, org_a.ids["invitation"])
        stranger = s.scalars(select(User).where(User.email == org_b.owner_email)).one()
        with pytest.raises(PermissionDenied, match="signed in as owner@globex.test"):
            services.accept_invitation(s, invitation, actor=Actor(label="x"), user=stranger)
        assert invitation.accepted_at is None


def test_invitations_are_accepted_only_through_their_own_organization(org_a, org_b):
    with tenant_session(org_b.tenant_id) as s:
        invitation = s.get(Invitation, org_a.ids["invitation"])
        with pytest.raises(RuntimeError):
            services.accept_invitation(s, invitation, actor=Actor(label="x"), password="long enough pw")


def test_the_team_lists_only_its_own_people(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        members, more = queries.list_members(s, org_a.tenant_id)
        invitations, _ = queries.list_invitations(s, org_a.tenant_id)
    assert [user.email for _, user in members] == [org_a.owner_email] and more is False
    assert [invitation.email for invitation in invitations] == [f"invited@{org_a.slug}.test"]


def test_a_resend_makes_the_links_mailed_before_stop_working(org_a):
    with tenant_session(org_a.tenant_id) as s:
        invitation = s.get(Invitation, org_a.ids["invitation"])
        owner = _actor(s, org_a, org_a.owner_email)
        first = services.invitation_token(invitation)
        services.resend_invitation(s, invitation, actor=owner)
        second = services.invitation_token(invitation)
        with pytest.raises(NotFound, match="sent again since this link was mailed"):
            services.invitation_from_token(s, first)
        assert services.invitation_from_token(s, second) is invitation
        services.resend_invitation(s, invitation, actor=owner)
        with pytest.raises(NotFound, match="sent again"):
            services.invitation_from_token(s, second)


def _invitation_of(s, org) -> Invitation:
    return s.get(Invitation, org.ids["invitation"])


WRITES_ON_ANOTHER_ORGANIZATION = [
    pytest.param(
        lambda s, b, actor: services.resend_invitation(s, _invitation_of(s, b), actor=actor), id="resend"
    ),
    pytest.param(
        lambda s, b, actor: services.revoke_invitation(s, _invitation_of(s, b), actor=actor), id="revoke"
    ),
    pytest.param(
        lambda s, b, actor: services.change_role(s, _membership(s, b, b.owner_email), "viewer", actor=actor),
        id="change-role",
    ),
    pytest.param(
        lambda s, b, actor: services.remove_member(s, _membership(s, b, b.owner_email), actor=actor),
        id="remove",
    ),
    pytest.param(
        lambda s, b, actor: services.invite_member(
            s, s.get(Tenant, b.tenant_id), email="x@example.test", role="viewer", actor=actor
        ),
        id="invite",
    ),
    pytest.param(
        lambda s, b, actor: services.leave_organization(s, s.get(Tenant, b.tenant_id), actor=actor),
        id="leave",
    ),
    pytest.param(
        lambda s, b, actor: services.transfer_ownership(
            s, s.get(Tenant, b.tenant_id), _membership(s, b, b.owner_email), actor=actor
        ),
        id="transfer",
    ),
]


@pytest.mark.parametrize("write", WRITES_ON_ANOTHER_ORGANIZATION)
def test_writes_refuse_the_objects_of_another_organization(org_a, org_b, write):
    """Bound to organization A, an owner of A touches B's rows by id: refused, nothing changes."""
    with tenant_session(org_a.tenant_id) as s:
        owner_a = _actor(s, org_a, org_a.owner_email)
        invitation_b = _invitation_of(s, org_b)
        state = (
            invitation_b.expires_at,
            invitation_b.revoked_at,
            _membership(s, org_b, org_b.owner_email).role,
        )
        with pytest.raises(NotFound, match="not part of this organization"):
            write(s, org_b, owner_a)
        assert not s.new and not s.dirty and not s.deleted
        assert (invitation_b.expires_at, invitation_b.revoked_at) == state[:2]
        assert _membership(s, org_b, org_b.owner_email).role is state[2]
        assert _events(s, "invitation.resent") == [] and _events(s, "member.removed") == []
