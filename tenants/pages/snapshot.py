"""The page snapshot: one plain dict from which every public representation of a page is rendered.

Built from a fixed number of statements whatever the number of components, incidents or days
of history (nine; a test pins it), stored as JSON, keyed by the page's version. Keys without a
leading underscore are Statuspage's v2 wire objects; underscored keys serve the HTML page.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.tenancy.models import PageRoute
from status_platform.text import render_markdown, render_markdown_inline
from status_platform.timeutil import utcnow
from tenants.audiences.visibility import PUBLIC, Sight, incident_is_visible, visible_components
from tenants.components.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
)
from tenants.components.status import overall_status
from tenants.incidents.models import (
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    IncidentUpdateComponent,
)
from tenants.pages.models import Page, PageVisibility

UPTIME_DAYS = 90
RECENT_LIMIT = 50
PARTIAL_OUTAGE_WEIGHT = 0.3
CLOSED = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, IncidentStatus.COMPLETED)


def iso(value: datetime | None) -> str | None:
    """Statuspage's timestamp form: UTC with milliseconds and Z (2024-06-11T21:39:47.123Z).

    A naive value (as a JSON column or an old row may hold) is taken as UTC.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def page_version(session: Session, page_id: str) -> int | None:
    return session.scalar(select(Page.version).where(Page.id == page_id))


def build_snapshot(
    session: Session, page_id: str, *, page_url: str, now: datetime | None = None, sight: Sight = PUBLIC
) -> dict[str, Any] | None:
    """Everything `sight` sees of `page_id` now, or None if the session's tenant has no such page.

    Only components `sight` may see are listed, named in incidents, or counted in the overall
    status; an incident shows when one of its components does (or when it names none).
    """
    now = now or utcnow()
    page = session.get(Page, page_id)
    if page is None:
        return None
    zone = ZoneInfo(page.time_zone)
    route = session.get(PageRoute, page_id)
    groups, components = load_components(session, page_id, sight)
    window_start = _day_start(
        now.astimezone(zone).date() - timedelta(days=max(UPTIME_DAYS, page.history_days) - 1), zone
    )
    recent_incidents = (
        select(Incident.id)
        .where(Incident.page_id == page_id, Incident.kind == IncidentKind.INCIDENT)
        .order_by(Incident.started_at.desc())
        .limit(RECENT_LIMIT)
    )
    recent_maintenance = (
        select(Incident.id)
        .where(Incident.page_id == page_id, Incident.kind == IncidentKind.MAINTENANCE)
        .order_by(Incident.scheduled_for.desc())
        .limit(RECENT_LIMIT)
    )
    builder = Builder(page, route, zone, page_url, now, sight)
    component_objects = builder.components(groups, components)
    incident_objects, affected = incident_documents(
        session,
        builder,
        sa.or_(
            Incident.status.not_in(CLOSED),
            Incident.started_at >= window_start,
            Incident.id.in_(recent_incidents.scalar_subquery()),
            Incident.id.in_(recent_maintenance.scalar_subquery()),
        ),
        component_objects,
    )
    showcased = [c for c in components if c.is_showcased]
    history = _status_history(session, [c.id for c in showcased], window_start)
    first = session.scalar(select(sa.func.min(Incident.started_at)).where(Incident.page_id == page_id))

    open_incidents = [
        i for i in incident_objects.values() if i["_kind"] == "incident" and i["status"] not in _closed()
    ]
    in_progress = [
        i
        for i in incident_objects.values()
        if i["_kind"] == "maintenance" and i["status"] in ("in_progress", "verifying") and not i["_cancelled"]
    ]
    status = overall_status(
        [c.status for c in components],
        [i["impact"] for i in open_incidents] + [Impact.MAINTENANCE.value for _ in in_progress],
    )
    return {
        "page": builder.page_object(),
        "status": {"indicator": status.indicator.value, "description": status.description},
        "components": sorted(
            component_objects.values(), key=lambda c: (c["position"], not c["group"], c["name"])
        ),
        "incidents": incident_objects,
        "_page": builder.page_settings(),
        "_layout": builder.layout(groups, components),
        "_uptime": builder.uptime(showcased, history, incident_objects, affected),
        "_first_month": first.astimezone(zone).strftime("%Y-%m") if first else None,
        "_built_at": iso(now),
    }


