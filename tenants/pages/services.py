"""Writes of pages: create a page with its route, and bump the version that keys the snapshot."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.cache import invalidate_after_commit
from status_platform.errors import Conflict
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import PageRoute
from status_platform.validation import clean_slug, clean_text, clean_time_zone
from tenants.audit.services import record_event
from tenants.pages.models import Page, PageVisibility


def slug_is_taken(session: Session, slug: str) -> bool:
    return bool(session.scalar(select(select(PageRoute.page_id).where(PageRoute.slug == slug).exists())))


def create_page(
    session: Session,
    *,
    name: str,
    slug: str,
    actor: Actor,
    time_zone: str = "UTC",
    visibility: PageVisibility = PageVisibility.PUBLIC,
) -> Page:
    """Create a page of the session's tenant, served at ``<slug>.<PAGES_DOMAIN>``.

    Raises ValidationError for a bad name, slug or time zone and Conflict for a taken slug.
    Flushes, never commits.
    """
    name = clean_text(name, field="name", label="Page name")
    slug = clean_slug(slug)
    time_zone = clean_time_zone(time_zone)
    if slug_is_taken(session, slug):
        raise Conflict(f"The address {slug!r} is already taken by another page.", field="slug")
    page = Page(name=name, time_zone=time_zone, visibility=visibility)
    session.add(page)
    session.flush()
    session.add(PageRoute(page_id=page.id, tenant_id=page.tenant_id, slug=slug))
    record_event(
        session,
        actor,
        "page.created",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Created page {name!r} at {slug}",
        after={"name": name, "slug": slug},
    )
    session.flush()
    return page


def bump_version(session: Session, page_id: str) -> None:
    """Mark the page changed: the next public read after the commit rebuilds its snapshot."""
    session.execute(sa.update(Page).where(Page.id == page_id).values(version=Page.version + 1))
    invalidate_after_commit(session, "page", page_id)
