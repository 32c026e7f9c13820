"""Writes of pages: create, settings, logo and deletion (route kept in step), and the version bump."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.cache import invalidate_after_commit
from status_platform.errors import Conflict, NotFound, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.tenancy.models import PageRoute
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from status_platform.validation import clean_slug, clean_text, clean_time_zone
from tenants.audit.services import record_event
from tenants.pages.models import Page, PageVisibility
from tenants.pages.schemas import (
    BOOLEAN_SETTINGS,
    SETTING_FIELDS,
    ImageInfo,
    check_contrast,
    clean_setting,
    sniff_logo,
)

AUDIT_TEXT_LIMIT = 1000


def slug_is_taken(session: Session, slug: str, *, other_than: str | None = None) -> bool:
    """Whether a page of any organization, other than page `other_than`, is served at `slug`."""
    query = select(PageRoute.page_id).where(PageRoute.slug == slug)
    if other_than is not None:
        query = query.where(PageRoute.page_id != other_than)
    return bool(session.scalar(select(query.exists())))


def slug_taken(slug: str) -> Conflict:
    """The error of a slug another page holds (also what a view shows when the database says so)."""
    return Conflict(f"The address {slug!r} is already taken by another page.", field="slug")


def route_of(session: Session, page: Page) -> PageRoute:
    """The route of `page` (its slug and custom domain); NotFound when it has none any more."""
    route = session.get(PageRoute, page.id)
    if route is None:
        raise NotFound("This page has no address any more.")
    return route


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

    Raises ValidationError for a bad name, slug or time zone or past the plan's number of
    pages, and Conflict for a taken slug. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "create pages")
    name = clean_text(name, field="name", label="Page name")
    slug = clean_slug(slug)
    time_zone = clean_time_zone(time_zone)
    if slug_is_taken(session, slug):
        raise slug_taken(slug)
    plan = plan_of(session, session.info["tenant_id"])
    count = session.scalar(select(sa.func.count()).select_from(Page)) or 0
    if count >= plan.max_pages:
        raise ValidationError(
            f"The {plan.name} plan includes {plan.max_pages} page(s); change plans to add another.",
            field="name",
        )
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


def _audit_value(value: Any) -> Any:
    # Keeps the audit log readable: a long text is kept by its start and its length.
    if isinstance(value, str) and len(value) > AUDIT_TEXT_LIMIT:
        return f"{value[:AUDIT_TEXT_LIMIT]}… ({len(value)} characters)"
    return value


def page_settings_state(page: Page, route: PageRoute) -> dict[str, Any]:
    """Every setting of the settings form as JSON values (the audit log's before and after)."""
    state: dict[str, Any] = {
        "name": page.name,
        "slug": route.slug,
        "headline": page.headline,
        "page_description": page.page_description,
        "support_url": page.support_url,
        "time_zone": page.time_zone,
        "history_days": page.history_days,
        "upcoming_maintenance_days": page.upcoming_maintenance_days,
        "maintenance_reminder_minutes": page.maintenance_reminder_minutes,
        "visibility": page.visibility.value,
        "notifications_from_name": page.notifications_from_name,
        "notifications_from_email": page.notifications_from_email,
        "notifications_email_footer": page.notifications_email_footer,
        "brand_color": page.brand_color,
        "css_colors": dict(page.css_colors or {}),
        "custom_css": page.custom_css,
    }
    for name in BOOLEAN_SETTINGS:
        state[name] = bool(getattr(page, name))
    return state


def update_page_settings(session: Session, page: Page, *, actor: Actor, **fields: Any) -> list[str]:
    """Change any of a page's settings (the names of tenants/pages/schemas.py SETTING_FIELDS).

    Settings not passed keep their value; `css_background` and `css_text` ('' for the theme's
    own) are kept in `css_colors`, and `slug` moves the page's route with it. Everything is
    checked before anything changes: ValidationError names the field at fault, Conflict a
    taken slug. One audit event carries the changed settings before and after; nothing changed
    means no event. Returns the names of the changed settings. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "change page settings")
    unknown = set(fields) - SETTING_FIELDS
    if unknown:
        raise TypeError(f"not page settings: {', '.join(sorted(unknown))}")
    cleaned = {name: clean_setting(name, value) for name, value in fields.items()}
    route = route_of(session, page)
    before = page_settings_state(page, route)

    colors = dict(page.css_colors or {})
    for key, name in (("background", "css_background"), ("text", "css_text")):
        if name in cleaned:
            if cleaned[name]:
                colors[key] = cleaned[name]
            else:
                colors.pop(key, None)
    brand = cleaned.get("brand_color", page.brand_color)
    changed_colors = frozenset(
        name
        for name, old in (
            ("brand_color", page.brand_color),
            ("css_background", (page.css_colors or {}).get("background", "")),
            ("css_text", (page.css_colors or {}).get("text", "")),
        )
        if name in cleaned and cleaned[name] != old
    )
    check_contrast(
        brand_color=brand,
        background=colors.get("background", ""),
        text=colors.get("text", ""),
        changed=changed_colors,
    )
    slug = cleaned.get("slug", route.slug)
    if slug != route.slug and slug_is_taken(session, slug, other_than=page.id):
        raise slug_taken(slug)
    visibility = cleaned.get("visibility", page.visibility)
    if (
        visibility is PageVisibility.AUDIENCE_SPECIFIC
        and page.visibility is not PageVisibility.AUDIENCE_SPECIFIC
    ):
        plan = plan_of(session, page.tenant_id)
        if not plan.allows_audiences:
            raise ValidationError(
                f"The {plan.name} plan does not include audience-specific pages; change plans to use them.",
                field="visibility",
            )

    for name, value in cleaned.items():
        if name not in {"slug", "css_background", "css_text"}:
            setattr(page, name, value)
    if colors != (page.css_colors or {}):
        page.css_colors = colors  # a new dict, so the JSON column is seen as changed
    if slug != route.slug:
        route.slug = slug
    session.flush()
    after = page_settings_state(page, route)
    changed = [name for name in after if after[name] != before[name]]
    if not changed:
        return []
    record_event(
        session,
        actor,
        "page.settings_updated",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Changed the settings of page {page.name!r}: {', '.join(changed)}",
        before={name: _audit_value(before[name]) for name in changed},
        after={name: _audit_value(after[name]) for name in changed},
    )
    bump_version(session, page.id)
    session.flush()
    return changed


def set_page_logo(session: Session, page: Page, data: bytes, *, actor: Actor) -> ImageInfo:
    """Replace the page's logo with `data`, a PNG, JPEG, GIF or WebP of at most 512 KB.

    The type is read from the bytes themselves; ValidationError (field `logo`) for anything
    else, SVG included. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "change the page's logo")
    info = sniff_logo(data)
    previous = page.logo_content_type
    now = utcnow()
    # The public URL of the logo carries its time in whole seconds and is cached for good:
    # a second upload within the same second must still get a new URL.
    if page.logo_updated_at is not None and now < page.logo_updated_at + timedelta(seconds=1):
        now = page.logo_updated_at + timedelta(seconds=1)
    page.logo_data = data
    page.logo_content_type = info.content_type
    page.logo_updated_at = now
    record_event(
        session,
        actor,
        "page.logo_updated",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Uploaded a logo for page {page.name!r} ({info.width}×{info.height} {info.content_type})",
        before={"logo": previous} if previous else None,
        after={"logo": info.content_type, "bytes": len(data), "width": info.width, "height": info.height},
    )
    bump_version(session, page.id)
    session.flush()
    return info


