"""Organization settings: its name and plan, staff single sign-on, and the owner's danger zone."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from admin_ui import sso
from admin_ui.forms import errors_of, flag, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError, ValidationError
from status_platform.identity.models import User
from status_platform.tenancy.models import Membership, Role
from tenants.organizations.services import delete_organization, rename_organization, update_sso_settings
from tenants.pages.models import Page
from tenants.team import queries as team_queries
from tenants.team import services as team

bp = Blueprint("organization", __name__, url_prefix="/settings")


def _edit(errors: dict[str, str] | None = None) -> str:
    candidates: list[tuple[str, str]] = []
    if g.membership.role is Role.OWNER:
        rows = db.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == g.tenant.id, Membership.role != Role.OWNER)
            .order_by(User.email)
        ).all()
        candidates = [(membership.id, f"{user.email} ({membership.role.value})") for membership, user in rows]
    return render_template(
        "admin/organization/edit.html",
        plan=g.tenant.plan,
        seats=team_queries.seats_used(db, g.tenant.id),
        page_count=db.scalar(select(func.count(Page.id))) or 0,
        candidates=candidates,
        values=request.form if request.method == "POST" else {},
        errors=errors or {},
        sso_callback=current_app.config["SETTINGS"].admin_url(url_for("sso.callback")),
        sso_signed_on=sso.signed_on_with(g.tenant.id),
    )


def _refused(error: DomainError) -> str:
    db.rollback()
    return _edit(errors_of(error))


@bp.get("/")
def edit() -> str:
    return _edit()


@bp.post("/")
@requires(Role.ADMIN)
def update() -> Response | str:
    try:
        tenant = g.tenant
        changed = rename_organization(db, tenant, name=text("name"), actor=g.actor)
    except DomainError as error:
        return _refused(error)
    db.commit()
    if changed:
        flash(f"The organization is now called {tenant.name}.")
    return redirect(url_for(".edit"))


@bp.post("/sso")
@requires(Role.ADMIN)
def update_sso() -> Response | tuple[str, int]:
    """Staff single sign-on: the provider, whether it is on and required, and who joins on their own."""
    try:
        changed = update_sso_settings(
            db,
            g.tenant,
            actor=g.actor,
            is_enabled=flag("sso_is_enabled"),
            is_required=flag("sso_is_required"),
            issuer=text("sso_issuer"),
            client_id=text("sso_client_id"),
            client_secret=text("sso_client_secret"),
            jit_domain=text("sso_jit_domain"),
            jit_role=text("sso_jit_role", "viewer"),
            signed_on_with=sso.signed_on_with(g.tenant.id),
        )
    except DomainError as error:
        return _refused(error), 422
    db.commit()
    flash("Saved the single sign-on settings." if changed else "Nothing to change in single sign-on.")
    return redirect(url_for(".edit") + "#sso")


@bp.post("/transfer")
@requires(Role.OWNER)
def transfer() -> Response | str:
    member_id = text("member_id")
    try:
        membership = db.get(Membership, member_id) if member_id else None
        if membership is None or membership.tenant_id != g.tenant.id:
            raise ValidationError("Choose the member who becomes owner.", field="member_id")
        team.transfer_ownership(db, g.tenant, membership, actor=g.actor)
    except DomainError as error:
        return _refused(error)
    db.commit()
    flash(f"{membership.user.email} now owns {g.tenant.name}; you are an admin.")
    return redirect(url_for(".edit"))


@bp.post("/delete")
@requires(Role.OWNER)
def delete() -> Response | str:
    name = g.tenant.name
    try:
        delete_organization(db, g.tenant, confirm_name=text("confirm"), actor=g.actor)
    except DomainError as error:
        return _refused(error)
    db.commit()
    flash(f"Deleted the organization {name}, its pages and everything in them.")
    return redirect(url_for("auth.organizations"))
