"""Faults in the middle of a fan-out to 2,000 webhook subscribers, with real worker processes.

A worker's whole process group is SIGKILLed mid-run (its work horse too, as when a machine dies);
Redis is flushed mid-run. A new worker and the sweeper must then deliver to every subscriber,
sending again at most the deliveries that were in flight (leased) at the instant of the kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import func, select

from status_platform.db.session import tenant_session
from status_platform.ids import new_ids
from status_platform.timeutil import set_clock, utcnow
from tenants.incidents.services import open_incident
from tenants.pages.models import Page
from tenants.subscribers.jobs import FANOUT_GRACE, sweep_notifications
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    FanoutStatus,
    NotificationEvent,
    Subscriber,
)
from tests.factories import ACTOR

STATUSPLATFORM = str(Path(sys.executable).with_name("statusplatform"))
SUBSCRIBERS = 2000
LEASE_SECONDS = 3


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """The test's environment with a short lease, and batches small enough to stop in between."""
    return {
        **env,
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "DELIVERY_CONCURRENCY": "20",
        "FANOUT_BATCH_SIZE": "250",
    }


def start_worker(env: dict[str, str], *, burst: bool = False) -> subprocess.Popen[bytes]:
    argv = [STATUSPLATFORM, "worker", "notifications", *(["--burst"] if burst else [])]
    # The burst worker's log is read for the failure message; the killed one's is not.
    stderr = subprocess.PIPE if burst else subprocess.DEVNULL
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (RQ's work horse puts itself in a process group of its own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its work horse at once, as when the machine under them dies."""
    for pid in [process.pid, *descendants(process.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


def add_webhook_subscribers(org, url: str) -> None:
    """2,000 confirmed webhook subscribers, inserted in bulk (the services would take minutes)."""
    now = utcnow()
    rows = [
        {
            "id": subscriber_id,
            "tenant_id": org.tenant_id,
            "page_id": org.page_id,
            "channel": Channel.WEBHOOK.value,
            "endpoint": f"{url}/hook/{n}",
            "secret": "s" * 64,
            "confirmed_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n, subscriber_id in enumerate(new_ids(SUBSCRIBERS))
    ]
    with tenant_session(org.tenant_id) as s:
        s.execute(sa.insert(Subscriber.__table__), rows)
        # The notices of the organization's making are not this test's: settled before it starts.
        s.execute(sa.update(NotificationEvent).values(fanout_status=FanoutStatus.DONE))
        s.commit()


def announce(org) -> str:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        incident = open_incident(
            s,
            page,
            name="Fan-out under fire",
            actor=ACTOR,
            body="Looking",
        )
        s.commit()
        return incident.id


def wait_for(condition, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def deliveries_by_status(org, incident_id: str) -> dict[DeliveryStatus, int]:
    with tenant_session(org.tenant_id) as s:
        rows = s.execute(
            select(Delivery.status, func.count())
            .join(NotificationEvent, NotificationEvent.id == Delivery.event_id)
            .where(NotificationEvent.incident_id == incident_id)
            .group_by(Delivery.status)
        ).all()
    return {DeliveryStatus(status): count for status, count in rows}


def hook_counts(receiver) -> Counter[str]:
    with receiver.lock:
        return Counter(r.path for r in receiver.requests if r.path.startswith("/hook/"))


def sweep_later() -> int:
    """What the clock process does: the sweep, run after the fan-out's grace period has passed."""
    set_clock(lambda: datetime.now(UTC) + FANOUT_GRACE + timedelta(seconds=1))
    try:
        return sweep_notifications()
    finally:
        set_clock(None)


def drain(env: dict[str, str]) -> None:
    """A new worker, in burst mode: it works until the queues are empty."""
    worker = start_worker(env, burst=True)
    try:
        _, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            kill_group(worker)
    assert worker.returncode == 0, err.decode()[-2000:]


def assert_delivered_to_all(org, receiver, incident_id: str, *, in_flight: int) -> None:
    counts = hook_counts(receiver)
    assert len(counts) == SUBSCRIBERS  # every subscriber got it
    duplicates = sum(counts.values()) - SUBSCRIBERS
    assert duplicates <= in_flight, (duplicates, in_flight)
    assert deliveries_by_status(org, incident_id) == {DeliveryStatus.SENT: SUBSCRIBERS}


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_only_what_was_in_flight(
    committed_db, org_a, env, http_receiver
):
    http_receiver.delay = 0.01
    add_webhook_subscribers(org_a, http_receiver.url)
    env = worker_env(env)
    first = start_worker(env)
    try:
        incident_id = announce(org_a)
        wait_for(lambda: sum(hook_counts(http_receiver).values()) >= 300, 60, "the first deliveries")
    finally:
        kill_group(first)
    in_flight = deliveries_by_status(org_a, incident_id).get(DeliveryStatus.SENDING, 0)
    assert sum(hook_counts(http_receiver).values()) < SUBSCRIBERS, "the kill came too late to test anything"

    # The new worker claims the leased rows once their leases have run out; the sweeper
    # enqueues the delivery jobs that died with the worker.
    time.sleep(LEASE_SECONDS + 0.5)
    assert sweep_later() >= 1
    drain(env)
    assert_delivered_to_all(org_a, http_receiver, incident_id, in_flight=in_flight)


def test_redis_flushed_mid_fan_out_is_completed_by_the_sweeper(
    committed_db, org_a, env, http_receiver, redis_client
):
    add_webhook_subscribers(org_a, http_receiver.url)
    env = {**worker_env(env), "FANOUT_BATCH_SIZE": "20"}  # a hundred batches, each committed
    first = start_worker(env)
    try:
        incident_id = announce(org_a)
        with tenant_session(org_a.tenant_id) as s:
            event_id = s.scalars(
                select(NotificationEvent.id).where(NotificationEvent.incident_id == incident_id)
            ).one()

        def fan_out_started() -> bool:
            with tenant_session(org_a.tenant_id) as s:
                return s.get(NotificationEvent, event_id).fanout_cursor is not None

        wait_for(fan_out_started, 60, "the fan-out's first batch")
        redis_client.flushdb()  # the fan-out's own job and every delivery job it queued are gone
    finally:
        kill_group(first)  # and the fan-out stops where it was
    with tenant_session(org_a.tenant_id) as s:
        event = s.get(NotificationEvent, event_id)
        assert event.fanout_status is FanoutStatus.PENDING, "the fault came after the fan-out finished"
        made = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.event_id == event_id))
    assert 0 < made < SUBSCRIBERS
    in_flight = deliveries_by_status(org_a, incident_id).get(DeliveryStatus.SENDING, 0)

    # With Redis empty, nothing would ever happen again without the sweeper.
    drain(env)
    assert deliveries_by_status(org_a, incident_id).get(DeliveryStatus.SENT, 0) == sum(
        hook_counts(http_receiver).values()
    )
    time.sleep(LEASE_SECONDS + 0.5)
    assert sweep_later() >= 1
    drain(env)
    assert_delivered_to_all(org_a, http_receiver, incident_id, in_flight=in_flight)
