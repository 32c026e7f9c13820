"""Reads of incidents, templates and incident types shared by the admin screens and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from status_platform.identity.models import User
from status_platform.timeutil import utcnow
from tenants.components.models import ComponentGroup
from tenants.components.services import top_level_items
from tenants.incidents.models import (
    CLOSED_STATUSES,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    Template,
)

PAGE_SIZE = 50
ACTIVE_MAINTENANCE = (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)


@dataclass
class IncidentList:
    """The open incidents (all of them) and one page of the past ones, newest first."""

    open: list[Incident] = field(default_factory=list)
    past: list[Incident] = field(default_factory=list)
    has_more: bool = False


def _title_matches(column: Any, text: str) -> Any:
    return column.icontains(text, autoescape=True)


def incident_list(
    session: Session,
    page_id: str,
    *,
    kind: IncidentKind = IncidentKind.INCIDENT,
    text: str = "",
    number: int = 1,
) -> IncidentList:
    """The page's incidents of `kind` whose title contains `text`: open first, then page `number`
    of the closed ones (PAGE_SIZE each). Their types come with them: the list's statements do not
    grow with its rows."""
    query = (
        select(Incident)
        .where(Incident.page_id == page_id, Incident.kind == kind)
        .options(joinedload(Incident.incident_type))
    )
    if text:
        query = query.where(_title_matches(Incident.name, text))
    closed = Incident.status.in_(CLOSED_STATUSES)
    open_rows = list(
        session.scalars(query.where(sa.not_(closed)).order_by(Incident.started_at.desc(), Incident.id))
    )
    past = list(
        session.scalars(
            query.where(closed)
            .order_by(Incident.started_at.desc(), Incident.id)
            .offset((max(number, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return IncidentList(open=open_rows, past=past[:PAGE_SIZE], has_more=len(past) > PAGE_SIZE)


def component_layout(session: Session, page_id: str) -> list[dict[str, Any]]:
    """The page's components in their order for the forms' status pickers:
    [{"group": ComponentGroup | None, "components": [Component, ...]}, ...]."""
    layout: list[dict[str, Any]] = []
    for item in top_level_items(session, page_id):
        if isinstance(item, ComponentGroup):
            children = sorted(item.components, key=lambda c: (c.position, c.created_at, c.id))
            layout.append({"group": item, "components": children})
        else:
            layout.append({"group": None, "components": [item]})
    return layout


def affected_statuses(incident: Incident) -> dict[str, str]:
    """The current status of each component the incident affects, by component id."""
    return {link.component_id: link.component.status.value for link in incident.affected}


def timeline(session: Session, incident: Incident) -> list[IncidentUpdate]:
    """The incident's updates newest first, as `incident.updates` orders them, each with the
    component changes it recorded: two statements however long the timeline."""
    return list(
        session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident.id)
            .order_by(IncidentUpdate.display_at.desc())
            .options(selectinload(IncidentUpdate.component_changes))
        )
    )


def author_labels(session: Session, updates: list[IncidentUpdate]) -> dict[str, str]:
    """The email address of each update's author, by user id (authors since deleted are absent)."""
    ids = {u.author_user_id for u in updates if u.author_user_id}
    if not ids:
        return {}
    return {
        user_id: email
        for user_id, email in session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    }


def incident_types(session: Session, *, offered_only: bool = False) -> list[IncidentType]:
    """The organization's incident types in order; `offered_only` leaves out the retired ones."""
    query = select(IncidentType).order_by(IncidentType.position, IncidentType.name, IncidentType.id)
    if offered_only:
        query = query.where(IncidentType.is_retired.is_(False))
    return list(session.scalars(query))


