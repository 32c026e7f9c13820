"""History documents: a page's incidents (or maintenance) month by month, and single older incidents.

Like the snapshot, each is built from a fixed number of statements and cached per page version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.tenancy.models import PageRoute
from status_platform.timeutil import utcnow
from tenants.audiences.visibility import PUBLIC, Sight
from tenants.incidents.models import Incident, IncidentKind
from tenants.pages.models import Page
from tenants.pages.snapshot import Builder, incident_documents, load_components


def shift_month(month: str, by: int) -> str:
    """'2026-01' shifted by -2 is '2025-11'."""
    year, number = (int(part) for part in month.split("-"))
    total = year * 12 + number - 1 + by
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_range(last_month: str, months: int) -> list[str]:
    """`months` months ending with `last_month` ("YYYY-MM"), newest first."""
    return [shift_month(last_month, -n) for n in range(months)]


def _month_start(month: str, zone: ZoneInfo) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=zone).astimezone(UTC)


def build_history(
    session: Session,
    page_id: str,
    *,
    kind: str,
    last_month: str,
    months: int,
    page_url: str,
    sight: Sight = PUBLIC,
) -> dict[str, Any] | None:
    """The page's incidents of `kind` that `sight` may see, started in the `months` months ending
    with `last_month`, by month."""
    page = session.get(Page, page_id)
    if page is None:
        return None
    zone = ZoneInfo(page.time_zone)
    builder = Builder(page, session.get(PageRoute, page_id), zone, page_url, utcnow(), sight)
    groups, components = load_components(session, page_id, sight)
    component_objects = builder.components(groups, components)
    span = month_range(last_month, months)
    start, end = _month_start(span[-1], zone), _month_start(shift_month(span[0], 1), zone)
    incident_kind = IncidentKind(kind)
    # A maintenance belongs to the month of its window; an incident to the month it began.
    when = Incident.scheduled_for if incident_kind is IncidentKind.MAINTENANCE else Incident.started_at
    objects, _ = incident_documents(
        session,
        builder,
        sa.and_(Incident.kind == incident_kind, when >= start, when < end, Incident.cancelled_at.is_(None)),
        component_objects,
    )
    first = session.scalar(
        select(sa.func.min(when)).where(Incident.page_id == page_id, Incident.kind == incident_kind)
    )
    key = "scheduled_for" if incident_kind is IncidentKind.MAINTENANCE else "started_at"
    by_month: dict[str, list[dict[str, Any]]] = {month: [] for month in span}
    for incident in sorted(objects.values(), key=lambda i: i[key] or "", reverse=True):
        by_month.setdefault(incident["_month"], []).append(incident)
    return {
        "page": builder.page_object(),
        "_page": builder.page_settings(),
        "months": [{"month": month, "incidents": by_month[month]} for month in span],
        "first_month": first.astimezone(zone).strftime("%Y-%m") if first else None,
    }


def build_incident_document(
    session: Session, page_id: str, incident_id: str, *, page_url: str, sight: Sight = PUBLIC
) -> dict[str, Any] | None:
    """One incident of the page as `sight` sees it, or None if there is no such incident it may see."""
    page = session.get(Page, page_id)
    if page is None:
        return None
    builder = Builder(
        page, session.get(PageRoute, page_id), ZoneInfo(page.time_zone), page_url, utcnow(), sight
    )
    groups, components = load_components(session, page_id, sight)
    objects, _ = incident_documents(
        session, builder, Incident.id == incident_id, builder.components(groups, components)
    )
    return {"incident": objects[incident_id]} if incident_id in objects else None
