"""Adding a page to the organization (settings, renaming and deleting are on the page's own screens)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import PAGE_ADMINS
from tenants.pages.services import create_page, slug_taken

bp = Blueprint("pages", __name__, url_prefix="/pages")


@bp.get("/new")
def new(errors: dict[str, str] | None = None) -> str:
    values = request.form if request.method == "POST" else {}
    return render_template("admin/pages/new.html", values=values, errors=errors or {})


@bp.post("/")
@requires(PAGE_ADMINS)
def create() -> Response | str:
    try:
        page = create_page(
            db,
            name=text("name"),
            slug=text("slug"),
            time_zone=text("time_zone", "UTC") or "UTC",
            actor=g.actor,
        )
        db.commit()
    except DomainError as error:
        db.rollback()
        return new(errors_of(error))
    except IntegrityError:
        # Another page took the address between the service's check and the write.
        db.rollback()
        return new(errors_of(slug_taken(text("slug").strip().lower())))
    flash(f"Created the page {page.name}. Add its components next.")
    return redirect(url_for("tenant.page.components.index", page_id=page.id))
