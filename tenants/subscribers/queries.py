"""Reads of subscribers and notifications shared by the admin screens and the management API."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tenants.components.models import Component
from tenants.incidents.models import Incident
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    NotificationEvent,
    Subscriber,
    SubscriberComponent,
    SubscriberState,
)


def subscriber_counts(session: Session, page_id: str) -> dict[Channel, dict[str, int]]:
    """Per channel: how many subscribers are active (confirmed) and how many await confirmation."""
    rows = session.execute(
        select(
            Subscriber.channel,
            Subscriber.confirmed_at.is_not(None).label("confirmed"),
            sa.func.count(),
        )
        .where(
            Subscriber.page_id == page_id,
            Subscriber.unsubscribed_at.is_(None),
            Subscriber.quarantined_at.is_(None),
        )
        .group_by(Subscriber.channel, sa.literal_column("confirmed"))
    ).all()
    counts = {channel: {"active": 0, "unconfirmed": 0} for channel in Channel}
    for channel, confirmed, count in rows:
        counts[Channel(channel)]["active" if confirmed else "unconfirmed"] += count
    return counts


class StateFilter(enum.StrEnum):
    """A subscriber state to filter by; ALL is every state but unsubscribed (Statuspage's "all")."""

    ACTIVE = "active"
    UNCONFIRMED = "unconfirmed"
    QUARANTINED = "quarantined"
    UNSUBSCRIBED = "unsubscribed"
    ALL = "all"


class SortField(enum.StrEnum):
    PRIMARY = "primary"
    CREATED_AT = "created_at"
    QUARANTINED_AT = "quarantined_at"
    RELEVANCE = "relevance"


# The state of a row, in SQL, as Subscriber.state computes it in Python.
STATE_SQL = sa.case(
    (Subscriber.unsubscribed_at.is_not(None), SubscriberState.UNSUBSCRIBED.value),
    (Subscriber.quarantined_at.is_not(None), SubscriberState.QUARANTINED.value),
    (Subscriber.confirmed_at.is_(None), SubscriberState.UNCONFIRMED.value),
    else_=SubscriberState.ACTIVE.value,
)
# The address that identifies a subscriber on its channel (a webhook's email is only its contact).
PRIMARY_SQL = sa.case(
    (Subscriber.channel == Channel.EMAIL, Subscriber.email),
    (Subscriber.channel == Channel.SMS, Subscriber.phone_number),
    else_=Subscriber.endpoint,
)
_LIKE_SPECIALS = re.compile(r"([\\%_])")


def state_condition(state: StateFilter) -> sa.ColumnElement[bool]:
    """The rows of subscribers in `state`."""
    if state is StateFilter.UNSUBSCRIBED:
        return Subscriber.unsubscribed_at.is_not(None)
    current = Subscriber.unsubscribed_at.is_(None)
    if state is StateFilter.ALL:
        return current
    if state is StateFilter.QUARANTINED:
        return sa.and_(current, Subscriber.quarantined_at.is_not(None))
    confirmed = (
        Subscriber.confirmed_at.is_not(None)
        if state is StateFilter.ACTIVE
        else Subscriber.confirmed_at.is_(None)
    )
    return sa.and_(current, Subscriber.quarantined_at.is_(None), confirmed)


def _contains(column: Any, text: str) -> sa.ColumnElement[bool]:
    pattern = "%" + _LIKE_SPECIALS.sub(r"\\\1", text.lower()) + "%"
    return sa.func.lower(column).like(pattern, escape="\\")


def search_condition(q: str) -> sa.ColumnElement[bool]:
    """Subscribers whose email, endpoint or phone number contains `q` (a phone number by its digits)."""
    text = q.strip()
    conditions = [_contains(Subscriber.email, text), _contains(Subscriber.endpoint, text)]
    conditions.append(_contains(Subscriber.phone_number, text))
    digits = re.sub(r"\D", "", text)
    if digits and re.fullmatch(r"[\d\s()+.-]+", text):
        conditions.append(_contains(Subscriber.phone_number, digits))
    return sa.or_(*conditions)


def page_subscribers(
    page_id: str,
    *,
    channels: list[Channel] | None = None,
    state: StateFilter = StateFilter.ACTIVE,
    q: str | None = None,
    incident_id: str | None = None,
) -> Select[tuple[Subscriber]]:
    """The page's subscribers (or those of one incident) in `state`, of `channels`, matching `q`.

    Without `incident_id` only the page's own subscriptions are selected, not those of single
    incidents. Their component links are loaded with them.
    """
    statement = (
        select(Subscriber)
        .where(Subscriber.page_id == page_id, state_condition(state))
        .options(selectinload(Subscriber.component_links))
    )
    statement = statement.where(
        Subscriber.incident_id.is_(None) if incident_id is None else Subscriber.incident_id == incident_id
    )
    if channels is not None:
        statement = statement.where(Subscriber.channel.in_(channels))
    if q:
        statement = statement.where(search_condition(q))
    return statement


def sorted_subscribers(
    statement: Select[tuple[Subscriber]],
    *,
    sort_field: SortField = SortField.PRIMARY,
    descending: bool = False,
    q: str | None = None,
) -> Select[tuple[Subscriber]]:
    """`statement` in the order asked; ties by id, missing quarantine times last either way.

    RELEVANCE (only with `q`): exact matches of the address first, then those starting with
    `q`, then the rest, each by address.
    """

    def direction(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    if sort_field is SortField.CREATED_AT:
        keys = [direction(Subscriber.created_at)]
    elif sort_field is SortField.QUARANTINED_AT:
        keys = [Subscriber.quarantined_at.is_(None), direction(Subscriber.quarantined_at)]
    elif sort_field is SortField.RELEVANCE and q:
        needle = q.strip().lower()
        rank = sa.case(
            (sa.func.lower(PRIMARY_SQL) == needle, 0),
            (sa.func.lower(PRIMARY_SQL).like(_LIKE_SPECIALS.sub(r"\\\1", needle) + "%", escape="\\"), 1),
            else_=2,
        )
        keys = [direction(rank), sa.func.lower(PRIMARY_SQL).asc()]
    else:
        keys = [direction(sa.func.lower(PRIMARY_SQL))]
    return statement.order_by(*keys, direction(Subscriber.id))


COUNTED_STATES = (SubscriberState.ACTIVE, SubscriberState.UNCONFIRMED, SubscriberState.QUARANTINED)


def count_by_channel(
    session: Session, page_id: str, *, channel: Channel | None = None, state: StateFilter = StateFilter.ACTIVE
) -> dict[Channel, int]:
    """How many of the page's own subscribers are in `state`, per channel (one statement)."""
    statement = (
        select(Subscriber.channel, sa.func.count())
        .where(Subscriber.page_id == page_id, Subscriber.incident_id.is_(None), state_condition(state))
        .group_by(Subscriber.channel)
    )
    if channel is not None:
        statement = statement.where(Subscriber.channel == channel)
    counts = dict.fromkeys(Channel, 0)
    for row_channel, count in session.execute(statement):
        counts[Channel(row_channel)] += int(count)
    return counts


def histogram_by_state(session: Session, page_id: str) -> dict[Channel, dict[SubscriberState, int]]:
    """Per channel, how many of the page's own subscribers are active, unconfirmed and quarantined."""
    state = STATE_SQL.label("state")
    rows = session.execute(
        select(Subscriber.channel, state, sa.func.count())
        .where(
            Subscriber.page_id == page_id,
            Subscriber.incident_id.is_(None),
            Subscriber.unsubscribed_at.is_(None),
        )
        .group_by(Subscriber.channel, state)
    )
    histogram = {channel: dict.fromkeys(COUNTED_STATES, 0) for channel in Channel}
    for row_channel, row_state, count in rows:
        histogram[Channel(row_channel)][SubscriberState(row_state)] += int(count)
    return histogram


@dataclass(frozen=True)
class SentNotice:
    event: NotificationEvent
    incident_name: str | None
    sent: int
    failed: int
    pending: int


def recent_notifications(session: Session, page_id: str, *, limit: int = 10) -> list[SentNotice]:
    """The page's latest notices, newest first, with how their deliveries went (three statements)."""
    events = list(
        session.scalars(
            select(NotificationEvent)
            .where(
                NotificationEvent.page_id == page_id, NotificationEvent.kind != EventKind.COMPONENT_UPDATED
            )
            .order_by(NotificationEvent.created_at.desc(), NotificationEvent.id)
            .limit(limit)
        )
    )
    ids = [event.id for event in events]
    tally: dict[str, dict[str, int]] = {event_id: {} for event_id in ids}
    if ids:
        for event_id, status, count in session.execute(
            select(Delivery.event_id, Delivery.status, sa.func.count())
            .where(Delivery.event_id.in_(ids))
            .group_by(Delivery.event_id, Delivery.status)
        ):
            tally[event_id][DeliveryStatus(status).value] = count
    incident_ids = {event.incident_id for event in events if event.incident_id}
    names = (
        dict(session.execute(select(Incident.id, Incident.name).where(Incident.id.in_(incident_ids))).all())
        if incident_ids
        else {}
    )
    return [
        SentNotice(
            event=event,
            incident_name=names.get(event.incident_id) if event.incident_id else None,
            sent=tally[event.id].get("sent", 0),
            failed=tally[event.id].get("failed", 0) + tally[event.id].get("cancelled", 0),
            pending=tally[event.id].get("pending", 0) + tally[event.id].get("sending", 0),
        )
        for event in events
    ]


# --- the subscriber manager of the admin -------------------------------------------------------------

MANAGER_PAGE_SIZE = 50
# The component filter's value for subscribers of the whole page (no component chosen, no incident).
WHOLE_PAGE = "page"
# Rows of an export read from the database at a time.
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class SubscriberCriteria:
    """What the subscriber manager's list shows: a search, a channel, a state and a component."""

    q: str = ""
    channel: Channel | None = None
    state: StateFilter = StateFilter.ALL
    # A component id of the page, WHOLE_PAGE, or None for any subscription.
    component_id: str | None = None


@dataclass(frozen=True)
class SubscriberRow:
    """A subscriber with the names of what it follows."""

    subscriber: Subscriber
    component_names: tuple[str, ...]
    incident_name: str | None

    @property
    def follows(self) -> str:
        """'Whole page', 'Incident: <name>' or the component names."""
        if self.subscriber.incident_id is not None:
            return f"Incident: {self.incident_name or 'deleted incident'}"
        if not self.component_names:
            return "Whole page"
        return ", ".join(self.component_names)


def _filtered(page_id: str, criteria: SubscriberCriteria, *, with_state: bool = True) -> Select[Any]:
    """The page's subscribers (its incidents' too) that match `criteria`, as a WHERE clause."""
    statement = select(Subscriber).where(Subscriber.page_id == page_id)
    if with_state:
        statement = statement.where(state_condition(criteria.state))
    if criteria.channel is not None:
        statement = statement.where(Subscriber.channel == criteria.channel)
    if criteria.q.strip():
        statement = statement.where(search_condition(criteria.q))
    if criteria.component_id == WHOLE_PAGE:
        statement = statement.where(
            Subscriber.incident_id.is_(None),
            ~select(SubscriberComponent.id)
            .where(SubscriberComponent.subscriber_id == Subscriber.id)
            .exists(),
        )
    elif criteria.component_id:
        statement = statement.where(
            select(SubscriberComponent.id)
            .where(
                SubscriberComponent.subscriber_id == Subscriber.id,
                SubscriberComponent.component_id == criteria.component_id,
            )
            .exists()
        )
    return statement


def manager_subscribers(page_id: str, criteria: SubscriberCriteria) -> Select[tuple[Subscriber]]:
    """Every subscriber of the page matching `criteria`, newest first, with their component links."""
    return (
        _filtered(page_id, criteria)
        .options(selectinload(Subscriber.component_links))
        .order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    )


def count_by_state(session: Session, page_id: str, criteria: SubscriberCriteria) -> dict[StateFilter, int]:
    """How many subscribers match `criteria` in each state, whatever its own state (one statement).

    ALL counts every state but unsubscribed, as the StateFilter does.
    """
    state = STATE_SQL.label("state")
    filtered = _filtered(page_id, criteria, with_state=False).with_only_columns(state, sa.func.count())
    counts = dict.fromkeys(StateFilter, 0)
    for row_state, count in session.execute(filtered.group_by(state)):
        counts[StateFilter(row_state)] += int(count)
        if row_state != SubscriberState.UNSUBSCRIBED.value:
            counts[StateFilter.ALL] += int(count)
    return counts


def _component_names(session: Session, page_id: str) -> dict[str, str]:
    return dict(
        session.execute(select(Component.id, Component.name).where(Component.page_id == page_id)).all()
    )


def _followed_incident_names(session: Session, page_id: str, incident_ids: set[str] | None) -> dict[str, str]:
    """Names of the incidents that subscribers follow: those of `incident_ids`, or all of the page's."""
    if incident_ids is not None and not incident_ids:
        return {}
    statement = select(Incident.id, Incident.name).where(Incident.page_id == page_id)
    if incident_ids is None:
        followed = select(Subscriber.incident_id).where(
            Subscriber.page_id == page_id, Subscriber.incident_id.is_not(None)
        )
        statement = statement.where(Incident.id.in_(followed))
    else:
        statement = statement.where(Incident.id.in_(incident_ids))
    return dict(session.execute(statement).all())


def _row(subscriber: Subscriber, components: dict[str, str], incidents: dict[str, str]) -> SubscriberRow:
    names = sorted(
        (
            components[link.component_id]
            for link in subscriber.component_links
            if link.component_id in components
        ),
        key=str.lower,
    )
    incident_name = incidents.get(subscriber.incident_id) if subscriber.incident_id else None
    return SubscriberRow(subscriber=subscriber, component_names=tuple(names), incident_name=incident_name)


def list_subscribers(
    session: Session, page_id: str, criteria: SubscriberCriteria, *, page: int = 1
) -> tuple[list[SubscriberRow], bool]:
    """One page (MANAGER_PAGE_SIZE rows) of the subscribers matching `criteria`, and whether more follow."""
    statement = manager_subscribers(page_id, criteria)
    found = list(
        session.scalars(statement.offset((max(page, 1) - 1) * MANAGER_PAGE_SIZE).limit(MANAGER_PAGE_SIZE + 1))
    )
    shown = found[:MANAGER_PAGE_SIZE]
    components = _component_names(session, page_id)
    incidents = _followed_incident_names(
        session, page_id, {subscriber.incident_id for subscriber in shown if subscriber.incident_id}
    )
    return [_row(subscriber, components, incidents) for subscriber in shown], len(found) > MANAGER_PAGE_SIZE


def subscriber_row(session: Session, subscriber: Subscriber) -> SubscriberRow:
    """One subscriber with the names of what it follows."""
    incidents = _followed_incident_names(
        session, subscriber.page_id, {subscriber.incident_id} if subscriber.incident_id else set()
    )
    return _row(subscriber, _component_names(session, subscriber.page_id), incidents)


def export_subscribers(
    session: Session, page_id: str, criteria: SubscriberCriteria
) -> Iterator[SubscriberRow]:
    """Every subscriber matching `criteria`, newest first, read EXPORT_BATCH rows at a time."""
    components = _component_names(session, page_id)
    incidents = _followed_incident_names(session, page_id, None)
    statement = manager_subscribers(page_id, criteria).execution_options(yield_per=EXPORT_BATCH)
    for subscriber in session.scalars(statement):
        yield _row(subscriber, components, incidents)


def subscribed_addresses(
    session: Session, page_id: str, channel: Channel, addresses: Iterable[str]
) -> set[str]:
    """Which of `addresses` already have a current subscription to the whole page on `channel`.

    Email addresses compare without case and come back lower-cased; the others as stored.
    """
    wanted = sorted({address.lower() if channel is Channel.EMAIL else address for address in addresses})
    if channel is Channel.EMAIL:
        column: Any = sa.func.lower(Subscriber.email)
    elif channel is Channel.SMS:
        column = Subscriber.phone_number
    else:
        column = Subscriber.endpoint
    found: set[str] = set()
    # In slices: SQLite limits the parameters of one statement.
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(column).where(
                    Subscriber.page_id == page_id,
                    Subscriber.channel == channel,
                    Subscriber.incident_id.is_(None),
                    Subscriber.unsubscribed_at.is_(None),
                    column.in_(wanted[start : start + 500]),
                )
            )
        )
    return found


