"""The organization's dashboard: each page's status, components, open incidents and maintenance."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from status_platform.db.session import db
from status_platform.tenancy.models import PageRoute
from tenants.pages.models import Page
from tenants.pages.snapshot import build_snapshot, sections

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index() -> str:
    """Staff see each page as the public does, built fresh (never from the public cache)."""
    settings = current_app.config["SETTINGS"]
    pages = db.scalars(select(Page).order_by(Page.created_at)).all()
    routes = {
        r.page_id: r
        for r in db.scalars(select(PageRoute).where(PageRoute.page_id.in_([p.id for p in pages])))
    }
    views = []
    for page in pages:
        route = routes[page.id]
        url = settings.page_url(route.slug, route.custom_domain if route.has_verified_domain else None)
        snapshot = build_snapshot(db, page.id, page_url=url)
        if snapshot is not None:
            views.append({"s": snapshot, "sections": sections(snapshot, hide_quiet=False), "url": url})
    return render_template("admin/dashboard.html", views=views)
