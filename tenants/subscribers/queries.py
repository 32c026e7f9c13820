"""Reads of subscribers and notifications shared by the admin screens."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.incidents.models import Incident
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    NotificationEvent,
    Subscriber,
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