# --- delivery history and the delivery log --------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    """One notice sent (or to be sent) to a subscriber, with its event and every attempt."""

    delivery: Delivery
    event: NotificationEvent
    subject: str | None  # the incident (or component) the notice is about


def _event_subjects(session: Session, events: Iterable[NotificationEvent]) -> dict[str, str]:
    """The name of what each event is about, by event id: its incident, else its component."""
    events = list(events)
    incident_ids = {event.incident_id for event in events if event.incident_id}
    component_ids = {event.component_id for event in events if event.component_id and not event.incident_id}
    incidents = (
        dict(session.execute(select(Incident.id, Incident.name).where(Incident.id.in_(incident_ids))).all())
        if incident_ids
        else {}
    )
    components = (
        dict(
            session.execute(select(Component.id, Component.name).where(Component.id.in_(component_ids))).all()
        )
        if component_ids
        else {}
    )
    subjects: dict[str, str] = {}
    for event in events:
        if event.incident_id and event.incident_id in incidents:
            subjects[event.id] = incidents[event.incident_id]
        elif event.component_id and event.component_id in components:
            subjects[event.id] = components[event.component_id]
    return subjects


def subscriber_deliveries(
    session: Session, subscriber_id: str, *, page: int = 1
) -> tuple[list[DeliveryRow], bool]:
    """One page of a subscriber's deliveries, newest first, with their attempts; and whether more follow."""
    rows = session.execute(
        select(Delivery, NotificationEvent)
        .join(NotificationEvent, NotificationEvent.id == Delivery.event_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .options(selectinload(Delivery.attempt_log))
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .offset((max(page, 1) - 1) * MANAGER_PAGE_SIZE)
        .limit(MANAGER_PAGE_SIZE + 1)
    ).all()
    shown = rows[:MANAGER_PAGE_SIZE]
    subjects = _event_subjects(session, (event for _, event in shown))
    return [
        DeliveryRow(delivery=delivery, event=event, subject=subjects.get(event.id))
        for delivery, event in shown
    ], len(rows) > MANAGER_PAGE_SIZE


def delivery_count(session: Session, subscriber_id: str) -> int:
    """How many deliveries the subscriber has, whatever their status."""
    statement = select(sa.func.count(Delivery.id)).where(Delivery.subscriber_id == subscriber_id)
    return int(session.scalar(statement) or 0)


@dataclass(frozen=True)
class EventDeliveries:
    """How the deliveries of one notice went: counts by outcome and the failures' reasons."""

    event: NotificationEvent
    subject: str | None
    sent: int = 0
    failed: int = 0
    pending: int = 0  # pending or being sent
    cancelled: int = 0
    reasons: tuple[tuple[str, int], ...] = ()  # (last error, how many failed with it), commonest first

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.pending + self.cancelled


NO_REASON = "No reason recorded"


def _tally(session: Session, events: list[NotificationEvent]) -> list[EventDeliveries]:
    """The delivery counts of `events` (one GROUP BY) and their failures' reasons (another)."""
    ids = [event.id for event in events]
    counts: dict[str, dict[str, int]] = {event_id: {} for event_id in ids}
    reasons: dict[str, list[tuple[str, int]]] = {event_id: [] for event_id in ids}
    if ids:
        for event_id, status, count in session.execute(
            select(Delivery.event_id, Delivery.status, sa.func.count())
            .where(Delivery.event_id.in_(ids))
            .group_by(Delivery.event_id, Delivery.status)
        ):
            counts[event_id][DeliveryStatus(status).value] = int(count)
        for event_id, error, count in session.execute(
            select(Delivery.event_id, Delivery.last_error, sa.func.count())
            .where(Delivery.event_id.in_(ids), Delivery.status == DeliveryStatus.FAILED)
            .group_by(Delivery.event_id, Delivery.last_error)
            .order_by(Delivery.event_id, sa.func.count().desc(), Delivery.last_error)
        ):
            reasons[event_id].append((error or NO_REASON, int(count)))
    subjects = _event_subjects(session, events)
    return [
        EventDeliveries(
            event=event,
            subject=subjects.get(event.id),
            sent=counts[event.id].get("sent", 0),
            failed=counts[event.id].get("failed", 0),
            pending=counts[event.id].get("pending", 0) + counts[event.id].get("sending", 0),
            cancelled=counts[event.id].get("cancelled", 0),
            reasons=tuple(reasons[event.id]),
        )
        for event in events
    ]


def delivery_log(session: Session, page_id: str, *, page: int = 1) -> tuple[list[EventDeliveries], bool]:
    """One page of the page's notices, newest first, with how their deliveries went; and if more follow."""
    events = list(
        session.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.page_id == page_id)
            .order_by(NotificationEvent.created_at.desc(), NotificationEvent.id.desc())
            .offset((max(page, 1) - 1) * MANAGER_PAGE_SIZE)
            .limit(MANAGER_PAGE_SIZE + 1)
        )
    )
    return _tally(session, events[:MANAGER_PAGE_SIZE]), len(events) > MANAGER_PAGE_SIZE


def event_deliveries(session: Session, event: NotificationEvent) -> EventDeliveries:
    """How the deliveries of one notice went."""
    return _tally(session, [event])[0]


def failed_deliveries(
    session: Session, event_id: str, *, page: int = 1
) -> tuple[list[tuple[Delivery, Subscriber]], bool]:
    """One page of the notice's failed deliveries with their subscribers, by address; and if more follow."""
    rows = session.execute(
        select(Delivery, Subscriber)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.event_id == event_id, Delivery.status == DeliveryStatus.FAILED)
        .order_by(sa.func.lower(PRIMARY_SQL), Delivery.id)
        .offset((max(page, 1) - 1) * MANAGER_PAGE_SIZE)
        .limit(MANAGER_PAGE_SIZE + 1)
    ).all()
    pairs = [(delivery, subscriber) for delivery, subscriber in rows]
    return pairs[:MANAGER_PAGE_SIZE], len(pairs) > MANAGER_PAGE_SIZE
