"""Fan-out: one Delivery row per (event, eligible subscriber), inserted in batches, then delivery jobs.

Eligibility is decided in SQL: the event's page and channels (Statuspage's rule of which
channels hear of which kind), confirmed and neither quarantined nor unsubscribed, the
subscriber's component filter, its single incident, and what its private client may see.
The unique (event, subscriber) constraint makes a repeated or resumed fan-out insert nothing
twice; the cursor committed after each batch lets a restarted job carry on where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from status_platform.config import active_settings
from status_platform.db.session import tenant_session
from status_platform.ids import new_ids
from status_platform.jobs.enqueue import enqueue_after_commit
from status_platform.timeutil import utcnow
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component, ComponentVisibility
from tenants.subscribers.messages import RECEIVING_CHANNELS
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    FanoutStatus,
    NotificationEvent,
    Subscriber,
    SubscriberComponent,
)

log = logging.getLogger(__name__)

QUEUE = "notifications"


def _visible_to_subscriber(component_ids: Sequence[str]) -> sa.ColumnElement[bool]:
    """At least one of the event's components is one the subscriber may see.

    Public components are everyone's. Audience components are seen by a subscriber bound to an
    active audience that includes them, or to an active viewer who belongs to such an audience.
    Hidden components are nobody's (outside the admin), so a notice only about them reaches no one.
    """
    public = select(Component.id).where(
        Component.id.in_(component_ids), Component.visibility == ComponentVisibility.PUBLIC
    )
    through_audience = (
        select(AudienceComponent.component_id)
        .join(
            Audience,
            sa.and_(
                Audience.id == AudienceComponent.audience_id,
                Audience.tenant_id == AudienceComponent.tenant_id,
            ),
        )
        .join(
            Component,
            sa.and_(
                Component.id == AudienceComponent.component_id,
                Component.tenant_id == AudienceComponent.tenant_id,
            ),
        )
        .where(
            AudienceComponent.component_id.in_(component_ids),
            Component.visibility == ComponentVisibility.AUDIENCE,
            Audience.is_active.is_(True),
            Audience.id == Subscriber.audience_id,
        )
    )
    through_viewer = (
        select(AudienceComponent.component_id)
        .join(
            AudienceViewer,
            sa.and_(
                AudienceViewer.audience_id == AudienceComponent.audience_id,
                AudienceViewer.tenant_id == AudienceComponent.tenant_id,
            ),
        )
        .join(
            Audience,
            sa.and_(
                Audience.id == AudienceComponent.audience_id,
                Audience.tenant_id == AudienceComponent.tenant_id,
            ),
        )
        .join(
            Component,
            sa.and_(
                Component.id == AudienceComponent.component_id,
                Component.tenant_id == AudienceComponent.tenant_id,
            ),
        )
        .where(
            AudienceComponent.component_id.in_(component_ids),
            Component.visibility == ComponentVisibility.AUDIENCE,
            Audience.is_active.is_(True),
            AudienceViewer.viewer_id == Subscriber.viewer_id,
        )
    )
    return sa.or_(public.exists(), through_audience.exists(), through_viewer.exists())


def eligible_subscribers(event: NotificationEvent) -> sa.Select[tuple[str, Channel]]:
    """(id, channel) of every subscriber who is to hear of `event`, in id order."""
    channels = sorted(RECEIVING_CHANNELS[event.kind])
    component_ids = list(event.component_ids or ())
    conditions: list[sa.ColumnElement[bool]] = [
        Subscriber.page_id == event.page_id,
        Subscriber.channel.in_(channels),
        Subscriber.confirmed_at.is_not(None),
        Subscriber.unsubscribed_at.is_(None),
        Subscriber.quarantined_at.is_(None),
    ]
    if event.kind is EventKind.COMPONENT_UPDATED or event.incident_id is None:
        # A subscription to one incident hears of that incident only.
        conditions.append(Subscriber.incident_id.is_(None))
    else:
        conditions.append(
            sa.or_(Subscriber.incident_id.is_(None), Subscriber.incident_id == event.incident_id)
        )
    # A component subscription hears of its components only; a whole-page one of everything.
    has_components = select(SubscriberComponent.id).where(
        SubscriberComponent.subscriber_id == Subscriber.id,
        SubscriberComponent.tenant_id == Subscriber.tenant_id,
    )
    if component_ids:
        chosen = has_components.where(SubscriberComponent.component_id.in_(component_ids))
        conditions.append(sa.or_(~has_components.exists(), chosen.exists()))
        conditions.append(_visible_to_subscriber(component_ids))
    else:
        conditions.append(~has_components.exists())
    # A subscriber bound to a private client's viewer stops hearing when the viewer is deactivated.
    active_viewer = select(Viewer.id).where(
        Viewer.id == Subscriber.viewer_id,
        Viewer.tenant_id == Subscriber.tenant_id,
        Viewer.is_active.is_(True),
    )
    conditions.append(sa.or_(Subscriber.viewer_id.is_(None), active_viewer.exists()))
    return select(Subscriber.id, Subscriber.channel).where(*conditions).order_by(Subscriber.id)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> None:
    table = Delivery.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    session.execute(insert.on_conflict_do_nothing(index_elements=["event_id", "subscriber_id"]), rows)


def fan_out(tenant_id: str, event_id: str) -> int:
    """Job: create the event's deliveries in batches, then wake the delivery workers. Idempotent.

    Returns how many deliveries this run created. An event due later (`not_before`) is left for
    the sweeper; an event already fanned out is done.
    """
    from tenants.subscribers.delivery import enqueue_delivery

    created = 0
    batch_size = active_settings().FANOUT_BATCH_SIZE
    with tenant_session(tenant_id) as session:
        event = session.get(NotificationEvent, event_id)
        if event is None or event.fanout_status is FanoutStatus.DONE:
            return 0
        now = utcnow()
        if event.not_before is not None and event.not_before > now:
            return 0
        statement = eligible_subscribers(event)
        batches_of: dict[Channel, int] = {}
        while True:
            batch = statement
            if event.fanout_cursor is not None:
                batch = batch.where(Subscriber.id > event.fanout_cursor)
            found = session.execute(batch.limit(batch_size)).all()
            if not found:
                break
            ids = new_ids(len(found))
            rows: list[dict[str, object]] = [
                {
                    "id": delivery_id,
                    "tenant_id": tenant_id,
                    "event_id": event.id,
                    "subscriber_id": subscriber_id,
                    "channel": channel.value if isinstance(channel, Channel) else channel,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for delivery_id, (subscriber_id, channel) in zip(ids, found, strict=True)
            ]
            _insert_ignoring_duplicates(session, rows)
            event.fanout_cursor = found[-1][0]
            # Delivery starts while the fan-out goes on. A delivery job works until nothing of its
            # channel is due, so a channel's 1st, 2nd, 4th, 8th... batch wakes one more worker:
            # enough to keep every worker busy, a handful of jobs however large the page.
            for channel in sorted({Channel(channel) for _, channel in found}):
                batches_of[channel] = batches_of.get(channel, 0) + 1
                if batches_of[channel] & (batches_of[channel] - 1) == 0:
                    enqueue_delivery(session, tenant_id, channel)
            session.commit()
            created += len(found)
            if len(found) < batch_size:
                break
        event.fanout_status = FanoutStatus.DONE
        event.fanned_out_at = utcnow()
        # One more per channel for rows inserted after its workers had found nothing left.
        for channel in sorted(batches_of):
            if batches_of[channel] > 1:
                enqueue_delivery(session, tenant_id, channel)
        session.commit()
    log.info("tenant=%s event=%s fanned out to %d subscriber(s)", tenant_id, event_id, created)
    return created


def enqueue_fan_out(session: Session, event: NotificationEvent) -> None:
    """Fan `event` out once `session` commits (the sweeper catches it if Redis is unreachable then)."""
    enqueue_after_commit(
        session, fan_out, event.tenant_id or session.info["tenant_id"], event.id, queue=QUEUE
    )
