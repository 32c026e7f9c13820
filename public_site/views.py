"""The HTML of the public page: the status page, incident pages, history and the logo."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, g, make_response, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from public_site import documents
from status_platform.db.session import db
from status_platform.timeutil import utcnow
from tenants.pages.history import shift_month
from tenants.pages.models import Page, PageVisibility
from tenants.pages.snapshot import sections

bp = Blueprint("public", __name__)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
HISTORY_MONTHS = 3
INCIDENT_ID_RE = re.compile(r"^[a-z0-9]{1,32}$")


@bp.get("/")
def index() -> Response:
    snapshot = documents.snapshot()
    return documents.respond(
        lambda: render_template(
            "public/index.html", s=snapshot, sections=sections(snapshot), page_url=documents.page_url()
        ),
        "index",
    )


@bp.get("/incidents/<incident_id>")
def incident(incident_id: str) -> Response:
    if not INCIDENT_ID_RE.match(incident_id):
        abort(404)
    snapshot = documents.snapshot()
    found = documents.incident(incident_id)
    groups = {c["id"]: c["name"] for c in snapshot["components"] if c["group"]}
    return documents.respond(
        lambda: render_template(
            "public/incident.html", s=snapshot, incident=found, groups=groups, page_url=documents.page_url()
        ),
        "incident",
        found["updated_at"],
    )


@bp.get("/history")
def history() -> Response:
    snapshot = documents.snapshot()
    kind = "maintenance" if request.args.get("kind") == "maintenance" else "incident"
    zone = ZoneInfo(snapshot["page"]["time_zone"])
    current = utcnow().astimezone(zone).strftime("%Y-%m")
    start = request.args.get("from", "")
    if not MONTH_RE.match(start) or start > current:
        start = current
    document = documents.history(kind, start, HISTORY_MONTHS)
    older = shift_month(start, -HISTORY_MONTHS)
    first = document["first_month"]
    newer = min(shift_month(start, HISTORY_MONTHS), current) if start < current else None
    return documents.respond(
        lambda: render_template(
            "public/history.html",
            s=snapshot,
            document=document,
            kind=kind,
            older=older if first and older >= first else None,
            newer=newer,
            page_url=documents.page_url(),
        ),
        "history",
        document["_built"],
    )


@bp.get("/logo")
def logo() -> Response:
    row = db.execute(
        select(Page.logo_data, Page.logo_content_type).where(Page.id == g.page_address.page_id)
    ).first()
    if row is None or row.logo_data is None:
        abort(404)
    response = make_response(row.logo_data)
    response.headers["Content-Type"] = row.logo_content_type or "application/octet-stream"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/robots.txt")
def robots() -> Response:
    """Search engines may index a public page that allows it, never a private one."""
    page = db.get(Page, g.page_address.page_id)
    indexed = page is not None and page.is_search_indexed and page.visibility is not PageVisibility.PRIVATE
    body = (
        f"User-agent: *\nAllow: /\nSitemap: {documents.page_url()}/sitemap.xml\n"
        if indexed
        else "User-agent: *\nDisallow: /\n"
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """The public status page, its history and its recent incidents; none for a private page."""
    page = db.get(Page, g.page_address.page_id)
    if page is None or not page.is_search_indexed or page.visibility is PageVisibility.PRIVATE:
        abort(404)
    snapshot = documents.snapshot()
    return documents.respond(
        lambda: render_template("public/sitemap.xml", s=snapshot, page_url=documents.page_url()),
        "sitemap",
        content_type="application/xml; charset=utf-8",
    )


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(404)
    def _not_found(error: HTTPException) -> tuple[str, int]:
        return render_template(
            "public/error.html",
            code=404,
            title="Page not found",
            message="There is nothing at this address.",
            home=url_for("public.index"),
        ), 404
