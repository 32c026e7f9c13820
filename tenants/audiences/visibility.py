"""What one reader may see of a page: the rule every channel applies (page, API, feeds, notices).

A component is visible when its own visibility and its group's both allow it: public for
everyone, audience-only for the members of an active audience that includes it, hidden for no
one. An incident is visible when one of its components is, or when it names none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component, ComponentGroup, ComponentVisibility


@dataclass(frozen=True)
class Sight:
    """The audiences a reader belongs to; `everything` sees every audience's components, and
    `hidden` hidden ones too (staff's own view in the admin)."""

    audience_ids: frozenset[str] = frozenset()
    everything: bool = False
    hidden: bool = False

    @property
    def key(self) -> str:
        """A short name of this sight for cache keys: readers with the same sight share documents."""
        if self.hidden:
            return "staff"
        if self.everything:
            return "all"
        if not self.audience_ids:
            return "public"
        digest = hashlib.blake2b(",".join(sorted(self.audience_ids)).encode(), digest_size=9).hexdigest()
        return f"a{digest}"

    @property
    def is_public(self) -> bool:
        return not self.everything and not self.hidden and not self.audience_ids


PUBLIC = Sight()
EVERYTHING = Sight(everything=True)
STAFF = Sight(everything=True, hidden=True)


def active_audience_ids(session: Session, viewer_id: str) -> frozenset[str]:
    """The active audiences of an active viewer (none for an inactive or unknown viewer)."""
    rows = session.scalars(
        select(AudienceViewer.audience_id)
        .join(Audience, Audience.id == AudienceViewer.audience_id)
        .join(Viewer, Viewer.id == AudienceViewer.viewer_id)
        .where(
            AudienceViewer.viewer_id == viewer_id,
            Audience.is_active.is_(True),
            Viewer.is_active.is_(True),
        )
    )
    return frozenset(rows)


def sight_of_viewer(session: Session, viewer_id: str) -> Sight:
    return Sight(audience_ids=active_audience_ids(session, viewer_id))


class Binding(Protocol):
    """What binds a subscriber to a private client: a Subscriber, or a row of these columns."""

    @property
    def id(self) -> str: ...

    @property
    def audience_id(self) -> str | None: ...

    @property
    def viewer_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Reader:
    """What a subscriber may read of its page.

    `sight`: its own audience when active, and its viewer's active audiences when the viewer is
    active. `bound`: it is one of a private client's, which a private page asks of its readers
    (its sight holds an audience, or it has an active viewer). `silenced`: its viewer was
    deactivated, and it hears nothing at all.
    """

    sight: Sight = PUBLIC
    bound: bool = False
    silenced: bool = False

    def may_read(self, *, page_is_private: bool) -> bool:
        """Whether it hears anything from a page (private or not)."""
        return not self.silenced and (self.bound or not page_is_private)


def readers_of(session: Session, subscribers: Iterable[Binding]) -> dict[str, Reader]:
    """{subscriber id: Reader} of `subscribers`, in at most two statements however many they are.

    The one rule of what a subscriber may read; the fan-out's SQL
    (`tenants.subscribers.fanout.eligible_subscribers`) applies the same one.
    """
    subscribers = list(subscribers)
    audience_ids = sorted({s.audience_id for s in subscribers if s.audience_id})
    viewer_ids = sorted({s.viewer_id for s in subscribers if s.viewer_id})
    active_audiences: set[str] = set()
    if audience_ids:
        active_audiences = set(
            session.scalars(
                select(Audience.id).where(Audience.id.in_(audience_ids), Audience.is_active.is_(True))
            )
        )
    active_viewers: set[str] = set()
    memberships: dict[str, set[str]] = {}
    if viewer_ids:
        # Each active viewer once, with each of its active audiences (None: it has none).
        rows = session.execute(
            select(Viewer.id, Audience.id)
            .outerjoin(
                AudienceViewer,
                sa.and_(AudienceViewer.viewer_id == Viewer.id, AudienceViewer.tenant_id == Viewer.tenant_id),
            )
            .outerjoin(
                Audience,
                sa.and_(
                    Audience.id == AudienceViewer.audience_id,
                    Audience.tenant_id == AudienceViewer.tenant_id,
                    Audience.is_active.is_(True),
                ),
            )
            .where(Viewer.id.in_(viewer_ids), Viewer.is_active.is_(True))
        )
        for viewer_id, audience_id in rows:
            active_viewers.add(viewer_id)
            if audience_id is not None:
                memberships.setdefault(viewer_id, set()).add(audience_id)
    readers: dict[str, Reader] = {}
    for subscriber in subscribers:
        seen = {subscriber.audience_id} & active_audiences
        viewer_id = subscriber.viewer_id
        has_viewer = viewer_id is not None and viewer_id in active_viewers
        if has_viewer:
            seen |= memberships.get(viewer_id, set())
        readers[subscriber.id] = Reader(
            sight=Sight(audience_ids=frozenset(seen)) if seen else PUBLIC,
            bound=bool(seen) or has_viewer,
            silenced=bool(viewer_id) and not has_viewer,
        )
    return readers


def sight_of_subscriber(session: Session, subscriber: Binding) -> Sight:
    """What a subscriber may see: its active audience and its active viewer's active audiences
    (see `readers_of`); neither, the public's."""
    return readers_of(session, [subscriber])[subscriber.id].sight


def _allows(own: ComponentVisibility, group: ComponentVisibility | None, given: bool, sight: Sight) -> bool:
    """The fan-out's rule: public when it and its group are; else seen through an audience given it."""
    levels = [own] if group is None else [own, group]
    if sight.hidden:
        return True
    if ComponentVisibility.HIDDEN in levels:
        return False
    if all(level is ComponentVisibility.PUBLIC for level in levels):
        return True
    return sight.everything or given


def visible_components(
    session: Session, page_id: str, sight: Sight
) -> tuple[list[ComponentGroup], list[Component]]:
    """The groups and components of `page_id` that `sight` may see (three statements at most).

    A component is as visible as the stricter of itself and its group; a public group is listed,
    an audience-only one when it shows at least one visible component.
    """
    group_query = select(ComponentGroup).where(ComponentGroup.page_id == page_id)
    component_query = select(Component).where(Component.page_id == page_id)
    if not sight.hidden:
        group_query = group_query.where(ComponentGroup.visibility != ComponentVisibility.HIDDEN)
        component_query = component_query.where(Component.visibility != ComponentVisibility.HIDDEN)
    groups = list(session.scalars(group_query))
    components = list(session.scalars(component_query))
    given: set[str] = set()
    if sight.audience_ids and not sight.everything:
        given = set(
            session.scalars(
                select(AudienceComponent.component_id).where(
                    AudienceComponent.audience_id.in_(sorted(sight.audience_ids))
                )
            )
        )
    by_id = {g.id: g for g in groups}
    shown = [
        c
        for c in components
        if (c.group_id is None or c.group_id in by_id)
        and _allows(c.visibility, by_id[c.group_id].visibility if c.group_id else None, c.id in given, sight)
    ]
    used = {c.group_id for c in shown if c.group_id}
    # A public group is listed even when empty (as Statuspage lists it); a group seen only
    # through an audience shows when one of its components does.
    used |= {g.id for g in groups if g.visibility is ComponentVisibility.PUBLIC}
    return [g for g in groups if g.id in used], shown


def visible_component_ids(session: Session, page_id: str, sight: Sight) -> set[str]:
    """The ids of the components (and groups) `sight` may see on `page_id`."""
    groups, components = visible_components(session, page_id, sight)
    return {c.id for c in components} | {g.id for g in groups}


def incident_is_visible(component_ids: Collection[str], visible_ids: Collection[str]) -> bool:
    """An incident naming no component concerns everyone; else it shows where one of its components does."""
    if not component_ids:
        return True
    return any(component_id in visible_ids for component_id in component_ids)
