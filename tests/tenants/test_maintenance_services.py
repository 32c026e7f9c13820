"""Maintenance services: scheduling rules, the lifecycle, rescheduling, editing, cancelling, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentStatus
from tenants.maintenance import queries, services
from tenants.pages.models import Page
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.factories import ACTOR

EDITOR = Actor(label="editor@acme.test", role=Role.EDITOR)
VIEWER = Actor(label="viewer@acme.test", role=Role.VIEWER)


def kinds_of(session, window_id: str) -> list[EventKind]:
    return list(
        session.scalars(
            select(NotificationEvent.kind)
            .where(NotificationEvent.incident_id == window_id)
            .order_by(NotificationEvent.created_at, NotificationEvent.id)
        )
    )


def new_window(session, org, **overrides) -> Incident:
    start = utcnow() + timedelta(days=1)
    arguments = {
        "name": "Database upgrade",
        "scheduled_for": start,
        "scheduled_until": start + timedelta(hours=2),
        "component_ids": [org.ids["component"], org.ids["component_web"]],
        "body": "We upgrade the database.",
        "actor": EDITOR,
        **overrides,
    }
    return services.schedule_window(session, session.get(Page, org.page_id), **arguments)


def test_a_person_cannot_schedule_a_window_that_has_already_ended(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        past = utcnow() - timedelta(hours=3)
        new_window(s, org_a, scheduled_for=past, scheduled_until=past + timedelta(hours=1))
    assert error.value.field == "scheduled_until" and "past" in error.value.message


def test_the_platform_itself_may_record_a_window_that_already_ended(org_a):
    with tenant_session(org_a.tenant_id) as s:
        past = utcnow() - timedelta(hours=3)
        window = new_window(
            s, org_a, actor=ACTOR, scheduled_for=past, scheduled_until=past + timedelta(hours=1)
        )
        assert window.status is IncidentStatus.SCHEDULED


def test_a_window_must_end_after_it_starts(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        start = utcnow() + timedelta(days=1)
        new_window(s, org_a, scheduled_for=start, scheduled_until=start)
    assert error.value.field == "scheduled_until"


def test_another_organizations_component_is_unknown(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        new_window(s, org_a, component_ids=[org_b.ids["component"]])
    assert error.value.field == "components"
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        new_window(s, org_a, component_ids=["nosuchthing0"])
    assert error.value.field == "components"


def test_a_viewer_may_not_write_any_maintenance(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        later = utcnow() + timedelta(days=5)
        writes = [
            lambda: new_window(s, org_a, actor=VIEWER),
            lambda: services.start_window(s, window, actor=VIEWER),
            lambda: services.complete_window(s, window, actor=VIEWER),
            lambda: services.post_window_update(s, window, actor=VIEWER, body="Hello"),
            lambda: services.reschedule_window(
                s, window, actor=VIEWER, scheduled_for=later, scheduled_until=later + timedelta(hours=1)
            ),
            lambda: services.update_window(s, window, actor=VIEWER, name="Renamed"),
            lambda: services.cancel_window(s, window, actor=VIEWER),
        ]
        for write in writes:
            with pytest.raises(PermissionDenied):
                write()
        assert window.status is IncidentStatus.SCHEDULED and window.name == "Acme upgrade"
        assert window.cancelled_at is None


def test_the_lifecycle_moves_components_and_tells_subscribers(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        window = new_window(s, org_a)
        api, web = s.get(Component, org_a.ids["component"]), s.get(Component, org_a.ids["component_web"])
        services.post_window_update(s, window, actor=EDITOR, status=IncidentStatus.IN_PROGRESS)
        assert api.status is web.status is ComponentStatus.UNDER_MAINTENANCE
        assert window.updates[0].body == services.STARTED_BODY
        services.post_window_update(s, window, actor=EDITOR, body="Still copying data")
        services.post_window_update(s, window, actor=EDITOR, status=IncidentStatus.VERIFYING, body="Checking")
        assert window.status is IncidentStatus.VERIFYING
        services.post_window_update(s, window, actor=EDITOR, status=IncidentStatus.COMPLETED)
        assert api.status is web.status is ComponentStatus.OPERATIONAL
        assert window.resolved_at is not None
        assert [u.status for u in window.updates] == [
            IncidentStatus.COMPLETED,
            IncidentStatus.VERIFYING,
            IncidentStatus.IN_PROGRESS,
            IncidentStatus.IN_PROGRESS,
            IncidentStatus.SCHEDULED,
        ]
        kinds = [k for k in kinds_of(s, window.id) if k is not EventKind.COMPONENT_UPDATED]
        assert kinds == [
            EventKind.MAINTENANCE_SCHEDULED,
            EventKind.MAINTENANCE_STARTED,
            EventKind.MAINTENANCE_UPDATED,
            EventKind.MAINTENANCE_UPDATED,
            EventKind.MAINTENANCE_COMPLETED,
        ]
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Component, org_b.ids["component_web"]).status is ComponentStatus.OPERATIONAL


def test_a_quiet_window_without_transitions_leaves_components_and_subscribers_alone(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = new_window(s, org_a, auto_transition_components=False, deliver_notifications=False)
        web = s.get(Component, org_a.ids["component_web"])
        services.start_window(s, window, actor=EDITOR)
        assert web.status is ComponentStatus.OPERATIONAL
        services.complete_window(s, window, actor=EDITOR)
        assert kinds_of(s, window.id) == []  # the window said: no notices at its start and end


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([], IncidentStatus.COMPLETED),
        ([], IncidentStatus.VERIFYING),
        ([IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING], IncidentStatus.IN_PROGRESS),
        ([IncidentStatus.IN_PROGRESS], IncidentStatus.SCHEDULED),
        ([IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED], IncidentStatus.VERIFYING),
    ],
)
def test_a_window_moves_forward_only(org_a, steps, refused):
    with tenant_session(org_a.tenant_id) as s:
        window = new_window(s, org_a)
        for step in steps:
            services.post_window_update(s, window, actor=EDITOR, status=step)
        with pytest.raises(ValidationError) as error:
            services.post_window_update(s, window, actor=EDITOR, status=refused, body="Try")
        assert error.value.field == "status"


def test_an_update_without_a_new_status_needs_a_message(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        services.post_window_update(s, s.get(Incident, org_a.ids["maintenance"]), actor=EDITOR, body="  ")
    assert error.value.field == "body"


def test_rescheduling_moves_the_window_records_it_and_tells_subscribers(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        window.scheduled_reminded_at = utcnow()
        page = s.get(Page, org_a.page_id)
        version = page.version
        old_start = window.scheduled_for
        start = old_start + timedelta(days=1)
        moved = services.reschedule_window(
            s, window, actor=EDITOR, scheduled_for=start, scheduled_until=start + timedelta(hours=3)
        )
        assert (
            moved and window.scheduled_for == start and window.scheduled_until == start + timedelta(hours=3)
        )
        assert window.scheduled_reminded_at is None  # a new time earns a new reminder
        assert EventKind.MAINTENANCE_RESCHEDULED in kinds_of(s, window.id)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "maintenance.rescheduled")).one()
        assert event.before["scheduled_for"] == old_start.isoformat()
        assert event.after["scheduled_for"] == start.isoformat()
        s.flush()
        s.refresh(page)
        assert page.version > version
        assert not services.reschedule_window(
            s, window, actor=EDITOR, scheduled_for=start, scheduled_until=start + timedelta(hours=3)
        )


def test_rescheduling_quietly_records_no_notice(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        start = window.scheduled_for + timedelta(hours=1)
        services.reschedule_window(
            s,
            window,
            actor=EDITOR,
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            deliver_notifications=False,
        )
        assert EventKind.MAINTENANCE_RESCHEDULED not in kinds_of(s, window.id)


def test_rescheduling_refuses_bad_times_and_closed_windows(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = new_window(s, org_a)
        start = window.scheduled_for
        with pytest.raises(ValidationError) as error:
            services.reschedule_window(
                s, window, actor=EDITOR, scheduled_for=start, scheduled_until=start - timedelta(hours=1)
            )
        assert error.value.field == "scheduled_until"
        past = utcnow() - timedelta(hours=5)
        with pytest.raises(ValidationError) as error:
            services.reschedule_window(
                s, window, actor=EDITOR, scheduled_for=past, scheduled_until=past + timedelta(hours=1)
            )
        assert error.value.field == "scheduled_until"
        services.start_window(s, window, actor=EDITOR)
        services.complete_window(s, window, actor=EDITOR)
        with pytest.raises(ValidationError) as error:
            services.reschedule_window(
                s, window, actor=EDITOR, scheduled_for=start, scheduled_until=start + timedelta(hours=9)
            )
        assert error.value.field == "scheduled_for"


def test_a_window_in_progress_can_be_extended(org_a):
    with tenant_session(org_a.tenant_id) as s:
        now = utcnow()
        window = new_window(
            s, org_a, scheduled_for=now - timedelta(minutes=5), scheduled_until=now + timedelta(hours=1)
        )
        services.start_window(s, window, actor=EDITOR)
        assert services.reschedule_window(
            s,
            window,
            actor=EDITOR,
            scheduled_for=window.scheduled_for,
            scheduled_until=now + timedelta(hours=4),
        )
        with pytest.raises(ValidationError) as error:
            services.reschedule_window(
                s,
                window,
                actor=EDITOR,
                scheduled_for=now + timedelta(hours=1),
                scheduled_until=now + timedelta(hours=4),
            )
        assert error.value.field == "scheduled_for"


def test_editing_changes_the_details_and_records_what_changed(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        changed = services.update_window(
            s,
            window,
            actor=EDITOR,
            name="Acme database upgrade",
            component_ids=[org_a.ids["component"]],
            remind_prior=False,
            auto_in_progress=False,
            auto_completed=False,
            to_maintenance_state=False,
            to_operational_state=False,
            deliver_notifications_at_start=False,
            deliver_notifications_at_end=True,
        )
        assert changed and window.name == "Acme database upgrade"
        assert [link.component_id for link in window.affected] == [org_a.ids["component"]]
        assert not window.scheduled_remind_prior and not window.scheduled_auto_in_progress
        assert not window.auto_transition_to_maintenance_state
        assert not window.auto_transition_deliver_notifications_at_start
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "maintenance.updated")).one()
        assert event.before["name"] == "Acme upgrade" and event.after["name"] == "Acme database upgrade"
        assert "notify_at_end" not in event.after  # unchanged
        assert not services.update_window(s, window, actor=EDITOR, name="Acme database upgrade")
        with pytest.raises(ValidationError) as error:
            services.update_window(s, window, actor=EDITOR, component_ids=[org_b.ids["component"]])
        assert error.value.field == "components"
        with pytest.raises(ValidationError) as error:
            services.update_window(s, window, actor=EDITOR, name=" ")
        assert error.value.field == "name"


def test_components_added_to_a_window_in_progress_go_under_maintenance(org_a):
    with tenant_session(org_a.tenant_id) as s:
        now = utcnow()
        window = new_window(
            s,
            org_a,
            component_ids=[org_a.ids["component_web"]],
            scheduled_for=now,
            scheduled_until=now + timedelta(hours=1),
        )
        services.start_window(s, window, actor=EDITOR)
        api, web = s.get(Component, org_a.ids["component"]), s.get(Component, org_a.ids["component_web"])
        services.update_window(s, window, actor=EDITOR, component_ids=[api.id])
        assert api.status is ComponentStatus.UNDER_MAINTENANCE
        assert web.status is ComponentStatus.OPERATIONAL


def test_cancelling_closes_a_scheduled_window_and_leaves_components_alone(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        web = s.get(Component, org_a.ids["component_web"])
        update = services.cancel_window(s, window, actor=EDITOR)
        assert window.cancelled_at is not None and window.status is IncidentStatus.COMPLETED
        assert update.body == "This scheduled maintenance has been cancelled."
        assert window.updates[0] is update and web.status is ComponentStatus.OPERATIONAL
        assert kinds_of(s, window.id)[-1] is EventKind.MAINTENANCE_CANCELLED
        with pytest.raises(ValidationError):
            services.cancel_window(s, window, actor=EDITOR)
        with pytest.raises(ValidationError):
            services.post_window_update(s, window, actor=EDITOR, status=IncidentStatus.IN_PROGRESS)


def test_cancelling_with_a_message_and_quietly(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = new_window(s, org_a)
        update = services.cancel_window(
            s, window, actor=EDITOR, body="Moved to next quarter.", deliver_notifications=False
        )
        assert update.body == "Moved to next quarter."
        assert EventKind.MAINTENANCE_CANCELLED not in kinds_of(s, window.id)


def test_a_window_in_progress_cannot_be_cancelled(org_a):
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, org_a.ids["maintenance"])
        services.start_window(s, window, actor=EDITOR)
        with pytest.raises(ValidationError, match="complete it instead"):
            services.cancel_window(s, window, actor=EDITOR)
        assert window.cancelled_at is None and window.status is IncidentStatus.IN_PROGRESS
        assert s.get(Component, org_a.ids["component_web"]).status is ComponentStatus.UNDER_MAINTENANCE


def test_lists_hold_only_the_organizations_windows_in_their_sections(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        running = new_window(s, org_a, name="Running")
        services.start_window(s, running, actor=EDITOR)
        done = new_window(s, org_a, name="Done")
        services.cancel_window(s, done, actor=EDITOR)
        listed = queries.list_windows(s, org_a.page_id)
        assert [w.name for w in listed.in_progress] == ["Running"]
        assert [w.name for w in listed.upcoming] == ["Acme upgrade"]
        assert [w.name for w in listed.past] == ["Done"] and not listed.has_more_past
        assert [w.name for w in queries.list_windows(s, org_a.page_id, search="UPGR").upcoming] == [
            "Acme upgrade"
        ]
        assert queries.list_windows(s, org_b.page_id).upcoming == []
