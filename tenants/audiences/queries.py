"""Reads of audiences and viewers shared by the admin screens, the management API and the services.

Every function reads through the caller's tenant-bound session, so another organization's rows
are never found. The `*_by_*` functions answer for many objects in one statement, for lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component


def audiences_of(page_id: str) -> Select[Any]:
    """The page's audiences, oldest first."""
    return select(Audience).where(Audience.page_id == page_id).order_by(Audience.created_at, Audience.id)


def viewers_of(page_id: str, *, email: str | None = None) -> Select[Any]:
    """The page's viewers, oldest first; with `email`, only the viewer of that address (any case)."""
    statement = select(Viewer).where(Viewer.page_id == page_id)
    if email is not None:
        statement = statement.where(Viewer.email == email.strip().lower())
    return statement.order_by(Viewer.created_at, Viewer.id)


def viewer_by_email(session: Session, page_id: str, email: str) -> Viewer | None:
    """The page's viewer with this address (stored lowercased), or None."""
    return session.scalars(viewers_of(page_id, email=email)).first()


def audience_by_name(session: Session, page_id: str, name: str) -> Audience | None:
    return session.scalars(select(Audience).where(Audience.page_id == page_id, Audience.name == name)).first()


def audience_components(audience_id: str) -> Select[Any]:
    """The components an audience is given, in the page's order."""
    return (
        select(Component)
        .join(AudienceComponent, AudienceComponent.component_id == Component.id)
        .where(AudienceComponent.audience_id == audience_id)
        .order_by(Component.position, Component.created_at, Component.id)
    )


def viewer_components(viewer_id: str) -> Select[Any]:
    """The components a viewer sees through its audiences: the union of its active audiences' components.

    A deactivated audience gives nothing; each component appears once, in the page's order.
    """
    given = (
        select(AudienceComponent.component_id)
        .join(Audience, Audience.id == AudienceComponent.audience_id)
        .join(AudienceViewer, AudienceViewer.audience_id == Audience.id)
        .where(AudienceViewer.viewer_id == viewer_id, Audience.is_active.is_(True))
    )
    return (
        select(Component)
        .where(Component.id.in_(given))
        .order_by(Component.position, Component.created_at, Component.id)
    )


def component_ids_by_audience(session: Session, audience_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each audience's component ids, in the page's order (audiences without any are absent)."""
    wanted = list(audience_ids)
    result: dict[str, list[str]] = defaultdict(list)
    if not wanted:
        return result
    rows = session.execute(
        select(AudienceComponent.audience_id, Component.id)
        .join(Component, Component.id == AudienceComponent.component_id)
        .where(AudienceComponent.audience_id.in_(wanted))
        .order_by(Component.position, Component.created_at, Component.id)
    )
    for audience_id, component_id in rows:
        result[audience_id].append(component_id)
    return result


def viewer_ids_by_audience(session: Session, audience_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each audience's viewer ids, oldest viewer first (audiences without any are absent)."""
    wanted = list(audience_ids)
    result: dict[str, list[str]] = defaultdict(list)
    if not wanted:
        return result
    rows = session.execute(
        select(AudienceViewer.audience_id, Viewer.id)
        .join(Viewer, Viewer.id == AudienceViewer.viewer_id)
        .where(AudienceViewer.audience_id.in_(wanted))
        .order_by(Viewer.created_at, Viewer.id)
    )
    for audience_id, viewer_id in rows:
        result[audience_id].append(viewer_id)
    return result


def audience_ids_by_viewer(session: Session, viewer_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each viewer's audience ids, oldest audience first (viewers without any are absent)."""
    wanted = list(viewer_ids)
    result: dict[str, list[str]] = defaultdict(list)
    if not wanted:
        return result
    rows = session.execute(
        select(AudienceViewer.viewer_id, Audience.id)
        .join(Audience, Audience.id == AudienceViewer.audience_id)
        .where(AudienceViewer.viewer_id.in_(wanted))
        .order_by(Audience.created_at, Audience.id)
    )
    for viewer_id, audience_id in rows:
        result[viewer_id].append(audience_id)
    return result


def audience_ids_of_component(session: Session, component_id: str) -> list[str]:
    """The audiences given this component, oldest first."""
    return list(
        session.scalars(
            select(Audience.id)
            .join(AudienceComponent, AudienceComponent.audience_id == Audience.id)
            .where(AudienceComponent.component_id == component_id)
            .order_by(Audience.created_at, Audience.id)
        )
    )
