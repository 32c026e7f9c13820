"""The organization's overview, each page's dashboard, and the Markdown preview of every form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_ui.forms import text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.tenancy.models import PageRoute, Role
from status_platform.text import render_markdown
from tenants.audiences.visibility import STAFF
from tenants.pages.models import Page
from tenants.pages.snapshot import build_snapshot, sections
from tenants.subscribers.queries import recent_notifications, subscriber_counts

bp = Blueprint("dashboard", __name__)
page_bp = Blueprint("dashboard", __name__)


def page_url(route: PageRoute | None) -> str:
    """The public address of a page: its verified custom domain, else its subdomain."""
    if route is None:
        abort(404)
    settings = current_app.config["SETTINGS"]
    return route.public_url(settings)


def page_view(page: Page, route: PageRoute | None) -> dict[str, Any] | None:
    """The page as staff see it: every component, audience-only and hidden ones included, built
    fresh (staff never read the public cache)."""
    url = page_url(route)
    snapshot = build_snapshot(db, page.id, page_url=url, sight=STAFF)
    if snapshot is None:
        return None
    view = sections(snapshot, hide_quiet=False)
    view["upcoming"] = sorted(
        (
            i
            for i in snapshot["incidents"].values()
            if i["_kind"] == "maintenance" and i["status"] == "scheduled" and not i["_cancelled"]
        ),
        key=lambda i: i["scheduled_for"] or "",
    )
    return {"s": snapshot, "sections": view, "url": url, "page": page}


@bp.get("/")
def index() -> Response | str:
    """One page: straight to its dashboard; several: each page's status at a glance."""
    pages = list(db.scalars(select(Page).order_by(Page.created_at, Page.name)))
    if len(pages) == 1:
        return redirect(url_for("tenant.page.dashboard.show", page_id=pages[0].id))
    routes = {
        route.page_id: route
        for route in db.scalars(select(PageRoute).where(PageRoute.page_id.in_([p.id for p in pages])))
    }
    views = [view for view in (page_view(page, routes.get(page.id)) for page in pages) if view is not None]
    return render_template("admin/overview.html", views=views)


@page_bp.get("/")
def show() -> str:
    view = page_view(g.page, db.get(PageRoute, g.page.id))
    return render_template(
        "admin/dashboard.html",
        view=view,
        counts=subscriber_counts(db, g.page.id),
        notices=recent_notifications(db, g.page.id),
    )


@bp.post("/preview")
@requires(Role.VIEWER)
def preview() -> str:
    """Markdown as the public page will show it (sanitized); writes nothing."""
    return render_markdown(text("body")[:25_000])
