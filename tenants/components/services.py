"""Writes of components and groups; a status change is recorded in the component's history."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.identity.actor import Actor
from status_platform.timeutil import utcnow
from status_platform.validation import clean_text
from tenants.audit.services import record_event
from tenants.components.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    ComponentVisibility,
)
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.models import EventKind
from tenants.subscribers.outbox import record_notification


def _next_top_level_position(session: Session, page_id: str) -> int:
    """Groups and ungrouped components share one sequence at the top of the page."""
    groups = select(sa.func.coalesce(sa.func.max(ComponentGroup.position), 0)).where(
        ComponentGroup.page_id == page_id
    )
    loose = select(sa.func.coalesce(sa.func.max(Component.position), 0)).where(
        Component.page_id == page_id, Component.group_id.is_(None)
    )
    return max(int(session.scalar(groups) or 0), int(session.scalar(loose) or 0)) + 1


def create_group(
    session: Session, page: Page, *, name: str, actor: Actor, description: str = ""
) -> ComponentGroup:
    """Add a component group at the end of `page`'s list. Flushes, never commits."""
    group = ComponentGroup(
        page_id=page.id,
        name=clean_text(name, field="name", label="Group name"),
        description=clean_text(
            description, field="description", label="Description", max_length=2000, required=False
        ),
        position=_next_top_level_position(session, page.id),
    )
    session.add(group)
    session.flush()
    record_event(
        session,
        actor,
        "component_group.created",
        object_type="component_group",
        object_id=group.id,
        page_id=page.id,
        summary=f"Created group {group.name!r}",
    )
    bump_version(session, page.id)
    return group


def create_component(
    session: Session,
    page: Page,
    *,
    name: str,
    actor: Actor,
    description: str = "",
    group: ComponentGroup | None = None,
    status: ComponentStatus = ComponentStatus.OPERATIONAL,
    is_showcased: bool = True,
    only_show_if_degraded: bool = False,
    visibility: ComponentVisibility = ComponentVisibility.PUBLIC,
    start_date: date | None = None,
    created_at: datetime | None = None,
) -> Component:
    """Add a component to `page` (inside `group` when given), at the end of its list.

    `created_at` lets an import or the demo give a component a history that starts earlier.
    Flushes, never commits.
    """
    position = len(group.components) + 1 if group is not None else _next_top_level_position(session, page.id)
    now = created_at or utcnow()
    component = Component(
        page_id=page.id,
        group_id=group.id if group is not None else None,
        name=clean_text(name, field="name", label="Component name"),
        description=clean_text(
            description, field="description", label="Description", max_length=2000, required=False
        ),
        status=status,
        position=position,
        is_showcased=is_showcased,
        only_show_if_degraded=only_show_if_degraded,
        visibility=visibility,
        start_date=start_date,
        created_at=now,
        updated_at=now,
    )
    session.add(component)
    session.flush()
    if group is not None:
        group.components.append(component)
    session.add(
        ComponentStatusChange(component_id=component.id, old_status=None, new_status=status, changed_at=now)
    )
    record_event(
        session,
        actor,
        "component.created",
        object_type="component",
        object_id=component.id,
        page_id=page.id,
        summary=f"Created component {component.name!r}",
    )
    bump_version(session, page.id)
    return component


def set_component_status(
    session: Session,
    component: Component,
    status: ComponentStatus,
    *,
    actor: Actor,
    incident_id: str | None = None,
    at: datetime | None = None,
    deliver_notifications: bool = True,
) -> bool:
    """Set a component's status and record the change. False (and nothing written) if unchanged.

    Webhook subscribers are told of every change unless `deliver_notifications` is False
    (history being recorded after the fact). Flushes, never commits.
    """
    if component.status == status:
        return False
    at = at or utcnow()
    old = component.status
    session.add(
        ComponentStatusChange(
            component_id=component.id,
            old_status=old,
            new_status=status,
            changed_at=at,
            incident_id=incident_id,
        )
    )
    component.status = status
    component.updated_at = at
    record_event(
        session,
        actor,
        "component.status_changed",
        object_type="component",
        object_id=component.id,
        page_id=component.page_id,
        summary=f"{component.name}: {old.label} → {status.label}",
        before={"status": old.value},
        after={"status": status.value},
    )
    bump_version(session, component.page_id)
    if not deliver_notifications:
        session.flush()
        return True
    # Component webhooks fire on every status change (Statuspage's component_update).
    record_notification(
        session,
        page_id=component.page_id,
        kind=EventKind.COMPONENT_UPDATED,
        component_id=component.id,
        component_ids=[component.id],
        incident_id=incident_id,
        payload={"old_status": old.value, "new_status": status.value, "changed_at": at.isoformat()},
    )
    return True
