"""The admin app's blueprint tree, assembled once at import time.

/t/<tenant_slug>/...            organization screens (tenant_bp's children)
/t/<tenant_slug>/p/<page_id>/... one page's screens (page_bp's children)
"""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from admin_ui import (
    api_keys,
    audiences,
    audit,
    components,
    dashboard,
    incident_types,
    incidents,
    maintenance,
    message_templates,
    organization,
    page_settings,
    pages,
    subscribers,
    team,
)
from admin_ui.tenant import page_bp, tenant_bp
from status_platform.db.session import db
from tenants.pages.models import Page

for child in (
    dashboard.bp,
    pages.bp,
    team.bp,
    incident_types.bp,
    audit.bp,
    organization.bp,
    api_keys.bp,
):
    tenant_bp.register_blueprint(child)
for child in (
    dashboard.page_bp,
    components.bp,
    incidents.bp,
    maintenance.bp,
    message_templates.bp,
    page_settings.bp,
    subscribers.bp,
    subscribers.events_bp,
    audiences.bp,
    audiences.viewers_bp,
):
    page_bp.register_blueprint(child)


def nav_pages() -> list[Page]:
    """The organization's pages, for the side navigation (once per request)."""
    if "nav_pages" not in g:
        g.nav_pages = list(db.scalars(select(Page).order_by(Page.created_at, Page.name)))
    return g.nav_pages  # type: ignore[no-any-return]


__all__ = ["nav_pages", "tenant_bp"]
