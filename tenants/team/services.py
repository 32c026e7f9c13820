"""The team of an organization: invitations, roles, removals, leaving and ownership (reads: queries.py).

Memberships and invitations are platform tables (not TenantScoped), so the session's tenant
filter does not guard them: every write here refuses, as NotFound, a membership, invitation
or organization other than the one the session is bound to (the audit events are its rows).
Rules: admins invite, re-role and remove viewers, editors and admins; only owners touch
owners; the last owner can be neither removed, demoted nor leave; members plus pending
invitations stay within the plan's `max_team_members`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.config import active_settings
from status_platform.errors import Conflict, NotFound, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.passwords import check_password_rules, hash_password
from status_platform.identity.permissions import OWNERS, TEAM_ADMINS, require_role
from status_platform.mail.outgoing import send_after_commit
from status_platform.tenancy.models import Invitation, Membership, Role, Tenant
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from status_platform.validation import clean_email, clean_text
from tenants.audit.services import record_event
from tenants.team.queries import is_pending, membership_of, seats_used
from tenants.team.schemas import clean_role

INVITATION_DAYS = 7
INVITATION_SALT = "team-invitation"
# The admin route that accepts an invitation (admin_ui.auth.accept_invitation).
INVITATION_PATH = "/invite/{token}"


# --- invitation links ------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(active_settings().SECRET_KEY, salt=INVITATION_SALT)


def _expiry_stamp(expires_at: datetime) -> int:
    return int(expires_at.timestamp())


def invitation_token(invitation: Invitation) -> str:
    """The signed token of the invitation's link; it is good for INVITATION_DAYS.

    It carries the invitation's expiry: a resend moves the expiry, so the links mailed before
    it stop working and only the newest mail's link does.
    """
    return str(
        _serializer().dumps({"invitation": invitation.id, "expires": _expiry_stamp(invitation.expires_at)})
    )


def invitation_from_token(session: Session, token: str) -> Invitation:
    """The pending invitation a link names.

    Raises NotFound for a forged or expired link, one replaced by a resend, or one of an
    invitation that was accepted, withdrawn or has run out (each with a message saying which).
    Reads only.
    """
    try:
        data = _serializer().loads(token, max_age=INVITATION_DAYS * 86400)
    except SignatureExpired:
        raise NotFound("This invitation link has expired. Ask the organization for a new one.") from None
    except BadSignature:
        raise NotFound("This invitation link is not valid. Check that you copied all of it.") from None
    invitation_id = data.get("invitation") if isinstance(data, dict) else None
    invitation = session.get(Invitation, invitation_id) if isinstance(invitation_id, str) else None
    if invitation is None:
        raise NotFound("This invitation no longer exists. Ask the organization for a new one.")
    _refuse_unless_pending(invitation, NotFound)
    if data.get("expires") != _expiry_stamp(invitation.expires_at):
        raise NotFound(
            "This invitation was sent again since this link was mailed: use the link of the newest email."
        )
    return invitation


def _refuse_unless_pending(invitation: Invitation, error: type[Conflict] | type[NotFound] = Conflict) -> None:
    if invitation.accepted_at is not None:
        raise error("This invitation was already accepted.")
    if invitation.revoked_at is not None:
        raise error("This invitation was withdrawn.")
    if invitation.expires_at <= utcnow():
        raise error("This invitation has expired. Ask the organization for a new one.")


def _send_invitation(session: Session, invitation: Invitation, tenant: Tenant, inviter: str) -> None:
    settings = active_settings()
    link = settings.admin_url(INVITATION_PATH.format(token=invitation_token(invitation)))
    expires = invitation.expires_at.strftime("%b %-d, %Y %H:%M UTC")
    text = (
        f"{inviter} invited you to join {tenant.name} on Status Platform as {invitation.role.value}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        f"The link works once and until {expires}. If you did not expect it, ignore this message.\n"
    )
    html = (
        f"<p>{escape(inviter)} invited you to join <strong>{escape(tenant.name)}</strong> on Status "
        f"Platform as {escape(invitation.role.value)}.</p>"
        f'<p><a href="{escape(link)}">Accept the invitation</a></p>'
        f"<p>The link works once and until {escape(expires)}. "
        "If you did not expect it, ignore this message.</p>"
    )
    send_after_commit(
        session, to=invitation.email, subject=f"Join {tenant.name} on Status Platform", text=text, html=html
    )


# --- writes ----------------------------------------------------------------------------------------


def _refuse_other_organization(session: Session, tenant_id: str, what: str) -> None:
    # The views check this too; a write reached another way must not touch another organization.
    if tenant_id != session.info.get("tenant_id"):
        raise NotFound(f"This {what} is not part of this organization.")


def _check_seats(session: Session, tenant: Tenant, *, field: str = "email") -> None:
    plan = plan_of(session, tenant.id)
    if seats_used(session, tenant.id) >= plan.max_team_members:
        raise ValidationError(
            f"The {plan.name} plan includes {plan.max_team_members} team members, pending invitations "
            "included. Remove a member, withdraw an invitation or change plans to invite someone else.",
            field=field,
        )


def _owner_ids(session: Session, tenant_id: str) -> list[str]:
    # Locked, so that two owners leaving at once cannot both see the other one stay.
    return list(
        session.scalars(
            select(Membership.id)
            .where(Membership.tenant_id == tenant_id, Membership.role == Role.OWNER)
            .with_for_update()
        )
    )


def _refuse_last_owner(session: Session, membership: Membership, what: str) -> None:
    if membership.role is Role.OWNER and _owner_ids(session, membership.tenant_id) == [membership.id]:
        raise ValidationError(
            f"{membership.user.email} is the organization's last owner and cannot {what}. "
            "Make another member owner first.",
            field="role",
        )


def invite_member(
    session: Session, tenant: Tenant, *, email: str, role: Role | str, actor: Actor
) -> Invitation:
    """Invite `email` to `tenant` with `role`, mailing a link once the transaction commits.

    Admins may invite viewers, editors and admins; only owners may invite owners. Raises
    ValidationError (bad address or role, plan full), Conflict (already a member, already
    invited), PermissionDenied, or NotFound when the session is bound to another
    organization, writing nothing. Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "invite team members")
    _refuse_other_organization(session, tenant.id, "organization")
    email = clean_email(email, field="email")
    role = clean_role(role)
    if role is Role.OWNER:
        require_role(actor, OWNERS, "invite owners")
    is_member = select(Membership.id).join(User, User.id == Membership.user_id)
    is_member = is_member.where(Membership.tenant_id == tenant.id, User.email == email)
    if session.scalar(select(is_member.exists())):
        raise Conflict(f"{email} is already a member of {tenant.name}.", field="email")
    if session.scalar(
        select(select(Invitation.id).where(is_pending(tenant.id), Invitation.email == email).exists())
    ):
        raise Conflict(f"{email} already has a pending invitation; resend it instead.", field="email")
    _check_seats(session, tenant)
    invitation = Invitation(
        tenant_id=tenant.id,
        email=email,
        role=role,
        invited_by_id=actor.user_id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    record_event(
        session,
        actor,
        "member.invited",
        object_type="invitation",
        object_id=invitation.id,
        summary=f"Invited {email} as {role.value}",
        after={"email": email, "role": role.value},
    )
    _send_invitation(session, invitation, tenant, actor.label)
    return invitation


def resend_invitation(session: Session, invitation: Invitation, *, actor: Actor) -> Invitation:
    """Mail the invitation again with a fresh link, good for another INVITATION_DAYS.

    The links mailed before stop working. An expired invitation comes back to life only if
    the plan has a seat for it. Raises NotFound for an invitation of another organization,
    Conflict for an accepted or withdrawn one. Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "resend invitations")
    _refuse_other_organization(session, invitation.tenant_id, "invitation")
    if invitation.role is Role.OWNER:
        require_role(actor, OWNERS, "resend an invitation to an owner")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        _refuse_unless_pending(invitation)
    tenant = session.get(Tenant, invitation.tenant_id)
    if tenant is None:
        raise NotFound("This organization no longer exists.")
    if invitation.expires_at <= utcnow():
        _check_seats(session, tenant, field="_form")
    before = invitation.expires_at
    fresh = (utcnow() + timedelta(days=INVITATION_DAYS)).replace(microsecond=0)
    # Links carry the expiry to the second: it must move for the links mailed before to die.
    invitation.expires_at = max(fresh, before.replace(microsecond=0) + timedelta(seconds=1))
    session.flush()
    record_event(
        session,
        actor,
        "invitation.resent",
        object_type="invitation",
        object_id=invitation.id,
        summary=f"Resent the invitation of {invitation.email}",
        before={"expires_at": before.isoformat()},
        after={"expires_at": invitation.expires_at.isoformat()},
    )
    _send_invitation(session, invitation, tenant, actor.label)
    return invitation


def revoke_invitation(session: Session, invitation: Invitation, *, actor: Actor) -> bool:
    """Withdraw a pending invitation: its link stops working. False if it was already withdrawn.

    Raises NotFound for an invitation of another organization, Conflict for an accepted one.
    Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "withdraw invitations")
    _refuse_other_organization(session, invitation.tenant_id, "invitation")
    if invitation.role is Role.OWNER:
        require_role(actor, OWNERS, "withdraw an invitation to an owner")
    if invitation.revoked_at is not None:
        return False
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted; remove the member instead.")
    invitation.revoked_at = utcnow()
    session.flush()
    record_event(
        session,
        actor,
        "invitation.revoked",
        object_type="invitation",
        object_id=invitation.id,
        summary=f"Withdrew the invitation of {invitation.email}",
        before={"email": invitation.email, "role": invitation.role.value},
    )
    return True


