"""Reads of a page shared by the public site and the admin: what the page shows right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentGroup, ComponentStatus, ComponentVisibility
from tenants.components.status import OverallStatus, overall_status
from tenants.incidents.models import Impact, Incident, IncidentKind, IncidentStatus, IncidentUpdate
from tenants.pages.models import Page


@dataclass
class GroupView:
    group: ComponentGroup
    components: list[Component] = field(default_factory=list)

    @property
    def status(self) -> ComponentStatus:
        return max(
            (c.status for c in self.components), key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL
        )


@dataclass
class PageOverview:
    page: Page
    status: OverallStatus
    items: list[GroupView | Component]
    open_incidents: list[Incident]
    maintenance_in_progress: list[Incident]
    upcoming_maintenance: list[Incident]
    generated_at: datetime

    def latest_update(self, incident: Incident) -> IncidentUpdate | None:
        return incident.updates[0] if incident.updates else None


def page_overview(session: Session, page_id: str) -> PageOverview | None:
    """What `page_id` shows now: overall status, components in order, open incidents, maintenance.

    A fixed number of statements whatever the size of the page. None if the page is not the
    session's tenant's.
    """
    page = session.get(Page, page_id)
    if page is None:
        return None
    now = utcnow()
    visible = [ComponentVisibility.PUBLIC]
    groups = session.scalars(
        select(ComponentGroup)
        .where(ComponentGroup.page_id == page_id, ComponentGroup.visibility.in_(visible))
        .order_by(ComponentGroup.position)
    ).all()
    components = session.scalars(
        select(Component)
        .where(Component.page_id == page_id, Component.visibility.in_(visible))
        .order_by(Component.position, Component.name)
    ).all()
    group_views = {g.id: GroupView(g) for g in groups}
    items: list[tuple[int, GroupView | Component]] = [
        (view.group.position, view) for view in group_views.values()
    ]
    shown: list[Component] = []
    for component in components:
        if component.group_id is None:
            items.append((component.position, component))
        elif component.group_id in group_views:
            group_views[component.group_id].components.append(component)
        else:
            continue  # inside a group this page does not show
        shown.append(component)
    items.sort(key=lambda pair: pair[0])

    active = session.scalars(
        select(Incident)
        .where(
            Incident.page_id == page_id,
            Incident.cancelled_at.is_(None),
            Incident.status.not_in(
                [IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, IncidentStatus.COMPLETED]
            ),
        )
        .options(selectinload(Incident.updates))
        .order_by(Incident.started_at.desc())
    ).all()
    horizon = now + timedelta(days=page.upcoming_maintenance_days)
    open_incidents = [i for i in active if i.kind is IncidentKind.INCIDENT]
    in_progress = [
        i for i in active if i.kind is IncidentKind.MAINTENANCE and i.status is not IncidentStatus.SCHEDULED
    ]
    upcoming = sorted(
        (
            i
            for i in active
            if i.kind is IncidentKind.MAINTENANCE
            and i.status is IncidentStatus.SCHEDULED
            and i.scheduled_for is not None
            and i.scheduled_for <= horizon
        ),
        key=lambda i: i.scheduled_for or now,
    )
    impacts = [i.impact.value for i in open_incidents] + [Impact.MAINTENANCE.value for _ in in_progress]
    status = overall_status([c.status for c in shown], impacts)
    return PageOverview(page, status, [item for _, item in items], open_incidents, in_progress, upcoming, now)
