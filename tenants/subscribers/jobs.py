"""The notification sweeper: the clock's guarantee that no notice waits on a lost job.

RQ is only the wake-up. If a fan-out or delivery job is lost (Redis flushed, a push that failed
after the commit, a worker killed mid-batch), the rows it would have handled are still in the
database: events not fanned out, deliveries pending or leased past their lease. The sweeper
finds them and enqueues the jobs again; both jobs are idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select

from status_platform.db.session import sweep_session, tenant_session
from status_platform.identity.actor import SYSTEM
from status_platform.jobs.clock import periodic
from status_platform.jobs.enqueue import enqueue_now
from status_platform.jobs.queues import get_redis, queue_name
from status_platform.timeutil import utcnow
from tenants.audit.services import record_event
from tenants.subscribers.delivery import QUEUE, enqueue_delivery_now
from tenants.subscribers.fanout import fan_out
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    FanoutStatus,
    NotificationEvent,
    Subscriber,
)

log = logging.getLogger(__name__)

# An event younger than this still has its own fan-out job in the queue.
FANOUT_GRACE = timedelta(seconds=30)


@periodic(15, queue=QUEUE)
def sweep_notifications() -> int:
    """Across organizations, enqueue fan-outs not done and deliveries due; returns the jobs enqueued."""
    now = utcnow()
    with sweep_session() as session:
        events = session.execute(
            select(NotificationEvent.tenant_id, NotificationEvent.id).where(
                NotificationEvent.fanout_status == FanoutStatus.PENDING,
                sa.or_(NotificationEvent.not_before.is_(None), NotificationEvent.not_before <= now),
                sa.or_(
                    NotificationEvent.created_at <= now - FANOUT_GRACE,
                    NotificationEvent.not_before.is_not(None),
                ),
            )
        ).all()
        # Due retries, and rows whose lease ran out (a claimed row's next attempt is its lease's end).
        due = session.execute(
            select(Delivery.tenant_id, Delivery.channel)
            .where(
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                Delivery.next_attempt_at <= now,
            )
            .distinct()
        ).all()
    enqueued = 0
    for tenant_id, event_id in events:
        if _first_this_minute(f"fanout:{event_id}", now):
            enqueue_now(fan_out, tenant_id, event_id, queue=QUEUE)
            enqueued += 1
    for tenant_id, channel in due:
        kind = Channel(channel)
        if _first_this_minute(f"deliver:{tenant_id}:{kind.value}", now):
            enqueue_delivery_now(tenant_id, kind)
            enqueued += 1
    if enqueued:
        log.info("re-enqueued %d fan-out or delivery job(s)", enqueued)
    return enqueued


def _first_this_minute(what: str, now: datetime) -> bool:
    """True once per minute of the platform's clock for `what`, however often the sweep runs.

    During a large send, rows are always due; a delivery job works until none is left, so one
    more job a minute per channel is enough, and a queue is never flooded with copies.
    """
    slot = int(now.timestamp() // 60)
    return bool(get_redis().set(queue_name(f"sweep:{what}:{slot}"), "1", nx=True, ex=120))


@periodic(3600, queue=QUEUE)
def sweep_purges() -> int:
    """Across organizations, enqueue the purge of quarantined subscribers past their purge date."""
    now = utcnow()
    with sweep_session() as session:
        tenant_ids = session.scalars(
            select(Subscriber.tenant_id)
            .where(Subscriber.purge_at <= now, Subscriber.quarantined_at.is_not(None))
            .distinct()
        ).all()
    for tenant_id in tenant_ids:
        enqueue_now(purge_subscribers, tenant_id, queue=QUEUE)
    return len(tenant_ids)


def purge_subscribers(tenant_id: str) -> int:
    """Job: delete the organization's subscribers quarantined past their purge date (90 days, as
    on Statuspage), with their deliveries. Reactivating one clears its date. Returns how many."""
    now = utcnow()
    with tenant_session(tenant_id) as session:
        due = session.scalars(
            select(Subscriber).where(Subscriber.purge_at <= now, Subscriber.quarantined_at.is_not(None))
        ).all()
        for subscriber in due:
            record_event(
                session,
                SYSTEM,
                "subscriber.purged",
                object_type="subscriber",
                object_id=subscriber.id,
                page_id=subscriber.page_id,
                summary=f"Purged a {subscriber.channel.value} subscriber quarantined since "
                f"{subscriber.quarantined_at:%Y-%m-%d}",
            )
            session.delete(subscriber)
        session.commit()
    if due:
        log.info("tenant=%s purged %d quarantined subscriber(s)", tenant_id, len(due))
    return len(due)
