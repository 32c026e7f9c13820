"""Reads of audiences and viewers shared by the admin screens, the management API and the services.

Every function reads through the caller's tenant-bound session, so another organization's rows
are never found. The `*_by_*` functions answer for many objects in one statement, for lists.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component
from tenants.subscribers.models import Subscriber


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


def _by_owner(
    session: Session, statement: Select[Any], owner: Any, owner_ids: Iterable[str]
) -> dict[str, list[Any]]:
    """The rows (owner id, value) of `statement` for `owner_ids` in the column `owner`, as each
    owner's values in the statement's order (owners without any are absent)."""
    wanted = list(owner_ids)
    result: dict[str, list[Any]] = defaultdict(list)
    if not wanted:
        return result
    for owner_id, value in session.execute(statement.where(owner.in_(wanted))):
        result[owner_id].append(value)
    return result


def component_ids_by_audience(session: Session, audience_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each audience's component ids, in the page's order (audiences without any are absent)."""
    statement = (
        select(AudienceComponent.audience_id, Component.id)
        .join(Component, Component.id == AudienceComponent.component_id)
        .order_by(Component.position, Component.created_at, Component.id)
    )
    return _by_owner(session, statement, AudienceComponent.audience_id, audience_ids)


def viewer_ids_by_audience(session: Session, audience_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each audience's viewer ids, oldest viewer first (audiences without any are absent)."""
    statement = (
        select(AudienceViewer.audience_id, Viewer.id)
        .join(Viewer, Viewer.id == AudienceViewer.viewer_id)
        .order_by(Viewer.created_at, Viewer.id)
    )
    return _by_owner(session, statement, AudienceViewer.audience_id, audience_ids)


def audience_ids_by_viewer(session: Session, viewer_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each viewer's audience ids, oldest audience first (viewers without any are absent)."""
    statement = (
        select(AudienceViewer.viewer_id, Audience.id)
        .join(Audience, Audience.id == AudienceViewer.audience_id)
        .order_by(Audience.created_at, Audience.id)
    )
    return _by_owner(session, statement, AudienceViewer.viewer_id, viewer_ids)


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


# --- the admin's lists -------------------------------------------------------------------------

LIST_PAGE_SIZE = 50


class ViewerState(enum.StrEnum):
    """The viewer list's state filter."""

    ALL = "all"
    ACTIVE = "active"
    INACTIVE = "inactive"
    NEVER_SIGNED_IN = "never_signed_in"


@dataclass(frozen=True)
class AudienceRow:
    audience: Audience
    component_count: int
    viewer_count: int


@dataclass(frozen=True)
class ViewerRow:
    viewer: Viewer
    audience_names: tuple[str, ...]


def _one_page(session: Session, statement: Select[Any], page: int) -> tuple[list[Any], bool]:
    found = list(
        session.scalars(statement.offset((max(page, 1) - 1) * LIST_PAGE_SIZE).limit(LIST_PAGE_SIZE + 1))
    )
    return found[:LIST_PAGE_SIZE], len(found) > LIST_PAGE_SIZE


def _counts(session: Session, column: Any, owner_ids: list[str]) -> dict[str, int]:
    if not owner_ids:
        return {}
    rows = session.execute(
        select(column, sa.func.count()).where(column.in_(owner_ids)).group_by(column)
    ).all()
    return {owner_id: int(count) for owner_id, count in rows}


def list_audiences(
    session: Session, page_id: str, *, q: str = "", page: int = 1
) -> tuple[list[AudienceRow], bool]:
    """One page (LIST_PAGE_SIZE rows) of the page's audiences by name, with their component and
    viewer counts, and whether more follow. `q` matches the name, external identifier or domain."""
    statement = select(Audience).where(Audience.page_id == page_id)
    if q:
        statement = statement.where(
            Audience.name.icontains(q, autoescape=True)
            | Audience.external_identifier.icontains(q, autoescape=True)
            | Audience.email_domain.icontains(q, autoescape=True)
        )
    shown, has_more = _one_page(session, statement.order_by(Audience.name, Audience.id), page)
    ids = [audience.id for audience in shown]
    components = _counts(session, AudienceComponent.audience_id, ids)
    viewers = _counts(session, AudienceViewer.audience_id, ids)
    rows = [AudienceRow(a, components.get(a.id, 0), viewers.get(a.id, 0)) for a in shown]
    return rows, has_more


def list_viewers(
    session: Session,
    page_id: str,
    *,
    q: str = "",
    state: ViewerState = ViewerState.ALL,
    audience_id: str | None = None,
    page: int = 1,
) -> tuple[list[ViewerRow], bool]:
    """One page (LIST_PAGE_SIZE rows) of the page's viewers by address, each with the names of
    its audiences, and whether more follow. `q` matches the address or the external login."""
    statement = select(Viewer).where(Viewer.page_id == page_id)
    if q:
        statement = statement.where(
            Viewer.email.icontains(q.lower(), autoescape=True)
            | Viewer.external_login.icontains(q, autoescape=True)
        )
    if state is ViewerState.ACTIVE:
        statement = statement.where(Viewer.is_active.is_(True))
    elif state is ViewerState.INACTIVE:
        statement = statement.where(Viewer.is_active.is_(False))
    elif state is ViewerState.NEVER_SIGNED_IN:
        statement = statement.where(Viewer.last_login_at.is_(None))
    if audience_id:
        statement = statement.where(
            Viewer.id.in_(select(AudienceViewer.viewer_id).where(AudienceViewer.audience_id == audience_id))
        )
    shown, has_more = _one_page(session, statement.order_by(Viewer.email, Viewer.id), page)
    names = audience_names_by_viewer(session, [viewer.id for viewer in shown])
    return [ViewerRow(viewer, tuple(names.get(viewer.id, []))) for viewer in shown], has_more


def audience_names_by_viewer(session: Session, viewer_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each viewer's audience names, by name (viewers without any are absent)."""
    statement = (
        select(AudienceViewer.viewer_id, Audience.name)
        .join(Audience, Audience.id == AudienceViewer.audience_id)
        .order_by(Audience.name)
    )
    return _by_owner(session, statement, AudienceViewer.viewer_id, viewer_ids)


def page_audiences(session: Session, page_id: str) -> list[Audience]:
    """Every audience of the page by name, for the choices of the viewer forms."""
    return list(session.scalars(select(Audience).where(Audience.page_id == page_id).order_by(Audience.name)))


def audience_viewer_emails(session: Session, audience_id: str) -> list[str]:
    """The addresses of an audience's viewers, by address."""
    return list(
        session.scalars(
            select(Viewer.email)
            .join(AudienceViewer, AudienceViewer.viewer_id == Viewer.id)
            .where(AudienceViewer.audience_id == audience_id)
            .order_by(Viewer.email)
        )
    )


def bound_subscriber_count(
    session: Session, *, audience_id: str | None = None, viewer_id: str | None = None
) -> int:
    """How many subscriptions are bound to the audience (or the viewer): they go when it is deleted."""
    statement = select(sa.func.count()).select_from(Subscriber)
    if audience_id is not None:
        statement = statement.where(Subscriber.audience_id == audience_id)
    if viewer_id is not None:
        statement = statement.where(Subscriber.viewer_id == viewer_id)
    return int(session.scalar(statement) or 0)


def audience_names_by_component(session: Session, page_id: str) -> dict[str, list[str]]:
    """For each component of the page, the names of the active audiences given it, by name.

    The incident and maintenance forms mark each component with them, to warn when one notice
    would be read by several audiences.
    """
    rows = session.execute(
        select(AudienceComponent.component_id, Audience.name)
        .join(Audience, Audience.id == AudienceComponent.audience_id)
        .where(Audience.page_id == page_id, Audience.is_active.is_(True))
        .order_by(Audience.name, Audience.id)
    )
    result: dict[str, list[str]] = defaultdict(list)
    for component_id, name in rows:
        result[component_id].append(name)
    return result


def audiences_spanned(session: Session, page_id: str, component_ids: Iterable[str]) -> list[str]:
    """The names of the active audiences given any of `component_ids`, by name."""
    wanted = set(component_ids)
    if not wanted:
        return []
    names = audience_names_by_component(session, page_id)
    return sorted({name for component_id in wanted for name in names.get(component_id, [])})
