"""Maintenance on time: the clock reminds, starts and completes each window once, and moving or
cancelling a window moves or drops the notices it has not sent yet."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform import config
from status_platform.db.session import new_session, tenant_session
from status_platform.errors import ValidationError
from status_platform.identity.actor import SYSTEM, Actor
from status_platform.jobs.enqueue import enqueue_now
from status_platform.tenancy.models import Role
from status_platform.timeutil import set_clock, utcnow
from tenants.incidents.models import Incident, IncidentStatus
from tenants.maintenance import services
from tenants.maintenance.jobs import (
    complete_due_window,
    send_due_reminder,
    start_due_window,
    sweep_due_reminders,
    sweep_due_windows,
)
from tenants.pages.models import Page
from tenants.subscribers.jobs import sweep_notifications
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    FanoutStatus,
    NotificationEvent,
)
from tenants.subscribers.services import add_subscriber
from tests.factories import ACTOR, Organization

EDITOR = Actor(label="editor@acme.test", role=Role.EDITOR)
SCHEDULED, REMINDER = EventKind.MAINTENANCE_SCHEDULED, EventKind.MAINTENANCE_REMINDER
STARTED, COMPLETED = EventKind.MAINTENANCE_STARTED, EventKind.MAINTENANCE_COMPLETED
RESCHEDULED, CANCELLED = EventKind.MAINTENANCE_RESCHEDULED, EventKind.MAINTENANCE_CANCELLED


@dataclass
class Clock:
    now: datetime

    def move_to(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The platform's clock, stopped at the start of the test and moved by hand."""
    controlled = Clock(utcnow().replace(microsecond=0))
    set_clock(lambda: controlled.now)
    try:
        yield controlled
    finally:
        set_clock(None)


def schedule(
    org: Organization, starts: datetime, *, lasts: timedelta = timedelta(hours=1), **options: Any
) -> str:
    with tenant_session(org.tenant_id) as s:
        window = services.schedule_window(
            s,
            s.get(Page, org.page_id),
            name="Database upgrade",
            actor=EDITOR,
            scheduled_for=starts,
            scheduled_until=starts + lasts,
            component_ids=[org.ids["component_web"]],
            **options,
        )
        s.commit()
        return window.id


def notices(org: Organization, window_id: str) -> Counter[EventKind]:
    """The outbox rows written about the window, per kind (component notices left out)."""
    with tenant_session(org.tenant_id) as s:
        kinds = s.scalars(select(NotificationEvent.kind).where(NotificationEvent.incident_id == window_id))
        return Counter(kind for kind in kinds if kind is not EventKind.COMPONENT_UPDATED)


def window_of(org: Organization, window_id: str) -> Incident:
    with tenant_session(org.tenant_id) as s:
        return s.get(Incident, window_id)


def tick(run_jobs: Callable[..., int]) -> tuple[int, int]:
    """One pass of the clock's maintenance sweeps, then the worker runs what they enqueued."""
    enqueued = (sweep_due_reminders(), sweep_due_windows())
    run_jobs("default")
    return enqueued


def stale_copy(org: Organization, window_id: str) -> tuple[Session, Incident]:
    """The window as a worker that loaded it a moment ago still sees it, in its own session."""
    session = new_session(org.tenant_id)
    window = session.get(Incident, window_id)
    session.commit()  # objects stay loaded (expire_on_commit is off): their state is now stale
    return session, window


def test_the_reminder_the_start_and_the_completion_each_happen_once(clock, org_a, org_b, run_jobs):
    start = clock.now + timedelta(minutes=61)
    window = schedule(org_a, start)
    # Announced ten minutes ahead: the announcement is the reminder.
    soon = schedule(org_b, clock.now + timedelta(minutes=10), lasts=timedelta(hours=3))

    assert tick(run_jobs) == (0, 0)
    assert notices(org_a, window) == {SCHEDULED: 1}

    clock.move_to(start - timedelta(minutes=60))
    worker, stale = stale_copy(org_a, window)
    assert sweep_due_reminders() == 1
    assert run_jobs("default") == 1
    assert notices(org_a, window) == {SCHEDULED: 1, REMINDER: 1}
    assert window_of(org_a, window).scheduled_reminded_at == clock.now
    with tenant_session(org_a.tenant_id) as s:
        reminder = s.scalars(select(NotificationEvent).where(NotificationEvent.kind == REMINDER)).one()
        assert reminder.incident_id == window and reminder.payload["minutes_before"] == 60
    # A second worker that loaded the window before the first committed loses the race.
    assert services.remind_window(worker, stale, actor=SYSTEM) is False
    worker.close()
    # Sweeping again, a restarted clock enqueuing the job anew, the job run twice: still one.
    assert tick(run_jobs) == (0, 0)
    enqueue_now(send_due_reminder, org_a.tenant_id, window)
    enqueue_now(send_due_reminder, org_a.tenant_id, window)
    assert run_jobs("default") == 2
    assert send_due_reminder(org_a.tenant_id, window) is False
    assert send_due_reminder(org_a.tenant_id, window) is False
    assert notices(org_a, window) == {SCHEDULED: 1, REMINDER: 1}
    assert window_of(org_a, window).status is IncidentStatus.SCHEDULED

    clock.move_to(start)
    worker, stale = stale_copy(org_a, window)
    assert tick(run_jobs) == (0, 2)  # A starts, and B (due since +10 minutes) too
    assert window_of(org_a, window).status is IncidentStatus.IN_PROGRESS
    with pytest.raises(ValidationError):  # the stale worker's start finds the row moved on
        services.start_window(worker, stale, actor=SYSTEM)
    worker.close()
    enqueue_now(start_due_window, org_a.tenant_id, window)
    run_jobs("default")
    assert tick(run_jobs) == (0, 0)
    assert notices(org_a, window) == {SCHEDULED: 1, REMINDER: 1, STARTED: 1}

    clock.move_to(start + timedelta(hours=1))
    worker, stale = stale_copy(org_a, window)
    assert tick(run_jobs) == (0, 1)
    with pytest.raises(ValidationError):
        services.complete_window(worker, stale, actor=SYSTEM)
    worker.close()
    assert complete_due_window(org_a.tenant_id, window) is False
    assert tick(run_jobs) == (0, 0)
    assert notices(org_a, window) == {SCHEDULED: 1, REMINDER: 1, STARTED: 1, COMPLETED: 1}
    assert window_of(org_a, window).status is IncidentStatus.COMPLETED
    # The other organization's window never had a reminder, and started on time.
    assert notices(org_b, soon) == {SCHEDULED: 1, STARTED: 1}


