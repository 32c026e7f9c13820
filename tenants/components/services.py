"""Writes of components and groups; a status change is recorded in the component's history."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.errors import ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import STATUS_WRITERS, require_role
from status_platform.tenancy.plans import plan_of
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
    require_role(actor, STATUS_WRITERS, "add component groups")
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
    Raises ValidationError past the plan's number of components. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "add components")
    if group is not None and group.page_id != page.id:
        raise ValidationError("That group belongs to another page.", field="group_id")
    _check_component_allowance(session, page)
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
    require_role(actor, STATUS_WRITERS, "change component statuses")
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


def _check_component_allowance(session: Session, page: Page) -> None:
    plan = plan_of(session, page.tenant_id)
    count = session.scalar(select(sa.func.count()).select_from(Component)) or 0
    if count >= plan.max_components:
        raise ValidationError(
            f"The {plan.name} plan includes {plan.max_components} components; "
            "remove one or change plans to add more.",
            field="name",
        )


def _component_state(component: Component) -> dict[str, object]:
    return {
        "name": component.name,
        "description": component.description,
        "group_id": component.group_id,
        "is_showcased": component.is_showcased,
        "only_show_if_degraded": component.only_show_if_degraded,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "visibility": component.visibility.value,
    }


def update_component(
    session: Session,
    component: Component,
    *,
    actor: Actor,
    name: str,
    description: str = "",
    group: ComponentGroup | None = None,
    is_showcased: bool = True,
    only_show_if_degraded: bool = False,
    start_date: date | None = None,
    visibility: ComponentVisibility | None = None,
) -> Component:
    """Change a component's settings; a new `group` moves it there (None: to the top level).

    Moving puts it at the end of its new list. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit components")
    if group is not None and group.page_id != component.page_id:
        raise ValidationError("That group belongs to another page.", field="group_id")
    before = _component_state(component)
    component.name = clean_text(name, field="name", label="Component name")
    component.description = clean_text(
        description, field="description", label="Description", max_length=2000, required=False
    )
    component.is_showcased = is_showcased
    component.only_show_if_degraded = only_show_if_degraded
    component.start_date = start_date
    if visibility is not None:
        component.visibility = visibility
    new_group_id = group.id if group is not None else None
    if new_group_id != component.group_id:
        if group is not None:
            component.position = len(group.components) + 1
        else:
            component.position = _next_top_level_position(session, component.page_id)
        old_group_id = component.group_id
        component.group_id = new_group_id
        session.flush()
        _renumber(session, component.page_id, old_group_id)
    session.flush()
    after = _component_state(component)
    if after != before:
        record_event(
            session,
            actor,
            "component.updated",
            object_type="component",
            object_id=component.id,
            page_id=component.page_id,
            summary=f"Edited component {component.name!r}",
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
        bump_version(session, component.page_id)
    return component


def delete_component(session: Session, component: Component, *, actor: Actor) -> None:
    """Delete a component; past incidents keep its name on their timelines. Flushes, never commits."""
    require_role(actor, STATUS_WRITERS, "delete components")
    page_id, group_id, name = component.page_id, component.group_id, component.name
    record_event(
        session,
        actor,
        "component.deleted",
        object_type="component",
        object_id=component.id,
        page_id=page_id,
        summary=f"Deleted component {name!r}",
        before=_component_state(component),
    )
    session.delete(component)
    session.flush()
    _renumber(session, page_id, group_id)
    bump_version(session, page_id)


def update_group(
    session: Session,
    group: ComponentGroup,
    *,
    actor: Actor,
    name: str,
    description: str = "",
    is_expanded_by_default: bool = False,
) -> ComponentGroup:
    """Rename or describe a group. Flushes, never commits."""
    require_role(actor, STATUS_WRITERS, "edit component groups")
    before = {"name": group.name, "description": group.description, "expanded": group.is_expanded_by_default}
    group.name = clean_text(name, field="name", label="Group name")
    group.description = clean_text(
        description, field="description", label="Description", max_length=2000, required=False
    )
    group.is_expanded_by_default = is_expanded_by_default
    after = {"name": group.name, "description": group.description, "expanded": group.is_expanded_by_default}
    session.flush()
    if after != before:
        record_event(
            session,
            actor,
            "component_group.updated",
            object_type="component_group",
            object_id=group.id,
            page_id=group.page_id,
            summary=f"Edited group {group.name!r}",
            before=before,
            after=after,
        )
        bump_version(session, group.page_id)
    return group


def delete_group(
    session: Session, group: ComponentGroup, *, actor: Actor, delete_components: bool = False
) -> None:
    """Delete a group. Its components move to the top level, or are deleted with it when asked.

    Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "delete component groups")
    page_id, name = group.page_id, group.name
    children = list(group.components)
    for component in children:
        if delete_components:
            delete_component(session, component, actor=actor)
        else:
            component.group_id = None
            component.position = _next_top_level_position(session, page_id)
            session.flush()
    session.expire(group, ["components"])
    record_event(
        session,
        actor,
        "component_group.deleted",
        object_type="component_group",
        object_id=group.id,
        page_id=page_id,
        summary=f"Deleted group {name!r}"
        + (f" and its {len(children)} components" if delete_components and children else ""),
        before={"name": name, "components": [c.name for c in children]},
    )
    session.delete(group)
    session.flush()
    _renumber(session, page_id, None)
    bump_version(session, page_id)


def set_group_components(
    session: Session, group: ComponentGroup, components: list[Component], *, actor: Actor
) -> bool:
    """Make `components`, in this order, the members of `group` (of the session's tenant).

    Components taken from another group leave it; members left out move to the end of the top
    level, as when their group is deleted. Raises ValidationError (field `components`) for a
    component of another page. False, and nothing written, when the members are already these.
    Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit component groups")
    if any(component.page_id != group.page_id for component in components):
        raise ValidationError("Choose components of this group's page.", field="components")
    page_id = group.page_id
    members = sorted(group.components, key=lambda c: (c.position, c.created_at, c.id))
    before = [component.id for component in members]
    after = [component.id for component in components]
    if before == after:
        return False
    left_groups = {c.group_id for c in components if c.group_id is not None and c.group_id != group.id}
    for position, component in enumerate(components, 1):
        component.group_id = group.id
        component.position = position
    session.flush()
    for component in members:
        if component.id not in after:
            component.group_id = None
            component.position = _next_top_level_position(session, page_id)
            session.flush()
    for group_id in left_groups:
        _renumber(session, page_id, group_id)
    _renumber(session, page_id, None)
    session.expire(group, ["components"])
    record_event(
        session,
        actor,
        "component_group.updated",
        object_type="component_group",
        object_id=group.id,
        page_id=page_id,
        summary=f"Changed the components of group {group.name!r}",
        before={"components": before},
        after={"components": after},
    )
    bump_version(session, page_id)
    return True


def top_level_items(session: Session, page_id: str) -> list[Component | ComponentGroup]:
    """Groups and ungrouped components of a page, in their shared order."""
    groups = list(session.scalars(select(ComponentGroup).where(ComponentGroup.page_id == page_id)))
    loose = list(
        session.scalars(select(Component).where(Component.page_id == page_id, Component.group_id.is_(None)))
    )
    items: list[Component | ComponentGroup] = [*groups, *loose]
    items.sort(key=lambda item: (item.position, item.created_at, item.id))
    return items


def _siblings(session: Session, page_id: str, group_id: str | None) -> list[Component | ComponentGroup]:
    if group_id is None:
        return top_level_items(session, page_id)
    return list(
        session.scalars(
            select(Component)
            .where(Component.page_id == page_id, Component.group_id == group_id)
            .order_by(Component.position, Component.created_at, Component.id)
        )
    )


def _renumber(session: Session, page_id: str, group_id: str | None) -> None:
    for position, item in enumerate(_siblings(session, page_id, group_id), 1):
        item.position = position
    session.flush()


def move_item(session: Session, item: Component | ComponentGroup, *, actor: Actor, offset: int) -> bool:
    """Move a component (within its group) or a group (among the top level) by `offset` places.

    False, and nothing written, when it is already at that end. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "reorder components")
    group_id = item.group_id if isinstance(item, Component) else None
    siblings = _siblings(session, item.page_id, group_id)
    index = next(i for i, sibling in enumerate(siblings) if sibling is item)
    target = index + offset
    if offset == 0 or not 0 <= target < len(siblings):
        return False
    siblings.insert(target, siblings.pop(index))
    for position, sibling in enumerate(siblings, 1):
        sibling.position = position
    session.flush()
    kind = "component" if isinstance(item, Component) else "component_group"
    record_event(
        session,
        actor,
        f"{kind}.moved",
        object_type=kind,
        object_id=item.id,
        page_id=item.page_id,
        summary=f"Moved {item.name!r} {'up' if offset < 0 else 'down'}",
        before={"position": index + 1},
        after={"position": target + 1},
    )
    bump_version(session, item.page_id)
    return True


def move_item_to(session: Session, item: Component | ComponentGroup, *, actor: Actor, position: int) -> bool:
    """Move a component (within its group) or a group (among the top level) to `position`, from 1.

    A position past the end moves it last. False, and nothing written, when it is already
    there. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "reorder components")
    group_id = item.group_id if isinstance(item, Component) else None
    siblings = _siblings(session, item.page_id, group_id)
    index = next(i for i, sibling in enumerate(siblings) if sibling is item)
    target = min(max(position, 1), len(siblings)) - 1
    return move_item(session, item, actor=actor, offset=target - index)
