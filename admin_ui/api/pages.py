"""Pages: the key's pages (`GET /pages`), one page, and its settings (PATCH/PUT)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy import select

from admin_ui.api.body import envelope
from admin_ui.api.common import commit, current_page, rename_fields
from admin_ui.api.spec import (
    NULLABLE_DATE_TIME,
    PAGE_ID,
    array_of,
    nullable,
    operation,
    ref,
    schema,
)
from status_platform.db.session import db
from status_platform.timeutil import utcnow
from tenants.incidents.models import Incident, IncidentUpdate
from tenants.pages.models import Page, PageVisibility
from tenants.pages.services import route_of, update_page_settings
from tenants.pages.snapshot import iso

TAG = "Pages"

# The public page's own colours (public_site/static/status.css), as Statuspage's css_* fields.
THEME = {
    "css_light_font_color": "52606d",
    "css_greens": "2e7d32",
    "css_yellows": "8a6d00",
    "css_oranges": "b35400",
    "css_reds": "c62828",
    "css_border_color": "d9e2ec",
    "css_no_data": "9aa5b1",
}
DEFAULT_BACKGROUND, DEFAULT_TEXT = "ffffff", "1f2933"
ALLOW_FLAGS = (
    "allow_page_subscribers",
    "allow_incident_subscribers",
    "allow_email_subscribers",
    "allow_sms_subscribers",
    "allow_rss_atom_feeds",
    "allow_webhook_subscribers",
    "allow_slack_subscribers",
    "allow_teams_subscribers",
)
ACTIVITY_DAYS = 90

_LOGO = {
    "type": "object",
    "properties": {
        "updated_at": NULLABLE_DATE_TIME,
        "size": nullable("integer"),
        "url": {"type": "string"},
    },
    "required": ["updated_at", "size", "url"],
    "additionalProperties": False,
}
_SIZED_LOGO = {
    "type": "object",
    "properties": {
        "updated_at": NULLABLE_DATE_TIME,
        "size": nullable("integer"),
        "original_url": {"type": "string"},
        "normal_url": {"type": "string"},
        "retina_url": {"type": "string"},
    },
    "required": ["updated_at", "size", "original_url", "normal_url", "retina_url"],
    "additionalProperties": False,
}
_COLOR = {"type": "string", "pattern": "^[0-9a-fA-F]{6}$"}

PAGE = schema(
    "Page",
    {
        "id": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "name": {"type": "string"},
        "page_description": nullable("string"),
        "headline": nullable("string"),
        "branding": {"type": "string", "enum": ["basic", "premium"]},
        "subdomain": {"type": "string"},
        "domain": nullable("string"),
        "url": {"type": "string", "description": "The page's public address."},
        "support_url": nullable("string"),
        "hidden_from_search": {"type": "boolean"},
        **{name: {"type": "boolean"} for name in ALLOW_FLAGS},
        "notifications_from_email": nullable("string"),
        "notifications_email_footer": nullable("string"),
        "activity_score": {
            "type": "integer",
            "description": f"Incident and maintenance updates posted in the last {ACTIVITY_DAYS} days.",
        },
        "twitter_username": {"type": "null"},
        "viewers_must_be_team_members": {"type": "boolean"},
        "ip_restrictions": {"type": "null"},
        "city": {"type": "null"},
        "state": {"type": "null"},
        "country": {"type": "null"},
        "time_zone": {"type": "string"},
        "visibility": {"type": "string", "enum": [v.value for v in PageVisibility]},
        "css_body_background_color": _COLOR,
        "css_font_color": _COLOR,
        "css_light_font_color": _COLOR,
        "css_greens": _COLOR,
        "css_yellows": _COLOR,
        "css_oranges": _COLOR,
        "css_blues": _COLOR,
        "css_reds": _COLOR,
        "css_border_color": _COLOR,
        "css_graph_color": _COLOR,
        "css_link_color": _COLOR,
        "css_no_data": _COLOR,
        "favicon_logo": _LOGO,
        "transactional_logo": _SIZED_LOGO,
        "hero_cover": _SIZED_LOGO,
        "email_logo": _SIZED_LOGO,
        "twitter_logo": _LOGO,
    },
)

_OPTIONAL_COLOR = {"type": ["string", "null"], "pattern": "^#?[0-9a-fA-F]{6}$"}
PAGE_BODY = {
    "type": "object",
    "properties": {
        "page": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                "subdomain": {"type": "string", "maxLength": 63},
                "headline": {"type": "string", "maxLength": 255},
                "page_description": {"type": "string", "maxLength": 5000},
                "support_url": {"type": "string", "maxLength": 500},
                "time_zone": {"type": "string"},
                "hidden_from_search": {"type": "boolean"},
                "viewers_must_be_team_members": {"type": "boolean"},
                "visibility": {"type": "string", "enum": [v.value for v in PageVisibility]},
                **{name: {"type": "boolean"} for name in ALLOW_FLAGS},
                "notifications_from_email": {"type": "string", "maxLength": 320},
                "notifications_email_footer": {"type": "string", "maxLength": 5000},
                "css_body_background_color": _OPTIONAL_COLOR,
                "css_font_color": _OPTIONAL_COLOR,
                "css_link_color": {"type": "string", "pattern": "^#?[0-9a-fA-F]{6}$"},
            },
        }
    },
    "required": ["page"],
}


def _hex(color: str | None, default: str) -> str:
    return (color or "").lstrip("#").lower() or default


def _activity(page_ids: list[str]) -> dict[str, int]:
    since = utcnow() - timedelta(days=ACTIVITY_DAYS)
    rows = db.execute(
        select(Incident.page_id, sa.func.count(IncidentUpdate.id))
        .join(IncidentUpdate, IncidentUpdate.incident_id == Incident.id)
        .where(Incident.page_id.in_(page_ids), IncidentUpdate.display_at >= since)
        .group_by(Incident.page_id)
    )
    return {page_id: int(count) for page_id, count in rows}


def page_json(page: Page, *, activity: int) -> dict[str, Any]:
    settings = current_app.config["SETTINGS"]
    route = route_of(db, page)
    colors = page.css_colors or {}
    brand = _hex(page.brand_color, "2c6fbb")
    public_url = route.public_url(settings)
    logo_url = f"{public_url}/logo" if page.logo_updated_at is not None else ""
    empty = {"updated_at": None, "size": None, "url": ""}
    return {
        "id": page.id,
        "created_at": iso(page.created_at),
        "updated_at": iso(page.updated_at),
        "name": page.name,
        "page_description": page.page_description or None,
        "headline": page.headline or None,
        "branding": "premium" if page.custom_css or colors else "basic",
        "subdomain": route.slug,
        "domain": route.custom_domain,
        "url": public_url,
        "support_url": page.support_url or None,
        "hidden_from_search": not page.is_search_indexed,
        **{name: bool(getattr(page, name)) for name in ALLOW_FLAGS},
        "notifications_from_email": page.notifications_from_email or None,
        "notifications_email_footer": page.notifications_email_footer or None,
        "activity_score": activity,
        "twitter_username": None,
        "viewers_must_be_team_members": page.visibility is PageVisibility.PRIVATE,
        "ip_restrictions": None,
        "city": None,
        "state": None,
        "country": None,
        "time_zone": page.time_zone,
        "visibility": page.visibility.value,
        "css_body_background_color": _hex(colors.get("background"), DEFAULT_BACKGROUND),
        "css_font_color": _hex(colors.get("text"), DEFAULT_TEXT),
        "css_light_font_color": THEME["css_light_font_color"],
        "css_greens": THEME["css_greens"],
        "css_yellows": THEME["css_yellows"],
        "css_oranges": THEME["css_oranges"],
        "css_blues": brand,
        "css_reds": THEME["css_reds"],
        "css_border_color": THEME["css_border_color"],
        "css_graph_color": brand,
        "css_link_color": brand,
        "css_no_data": THEME["css_no_data"],
        "favicon_logo": dict(empty),
        "transactional_logo": {
            "updated_at": iso(page.logo_updated_at),
            "size": None,
            "original_url": logo_url,
            "normal_url": logo_url,
            "retina_url": logo_url,
        },
        "hero_cover": {
            "updated_at": None,
            "size": None,
            "original_url": "",
            "normal_url": "",
            "retina_url": "",
        },
        "email_logo": {
            "updated_at": iso(page.logo_updated_at),
            "size": None,
            "original_url": logo_url,
            "normal_url": logo_url,
            "retina_url": logo_url,
        },
        "twitter_logo": dict(empty),
    }


@operation(
    "GET", "/pages", summary="List the pages this key may manage", tag=TAG, responses={200: array_of("Page")}
)
def list_pages() -> list[dict[str, Any]]:
    statement = select(Page).order_by(Page.created_at, Page.id)
    if g.key_page_id is not None:
        statement = statement.where(Page.id == g.key_page_id)
    pages = list(db.scalars(statement))
    activity = _activity([page.id for page in pages])
    return [page_json(page, activity=activity.get(page.id, 0)) for page in pages]


@operation(
    "GET", "/pages/<page_id>", summary="Get a page", tag=TAG, params=(PAGE_ID,), responses={200: ref("Page")}
)
def get_page() -> dict[str, Any]:
    page = current_page()
    return page_json(page, activity=_activity([page.id]).get(page.id, 0))


def _update_page() -> dict[str, Any]:
    page = current_page()
    fields = envelope("page")
    rename_fields(
        slug="subdomain",
        is_search_indexed="hidden_from_search",
        css_background="css_body_background_color",
        css_text="css_font_color",
        brand_color="css_link_color",
    )
    changes: dict[str, Any] = {}
    for name, setting, limit in (
        ("name", "name", 255),
        ("subdomain", "slug", 63),
        ("headline", "headline", 255),
        ("page_description", "page_description", 5000),
        ("support_url", "support_url", 500),
        ("time_zone", "time_zone", 64),
        ("notifications_from_email", "notifications_from_email", 320),
        ("notifications_email_footer", "notifications_email_footer", 5000),
    ):
        if fields.has(name):
            changes[setting] = fields.text(name, max_length=limit) or ""
    for name in ALLOW_FLAGS:
        if fields.has(name):
            changes[name] = fields.boolean(name)
    if fields.has("hidden_from_search"):
        changes["is_search_indexed"] = not fields.boolean("hidden_from_search")
    if fields.has("visibility"):
        changes["visibility"] = fields.choice("visibility", PageVisibility)
    elif fields.has("viewers_must_be_team_members"):
        private = fields.boolean("viewers_must_be_team_members")
        if private:
            changes["visibility"] = PageVisibility.PRIVATE
        elif page.visibility is PageVisibility.PRIVATE:
            changes["visibility"] = PageVisibility.PUBLIC
    for name, setting in (("css_body_background_color", "css_background"), ("css_font_color", "css_text")):
        if fields.has(name):
            value = fields.text(name, max_length=7) or ""
            changes[setting] = f"#{value.lstrip('#')}" if value else ""
    if fields.has("css_link_color"):
        value = fields.text("css_link_color", max_length=7) or ""
        changes["brand_color"] = f"#{value.lstrip('#')}"
    update_page_settings(db, page, actor=g.actor, **changes)
    commit()
    db.refresh(page)
    return page_json(page, activity=_activity([page.id]).get(page.id, 0))


@operation(
    "PATCH",
    "/pages/<page_id>",
    summary="Update a page",
    tag=TAG,
    params=(PAGE_ID,),
    body=PAGE_BODY,
    responses={200: ref("Page")},
)
def patch_page() -> dict[str, Any]:
    return _update_page()


@operation(
    "PUT",
    "/pages/<page_id>",
    summary="Update a page",
    tag=TAG,
    params=(PAGE_ID,),
    body=PAGE_BODY,
    responses={200: ref("Page")},
)
def put_page() -> dict[str, Any]:
    return _update_page()
