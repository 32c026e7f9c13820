"""The parent blueprints of /t/<tenant_slug>/ and /t/<tenant_slug>/p/<page_id>/, guarding every child once.

Every route below needs a signed-in member of the organization (anyone else gets 404, as if
the organization did not exist). Every write (any method but GET and HEAD) also needs the
minimum role its view declares with `@requires(...)`; a write route that declares none is
refused, so a new route is safe by default. The services check the same roles again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_ui import sso
from status_platform.db.session import db, rebind_request_session
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import can
from status_platform.tenancy.models import Membership, Role, Tenant
from tenants.pages.models import Page

tenant_bp = Blueprint("tenant", __name__, url_prefix="/t/<tenant_slug>")
page_bp = Blueprint("page", __name__, url_prefix="/p/<page_id>")

F = TypeVar("F", bound=Callable[..., Any])
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def requires(role: Role) -> Callable[[F], F]:
    """Declare the minimum role a route's writes need (its reads need only membership)."""

    def mark(view: F) -> F:
        view.min_role = role  # type: ignore[attr-defined]
        return view

    return mark


def min_role_of(endpoint: str | None) -> Role | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "min_role", None)


@tenant_bp.url_value_preprocessor
def _pull_tenant_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.tenant_slug = (values or {}).pop("tenant_slug", None)


@tenant_bp.url_defaults
def _push_tenant_slug(_endpoint: str, values: dict[str, Any]) -> None:
    if "tenant_slug" not in values and g.get("tenant_slug"):
        values["tenant_slug"] = g.tenant_slug


@tenant_bp.before_request
def _require_membership() -> Response | None:
    """Signed in, a member of this organization (else 404), and the route's role for a write."""
    if not current_user.is_authenticated:
        if request.method not in READS:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    ids = db.execute(
        select(Tenant.id, Membership.id)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(
            Tenant.slug == g.tenant_slug, Tenant.is_active.is_(True), Membership.user_id == current_user.id
        )
    ).first()
    if ids is None:
        abort(404)
    user_id, email = current_user.id, current_user.email
    session = rebind_request_session(ids[0])
    # Loaded in the organization's own session, so that views may change them and commit.
    tenant, membership = session.execute(
        select(Tenant, Membership)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Tenant.id == ids[0], Membership.id == ids[1])
    ).one()
    g.tenant, g.membership, g.user_id = tenant, membership, user_id
    g.actor = Actor(label=email, user_id=user_id, ip_address=request.remote_addr, role=membership.role)
    # Single sign-on: required by the organization, or the only way this session came in.
    way_in = sso.gate(tenant)
    if way_in is not None:
        return way_in
    if request.method not in READS:
        needed = min_role_of(request.endpoint)
        if needed is None:
            abort(403, "This address takes no changes.")
        if not can(g.actor, needed):
            abort(
                403,
                f"Your role ({membership.role.value}) cannot make this change; "
                f"it needs the {needed.value} role or above.",
            )
    return None


def role_at_least(role: Role) -> bool:
    """For templates: may the signed-in member make writes that need `role`?"""
    membership = g.get("membership")
    return membership is not None and membership.role.at_least(role)


def restrict_reads(blueprint: Blueprint, role: Role, message: str) -> None:
    """Every route of `blueprint`, its reads too, needs `role`: screens only some members may see."""

    @blueprint.before_request
    def _at_least_role() -> None:
        if not role_at_least(role):
            abort(403, message)


@page_bp.url_value_preprocessor
def _pull_page_id(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.page_id = (values or {}).pop("page_id", None)


@page_bp.url_defaults
def _push_page_id(_endpoint: str, values: dict[str, Any]) -> None:
    if "page_id" not in values and g.get("page_id"):
        values["page_id"] = g.page_id


@page_bp.before_request
def _load_page() -> None:
    """The page named in the path, of this organization only (another's is 404)."""
    page = db.get(Page, g.page_id) if g.get("tenant") is not None else None
    if page is None:
        abort(404)
    g.page = page


tenant_bp.register_blueprint(page_bp)
