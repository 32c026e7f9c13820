"""Delivery workers: claim pending deliveries with a lease, send them, and record what happened.

A claim is one UPDATE ... RETURNING that moves rows from pending to sending, as a compare-and-set
(`status` and `next_attempt_at` are checked again by the UPDATE itself), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so parallel workers take disjoint rows. A claimed row's
`next_attempt_at` is its lease's end, so a worker killed mid-send leaves rows that become
claimable again when the lease runs out: at most the messages in flight at the kill are sent
twice (webhooks carry the delivery id, so receivers can drop the repeat).

The claim is committed before anything is sent, so no database lock is held during network
I/O; the outcomes of a batch are written in one transaction afterwards.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from status_platform.config import Settings, active_settings
from status_platform.db.session import tenant_session
from status_platform.ids import new_ids
from status_platform.jobs.enqueue import enqueue_after_commit, enqueue_now
from status_platform.mail.outgoing import build_message, send_messages
from status_platform.timeutil import utcnow
from tenants.audiences.visibility import Reader, Sight, readers_of, visible_component_ids
from tenants.incidents.models import Incident
from tenants.maintenance.services import NOTICES_BEFORE_START
from tenants.pages.models import Page
from tenants.subscribers.confirmation import page_public_url
from tenants.subscribers.links import Recipient
from tenants.subscribers.messages import (
    QUARANTINE_FAILURES,
    LoadedNotice,
    Notice,
    NoticeGone,
    load_event,
    quarantine_mail,
)
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    NotificationEvent,
    Subscriber,
)
from tenants.subscribers.senders import Outcome, open_sender

log = logging.getLogger(__name__)

QUEUE = "notifications"
# Attempts before a delivery is given up. Endpoints the subscriber runs get ten (Statuspage's
# quarantine rule); mail and SMS failures are usually on the platform's side and get a day.
MAX_ATTEMPTS = {
    Channel.WEBHOOK: 10,
    Channel.SLACK: 10,
    Channel.TEAMS: 10,
    Channel.EMAIL: 150,
    Channel.SMS: 150,
}
# Endpoint subscribers failing this often in the window are quarantined, and their contact told.
QUARANTINE_WINDOW = timedelta(hours=1)
QUARANTINE_PURGE = timedelta(days=90)
ENDPOINT_CHANNELS = frozenset({Channel.WEBHOOK, Channel.SLACK, Channel.TEAMS})
# Backoff: RETRY_BASE seconds doubled per attempt, at most RETRY_CAP, each scaled by a random
# 0.8-1.2 so a receiver that came back is not hit by every retry at once. Ten attempts fit in
# about forty minutes, inside the quarantine window.
RETRY_CAP = 600
# A job stops claiming after this long and hands over to a fresh job, so none runs into RQ's timeout.
JOB_BUDGET_SECONDS = 120
# RQ's limit for one delivery job: its budget, then one last batch (sent within half a lease).
JOB_TIMEOUT = 900


def retry_delay(attempts: int, settings: Settings, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `attempts + 1`, with exponential backoff and jitter."""
    base = settings.DELIVERY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, RETRY_CAP) * (rng or random).uniform(0.8, 1.2)


def enqueue_delivery(session: Session, tenant_id: str, channel: Channel) -> None:
    """Wake a delivery worker for `channel` once `session` commits."""
    enqueue_after_commit(
        session, deliver_pending, tenant_id, channel.value, queue=QUEUE, job_timeout=JOB_TIMEOUT
    )