def accept_invitation(
    session: Session,
    invitation: Invitation,
    *,
    actor: Actor,
    user: User | None = None,
    name: str = "",
    password: str = "",
) -> Membership:
    """Join the invitation's organization with its role, as `user` or as a new account.

    The signed link is the authority here, not a role: `user` (the signed-in person) must have
    the invited address, else PermissionDenied. Without `user`, an account for the invited
    address is created with `password` and `name` (Conflict if one exists already: its owner
    signs in first). Someone already a member keeps their role. Raises Conflict for an
    invitation no longer pending. The session must be bound to the invitation's organization.
    Flushes, never commits.
    """
    if session.info.get("tenant_id") != invitation.tenant_id:
        raise RuntimeError("accept_invitation needs a session bound to the invitation's organization")
    _refuse_unless_pending(invitation)
    if user is None:
        if session.scalar(select(select(User.id).where(User.email == invitation.email).exists())):
            raise Conflict(f"{invitation.email} already has an account: sign in to accept.", field="password")
        name = clean_text(name, field="name", label="Your name", required=False)
        check_password_rules(password, field="password")
        user = User(email=invitation.email, name=name, password_hash=hash_password(password))
        session.add(user)
        session.flush()
    elif user.email.lower() != invitation.email.lower():
        raise PermissionDenied(
            f"This invitation is for {invitation.email}, and you are signed in as {user.email}."
        )
    # Following the mailed link proves the address.
    user.email_verified_at = user.email_verified_at or utcnow()
    invitation.accepted_at = utcnow()
    membership = membership_of(session, invitation.tenant_id, user.id)
    joined = membership is None
    if membership is None:
        membership = Membership(tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role)
        session.add(membership)
    session.flush()
    as_member = Actor(label=user.email, user_id=user.id, ip_address=actor.ip_address, role=membership.role)
    record_event(
        session,
        as_member,
        "member.joined",
        object_type="membership",
        object_id=membership.id,
        summary=f"{user.email} accepted the invitation"
        + (f" and joined as {membership.role.value}" if joined else " (already a member)"),
        after={"email": user.email, "role": membership.role.value},
    )
    return membership


