"""The parent blueprint of /t/<tenant_slug>/: resolves the organization and guards every child once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from status_platform.db.session import db, rebind_request_session
from status_platform.tenancy.models import Membership, Tenant

tenant_bp = Blueprint("tenant", __name__, url_prefix="/t/<tenant_slug>")


@tenant_bp.url_value_preprocessor
def _pull_tenant_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.tenant_slug = (values or {}).pop("tenant_slug", None)


@tenant_bp.url_defaults
def _push_tenant_slug(_endpoint: str, values: dict[str, Any]) -> None:
    if "tenant_slug" not in values and g.get("tenant_slug"):
        values["tenant_slug"] = g.tenant_slug


@tenant_bp.before_request
def _require_membership() -> Response | None:
    """Every route below: signed in, and a member of this organization (else 404, as if absent)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    row = db.execute(
        select(Tenant, Membership)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(
            Tenant.slug == g.tenant_slug, Tenant.is_active.is_(True), Membership.user_id == current_user.id
        )
    ).first()
    if row is None:
        abort(404)
    tenant, membership = row
    user_id = current_user.id
    rebind_request_session(tenant.id)
    g.tenant, g.membership, g.user_id = tenant, membership, user_id
    return None
