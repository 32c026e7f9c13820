"""The notification sweeper: the clock's guarantee that no notice waits on a lost job.

RQ is only the wake-up. If a fan-out or delivery job is lost (Redis flushed, a push that failed
after the commit, a worker killed mid-batch), the rows it would have handled are still in the
database: events not fanned out, deliveries pending or leased past their lease. The sweeper
finds them and enqueues the jobs again; both jobs are idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import select

from status_platform.db.session import sweep_session, tenant_session
from status_platform.identity.actor import SYSTEM
from status_platform.jobs.clock import periodic
from status_platform.jobs.enqueue import enqueue_now
from status_platform.timeutil import utcnow
from tenants.audit.services import record_event
from tenants.subscribers.delivery import QUEUE, deliver_pending
from tenants.subscribers.fanout import fan_out
from tenants.subscribers.models import Delivery, DeliveryStatus, FanoutStatus, NotificationEvent, Subscriber

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
    for tenant_id, event_id in events:
        enqueue_now(fan_out, tenant_id, event_id, queue=QUEUE)
    for tenant_id, channel in due:
        enqueue_now(deliver_pending, tenant_id, str(getattr(channel, "value", channel)), queue=QUEUE)
    if events or due:
        log.info("re-enqueued %d fan-out(s) and %d delivery job(s)", len(events), len(due))
    return len(events) + len(due)


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