def remove_page_logo(session: Session, page: Page, *, actor: Actor) -> bool:
    """Remove the page's logo (the page shows its name instead). False if it had none."""
    require_role(actor, PAGE_ADMINS, "change the page's logo")
    if page.logo_content_type is None:
        return False
    previous = page.logo_content_type
    page.logo_data = None
    page.logo_content_type = None
    page.logo_updated_at = utcnow()
    record_event(
        session,
        actor,
        "page.logo_removed",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Removed the logo of page {page.name!r}",
        before={"logo": previous},
        after={"logo": None},
    )
    bump_version(session, page.id)
    session.flush()
    return True


def delete_page(session: Session, page: Page, *, actor: Actor, confirm: str) -> None:
    """Delete a page and everything on it, once `confirm` is its exact name.

    The database removes what hangs off the page (ON DELETE CASCADE); its route goes in the
    same transaction, so its addresses stop answering at the commit. The organization's last
    page cannot be deleted. ValidationError (field `confirm`) otherwise. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "delete pages")
    pages = session.scalar(select(sa.func.count()).select_from(Page)) or 0
    if pages <= 1:
        raise ValidationError(
            f"{page.name} is the organization's only page, and an organization keeps at least one; "
            "add another page first, or delete the organization instead.",
            field="confirm",
        )
    if (confirm or "").strip() != page.name:
        raise ValidationError(f"Type the page's name, {page.name}, exactly to delete it.", field="confirm")
    route = session.get(PageRoute, page.id)
    record_event(
        session,
        actor,
        "page.deleted",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Deleted page {page.name!r}",
        before={
            "name": page.name,
            "slug": route.slug if route else None,
            "custom_domain": route.custom_domain if route else None,
        },
    )
    if route is not None:
        session.delete(route)
        session.flush()
    page_id = page.id
    session.delete(page)
    session.flush()
    invalidate_after_commit(session, "page", page_id)