def load_components(
    session: Session, page_id: str, sight: Sight = PUBLIC
) -> tuple[list[ComponentGroup], list[Component]]:
    """The page's groups and components that `sight` may see (none inside a group it may not see)."""
    return visible_components(session, page_id, sight)


def incident_documents(
    session: Session, builder: Builder, condition: Any, component_objects: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """The page's incidents matching `condition` as v2 objects (four statements), with their components."""
    page_id = builder.page.id
    rows = session.execute(
        select(Incident, IncidentType.name, IncidentType.color)
        .outerjoin(IncidentType, IncidentType.id == Incident.incident_type_id)
        .where(Incident.page_id == page_id, condition)
    ).all()
    incident_ids = [row[0].id for row in rows]
    updates = (
        session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(incident_ids))
            .order_by(IncidentUpdate.display_at.desc(), IncidentUpdate.created_at.desc())
        ).all()
        if incident_ids
        else []
    )
    changes_by_update: dict[str, list[IncidentUpdateComponent]] = defaultdict(list)
    if updates:
        for change in session.scalars(
            select(IncidentUpdateComponent).where(
                IncidentUpdateComponent.update_id.in_([u.id for u in updates])
            )
        ):
            changes_by_update[change.update_id].append(change)
    affected: dict[str, list[str]] = defaultdict(list)
    linked: dict[str, list[str]] = defaultdict(list)
    if incident_ids:
        for link in session.scalars(
            select(IncidentComponent).where(IncidentComponent.incident_id.in_(incident_ids))
        ):
            linked[link.incident_id].append(link.component_id)
            if link.component_id in component_objects and not component_objects[link.component_id]["group"]:
                affected[link.incident_id].append(link.component_id)
    # What the reader may not see is left out: incidents only about such components, and the
    # names of such components in the incidents it may see.
    rows = [row for row in rows if incident_is_visible(linked[row[0].id], component_objects)]
    # A deleted component (its id gone) is still named in the updates of a public page; on a
    # page with audiences it may have been one of theirs, so only staff see its name.
    keep_deleted = builder.page.visibility is PageVisibility.PUBLIC or builder.sight.hidden
    for update_id, changes in list(changes_by_update.items()):
        changes_by_update[update_id] = [
            c
            for c in changes
            if c.component_id in component_objects or (c.component_id is None and keep_deleted)
        ]
    updates_by_incident: dict[str, list[IncidentUpdate]] = defaultdict(list)
    for update in updates:
        updates_by_incident[update.incident_id].append(update)
    objects = {
        incident.id: builder.incident(
            incident,
            type_name,
            type_color,
            updates_by_incident[incident.id],
            changes_by_update,
            [component_objects[c] for c in affected[incident.id]],
        )
        for incident, type_name, type_color in rows
    }
    return objects, affected


def _closed() -> tuple[str, ...]:
    return tuple(s.value for s in CLOSED)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _status_history(
    session: Session, component_ids: list[str], since: datetime
) -> dict[str, list[tuple[datetime, ComponentStatus]]]:
    """Each component's status changes from `since`, led by the status it had at `since`."""
    if not component_ids:
        return {}
    latest_before = (
        select(ComponentStatusChange.component_id, sa.func.max(ComponentStatusChange.changed_at).label("at"))
        .where(
            ComponentStatusChange.component_id.in_(component_ids), ComponentStatusChange.changed_at < since
        )
        .group_by(ComponentStatusChange.component_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ComponentStatusChange.component_id,
            ComponentStatusChange.changed_at,
            ComponentStatusChange.new_status,
        )
        .outerjoin(
            latest_before,
            sa.and_(
                latest_before.c.component_id == ComponentStatusChange.component_id,
                latest_before.c.at == ComponentStatusChange.changed_at,
            ),
        )
        .where(
            ComponentStatusChange.component_id.in_(component_ids),
            sa.or_(ComponentStatusChange.changed_at >= since, latest_before.c.at.is_not(None)),
        )
        .order_by(
            ComponentStatusChange.component_id, ComponentStatusChange.changed_at, ComponentStatusChange.id
        )
    ).all()
    history: dict[str, list[tuple[datetime, ComponentStatus]]] = defaultdict(list)
    for component_id, changed_at, status in rows:
        history[component_id].append((max(changed_at, since), status))
    return history