def change_role(session: Session, membership: Membership, role: Role | str, *, actor: Actor) -> bool:
    """Give the member `role`. False when it is their role already.

    Admins move members between viewer, editor and admin; making, or changing, an owner needs
    an owner; the last owner cannot be demoted. Raises NotFound for a member of another
    organization, ValidationError or PermissionDenied, changing nothing. Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "change team roles")
    _refuse_other_organization(session, membership.tenant_id, "member")
    role = clean_role(role)
    if role is membership.role:
        return False
    if Role.OWNER in (role, membership.role):
        require_role(actor, OWNERS, "make owners or change an owner's role")
    _refuse_last_owner(session, membership, "be given another role")
    before = membership.role
    membership.role = role
    session.flush()
    record_event(
        session,
        actor,
        "member.role_changed",
        object_type="membership",
        object_id=membership.id,
        summary=f"Changed the role of {membership.user.email} from {before.value} to {role.value}",
        before={"role": before.value},
        after={"role": role.value},
    )
    return True


def remove_member(session: Session, membership: Membership, *, actor: Actor) -> None:
    """Remove the member from the organization (their account stays, for other organizations).

    Removing an owner needs an owner, and the last owner cannot be removed. Raises NotFound for
    a member of another organization, ValidationError or PermissionDenied, changing nothing.
    Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "remove team members")
    _refuse_other_organization(session, membership.tenant_id, "member")
    if membership.role is Role.OWNER:
        require_role(actor, OWNERS, "remove owners")
    _refuse_last_owner(session, membership, "be removed")
    email = membership.user.email
    record_event(
        session,
        actor,
        "member.removed",
        object_type="membership",
        object_id=membership.id,
        summary=f"Removed {email} from the team",
        before={"email": email, "role": membership.role.value},
    )
    session.delete(membership)
    session.flush()


