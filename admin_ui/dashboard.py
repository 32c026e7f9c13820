"""The organization's dashboard: each page's status, components and open incidents."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from status_platform.db.session import db
from status_platform.tenancy.models import PageRoute
from tenants.pages.models import Page
from tenants.pages.queries import page_overview

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index() -> str:
    settings = current_app.config["SETTINGS"]
    pages = db.scalars(select(Page).order_by(Page.created_at)).all()
    routes = {
        r.page_id: r
        for r in db.scalars(select(PageRoute).where(PageRoute.page_id.in_([p.id for p in pages])))
    }
    overviews = [page_overview(db, page.id) for page in pages]
    urls = {
        page.id: settings.page_url(
            routes[page.id].slug,
            routes[page.id].custom_domain if routes[page.id].has_verified_domain else None,
        )
        for page in pages
    }
    return render_template("admin/dashboard.html", overviews=[o for o in overviews if o], urls=urls)
