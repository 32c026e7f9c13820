"""The organization's team: members and their roles, invitations, and leaving."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, page_number, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import TEAM_ADMINS
from status_platform.tenancy.models import Invitation, Membership, Role
from status_platform.timeutil import utcnow
from tenants.team import queries, services
from tenants.team.schemas import ROLE_LABELS

bp = Blueprint("team", __name__, url_prefix="/team")


def _member(member_id: str) -> Membership:
    # A platform table: the organization is checked here, another one's member is not found.
    membership = db.get(Membership, member_id)
    if membership is None or membership.tenant_id != g.tenant.id:
        abort(404)
    return membership


def _invitation(invitation_id: str) -> Invitation:
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.tenant_id != g.tenant.id:
        abort(404)
    return invitation


def _role_options() -> list[tuple[str, str]]:
    roles = [Role.VIEWER, Role.EDITOR, Role.ADMIN]
    if g.membership.role is Role.OWNER:
        roles.append(Role.OWNER)
    return [(role.value, ROLE_LABELS[role]) for role in roles]


def _index(errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> str:
    search = request.args.get("q", "").strip()
    members_page, invitations_page = page_number("p"), page_number("ip")
    members, more_members = queries.list_members(db, g.tenant.id, search=search, page=members_page)
    invitations, more_invitations = queries.list_invitations(
        db, g.tenant.id, search=search, page=invitations_page
    )
    return render_template(
        "admin/team/index.html",
        members=members,
        more_members=more_members,
        members_page=members_page,
        invitations=invitations,
        more_invitations=more_invitations,
        invitations_page=invitations_page,
        search=search,
        seats=queries.seats_used(db, g.tenant.id),
        plan=g.tenant.plan,
        role_options=_role_options(),
        now=utcnow(),
        values=values if values is not None else {},
        errors=errors or {},
    )


@bp.get("/")
def index() -> str:
    return _index()


def _refused(error: DomainError, key: str | None = None) -> str:
    """Roll back and show the team again, with the error beside the field (or at the top)."""
    db.rollback()
    errors = errors_of(error)
    if key is not None:
        errors = {"_form": error.message, key: error.message}
    return _index(errors, request.form.to_dict())


@bp.post("/invitations")
@requires(TEAM_ADMINS)
def invite() -> Response | str:
    try:
        invitation = services.invite_member(
            db, g.tenant, email=text("email"), role=text("role", "editor"), actor=g.actor
        )
    except DomainError as error:
        return _refused(error)
    db.commit()
    flash(f"Invited {invitation.email} as {invitation.role.value}. The link in the email works for 7 days.")
    return redirect(url_for(".index"))


@bp.post("/<member_id>/role")
@requires(TEAM_ADMINS)
def update_role(member_id: str) -> Response | str:
    membership = _member(member_id)
    try:
        changed = services.change_role(db, membership, text("role"), actor=g.actor)
    except DomainError as error:
        return _refused(error, f"role-{member_id}")
    db.commit()
    if changed:
        flash(f"{membership.user.email} is now {membership.role.value}.")
    return redirect(url_for(".index"))


@bp.post("/<member_id>/remove")
@requires(TEAM_ADMINS)
def remove(member_id: str) -> Response | str:
    membership = _member(member_id)
    email, is_self = membership.user.email, membership.user_id == g.user_id
    try:
        services.remove_member(db, membership, actor=g.actor)
    except DomainError as error:
        return _refused(error, f"remove-{member_id}")
    db.commit()
    if is_self:
        flash(f"You left {g.tenant.name}.")
        return redirect(url_for("auth.organizations"))
    flash(f"Removed {email} from {g.tenant.name}.")
    return redirect(url_for(".index"))


def _on_invitation(invitation_id: str, write: Callable[..., object], message: str) -> Response | str:
    """Apply the service `write` to the invitation, then flash `message` with its {email}."""
    invitation = _invitation(invitation_id)
    try:
        write(db, invitation, actor=g.actor)
    except DomainError as error:
        return _refused(error, f"invitation-{invitation_id}")
    db.commit()
    flash(message.format(email=invitation.email))
    return redirect(url_for(".index"))


@bp.post("/invitations/<invitation_id>/revoke")
@requires(TEAM_ADMINS)
def revoke_invitation(invitation_id: str) -> Response | str:
    return _on_invitation(
        invitation_id,
        services.revoke_invitation,
        "Withdrew the invitation of {email}; its link no longer works.",
    )


@bp.post("/invitations/<invitation_id>/resend")
@requires(TEAM_ADMINS)
def resend_invitation(invitation_id: str) -> Response | str:
    return _on_invitation(
        invitation_id,
        services.resend_invitation,
        "Sent the invitation to {email} again. The new link works for 7 days; "
        "the links of earlier emails no longer do.",
    )


@bp.post("/leave")
@requires(Role.VIEWER)
def leave() -> Response | str:
    name = g.tenant.name
    try:
        services.leave_organization(db, g.tenant, actor=g.actor)
    except DomainError as error:
        return _refused(error, "leave")
    db.commit()
    flash(f"You left {name}.")
    return redirect(url_for("auth.organizations"))