def test_a_quiet_window_starts_and_completes_without_notices(clock, org_a, run_jobs):
    start = clock.now + timedelta(minutes=90)
    window = schedule(org_a, start, deliver_notifications=False, remind_prior=False)
    for moment in (start - timedelta(minutes=60), start, start + timedelta(hours=1)):
        clock.move_to(moment)
        tick(run_jobs)
    assert window_of(org_a, window).status is IncidentStatus.COMPLETED
    assert notices(org_a, window) == {}


def pending_delivery(org: Organization, window_id: str, kind: EventKind, subscriber_id: str) -> str:
    """A notice of `kind` fanned out to one subscriber and not sent yet."""
    with tenant_session(org.tenant_id) as s:
        event = s.scalars(
            select(NotificationEvent).where(
                NotificationEvent.incident_id == window_id, NotificationEvent.kind == kind
            )
        ).one()
        delivery = Delivery(
            event_id=event.id, subscriber_id=subscriber_id, channel=Channel.EMAIL, next_attempt_at=utcnow()
        )
        s.add(delivery)
        s.commit()
        return delivery.id


def test_a_rescheduled_window_is_reminded_before_its_new_start_only(clock, org_a, org_b, run_jobs):
    first = clock.now + timedelta(hours=3)
    window = schedule(org_a, first)
    moved = first + timedelta(hours=2)
    with tenant_session(org_a.tenant_id) as s:
        services.reschedule_window(
            s,
            s.get(Incident, window),
            actor=EDITOR,
            scheduled_for=moved,
            scheduled_until=moved + timedelta(hours=1),
        )
        s.commit()

    clock.move_to(first - timedelta(minutes=60))
    assert tick(run_jobs) == (0, 0)
    clock.move_to(first)  # the old start passes by: nothing starts
    assert tick(run_jobs) == (0, 0)
    assert window_of(org_a, window).status is IncidentStatus.SCHEDULED
    clock.move_to(moved - timedelta(minutes=60))
    assert tick(run_jobs) == (1, 0)
    assert notices(org_a, window) == {SCHEDULED: 1, RESCHEDULED: 1, REMINDER: 1}

    # Reminded already, it moves again: the reminder not sent yet is withdrawn and a new one
    # comes before the new start.
    delivery = pending_delivery(org_a, window, REMINDER, org_a.ids["subscriber"])
    later = moved + timedelta(hours=4)
    with tenant_session(org_a.tenant_id) as s:
        services.reschedule_window(
            s,
            s.get(Incident, window),
            actor=EDITOR,
            scheduled_for=later,
            scheduled_until=later + timedelta(hours=1),
        )
        s.commit()
        reminded = s.get(Incident, window)
        assert reminded.scheduled_reminded_at is None
        withdrawn = s.get(Delivery, delivery)
        assert withdrawn.status is DeliveryStatus.CANCELLED
        assert withdrawn.last_error == "the maintenance was rescheduled"
        event = s.scalars(select(NotificationEvent).where(NotificationEvent.kind == REMINDER)).one()
        assert event.fanout_status is FanoutStatus.DONE and event.fanned_out_at == clock.now
    clock.move_to(moved)
    assert tick(run_jobs) == (0, 0)
    clock.move_to(later - timedelta(minutes=61))
    assert tick(run_jobs) == (0, 0)
    clock.move_to(later - timedelta(minutes=60))
    assert tick(run_jobs) == (1, 0)
    clock.move_to(later - timedelta(minutes=30))
    assert tick(run_jobs) == (0, 0)
    assert notices(org_a, window) == {SCHEDULED: 1, RESCHEDULED: 2, REMINDER: 2}

    # Moved to within the reminder's lead time: the rescheduling notice is the reminder.
    other = schedule(org_b, clock.now + timedelta(hours=3))
    close = clock.now + timedelta(minutes=20)
    with tenant_session(org_b.tenant_id) as s:
        services.reschedule_window(
            s,
            s.get(Incident, other),
            actor=EDITOR,
            scheduled_for=close,
            scheduled_until=close + timedelta(hours=1),
        )
        s.commit()
    assert tick(run_jobs) == (0, 0)
    assert notices(org_b, other) == {SCHEDULED: 1, RESCHEDULED: 1}


