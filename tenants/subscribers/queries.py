"""Reads of subscribers and notifications shared by the admin screens and the management API."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tenants.incidents.models import Incident
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    NotificationEvent,
    Subscriber,
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
