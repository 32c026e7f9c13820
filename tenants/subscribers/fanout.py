"""Fan-out: one Delivery row per (event, eligible subscriber), inserted in batches, then delivery jobs.

Eligibility is decided in SQL: the event's page and channels (Statuspage's rule of which
channels hear of which kind), confirmed and neither quarantined nor unsubscribed, the
subscriber's component filter, its single incident, and what it may read: the rule of
`tenants.audiences.visibility.readers_of`, in SQL (on a private page, only subscribers bound to
an active viewer or an active audience hear anything).
The unique (event, subscriber) constraint makes a repeated or resumed fan-out insert nothing
twice; the cursor committed after each batch lets a restarted job carry on where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from status_platform.config import active_settings
from status_platform.db.session import tenant_session
from status_platform.ids import new_ids
from status_platform.jobs.enqueue import enqueue_after_commit
from status_platform.timeutil import utcnow
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component, ComponentGroup, ComponentVisibility
from tenants.pages.models import Page, PageVisibility
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


def _in_subscribers_audience() -> sa.ColumnElement[bool]:
    """The component (of the enclosing query) is in the subscriber's sight: assigned to its
    active audience, or to an active audience of its viewer (whose own activity
    `eligible_subscribers` checks for every subscriber)."""
    assigned = select(AudienceComponent.id).join(
        Audience,
        sa.and_(
            Audience.id == AudienceComponent.audience_id, Audience.tenant_id == AudienceComponent.tenant_id
        ),
    )
    by_audience = assigned.where(
        AudienceComponent.component_id == Component.id,
        Audience.is_active.is_(True),
        Audience.id == Subscriber.audience_id,
    )
    by_viewer = assigned.join(
        AudienceViewer,
        sa.and_(
            AudienceViewer.audience_id == AudienceComponent.audience_id,
            AudienceViewer.tenant_id == AudienceComponent.tenant_id,
        ),
    ).where(
        AudienceComponent.component_id == Component.id,
        Audience.is_active.is_(True),
        AudienceViewer.viewer_id == Subscriber.viewer_id,
    )
    return sa.or_(
        by_audience.correlate(Component, Subscriber).exists(),
        by_viewer.correlate(Component, Subscriber).exists(),
    )


def _hears_of_a_component(component_ids: Sequence[str]) -> sa.ColumnElement[bool]:
    """At least one of the event's components is both one the subscriber follows (a whole-page
    subscription follows all) and one it may see.

    A component is as visible as the stricter of itself and its group. Public ones are
    everyone's; audience ones are seen through the subscriber's audience or viewer; hidden ones
    are nobody's (outside the admin), so a notice only about them reaches no one.
    """
    group = aliased(ComponentGroup)
    in_group = sa.and_(group.id == Component.group_id, group.tenant_id == Component.tenant_id)
    public = sa.and_(
        Component.visibility == ComponentVisibility.PUBLIC,
        sa.or_(Component.group_id.is_(None), group.visibility == ComponentVisibility.PUBLIC),
    )
    not_hidden = sa.and_(
        Component.visibility != ComponentVisibility.HIDDEN,
        sa.or_(Component.group_id.is_(None), group.visibility != ComponentVisibility.HIDDEN),
    )
    follows = select(SubscriberComponent.id).where(
        SubscriberComponent.subscriber_id == Subscriber.id,
        SubscriberComponent.tenant_id == Subscriber.tenant_id,
    )
    chosen = follows.where(SubscriberComponent.component_id == Component.id)
    return (
        select(Component.id)
        .outerjoin(group, in_group)
        .where(
            Component.id.in_(component_ids),
            sa.or_(public, sa.and_(not_hidden, _in_subscribers_audience())),
            sa.or_(~follows.correlate(Subscriber).exists(), chosen.correlate(Component, Subscriber).exists()),
        )
        .correlate(Subscriber)
        .exists()
    )


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
    if component_ids:
        conditions.append(_hears_of_a_component(component_ids))
    else:
        # About no component in particular: for whole-page subscriptions only.
        has_components = select(SubscriberComponent.id).where(
            SubscriberComponent.subscriber_id == Subscriber.id,
            SubscriberComponent.tenant_id == Subscriber.tenant_id,
        )
        conditions.append(~has_components.exists())
    # What a subscriber may read, as `tenants.audiences.visibility.readers_of` decides: a
    # deactivated viewer's subscriber hears nothing; a private page tells only the bound ones,
    # whose sight holds an active audience or who have an active viewer.
    active_viewer = select(Viewer.id).where(
        Viewer.id == Subscriber.viewer_id,
        Viewer.tenant_id == Subscriber.tenant_id,
        Viewer.is_active.is_(True),
    )
    conditions.append(sa.or_(Subscriber.viewer_id.is_(None), active_viewer.exists()))
    active_audience = select(Audience.id).where(
        Audience.id == Subscriber.audience_id,
        Audience.tenant_id == Subscriber.tenant_id,
        Audience.is_active.is_(True),
    )
    private_page = select(Page.id).where(
        Page.id == Subscriber.page_id,
        Page.tenant_id == Subscriber.tenant_id,
        Page.visibility == PageVisibility.PRIVATE,
    )
    conditions.append(sa.or_(~private_page.exists(), active_viewer.exists(), active_audience.exists()))
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
        events = NotificationEvent.__table__
        while True:
            # Each batch starts by writing the event's row: that takes its lock (another fan-out
            # of the same event waits its turn, and SQLite's write lock is taken before any
            # read), and returns the cursor and status as they are now.
            cursor, status = session.execute(
                sa.update(events)
                .where(events.c.id == event.id, events.c.tenant_id == tenant_id)
                .values(fanout_cursor=events.c.fanout_cursor)
                .returning(events.c.fanout_cursor, events.c.fanout_status)
            ).one()
            if FanoutStatus(status) is FanoutStatus.DONE:
                session.commit()
                return created  # finished by another run, or dropped (a cancelled window)
            batch = statement if cursor is None else statement.where(Subscriber.id > cursor)
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
