"""Incident and maintenance services: component statuses, impact, timestamps, audit, outbox, validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from status_platform.db.session import tenant_session
from status_platform.errors import Conflict, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.components.models import Component, ComponentStatus, ComponentStatusChange
from tenants.incidents.models import Impact, Incident, IncidentKind, IncidentStatus
from tenants.incidents.services import (
    backfill_incident,
    create_incident_type,
    create_template,
    delete_template,
    delete_update,
    edit_update,
    open_incident,
    post_update,
    publish_postmortem,
    retire_incident_type,
    save_postmortem,
    unpublish_postmortem,
    update_template,
)
from tenants.maintenance.services import schedule_window
from tenants.pages.models import Page
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.factories import ACTOR


def test_an_incident_sets_its_components_and_resolving_restores_them(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        web = s.get(Component, org_a.ids["component_web"])
        version = page.version
        incident = open_incident(
            s,
            page,
            name="Web is slow",
            actor=ACTOR,
            body="Looking",
            components={web.id: ComponentStatus.PARTIAL_OUTAGE},
        )
        assert web.status is ComponentStatus.PARTIAL_OUTAGE and incident.impact is Impact.MAJOR
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.MONITORING, body="Fix deployed")
        assert incident.monitoring_at is not None and incident.resolved_at is None
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="All good")
        s.commit()
        s.refresh(page)
        assert web.status is ComponentStatus.OPERATIONAL
        assert incident.resolved_at is not None and incident.impact is Impact.MAJOR  # keeps its worst moment
        assert [u.status for u in incident.updates] == [
            IncidentStatus.RESOLVED,
            IncidentStatus.MONITORING,
            IncidentStatus.INVESTIGATING,
        ]
        changes = s.scalars(
            select(ComponentStatusChange.new_status)
            .where(ComponentStatusChange.component_id == web.id)
            .order_by(ComponentStatusChange.changed_at, ComponentStatusChange.id)
        ).all()
        assert changes[-2:] == [ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.OPERATIONAL]
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == incident.id)
        ).all()
        assert sorted(kinds) == sorted(
            [
                EventKind.INCIDENT_CREATED,
                EventKind.INCIDENT_UPDATED,
                EventKind.INCIDENT_RESOLVED,
                EventKind.COMPONENT_UPDATED,
                EventKind.COMPONENT_UPDATED,
            ]
        )
        assert page.version > version
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == incident.id)).all()
        assert actions.count("incident.updated") == 2 and "incident.created" in actions


def test_an_override_decides_the_impact(org_a):
    with tenant_session(org_a.tenant_id) as s:
        incident = open_incident(
            s, s.get(Page, org_a.page_id), name="Billing delays", actor=ACTOR, impact_override=Impact.CRITICAL
        )
        assert incident.impact is Impact.CRITICAL


def test_a_backfilled_incident_records_history_without_touching_components_or_subscribers(org_a):
    with tenant_session(org_a.tenant_id) as s:
        web = s.get(Component, org_a.ids["component_web"])
        events_before = s.scalar(select(func.count()).select_from(NotificationEvent))
        start = utcnow() - timedelta(days=3)
        incident = open_incident(
            s,
            s.get(Page, org_a.page_id),
            name="Old outage",
            actor=ACTOR,
            backfill_at=start,
            components={web.id: ComponentStatus.MAJOR_OUTAGE},
        )
        post_update(
            s,
            incident,
            actor=ACTOR,
            status=IncidentStatus.RESOLVED,
            body="Done",
            display_at=start + timedelta(hours=1),
        )
        assert web.status is ComponentStatus.OPERATIONAL and incident.is_backfilled
        assert incident.started_at == start and incident.resolved_at == start + timedelta(hours=1)
        assert incident.impact is Impact.CRITICAL
        assert s.scalar(select(func.count()).select_from(NotificationEvent)) == events_before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"body": "x" * 25_001}, "body"),
        ({"components": {"nosuchthing1": ComponentStatus.MAJOR_OUTAGE}}, "components"),
        ({"status": IncidentStatus.SCHEDULED}, "status"),
        ({"backfill_at": utcnow() + timedelta(days=1)}, "backfill_date"),
    ],
)
def test_bad_incident_input_names_the_field_and_writes_nothing(org_a, kwargs, field):
    with tenant_session(org_a.tenant_id) as s:
        before = s.scalar(select(func.count()).select_from(Incident))
        with pytest.raises(ValidationError) as error:
            open_incident(s, s.get(Page, org_a.page_id), actor=ACTOR, **{"name": "Outage", **kwargs})
        assert error.value.field == field
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Incident)) == before


def test_a_component_of_another_organization_is_unknown(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError, match="Unknown component"):
        open_incident(
            s,
            s.get(Page, org_a.page_id),
            name="Sneaky",
            actor=ACTOR,
            components={org_b.ids["component"]: ComponentStatus.MAJOR_OUTAGE},
        )


def test_a_maintenance_window_must_end_after_it_starts(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValidationError) as error:
        start = utcnow() + timedelta(days=1)
        schedule_window(
            s,
            s.get(Page, org_a.page_id),
            name="Upgrade",
            actor=ACTOR,
            scheduled_for=start,
            scheduled_until=start - timedelta(minutes=1),
        )
    assert error.value.field == "scheduled_until"


def test_times_without_a_zone_are_refused(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(ValueError, match="naive"):
        naive = utcnow().replace(tzinfo=None)
        schedule_window(
            s,
            s.get(Page, org_a.page_id),
            name="Upgrade",
            actor=ACTOR,
            scheduled_for=naive,
            scheduled_until=naive + timedelta(hours=1),
        )


def test_groups_and_loose_components_share_one_order_at_the_top(org_a):
    from tenants.components.services import create_component, create_group
    from tenants.pages.snapshot import build_snapshot, sections

    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        create_component(s, page, name="Loose one", actor=ACTOR)
        group = create_group(s, page, name="Later group", actor=ACTOR)
        create_component(s, page, name="In later group", group=group, actor=ACTOR)
        create_component(s, page, name="Loose two", actor=ACTOR)
        s.flush()
        layout = sections(build_snapshot(s, page.id, page_url="http://x.test"))["layout"]
        names = [item["group"]["name"] if "group" in item else item["component"]["name"] for item in layout]
    assert names == [f"{org_a.name} API", f"{org_a.name} Web", "Loose one", "Later group", "Loose two"]


# --- roles, edits, postmortems, backfill, types and templates ----------------------------------


def member(role: str) -> Actor:
    return Actor(label=f"{role}@example.test", role=Role(role))


def test_a_viewer_may_neither_open_incidents_nor_post_updates(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(PermissionDenied, match="viewer"):
            open_incident(s, page, name="Nope", actor=member("viewer"))
        with pytest.raises(PermissionDenied):
            post_update(s, s.get(Incident, org_a.ids["incident"]), actor=member("viewer"), body="Nope")
        assert open_incident(s, page, name="Yes", actor=member("editor")).name == "Yes"


def test_deleting_the_newest_update_gives_the_incident_the_status_before_it(org_a):
    with tenant_session(org_a.tenant_id) as s:
        incident = open_incident(s, s.get(Page, org_a.page_id), name="Flaky", actor=ACTOR, body="Looking")
        resolved = post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Gone")
        assert incident.resolved_at is not None
        delete_update(s, resolved, actor=ACTOR)
        assert incident.status is IncidentStatus.INVESTIGATING and incident.resolved_at is None
        assert [u.body for u in incident.updates] == ["Looking"]
        with pytest.raises(ValidationError, match="only update"):
            delete_update(s, incident.updates[0], actor=ACTOR)
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == incident.id)).all()
        assert "incident_update.deleted" in actions


def test_an_edited_update_keeps_its_place_in_the_timeline(org_a):
    with tenant_session(org_a.tenant_id) as s:
        start = utcnow() - timedelta(hours=5)
        incident = open_incident(s, s.get(Page, org_a.page_id), name="Slow", actor=ACTOR, backfill_at=start)
        middle = post_update(
            s, incident, actor=ACTOR, status=IncidentStatus.MONITORING, display_at=start + timedelta(hours=1)
        )
        post_update(
            s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, display_at=start + timedelta(hours=2)
        )
        for wrong in (
            start - timedelta(minutes=5),
            start + timedelta(hours=3),
            utcnow() + timedelta(hours=1),
        ):
            with pytest.raises(ValidationError) as error:
                edit_update(s, middle, actor=ACTOR, body="Watching", display_at=wrong)
            assert error.value.field == "display_at"
        edit_update(s, middle, actor=ACTOR, body="Watching", display_at=start + timedelta(minutes=90))
        assert incident.monitoring_at == start + timedelta(minutes=90) and middle.body == "Watching"
        first = incident.updates[-1]
        edit_update(s, first, actor=ACTOR, body="Earlier", display_at=start - timedelta(hours=1))
        assert incident.started_at == start - timedelta(hours=1)


def test_a_postmortem_is_published_once_and_subscribers_told_once(org_a):
    with tenant_session(org_a.tenant_id) as s:
        incident = open_incident(s, s.get(Page, org_a.page_id), name="Outage", actor=ACTOR)
        save_postmortem(s, incident, actor=ACTOR, body="Draft")
        with pytest.raises(ValidationError, match="Resolve the incident"):
            publish_postmortem(s, incident, actor=ACTOR, notify=True)
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed")
        publish_postmortem(s, incident, actor=ACTOR, notify=True)
        assert incident.status is IncidentStatus.RESOLVED and incident.postmortem_published_at is not None
        assert unpublish_postmortem(s, incident, actor=ACTOR) and incident.postmortem_body == "Draft"
        publish_postmortem(s, incident, actor=ACTOR, notify=True)
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == incident.id)
        ).all()
        assert kinds.count(EventKind.POSTMORTEM_PUBLISHED) == 1
        with pytest.raises(ValidationError) as error:
            save_postmortem(s, incident, actor=ACTOR, body="")
        assert error.value.field == "postmortem_body"


def test_a_backfill_must_be_resolved_after_it_started_and_not_in_the_future(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        start = utcnow() - timedelta(days=1)
        for ends, field in (
            (start - timedelta(minutes=1), "resolved_at"),
            (utcnow() + timedelta(hours=1), "resolved_at"),
        ):
            with pytest.raises(ValidationError) as error:
                backfill_incident(s, page, actor=ACTOR, name="Old", started_at=start, resolved_at=ends)
            assert error.value.field == field
        incident = backfill_incident(
            s, page, actor=ACTOR, name="Old", started_at=start, resolved_at=start + timedelta(hours=1)
        )
        assert incident.is_backfilled and incident.status is IncidentStatus.RESOLVED
        assert incident.updates[0].body == "This incident has been resolved."


def test_incident_types_are_unique_per_organization_and_admins_only(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(Conflict):
            create_incident_type(s, actor=ACTOR, name="minor", color="#123456")
        with pytest.raises(PermissionDenied):
            create_incident_type(s, actor=member("editor"), name="Security", color="#123456")
        security = create_incident_type(s, actor=member("admin"), name="Security", color="#123456")
        assert security.position == 3
        retire_incident_type(s, security, actor=ACTOR)
        with pytest.raises(ValidationError, match="retired") as error:
            open_incident(s, s.get(Page, org_a.page_id), name="X", actor=ACTOR, incident_type_id=security.id)
        assert error.value.field == "incident_type_id"
        s.commit()
    with tenant_session(org_b.tenant_id) as s:
        assert create_incident_type(s, actor=ACTOR, name="Security", color="#654321").position == 3


def test_a_template_takes_only_its_pages_components_and_a_status_of_its_kind(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(ValidationError, match="Unknown component"):
            create_template(
                s,
                page,
                actor=ACTOR,
                name="T",
                title="T",
                components={org_b.ids["component"]: ComponentStatus.MAJOR_OUTAGE},
            )
        with pytest.raises(ValidationError) as error:
            create_template(
                s,
                page,
                actor=ACTOR,
                name="T",
                title="T",
                kind=IncidentKind.INCIDENT,
                update_status=IncidentStatus.IN_PROGRESS,
            )
        assert error.value.field == "update_status"
        template = create_template(
            s,
            page,
            actor=ACTOR,
            name="T",
            title="T",
            components={org_a.ids["component"]: ComponentStatus.MAJOR_OUTAGE},
        )
        update_template(
            s,
            template,
            actor=ACTOR,
            name="T2",
            title="T2",
            components={
                org_a.ids["component"]: ComponentStatus.PARTIAL_OUTAGE,
                org_a.ids["component_web"]: None,
            },
        )
        s.flush()
        assert {link.component_id: link.status for link in template.components} == {
            org_a.ids["component"]: ComponentStatus.PARTIAL_OUTAGE,
            org_a.ids["component_web"]: None,
        }
        with pytest.raises(PermissionDenied):
            delete_template(s, template, actor=member("viewer"))
