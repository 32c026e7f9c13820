"""The organization's management API keys: made (shown once), listed with their last use, revoked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, flag, page_number, text
from admin_ui.tenant import requires, restrict_reads
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import PAGE_ADMINS
from tenants.api_keys import queries
from tenants.api_keys.services import create_api_key, revoke_api_key
from tenants.pages.models import Page

bp = Blueprint("api_keys", __name__, url_prefix="/api-keys")


restrict_reads(bp, PAGE_ADMINS, "API keys are managed by admins and owners.")


def _index(errors: dict[str, str] | None = None, issued: object = None) -> str:
    search = request.args.get("q", "").strip()
    number = page_number()
    keys, has_more = queries.keys_of(db, g.tenant.id, search=search, page=number)
    pages = list(db.scalars(select(Page).order_by(Page.created_at, Page.name)))
    return render_template(
        "admin/api_keys/index.html",
        keys=keys,
        has_more=has_more,
        number=number,
        search=search,
        page_options=[("", "Every page of the organization")] + [(page.id, page.name) for page in pages],
        page_names={page.id: page.name for page in pages},
        values=request.form if errors else {},
        errors=errors or {},
        issued=issued,
    )


@bp.get("/")
def index() -> str:
    return _index()


@bp.post("/")
@requires(PAGE_ADMINS)
def create() -> str:
    try:
        issued = create_api_key(
            db,
            actor=g.actor,
            name=text("name"),
            page_id=text("page_id") or None,
            is_read_only=flag("is_read_only"),
        )
    except DomainError as error:
        db.rollback()
        return _index(errors_of(error))
    db.commit()
    # The secret is shown in this response only: never in a flash message, which rides in a cookie.
    return _index(issued=issued)


@bp.post("/<key_id>/revoke")
@requires(PAGE_ADMINS)
def revoke(key_id: str) -> Response:
    api_key = queries.key_of(db, g.tenant.id, key_id)
    if api_key is None:
        abort(404)
    if revoke_api_key(db, api_key, actor=g.actor):
        db.commit()
        flash(f"Revoked the key {api_key.name}; requests with it are refused from now on.")
    return redirect(url_for(".index"))