def test_a_cancelled_window_is_neither_reminded_nor_started_and_its_pending_notices_are_dropped(
    clock, org_a, org_b, run_jobs
):
    start = clock.now + timedelta(minutes=61)
    window = schedule(org_a, start)
    kept = schedule(org_b, start)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        second = add_subscriber(
            s, page, channel=Channel.EMAIL, address="second@acme.test", confirmed=True, actor=ACTOR
        )
        s.commit()
        second_id = second.id
    pending = pending_delivery(org_a, window, SCHEDULED, org_a.ids["subscriber"])
    sent = pending_delivery(org_a, window, SCHEDULED, second_id)
    with tenant_session(org_a.tenant_id) as s:
        s.get(Delivery, sent).status = DeliveryStatus.SENT
        s.commit()
    other_pending = pending_delivery(org_b, kept, SCHEDULED, org_b.ids["subscriber"])

    with tenant_session(org_a.tenant_id) as s:
        services.cancel_window(s, s.get(Incident, window), actor=EDITOR)
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        dropped = s.get(Delivery, pending)
        assert dropped.status is DeliveryStatus.CANCELLED
        assert dropped.last_error == "the maintenance was cancelled"
        assert s.get(Delivery, sent).status is DeliveryStatus.SENT
        events = {
            e.kind: e
            for e in s.scalars(select(NotificationEvent).where(NotificationEvent.incident_id == window))
        }
        assert events[SCHEDULED].fanout_status is FanoutStatus.DONE
        assert events[SCHEDULED].fanned_out_at == clock.now
        assert events[CANCELLED].fanout_status is FanoutStatus.PENDING  # the cancellation itself goes out
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Delivery, other_pending).status is DeliveryStatus.PENDING

    clock.move_to(start - timedelta(minutes=60))
    assert tick(run_jobs) == (1, 0)  # B's window only
    assert send_due_reminder(org_a.tenant_id, window) is False
    clock.move_to(start)
    assert tick(run_jobs) == (0, 1)  # B's window only
    assert start_due_window(org_a.tenant_id, window) is False
    assert notices(org_a, window) == {SCHEDULED: 1, CANCELLED: 1}
    assert notices(org_b, kept) == {SCHEDULED: 1, REMINDER: 1, STARTED: 1}
    cancelled = window_of(org_a, window)
    assert cancelled.cancelled_at is not None and cancelled.scheduled_reminded_at is None


def every_sweep(run_jobs: Callable[..., int]) -> None:
    """One pass of the clock process (maintenance and notification sweeps), then the worker."""
    sweep_due_reminders()
    sweep_due_windows()
    sweep_notifications()
    run_jobs()


def test_a_webhook_subscriber_hears_of_each_moment_of_a_window_once(
    clock, org_a, http_receiver, mail, run_jobs, settings, monkeypatch
):
    monkeypatch.setattr(config, "_active", [settings])  # the endpoint is checked as the app would
    clock.move_to(clock.now + timedelta(minutes=1))
    every_sweep(run_jobs)  # the organization's earlier notices go out before the endpoint subscribes
    with tenant_session(org_a.tenant_id) as s:
        add_subscriber(
            s,
            s.get(Page, org_a.page_id),
            channel=Channel.WEBHOOK,
            address=http_receiver.url + "/maintenance",
            actor=ACTOR,
        )
        s.commit()
    start = clock.now + timedelta(minutes=90)
    window = schedule(org_a, start)

    def heard() -> Counter[str]:
        """The maintenance notices the endpoint received, per kind (component webhooks left out)."""
        kinds: Counter[str] = Counter()
        for request in http_receiver.requests:
            headers = {name.lower(): value for name, value in request.headers.items()}
            kind = headers["x-statusplatform-event"]
            if request.path == "/maintenance" and kind != EventKind.COMPONENT_UPDATED:
                assert json.loads(request.body)["incident"]["id"] == window
                kinds[kind] += 1
        return kinds

    expected: Counter[str] = Counter()
    for moment, kind in (
        (clock.now, SCHEDULED),
        (start - timedelta(minutes=60), REMINDER),
        (start, STARTED),
        (start + timedelta(hours=1), COMPLETED),
    ):
        # The moment itself, and a minute on (when the notification sweeper takes over any
        # fan-out whose job went missing); each pass twice, as after a restart.
        for at in (moment, moment + timedelta(minutes=1)):
            clock.move_to(at)
            every_sweep(run_jobs)
            every_sweep(run_jobs)
        expected[kind] += 1
        assert heard() == expected