def search_incident_types(
    session: Session, *, text: str = "", number: int = 1
) -> tuple[list[IncidentType], bool]:
    """One page of the organization's incident types whose name contains `text`, and whether more follow."""
    query = select(IncidentType)
    if text:
        query = query.where(_title_matches(IncidentType.name, text))
    rows = list(
        session.scalars(
            query.order_by(IncidentType.position, IncidentType.name, IncidentType.id)
            .offset((max(number, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def templates_of(
    session: Session, page_id: str, *, kind: IncidentKind | None = None, text: str = "", number: int = 0
) -> tuple[list[Template], bool]:
    """The page's templates (of `kind` when given) whose name or title contains `text`, by name.

    `number` 0 means all of them; otherwise that page of PAGE_SIZE. Returns them and whether more
    follow, each with its components loaded (one statement for all of them).
    """
    query = select(Template).where(Template.page_id == page_id).options(selectinload(Template.components))
    if kind is not None:
        query = query.where(Template.kind == kind)
    if text:
        query = query.where(sa.or_(_title_matches(Template.name, text), _title_matches(Template.title, text)))
    query = query.order_by(sa.func.lower(Template.name), Template.id)
    if number <= 0:
        return list(session.scalars(query)), False
    rows = list(session.scalars(query.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def template_form_values(template: Template) -> tuple[dict[str, str], dict[str, str], bool]:
    """What a template fills into an incident form: field values, {component_id: status}, notify."""
    values = {"name": template.title, "body": template.body}
    if template.update_status is not None:
        values["status"] = template.update_status.value
    statuses = {link.component_id: link.status.value for link in template.components if link.status}
    return values, statuses, template.should_send_notifications


def type_usage(session: Session) -> dict[str, int]:
    """How many incidents (of every page) carry each incident type, by type id."""
    rows = session.execute(
        select(Incident.incident_type_id, sa.func.count())
        .where(Incident.incident_type_id.is_not(None))
        .group_by(Incident.incident_type_id)
    )
    return {type_id: count for type_id, count in rows if type_id is not None}


# The API's lists: each incident with its updates, their component changes and its components.
_DETAILS = (
    selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes),
    selectinload(Incident.affected).selectinload(IncidentComponent.component),
)
INCIDENT_SELECTIONS = ("unresolved", "scheduled", "upcoming", "active_maintenance")


def search_incidents(
    session: Session, page_id: str, *, text: str = "", number: int = 1, per_page: int = 100
) -> list[Incident]:
    """Page `number` (of `per_page`) of the page's incidents and maintenance windows where `text`
    (any case) is in the name, the status, the published postmortem or an update's message, as
    Statuspage searches; newest first, with their details: the statements do not grow with the rows."""
    query = select(Incident).where(Incident.page_id == page_id).options(*_DETAILS)
    if text.strip():
        needle = text.strip()
        in_updates = (
            select(IncidentUpdate.id)
            .where(IncidentUpdate.incident_id == Incident.id, _title_matches(IncidentUpdate.body, needle))
            .exists()
        )
        published_postmortem = sa.and_(
            Incident.postmortem_published_at.is_not(None), _title_matches(Incident.postmortem_body, needle)
        )
        query = query.where(
            sa.or_(
                _title_matches(Incident.name, needle),
                _title_matches(sa.cast(Incident.status, sa.String), needle),
                published_postmortem,
                in_updates,
            )
        )
    query = query.order_by(Incident.created_at.desc(), Incident.id.desc())
    return list(session.scalars(query.offset((max(number, 1) - 1) * per_page).limit(per_page)))


def select_incidents(
    session: Session, page_id: str, selection: str, *, number: int = 1, per_page: int = 100
) -> list[Incident]:
    """Page `number` (of `per_page`) of one of the INCIDENT_SELECTIONS of the page, with details.

    "unresolved": open incidents, newest first. "scheduled": maintenance windows not started nor
    cancelled, soonest first; "upcoming": those of them that start in the future.
    "active_maintenance": windows in progress or verifying, soonest ending first.
    """
    query = select(Incident).where(Incident.page_id == page_id).options(*_DETAILS)
    maintenance = Incident.kind == IncidentKind.MAINTENANCE
    not_cancelled = Incident.cancelled_at.is_(None)
    if selection == "unresolved":
        query = query.where(
            Incident.kind == IncidentKind.INCIDENT, Incident.status.not_in(CLOSED_STATUSES)
        ).order_by(Incident.started_at.desc(), Incident.id.desc())
    elif selection in ("scheduled", "upcoming"):
        query = query.where(maintenance, not_cancelled, Incident.status == IncidentStatus.SCHEDULED)
        if selection == "upcoming":
            query = query.where(Incident.scheduled_for > utcnow())
        query = query.order_by(Incident.scheduled_for, Incident.id)
    elif selection == "active_maintenance":
        query = query.where(maintenance, not_cancelled, Incident.status.in_(ACTIVE_MAINTENANCE)).order_by(
            Incident.scheduled_until, Incident.id
        )
    else:
        raise ValueError(f"unknown selection {selection!r}")
    return list(session.scalars(query.offset((max(number, 1) - 1) * per_page).limit(per_page)))
