"""Jobs: enqueued after commit only, run by a real worker; the clock enqueues each task once per slot."""

from __future__ import annotations

from datetime import timedelta

from status_platform.db.session import tenant_session
from status_platform.jobs import clock, queues
from status_platform.jobs.enqueue import enqueue_after_commit
from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentStatus
from tenants.maintenance.jobs import start_due_window, sweep_due_windows
from tenants.maintenance.services import schedule_window
from tenants.pages.models import Page
from tests.factories import ACTOR


def queued() -> list[str]:
    return [job.func_name for job in queues.get_queue("default").get_jobs()]


def test_a_job_is_pushed_only_when_the_transaction_commits(org_a):
    with tenant_session(org_a.tenant_id) as s:
        enqueue_after_commit(s, start_due_window, org_a.tenant_id, "nothing")
        s.flush()
        assert queued() == []
        s.commit()
    assert queued() == ["tenants.maintenance.jobs.start_due_window"]


def test_nothing_is_pushed_when_the_transaction_rolls_back(org_a):
    with tenant_session(org_a.tenant_id) as s:
        enqueue_after_commit(s, start_due_window, org_a.tenant_id, "nothing")
        s.rollback()
        s.commit()
    assert queued() == []


def schedule_due_window(org, *, started_minutes_ago: int, lasts_minutes: int) -> tuple[str, str]:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        start = utcnow() - timedelta(minutes=started_minutes_ago)
        window = schedule_window(
            s,
            page,
            name="Due window",
            actor=ACTOR,
            scheduled_for=start,
            scheduled_until=start + timedelta(minutes=lasts_minutes),
            component_ids=[org.ids["component_web"]],
            deliver_notifications=False,
        )
        s.commit()
        return window.id, org.ids["component_web"]


def test_the_sweep_starts_and_completes_due_windows_through_the_worker(org_a, org_b, run_jobs):
    window_a, component_a = schedule_due_window(org_a, started_minutes_ago=1, lasts_minutes=60)
    window_b, _ = schedule_due_window(org_b, started_minutes_ago=90, lasts_minutes=30)
    assert sweep_due_windows() == 2
    assert run_jobs("default") == 2
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Incident, window_a).status is IncidentStatus.IN_PROGRESS
        assert s.get(Component, component_a).status is ComponentStatus.UNDER_MAINTENANCE
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Incident, window_b).status is IncidentStatus.IN_PROGRESS  # started late, not skipped
    # Next sweep: B's window is past its end and completes; A's is untouched; nothing runs twice.
    assert sweep_due_windows() == 1
    run_jobs("default")
    with tenant_session(org_b.tenant_id) as s:
        window = s.get(Incident, window_b)
        assert window.status is IncidentStatus.COMPLETED and window.resolved_at is not None
        assert s.get(Component, org_b.ids["component_web"]).status is ComponentStatus.OPERATIONAL
    assert start_due_window(org_a.tenant_id, window_a) is False  # already started: idempotent


def test_a_job_for_the_wrong_organization_does_nothing(org_a, org_b):
    window_a, _ = schedule_due_window(org_a, started_minutes_ago=1, lasts_minutes=60)
    assert start_due_window(org_b.tenant_id, window_a) is False
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Incident, window_a).status is IncidentStatus.SCHEDULED


def test_the_clock_enqueues_each_task_once_per_interval(run_jobs):
    now = 1_800_000_000.0
    names = clock.tick(now)
    assert "tenants.maintenance.jobs.sweep_due_windows" in names
    assert clock.tick(now + 1) == []  # the same slot, claimed already (also by another clock)
    later = clock.tick(now + clock.PERIODIC_TASKS["tenants.maintenance.jobs.sweep_due_windows"].seconds)
    assert "tenants.maintenance.jobs.sweep_due_windows" in later
    assert queued().count("tenants.maintenance.jobs.sweep_due_windows") == 2