class Builder:
    def __init__(
        self,
        page: Page,
        route: PageRoute | None,
        zone: ZoneInfo,
        page_url: str,
        now: datetime,
        sight: Sight = PUBLIC,
    ) -> None:
        self.page, self.route, self.zone, self.url, self.now = page, route, zone, page_url, now
        self.sight = sight

    def page_object(self) -> dict[str, Any]:
        return {
            "id": self.page.id,
            "name": self.page.name,
            "url": self.url,
            "time_zone": self.page.time_zone,
            "updated_at": iso(self.page.updated_at),
        }

    def page_settings(self) -> dict[str, Any]:
        page = self.page
        return {
            "headline": page.headline,
            "support_url": page.support_url,
            "brand_color": page.brand_color,
            "custom_css": page.custom_css,
            "css_colors": dict(page.css_colors or {}),
            # The logo itself is served by its own route; the snapshot only knows whether there is one.
            "logo_version": int(page.logo_updated_at.timestamp())
            if page.logo_content_type and page.logo_updated_at
            else None,
            "history_days": page.history_days,
            "upcoming_days": page.upcoming_maintenance_days,
            "is_search_indexed": page.is_search_indexed,
            "visibility": page.visibility.value,
            "allow_feeds": page.allow_rss_atom_feeds,
            "allow_subscribers": page.allow_page_subscribers,
            "today": self.now.astimezone(self.zone).date().isoformat(),
            "zone_abbreviation": self.now.astimezone(self.zone).strftime("%Z"),
        }

    def components(
        self, groups: list[ComponentGroup], components: list[Component]
    ) -> dict[str, dict[str, Any]]:
        objects: dict[str, dict[str, Any]] = {}
        children: dict[str, list[Component]] = defaultdict(list)
        for component in components:
            objects[component.id] = self.component(component)
            if component.group_id:
                children[component.group_id].append(component)
        for group in groups:
            members = sorted(children[group.id], key=lambda c: c.position)
            worst = max(
                (c.status for c in members), key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL
            )
            objects[group.id] = {
                "id": group.id,
                "name": group.name,
                "status": worst.value,
                "created_at": iso(group.created_at),
                "updated_at": iso(max([group.updated_at, *(c.updated_at for c in members)])),
                "position": group.position,
                "description": group.description or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": self.page.id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [c.id for c in members],
            }
        return objects

    def component(self, component: Component) -> dict[str, Any]:
        return {
            "id": component.id,
            "name": component.name,
            "status": component.status.value,
            "created_at": iso(component.created_at),
            "updated_at": iso(component.updated_at),
            "position": component.position,
            "description": component.description or None,
            "showcase": component.is_showcased,
            "start_date": component.start_date.isoformat() if component.start_date else None,
            "group_id": component.group_id,
            "page_id": self.page.id,
            "group": False,
            "only_show_if_degraded": component.only_show_if_degraded,
        }

    def layout(self, groups: list[ComponentGroup], components: list[Component]) -> list[dict[str, Any]]:
        """The display order: top-level items (groups and loose components), each group with its children."""
        top: list[tuple[int, dict[str, Any]]] = [
            (
                g.position,
                {
                    "group": g.id,
                    "children": [
                        c.id for c in sorted(components, key=lambda c: c.position) if c.group_id == g.id
                    ],
                    "expanded": g.is_expanded_by_default,
                },
            )
            for g in groups
        ]
        top += [(c.position, {"component": c.id}) for c in components if c.group_id is None]
        return [item for _, item in sorted(top, key=lambda pair: pair[0])]

    def incident(
        self,
        incident: Incident,
        type_name: str | None,
        type_color: str | None,
        updates: list[IncidentUpdate],
        changes_by_update: dict[str, list[IncidentUpdateComponent]],
        affected: list[dict[str, Any]],
    ) -> dict[str, Any]:
        is_maintenance = incident.kind is IncidentKind.MAINTENANCE
        # History lists a maintenance on the day of its window, an incident on the day it began.
        shown_at = (incident.scheduled_for if is_maintenance else None) or incident.started_at
        ordered = list(updates)
        labels = _update_labels(ordered)
        obj: dict[str, Any] = {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status.value,
            "created_at": iso(incident.created_at),
            "updated_at": iso(incident.updated_at),
            "monitoring_at": iso(incident.monitoring_at),
            "resolved_at": iso(incident.resolved_at),
            "impact": incident.impact.value,
            "shortlink": f"{self.url}/incidents/{incident.id}",
            "started_at": iso(incident.started_at),
            "page_id": self.page.id,
            "incident_updates": [self.update(u, changes_by_update.get(u.id, [])) for u in ordered],
            "components": affected,
        }
        if is_maintenance:
            obj["scheduled_for"] = iso(incident.scheduled_for)
            obj["scheduled_until"] = iso(incident.scheduled_until)
        obj.update(
            {
                "_kind": incident.kind.value,
                "_reminder_intervals": incident.reminder_intervals,
                "_cancelled": incident.cancelled_at is not None,
                "_backfilled": incident.is_backfilled,
                "_type": {"name": type_name, "color": type_color} if type_name else None,
                "_labels": labels,
                "_bodies_html": [render_markdown(u.body) for u in ordered],
                "_bodies_inline": [render_markdown_inline(u.body) for u in ordered],
                "_postmortem_html": render_markdown(incident.postmortem_body or "")
                if incident.postmortem_published_at
                else None,
                "_postmortem_published_at": iso(incident.postmortem_published_at),
                "_day": shown_at.astimezone(self.zone).date().isoformat(),
                "_month": shown_at.astimezone(self.zone).strftime("%Y-%m"),
            }
        )
        return obj

    def update(self, update: IncidentUpdate, changes: list[IncidentUpdateComponent]) -> dict[str, Any]:
        return {
            "id": update.id,
            "status": update.status.value,
            "body": update.body,
            "incident_id": update.incident_id,
            "created_at": iso(update.created_at),
            "updated_at": iso(update.updated_at),
            "display_at": iso(update.display_at),
            "affected_components": [
                {
                    "code": change.component_id,
                    "name": change.component_name,
                    "old_status": change.old_status.value if change.old_status else None,
                    "new_status": change.new_status.value,
                }
                for change in changes
            ]
            or None,
            "deliver_notifications": update.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def uptime(
        self,
        showcased: list[Component],
        history: dict[str, list[tuple[datetime, ComponentStatus]]],
        incidents: dict[str, dict[str, Any]],
        affected: dict[str, list[str]],
    ) -> dict[str, Any]:
        """90 days per showcased component: outage minutes by severity, worst status, incidents, uptime."""
        today = self.now.astimezone(self.zone).date()
        days = [today - timedelta(days=n) for n in range(UPTIME_DAYS - 1, -1, -1)]
        incidents_by_component: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for incident_id, component_ids in affected.items():
            for component_id in component_ids:
                incidents_by_component[component_id].append(incidents[incident_id])
        result: dict[str, Any] = {}
        for component in showcased:
            timeline = history.get(component.id, [])
            tracked_from = max(component.created_at, _day_start(days[0], self.zone))
            series = []
            total = down = 0.0
            for day in days:
                start = max(_day_start(day, self.zone), tracked_from)
                end = min(_day_start(day + timedelta(days=1), self.zone), self.now)
                minutes = _minutes_by_status(timeline, start, end) if end > start else {}
                tracked = sum(minutes.values())
                total += tracked
                major = minutes.get(ComponentStatus.MAJOR_OUTAGE, 0.0)
                partial = minutes.get(ComponentStatus.PARTIAL_OUTAGE, 0.0)
                down += major + PARTIAL_OUTAGE_WEIGHT * partial
                worst = max((s for s, m in minutes.items() if m > 0), key=lambda s: s.severity, default=None)
                day_start, day_end = (
                    _day_start(day, self.zone),
                    _day_start(day + timedelta(days=1), self.zone),
                )
                day_incidents = [
                    {"id": i["id"], "name": i["name"], "impact": i["impact"]}
                    for i in incidents_by_component[component.id]
                    if i["_kind"] == "incident" and _overlaps(i, day_start, day_end, self.now)
                ]
                series.append(
                    {
                        "date": day.isoformat(),
                        "status": worst.value if worst else ("no_data" if tracked == 0 else "operational"),
                        "major": round(major),
                        "partial": round(partial),
                        "degraded": round(minutes.get(ComponentStatus.DEGRADED_PERFORMANCE, 0.0)),
                        "maintenance": round(minutes.get(ComponentStatus.UNDER_MAINTENANCE, 0.0)),
                        "incidents": day_incidents,
                    }
                )
            percent = 100.0 if total == 0 else max(0.0, 100.0 * (1 - down / total))
            result[component.id] = {"days": series, "percent": round(percent, 2)}
        return result


def _overlaps(incident: dict[str, Any], start: datetime, end: datetime, now: datetime) -> bool:
    began = datetime.fromisoformat(incident["started_at"].replace("Z", "+00:00"))
    ended = (
        datetime.fromisoformat(incident["resolved_at"].replace("Z", "+00:00"))
        if incident["resolved_at"]
        else now
    )
    return began < end and ended >= start


def _minutes_by_status(
    timeline: list[tuple[datetime, ComponentStatus]], start: datetime, end: datetime
) -> dict[ComponentStatus, float]:
    """Minutes spent in each status between start and end, from a sorted list of (since, status)."""
    minutes: dict[ComponentStatus, float] = defaultdict(float)
    current: ComponentStatus | None = None
    cursor = start
    for since, status in timeline:
        if since <= start:
            current = status
            continue
        if since >= end:
            break
        if current is not None:
            minutes[current] += (since - cursor).total_seconds() / 60
        cursor, current = since, status
    if current is not None and end > cursor:
        minutes[current] += (end - cursor).total_seconds() / 60
    return minutes


def _update_labels(updates: list[IncidentUpdate]) -> list[str]:
    """Each update's label, newest first: its status, or "Update" when it did not change the status."""
    labels = []
    for index, update in enumerate(updates):
        previous = updates[index + 1] if index + 1 < len(updates) else None
        if previous is not None and previous.status == update.status:
            labels.append("Update")
        else:
            labels.append(update.status.label)
    return labels


def _is_closed(incident: dict[str, Any]) -> bool:
    return incident["status"] in _closed()


def sections(snapshot: dict[str, Any], *, hide_quiet: bool = True) -> dict[str, Any]:
    """What the status page shows, in the order it shows it, from the snapshot alone.

    `hide_quiet` leaves out operational components that are shown only when degraded (the
    public view); staff see every component.
    """
    incidents = snapshot["incidents"].values()
    today = datetime.strptime(snapshot["_page"]["today"], "%Y-%m-%d").date()
    built = datetime.fromisoformat(snapshot["_built_at"].replace("Z", "+00:00"))
    horizon = built.timestamp() + snapshot["_page"]["upcoming_days"] * 86400
    active = sorted(
        (i for i in incidents if i["_kind"] == "incident" and not _is_closed(i)),
        key=lambda i: i["started_at"],
        reverse=True,
    )
    in_progress = sorted(
        (
            i
            for i in incidents
            if i["_kind"] == "maintenance"
            and i["status"] in ("in_progress", "verifying")
            and not i["_cancelled"]
        ),
        key=lambda i: i["scheduled_for"] or "",
    )
    upcoming = sorted(
        (
            i
            for i in incidents
            if i["_kind"] == "maintenance"
            and i["status"] == "scheduled"
            and not i["_cancelled"]
            and i["scheduled_for"]
            and datetime.fromisoformat(i["scheduled_for"].replace("Z", "+00:00")).timestamp() <= horizon
        ),
        key=lambda i: i["scheduled_for"],
    )
    days = []
    for offset in range(snapshot["_page"]["history_days"]):
        iso_day = date.fromordinal(today.toordinal() - offset).isoformat()
        day_incidents = sorted(
            (
                i
                for i in incidents
                if i["_day"] == iso_day
                and not i["_cancelled"]
                and (i["_kind"] == "incident" or i["status"] != "scheduled")
            ),
            key=lambda i: i["started_at"],
            reverse=True,
        )
        days.append({"date": iso_day, "incidents": day_incidents})
    components = {c["id"]: c for c in snapshot["components"]}
    layout = []
    for item in snapshot["_layout"]:
        if "group" in item:
            children = [components[c] for c in item["children"] if (not hide_quiet or _shown(components[c]))]
            if children:
                layout.append(
                    {"group": components[item["group"]], "children": children, "expanded": item["expanded"]}
                )
        elif not hide_quiet or _shown(components[item["component"]]):
            layout.append({"component": components[item["component"]]})
    return {
        "active": active,
        "in_progress": in_progress,
        "upcoming": upcoming,
        "days": days,
        "layout": layout,
    }


def _shown(component: dict[str, Any]) -> bool:
    return not (component["only_show_if_degraded"] and component["status"] == "operational")