def leave_organization(session: Session, tenant: Tenant, *, actor: Actor) -> Membership:
    """The actor leaves `tenant`; returns the membership ended. Any member may, but the last owner.

    Raises NotFound when the actor is no member (or the session is bound to another
    organization), ValidationError for the last owner. Flushes, never commits.
    """
    require_role(actor, Role.VIEWER, "leave the organization")
    _refuse_other_organization(session, tenant.id, "organization")
    membership = membership_of(session, tenant.id, actor.user_id)
    if membership is None:
        raise NotFound(f"You are not a member of {tenant.name}.")
    if membership.role is Role.OWNER and _owner_ids(session, tenant.id) == [membership.id]:
        raise ValidationError(
            f"You are the last owner of {tenant.name}: make another member owner first, "
            "or delete the organization.",
            field="_form",
        )
    record_event(
        session,
        actor,
        "member.left",
        object_type="membership",
        object_id=membership.id,
        summary=f"{membership.user.email} left the team",
        before={"email": membership.user.email, "role": membership.role.value},
    )
    session.delete(membership)
    session.flush()
    return membership


def transfer_ownership(session: Session, tenant: Tenant, new_owner: Membership, *, actor: Actor) -> None:
    """Make `new_owner` an owner of `tenant`; the acting owner becomes an admin (owners only).

    Raises NotFound for a membership or session of another organization, ValidationError when
    `new_owner` is the actor or an owner already, PermissionDenied for non-owners. Flushes,
    never commits.
    """
    require_role(actor, OWNERS, "transfer the ownership of the organization")
    _refuse_other_organization(session, tenant.id, "organization")
    if new_owner.tenant_id != tenant.id:
        raise NotFound("Choose a member of this organization.", field="member_id")
    current = membership_of(session, tenant.id, actor.user_id)
    if current is not None and current.id == new_owner.id:
        raise ValidationError("You own the organization already; choose another member.", field="member_id")
    if new_owner.role is Role.OWNER:
        raise ValidationError(f"{new_owner.user.email} is an owner already.", field="member_id")
    before = new_owner.role
    new_owner.role = Role.OWNER
    if current is not None:
        current.role = Role.ADMIN
    session.flush()
    previous = current.user.email if current is not None else actor.label
    record_event(
        session,
        actor,
        "organization.ownership_transferred",
        object_type="membership",
        object_id=new_owner.id,
        summary=f"Transferred the ownership of {tenant.name} from {previous} to {new_owner.user.email}",
        before={"new_owner_role": before.value, "previous_owner_role": Role.OWNER.value},
        after={"new_owner_role": Role.OWNER.value, "previous_owner_role": Role.ADMIN.value},
    )


def join_through_sso(session: Session, tenant: Tenant, *, email: str, actor: Actor) -> Membership:
    """Make `email` a member of `tenant` with its single sign-on role, creating the account if needed.

    For a person the organization's identity provider signed in who is not a member yet. The
    caller has checked that the address's domain is the organization's just-in-time domain; the
    role is the configured one, viewer or editor only. A new account has no password (it signs
    in through single sign-on, or sets a password by reset). Raises NotFound for a session of
    another organization, Conflict for a member already, ValidationError when the plan is full.
    Flushes, never commits.
    """
    _refuse_other_organization(session, tenant.id, "organization")
    email = clean_email(email)
    role = tenant.sso_jit_role if tenant.sso_jit_role in {Role.VIEWER, Role.EDITOR} else Role.VIEWER
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and membership_of(session, tenant.id, user.id) is not None:
        raise Conflict(f"{email} is already a member of {tenant.name}.")
    _check_seats(session, tenant, field="_form")
    if user is None:
        user = User(email=email, password_hash=None, email_verified_at=utcnow())
        session.add(user)
        session.flush()
    membership = Membership(tenant_id=tenant.id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    record_event(
        session,
        actor,
        "member.joined_through_sso",
        object_type="membership",
        object_id=membership.id,
        summary=f"{email} joined as {role.value} through single sign-on",
        after={"email": email, "role": role.value},
    )
    return membership
