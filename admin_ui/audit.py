"""The audit log of the organization: every write, who made it, when, and what it changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import select

from admin_ui.forms import page_number
from admin_ui.tenant import restrict_reads
from status_platform.db.session import db
from status_platform.errors import ValidationError
from status_platform.identity.permissions import PAGE_ADMINS
from tenants.audit.queries import AuditFilter, action_families, search_events
from tenants.pages.models import Page

bp = Blueprint("audit", __name__, url_prefix="/audit")


restrict_reads(bp, PAGE_ADMINS, "The audit log is for admins and owners.")


def _day(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{raw!r} is not a date like 2027-01-31.", field=name) from None
    if not 1970 <= day.year <= 2200:
        raise ValidationError("Choose a date between the years 1970 and 2200.", field=name)
    return datetime.combine(day, time(0), tzinfo=UTC)


@bp.get("/")
def index() -> str:
    errors: dict[str, str] = {}
    try:
        since = _day("since")
        until = _day("until")
    except ValidationError as error:
        errors[error.field or "_form"] = error.message
        since = until = None
    criteria = AuditFilter(
        action=request.args.get("action", "").strip(),
        actor=request.args.get("actor", "").strip(),
        page_id=request.args.get("page", "").strip(),
        object_id=request.args.get("object", "").strip(),
        text=request.args.get("q", "").strip(),
        since=since,
        until=until + timedelta(days=1) if until else None,
    )
    number = page_number()
    events, has_more = search_events(db, criteria, page=number)
    pages = {page.id: page.name for page in db.scalars(select(Page))}
    return render_template(
        "admin/audit.html",
        events=events,
        has_more=has_more,
        number=number,
        families=action_families(db),
        pages=pages,
        args=request.args,
        errors=errors,
    )
