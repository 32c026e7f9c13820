"""A page's settings: the settings form, the logo, the custom domain and deleting the page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from admin_ui.dashboard import page_url
from admin_ui.forms import errors_of, flag, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import PAGE_ADMINS
from status_platform.tenancy.models import PageRoute, Tenant
from tenants.pages import domains, services
from tenants.pages.models import Page, PageVisibility
from tenants.pages.schemas import BOOLEAN_SETTINGS, LIGHT_THEME, clean_custom_domain

bp = Blueprint("settings", __name__, url_prefix="/settings")

# The settings form's text inputs, in the order they appear (the first error found is shown).
TEXT_FIELDS = (
    "name",
    "slug",
    "headline",
    "page_description",
    "support_url",
    "time_zone",
    "history_days",
    "upcoming_maintenance_days",
    "maintenance_reminder_minutes",
    "visibility",
    "notifications_from_name",
    "notifications_from_email",
    "notifications_email_footer",
    "brand_color",
    "css_background",
    "css_text",
    "custom_css",
)
VISIBILITY_OPTIONS = (
    (PageVisibility.PUBLIC.value, "Public: anyone with the address can read it"),
    (PageVisibility.PRIVATE.value, "Private: only viewers who sign in can read it"),
    (
        PageVisibility.AUDIENCE_SPECIFIC.value,
        "Audience-specific: signed-in viewers see the components of their audiences",
    ),
)


def _route() -> PageRoute:
    route = db.get(PageRoute, g.page.id)
    if route is None:
        abort(404)
    return route


def _settings_form(errors: dict[str, str] | None = None, *, with_values: bool = False) -> str:
    route = _route()
    return render_template(
        "admin/settings/edit.html",
        page=g.page,
        route=route,
        public_url=page_url(route),
        values=request.form if with_values else None,
        errors=errors or {},
        visibility_options=VISIBILITY_OPTIONS,
        theme=LIGHT_THEME,
        page_count=db.scalar(select(func.count()).select_from(Page)) or 0,
    )


@bp.get("/")
def edit() -> str:
    return _settings_form()


@bp.post("/")
@requires(PAGE_ADMINS)
def update() -> Response | str:
    page = g.page
    # Only what the form sent: a post of some settings leaves the others as they are.
    fields: dict[str, Any] = {name: text(name) for name in TEXT_FIELDS if name in request.form}
    for name in BOOLEAN_SETTINGS:
        fields[name] = flag(name, getattr(page, name))
    try:
        changed = services.update_page_settings(db, page, actor=g.actor, **fields)
        db.commit()
    except DomainError as error:
        db.rollback()
        return _settings_form(errors_of(error), with_values=True)
    except IntegrityError:
        # Another page took the address between the service's check and the write.
        db.rollback()
        slug = text("slug").strip().lower()
        return _settings_form(errors_of(services.slug_taken(slug)), with_values=True)
    if not changed:
        flash("Nothing to save: the settings were already as shown.")
    elif "slug" in changed:
        flash(
            f"Saved the settings of {page.name}. The page is now at {page_url(_route())}; "
            "its old address no longer answers."
        )
    else:
        flash(f"Saved the settings of {page.name}.")
    return redirect(url_for(".edit"))


@bp.post("/logo")
@requires(PAGE_ADMINS)
def upload_logo() -> Response | str:
    upload = request.files.get("logo")
    data = upload.read() if upload is not None else b""
    try:
        info = services.set_page_logo(db, g.page, data, actor=g.actor)
    except DomainError as error:
        db.rollback()
        return _settings_form(errors_of(error))
    db.commit()
    flash(f"Saved the new logo ({info.width}×{info.height}); the page shows it instead of its name.")
    return redirect(url_for(".edit") + "#logo")


@bp.post("/logo/remove")
@requires(PAGE_ADMINS)
def remove_logo() -> Response:
    removed = services.remove_page_logo(db, g.page, actor=g.actor)
    db.commit()
    flash("Removed the logo; the page shows its name instead." if removed else "The page has no logo.")
    return redirect(url_for(".edit") + "#logo")


@bp.post("/delete")
@requires(PAGE_ADMINS)
def delete() -> Response | str:
    name = g.page.name
    try:
        services.delete_page(db, g.page, actor=g.actor, confirm=text("confirm"))
    except DomainError as error:
        db.rollback()
        return _settings_form(errors_of(error))
    db.commit()
    flash(f"Deleted the page {name} and everything on it.")
    return redirect(url_for("tenant.dashboard.index"))


def _domain_form(errors: dict[str, str] | None = None, *, with_values: bool = False) -> str:
    route = _route()
    settings = current_app.config["SETTINGS"]
    tenant = db.get(Tenant, g.page.tenant_id)
    return render_template(
        "admin/settings/domain.html",
        page=g.page,
        route=route,
        records=domains.records_for(route, settings),
        claim_days=domains.CLAIM_CHECK_DAYS,
        plan=tenant.plan if tenant is not None else None,
        public_url=page_url(route),
        subdomain_url=settings.page_url(route.slug),
        values=request.form if with_values else None,
        errors=errors or {},
    )


@bp.get("/domain")
def domain() -> str:
    return _domain_form()


@bp.post("/domain")
@requires(PAGE_ADMINS)
def set_domain() -> Response | str:
    settings = current_app.config["SETTINGS"]
    try:
        route = domains.set_custom_domain(db, g.page, text("domain"), actor=g.actor, settings=settings)
        db.commit()
    except DomainError as error:
        db.rollback()
        return _domain_form(errors_of(error), with_values=True)
    except IntegrityError:
        # Another page took the domain between the service's check and the write.
        db.rollback()
        host = clean_custom_domain(
            text("domain"), pages_domain=settings.PAGES_DOMAIN, platform_host=settings.PLATFORM_HOST
        )
        return _domain_form(errors_of(domains.domain_taken(host)), with_values=True)
    if route.has_verified_domain:
        flash(f"{route.custom_domain} is already this page's verified domain.")
    else:
        flash(f"Saved {route.custom_domain}. Add the two DNS records below, then check them.")
    return redirect(url_for(".domain"))


@bp.post("/domain/verify")
@requires(PAGE_ADMINS)
def verify_domain() -> Response | str:
    try:
        verified = domains.verify_custom_domain(
            db, g.page, actor=g.actor, settings=current_app.config["SETTINGS"]
        )
    except DomainError as error:
        db.rollback()
        return _domain_form(errors_of(error))
    db.commit()
    route = _route()
    if verified:
        flash(f"Verified {route.custom_domain}: the page now answers at {page_url(route)}.")
    elif route.has_verified_domain:
        flash(
            f"Could not check {route.custom_domain} just now; it stays verified and the page still "
            "answers there. The reason is below."
        )
    else:
        flash(f"{route.custom_domain} is not verified yet; the reason is below.", "error")
    return redirect(url_for(".domain"))


@bp.post("/domain/remove")
@requires(PAGE_ADMINS)
def remove_domain() -> Response:
    domain_name = _route().custom_domain
    removed = domains.remove_custom_domain(db, g.page, actor=g.actor)
    db.commit()
    if removed:
        flash(f"Removed {domain_name}; the page answers only at {page_url(_route())} now.")
    else:
        flash("The page has no custom domain.")
    return redirect(url_for(".domain"))