def claim(session: Session, channel: Channel, *, limit: int, lease_seconds: int) -> dict[str, Claim]:
    """Take up to `limit` due deliveries of `channel` for this worker. Commits.

    Returns {delivery id: Claim}. The attempt number is this claim's generation, so a worker
    whose lease ran out (and whose rows were claimed again) cannot record over the newer claim.
    """
    tenant_id = session.info["tenant_id"]
    now = utcnow()
    lease_end = now + timedelta(seconds=lease_seconds)
    table = Delivery.__table__
    # Rows in a final state have no next attempt, so the time alone finds the pending rows and
    # the leased rows whose lease has run out, in the order of the claim's index.
    claimable = (
        table.c.tenant_id == tenant_id,
        table.c.channel == channel.value,
        table.c.next_attempt_at <= now,
        table.c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]),
        table.c.attempts < MAX_ATTEMPTS[channel],
    )
    candidates = select(table.c.id).where(*claimable).order_by(table.c.next_attempt_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Locked once, in a CTE run exactly once (a subquery under IN may be run again per row,
        # and would then take more than `limit` rows), then updated by primary key. The rows are
        # locked by this statement, so nothing can change them between the two.
        chosen = candidates.with_for_update(skip_locked=True).cte("claimable").prefix_with("MATERIALIZED")
        update = sa.update(table).where(table.c.id == chosen.c.id)
    else:
        # One statement under SQLite's write lock: the conditions are checked again as it writes.
        update = sa.update(table).where(table.c.id.in_(candidates.scalar_subquery()), *claimable)
    statement = update.values(
        status=DeliveryStatus.SENDING.value,
        attempts=table.c.attempts + 1,
        lease_expires_at=lease_end,
        next_attempt_at=lease_end,
        updated_at=now,
    ).returning(table.c.id, table.c.attempts, table.c.event_id, table.c.subscriber_id)
    claimed = {
        row[0]: Claim(attempt=row[1], event_id=row[2], subscriber_id=row[3])
        for row in session.execute(statement)
    }
    session.commit()
    return claimed


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed delivery: its attempt number (the claim's generation), its event and subscriber."""

    attempt: int
    event_id: str
    subscriber_id: str


def give_up_lost(session: Session, channel: Channel) -> int:
    """Fail the deliveries whose every attempt was lost with its worker (a message that kills the
    worker sending it must not be tried forever). Commits; returns how many."""
    now = utcnow()
    table = Delivery.__table__
    result = session.execute(
        sa.update(table)
        .where(
            table.c.tenant_id == session.info["tenant_id"],
            table.c.channel == channel.value,
            table.c.next_attempt_at <= now,
            table.c.status == DeliveryStatus.SENDING.value,
            table.c.attempts >= MAX_ATTEMPTS[channel],
        )
        .values(
            status=DeliveryStatus.FAILED.value,
            next_attempt_at=None,
            lease_expires_at=None,
            last_error="every attempt was lost with the worker sending it",
            updated_at=now,
        )
    )
    session.commit()
    return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class Claimed:
    recipient: Recipient
    event_id: str
    is_gone: bool  # unsubscribed or quarantined since the fan-out
    reader: Reader


def _load_claimed(session: Session, claimed: dict[str, Claim]) -> list[Claimed]:
    """The claimed deliveries with their subscribers' addresses (looked up by primary key) and
    what each may read (a fixed number of statements for the batch)."""
    subscribers = {
        row[0]: row
        for row in session.execute(
            select(
                Subscriber.id,
                Subscriber.channel,
                Subscriber.email,
                Subscriber.phone_number,
                Subscriber.endpoint,
                Subscriber.secret,
                Subscriber.incident_id,
                sa.or_(Subscriber.unsubscribed_at.is_not(None), Subscriber.quarantined_at.is_not(None)).label(
                    "is_gone"
                ),
                Subscriber.audience_id,
                Subscriber.viewer_id,
            ).where(Subscriber.id.in_({c.subscriber_id for c in claimed.values()}))
        )
    }
    readers = readers_of(session, subscribers.values())
    found = []
    for delivery_id, claim_ in claimed.items():
        row = subscribers.get(claim_.subscriber_id)
        if row is None:
            continue  # removed since the claim; its delivery went with it
        recipient = Recipient(
            delivery_id=delivery_id,
            subscriber_id=row[0],
            channel=Channel(row[1]),
            email=row[2],
            phone_number=row[3],
            endpoint=row[4],
            secret=row[5],
            incident_id=row[6],
            attempts=claim_.attempt,
        )
        found.append(
            Claimed(recipient, event_id=claim_.event_id, is_gone=bool(row[7]), reader=readers[row[0]])
        )
    return found


class NoticeCache:
    """Each event loaded once per job however many batches carry it, and its Notice narrowed once
    per sight among its readers (cached by the event and the sight's key)."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.loaded: dict[str, LoadedNotice | None] = {}
        self.notices: dict[tuple[str, str], Notice | None] = {}
        # What each sight may see, by (page, sight key): read once per job, which lasts at most
        # JOB_BUDGET_SECONDS, so a change of an audience's components is seen by the next job.
        self.visible: dict[tuple[str, str], frozenset[str]] = {}

    def load(self, event_id: str) -> LoadedNotice | None:
        """The event for every reader; None when what it announced is gone or was cancelled."""
        if event_id not in self.loaded:
            event = self.session.get(NotificationEvent, event_id)
            try:
                loaded = load_event(self.session, event, self.settings) if event else None
            except NoticeGone:
                loaded = None
            if loaded is not None and event is not None and event.kind in NOTICES_BEFORE_START:
                # A window cancelled after its notice was fanned out: nothing about it is sent now;
                # nor a reminder of a start the window has since moved from.
                window = self.session.get(Incident, event.incident_id) if event.incident_id else None
                reminded_for = (event.payload or {}).get("scheduled_for")
                if (
                    window is None
                    or window.cancelled_at is not None
                    or (
                        reminded_for is not None
                        and window.scheduled_for is not None
                        and reminded_for != window.scheduled_for.isoformat()
                    )
                ):
                    loaded = None
            self.loaded[event_id] = loaded
        return self.loaded[event_id]

    def _visible(self, loaded: LoadedNotice, sight: Sight) -> frozenset[str]:
        if sight.is_public:
            return loaded.public_ids
        key = (loaded.notice.page_id, sight.key)
        if key not in self.visible:
            self.visible[key] = frozenset(visible_component_ids(self.session, loaded.notice.page_id, sight))
        return self.visible[key]

    def get(self, event_id: str, sight: Sight) -> Notice | None:
        """The event's Notice as `sight` may read it; None when it may see nothing the event is
        about (or the event is gone)."""
        key = (event_id, sight.key)
        if key not in self.notices:
            loaded = self.load(event_id)
            self.notices[key] = loaded.for_visible(self._visible(loaded, sight)) if loaded else None
        return self.notices[key]


def _notice_for(notices: NoticeCache, item: Claimed) -> tuple[Notice | None, str]:
    """The Notice to send `item`, or None and why nothing is sent."""
    if item.is_gone:
        return None, "the subscriber left before it was sent"
    loaded = notices.load(item.event_id)
    if loaded is None:
        return None, "what it announced is gone or was cancelled"
    reader = item.reader
    if reader.silenced:
        return None, "the subscriber's page access user was deactivated"
    if not reader.may_read(page_is_private=loaded.page_is_private):
        return None, "the page is private and the subscriber is not one of its clients"
    notice = notices.get(item.event_id, reader.sight)
    if notice is None:
        return None, "the subscriber may not see what it announced"
    return notice, ""


def deliver_pending(tenant_id: str, channel: str) -> int:
    """Job: send the organization's due deliveries of `channel`, batch after batch; returns how many.

    Uses one pooled HTTP client (or one SMTP session per batch) for the whole job. Stops when
    nothing is due, or after JOB_BUDGET_SECONDS, enqueueing a successor if work is left. No
    transaction is open while messages are sent: the claim commits, the reads before sending
    commit, and each batch's outcomes are written in a transaction of their own.
    """
    settings = active_settings()
    kind = Channel(channel)
    handled = 0
    deadline = time.monotonic() + JOB_BUDGET_SECONDS
    with tenant_session(tenant_id) as session, open_sender(kind, settings) as sender:
        give_up_lost(session, kind)
        notices = NoticeCache(session, settings)
        while True:
            if time.monotonic() > deadline:
                enqueue_delivery_now(tenant_id, kind)
                break
            claimed = claim(
                session, kind, limit=sender.batch_size, lease_seconds=settings.DELIVERY_LEASE_SECONDS
            )
            if not claimed:
                break
            sendable = []
            outcomes: list[Outcome] = []
            for item in _load_claimed(session, claimed):
                notice, reason = _notice_for(notices, item)
                if notice is None:
                    outcomes.append(Outcome(item.recipient, ok=False, error=reason, cancelled=True))
                else:
                    sendable.append((notice, item.recipient))
            session.commit()  # the reads end here: nothing is held while the batch is sent
            started = utcnow()
            outcomes.extend(
                sender.send(sendable, deadline=time.monotonic() + settings.DELIVERY_LEASE_SECONDS / 2)
            )
            record_outcomes(session, outcomes, attempted_at=started, settings=settings)
            session.commit()
            handled += len(claimed)
    if handled:
        log.info("tenant=%s %s: %d deliveries handled", tenant_id, kind.value, handled)
    return handled


def enqueue_delivery_now(tenant_id: str, channel: Channel) -> None:
    """Wake a delivery worker for `channel` at once (a job handing over, or the sweeper)."""
    enqueue_now(deliver_pending, tenant_id, channel.value, queue=QUEUE, job_timeout=JOB_TIMEOUT)


def record_outcomes(
    session: Session, outcomes: Iterable[Outcome], *, attempted_at: datetime, settings: Settings
) -> None:
    """Write a batch's outcomes: sent, due again later (backoff), failed, cancelled, or released
    unattempted; log each attempt; quarantine endpoints failing too often. Flushes, never commits.

    Each row is written only if it is still this worker's claim (status sending, the claim's
    attempt number): a worker that outlived its lease records nothing over the newer claim.
    A delivery deleted meanwhile (its subscriber removed) is skipped.
    """
    now = utcnow()
    table = Delivery.__table__
    tenant_id = session.info["tenant_id"]
    changes: list[dict[str, object]] = []
    sent_to: list[str] = []
    failed: dict[str, Outcome] = {}
    outcomes = list(outcomes)
    for outcome in outcomes:
        recipient = outcome.recipient
        change: dict[str, object] = {
            "b_id": recipient.delivery_id,
            "b_claim": recipient.attempts,
            "b_attempts": recipient.attempts,
            "b_code": outcome.status_code,
            "b_error": (outcome.error or None) and outcome.error[:1000],
            "b_sent": None,
            "b_next": None,
        }
        if outcome.released:
            change.update(
                b_status=DeliveryStatus.PENDING.value, b_next=now, b_attempts=recipient.attempts - 1
            )
        elif outcome.cancelled:
            change["b_status"] = DeliveryStatus.CANCELLED.value
        elif outcome.ok:
            change.update(b_status=DeliveryStatus.SENT.value, b_sent=now)
            sent_to.append(recipient.subscriber_id)
        elif outcome.give_up:
            change["b_status"] = DeliveryStatus.FAILED.value
        elif outcome.permanent or recipient.attempts >= MAX_ATTEMPTS[recipient.channel]:
            change["b_status"] = DeliveryStatus.FAILED.value
            failed[recipient.subscriber_id] = outcome
        else:
            delay = retry_delay(recipient.attempts, settings)
            change.update(b_status=DeliveryStatus.PENDING.value, b_next=now + timedelta(seconds=delay))
            failed[recipient.subscriber_id] = outcome
        changes.append(change)
    if not changes:
        return
    session.execute(
        sa.update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.tenant_id == tenant_id,
            table.c.status == DeliveryStatus.SENDING.value,
            table.c.attempts == bindparam("b_claim"),
        )
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"),
            lease_expires_at=None,
            last_error=bindparam("b_error"),
            last_status_code=bindparam("b_code"),
            sent_at=bindparam("b_sent"),
            updated_at=now,
        ),
        changes,
    )
    attempted = [o for o in outcomes if not (o.cancelled or o.released)]
    existing = set(
        session.scalars(
            select(table.c.id).where(table.c.id.in_([o.recipient.delivery_id for o in attempted]))
        )
    )
    attempts = [
        {
            "id": attempt_id,
            "tenant_id": tenant_id,
            "delivery_id": outcome.recipient.delivery_id,
            "attempted_at": attempted_at,
            "is_success": outcome.ok,
            "status_code": outcome.status_code,
            "error": (outcome.error or None) and outcome.error[:1000],
            "duration_ms": outcome.duration_ms,
        }
        for outcome, attempt_id in zip(attempted, new_ids(len(attempted)), strict=True)
        if outcome.recipient.delivery_id in existing
    ]
    if attempts:
        session.execute(sa.insert(DeliveryAttempt.__table__), attempts)
    if sent_to:
        session.execute(
            sa.update(Subscriber).where(Subscriber.id.in_(sent_to)).values(last_notified_at=now),
            execution_options={"synchronize_session": False},
        )
    if failed:
        _quarantine_failing(session, failed, now=now)


def _quarantine_failing(session: Session, failed: dict[str, Outcome], *, now: datetime) -> None:
    """Quarantine the batch's subscribers whose address is refused outright, and the endpoints
    that failed QUARANTINE_FAILURES times in the window (counted in one query for the batch)."""
    endpoints = [sid for sid, outcome in failed.items() if outcome.recipient.channel in ENDPOINT_CHANNELS]
    counts: dict[str, int] = {}
    if endpoints:
        counts = dict(
            session.execute(
                select(Delivery.subscriber_id, sa.func.count())
                .select_from(DeliveryAttempt)
                .join(
                    Delivery,
                    sa.and_(
                        Delivery.id == DeliveryAttempt.delivery_id,
                        Delivery.tenant_id == DeliveryAttempt.tenant_id,
                    ),
                )
                .where(
                    Delivery.subscriber_id.in_(endpoints),
                    DeliveryAttempt.is_success.is_(False),
                    DeliveryAttempt.attempted_at >= now - QUARANTINE_WINDOW,
                )
                .group_by(Delivery.subscriber_id)
            ).all()
        )
    for subscriber_id, outcome in failed.items():
        if outcome.permanent:
            reason = f"permanent failure: {outcome.error or 'refused'}"
        elif counts.get(subscriber_id, 0) >= QUARANTINE_FAILURES:
            last = outcome.error or "no answer"
            reason = f"{counts[subscriber_id]} failed deliveries within an hour; the last: {last}"
        else:
            continue
        quarantine_subscriber(session, subscriber_id, reason=reason[:500], now=now)


def quarantine_subscriber(session: Session, subscriber_id: str, *, reason: str, now: datetime) -> bool:
    """Stop sending to a subscriber (compare-and-set: once), cancel what waits for it, tell its contact.

    Returns False if it was quarantined or unsubscribed already. Flushes, never commits.
    """
    result = session.execute(
        sa.update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            Subscriber.quarantined_at.is_(None),
            Subscriber.unsubscribed_at.is_(None),
        )
        .values(
            quarantined_at=now, quarantine_reason=reason, purge_at=now + QUARANTINE_PURGE, updated_at=now
        ),
        execution_options={"synchronize_session": False},
    )
    if not result.rowcount:
        return False
    session.execute(
        sa.update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.PENDING)
        .values(
            status=DeliveryStatus.CANCELLED,
            next_attempt_at=None,
            last_error="the subscriber was quarantined",
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    enqueue_after_commit(
        session, send_quarantine_notice, session.info["tenant_id"], subscriber_id, queue=QUEUE, retries=3
    )
    log.warning("tenant=%s subscriber %s quarantined: %s", session.info["tenant_id"], subscriber_id, reason)
    return True


def send_quarantine_notice(tenant_id: str, subscriber_id: str) -> None:
    """Job: email the contact of a quarantined endpoint subscriber why nothing is sent any more."""
    settings = active_settings()
    with tenant_session(tenant_id) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if (
            subscriber is None
            or subscriber.quarantined_at is None
            or subscriber.channel not in ENDPOINT_CHANNELS
            or not subscriber.email
        ):
            return
        page = session.get(Page, subscriber.page_id)
        if page is None:
            return
        mail = quarantine_mail(
            page_name=page.name,
            page_url=page_public_url(session, page, settings),
            endpoint=subscriber.endpoint or "",
            reason=subscriber.quarantine_reason or "",
            failures=QUARANTINE_FAILURES,
            purge_days=QUARANTINE_PURGE.days,
        )
        message = build_message(
            settings, to=subscriber.email, subject=mail.subject, text=mail.text, html=mail.html
        )
    send_messages(settings, [message])  # with the session closed: nothing is held while mailing
