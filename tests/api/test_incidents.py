"""The management API's incidents (realtime, scheduled maintenance and backfilled): lists, create, get,
update, delete, and corrections of past updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentComponent, IncidentStatus, IncidentUpdate
from tenants.incidents.services import open_incident
from tenants.maintenance.services import schedule_window, start_window
from tenants.pages.models import Page
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.conftest import fingerprint
from tests.factories import ACTOR

# Statuspage's Manage API examples (a copy of the shared reference's, see tests/api/statuspage).
EXAMPLES = Path(__file__).resolve().parent / "statuspage" / "manage"
INCIDENT_KEYS = set(json.loads((EXAMPLES / "incident.response.json").read_text()))
UPDATE_KEYS = set(json.loads((EXAMPLES / "incident-update.response.json").read_text()))


def auth(org: Any) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def incidents_url(org: Any, suffix: str = "") -> str:
    return f"/v1/pages/{org.page_id}/incidents{suffix}"


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def create(client: Any, org: Any, **fields: Any) -> Any:
    return client.post(incidents_url(org), json={"incident": fields}, headers=auth(org))


def patch(client: Any, org: Any, incident_id: str, **fields: Any) -> Any:
    return client.patch(incidents_url(org, f"/{incident_id}"), json={"incident": fields}, headers=auth(org))


def public_json(web: Any, org: Any, path: str) -> dict[str, Any]:
    response = web.get(path, headers={"Host": org.host})
    assert response.status_code == 200
    return response.get_json()


def statuses(org: Any) -> dict[str, ComponentStatus]:
    with tenant_session(org.tenant_id) as s:
        return {c.id: c.status for c in s.scalars(select(Component).where(Component.page_id == org.page_id))}


def events(org: Any, incident_id: str) -> list[EventKind]:
    """The subscriber notices of the incident (its components' own webhook events left out)."""
    with tenant_session(org.tenant_id) as s:
        rows = s.scalars(
            select(NotificationEvent)
            .where(
                NotificationEvent.incident_id == incident_id,
                NotificationEvent.kind != EventKind.COMPONENT_UPDATED,
            )
            .order_by(NotificationEvent.created_at)
        )
        return [row.kind for row in rows]


def stored(org: Any, incident_id: str) -> Incident | None:
    with tenant_session(org.tenant_id) as s:
        incident = s.get(Incident, incident_id)
        if incident is not None:
            s.expunge(incident)
        return incident


def audit_actions(org: Any, incident_id: str) -> list[str]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == incident_id)
                .order_by(AuditEvent.created_at)
            )
        )


def settled_fingerprint(client: Any, org: Any, of: Any = None) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of `of` (by default `org`) once `org`'s key has been used: a key's first use records
    its `last_used_at`, which a refused request must not be blamed for."""
    assert client.get(f"/v1/pages/{org.page_id}", headers=auth(org)).status_code == 200
    return fingerprint((of or org).tenant_id)


def page_url(admin_app: Any, org: Any) -> str:
    return str(admin_app.config["SETTINGS"].page_url(org.slug))


def add_window(org: Any, *, starts_in: timedelta, name: str = "Cache flush") -> str:
    with tenant_session(org.tenant_id) as s:
        starts = utcnow() + starts_in
        window = schedule_window(
            s,
            s.get(Page, org.page_id),
            name=name,
            actor=ACTOR,
            scheduled_for=starts,
            scheduled_until=starts + timedelta(days=1),
            component_ids=[org.ids["component_web"]],
        )
        s.commit()
        return window.id


# --- realtime incidents ------------------------------------------------------------------------


def test_creating_a_realtime_incident_sets_the_mapped_components_and_answers_statuspages_incident(
    admin_client, admin_app, org_a
):
    api, web_id = org_a.ids["component"], org_a.ids["component_web"]

    response = create(
        admin_client,
        org_a,
        name="API Gateway Timeout Errors",
        status="identified",
        impact_override="major",
        body="We are seeing timeouts.",
        components={web_id: "degraded_performance"},
        component_ids=[web_id, api],
        reminder_intervals="[3, 6, 12, 24]",
        metadata={"port": {"runId": "r_1", "trigger": "Object"}},
        auto_tweet_on_creation=True,
    )

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == INCIDENT_KEYS
    assert body["name"] == "API Gateway Timeout Errors"
    assert body["status"] == "identified"
    assert (body["impact"], body["impact_override"]) == ("major", "major")
    assert body["page_id"] == org_a.page_id
    assert body["metadata"] == {"port": {"runId": "r_1", "trigger": "Object"}}
    assert body["reminder_intervals"] == "[3, 6, 12, 24]"
    assert body["shortlink"] == f"{page_url(admin_app, org_a)}/incidents/{body['id']}"
    assert body["scheduled_for"] is None and body["auto_transition_to_maintenance_state"] is None
    assert body["postmortem_notified_twitter"] is False and body["postmortem_body"] is None
    components = {c["id"]: c for c in body["components"]}
    assert set(components) == {api, web_id}
    assert components[web_id]["status"] == "degraded_performance"
    assert components[web_id]["name"] == "Acme Web" and components[web_id]["page_id"] == org_a.page_id
    (update,) = body["incident_updates"]
    assert set(update) == UPDATE_KEYS
    assert update["body"] == "We are seeing timeouts." and update["status"] == "identified"
    assert update["affected_components"] == [
        {
            "code": web_id,
            "name": "Acme Web",
            "old_status": "operational",
            "new_status": "degraded_performance",
        }
    ]
    assert (update["custom_tweet"], update["tweet_id"], update["twitter_updated_at"]) == (None, None, None)
    assert update["wants_twitter_update"] is False
    # The component outside the map is affected and keeps its status.
    assert statuses(org_a) == {
        api: ComponentStatus.MAJOR_OUTAGE,
        web_id: ComponentStatus.DEGRADED_PERFORMANCE,
    }
    with tenant_session(org_a.tenant_id) as s:
        links = s.scalars(
            select(IncidentComponent.component_id).where(IncidentComponent.incident_id == body["id"])
        )
        assert set(links) == {api, web_id}
    assert audit_actions(org_a, body["id"]) == ["incident.created"]


def test_a_realtime_incident_shows_on_the_public_summary_and_unresolved_json(admin_client, web, org_a):
    web_id = org_a.ids["component_web"]

    created = create(
        admin_client, org_a, name="Login failures", body="Logins fail.", components={web_id: "partial_outage"}
    ).get_json()

    summary = public_json(web, org_a, "/api/v2/summary.json")
    listed = {i["id"]: i for i in summary["incidents"]}
    assert listed[created["id"]]["name"] == "Login failures"
    assert listed[created["id"]]["status"] == "investigating"
    assert listed[created["id"]]["shortlink"] == created["shortlink"]
    assert {c["id"]: c["status"] for c in summary["components"]}[web_id] == "partial_outage"
    unresolved = public_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"]
    assert created["id"] in {i["id"] for i in unresolved}


@pytest.mark.parametrize("deliver", [True, False])
def test_deliver_notifications_decides_whether_the_outbox_row_is_written(admin_client, org_a, deliver):
    response = create(
        admin_client,
        org_a,
        name="Slow search",
        body="Searches are slow.",
        components={org_a.ids["component_web"]: "degraded_performance"},
        deliver_notifications=deliver,
    )

    assert response.status_code == 201
    incident_id = response.get_json()["id"]
    assert response.get_json()["incident_updates"][0]["deliver_notifications"] is deliver
    assert events(org_a, incident_id) == ([EventKind.INCIDENT_CREATED] if deliver else [])
    with tenant_session(org_a.tenant_id) as s:
        component_events = s.scalars(
            select(NotificationEvent).where(
                NotificationEvent.kind == EventKind.COMPONENT_UPDATED,
                NotificationEvent.component_id == org_a.ids["component_web"],
            )
        ).all()
    assert len(component_events) == (1 if deliver else 0)


def test_patch_posts_an_update_and_resolving_restores_the_other_affected_components(admin_client, org_a):
    api, web_id = org_a.ids["component"], org_a.ids["component_web"]
    created = create(
        admin_client, org_a, name="Errors", components={api: "partial_outage", web_id: "partial_outage"}
    ).get_json()

    monitoring = patch(
        admin_client,
        org_a,
        created["id"],
        status="monitoring",
        body="A fix is out.",
        components={web_id: "operational", api: "partial_outage"},
    )

    assert monitoring.status_code == 200
    body = monitoring.get_json()
    assert body["status"] == "monitoring" and body["monitoring_at"] is not None
    newest = body["incident_updates"][0]
    assert (newest["status"], newest["body"]) == ("monitoring", "A fix is out.")
    # A status already in place is no change.
    assert newest["affected_components"] == [
        {"code": web_id, "name": "Acme Web", "old_status": "partial_outage", "new_status": "operational"}
    ]
    resolved = patch(admin_client, org_a, created["id"], status="resolved", body="All good.").get_json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert [u["status"] for u in resolved["incident_updates"]] == ["resolved", "monitoring", "investigating"]
    assert statuses(org_a) == {api: ComponentStatus.OPERATIONAL, web_id: ComponentStatus.OPERATIONAL}
    assert events(org_a, created["id"]) == [
        EventKind.INCIDENT_CREATED,
        EventKind.INCIDENT_UPDATED,
        EventKind.INCIDENT_RESOLVED,
    ]


def test_patch_without_a_message_status_or_component_edits_the_incident_without_an_update(
    admin_client, org_a
):
    incident_id = org_a.ids["incident"]

    response = patch(
        admin_client,
        org_a,
        incident_id,
        name="Acme REST outage",
        impact_override="critical",
        status="identified",
        metadata={"jira": {"issue": "OPS-1"}},
        reminder_intervals="4",
        deliver_notifications=False,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Acme REST outage"
    assert (body["impact"], body["impact_override"]) == ("critical", "critical")
    assert body["metadata"] == {"jira": {"issue": "OPS-1"}}
    assert body["reminder_intervals"] == "4"
    assert len(body["incident_updates"]) == 2
    assert audit_actions(org_a, incident_id)[-1] == "incident.edited"
    replaced = patch(admin_client, org_a, incident_id, metadata={"pager": {"id": "P1"}}, impact_override=None)
    assert replaced.get_json()["metadata"] == {"pager": {"id": "P1"}}
    assert replaced.get_json()["impact_override"] is None
    assert stored(org_a, incident_id).metadata_ == {"pager": {"id": "P1"}}


def test_patch_component_ids_adds_affected_components_without_changing_them(admin_client, org_a):
    incident_id, web_id = org_a.ids["incident"], org_a.ids["component_web"]

    response = patch(
        admin_client, org_a, incident_id, component_ids=[web_id], body="The web app is affected too."
    )

    assert response.status_code == 200
    body = response.get_json()
    assert web_id in {c["id"] for c in body["components"]}
    assert body["incident_updates"][0]["affected_components"] is None
    assert statuses(org_a)[web_id] is ComponentStatus.OPERATIONAL
    assert "incident.components_affected" in audit_actions(org_a, incident_id)


def test_put_updates_like_patch(admin_client, org_a):
    response = admin_client.put(
        incidents_url(org_a, f"/{org_a.ids['incident']}"),
        json={"incident": {"status": "monitoring", "body": "Watching."}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    assert response.get_json()["incident_updates"][0]["status"] == "monitoring"


def test_a_bracket_form_encoded_incident_is_created_like_json(admin_client, org_a):
    web_id = org_a.ids["component_web"]

    response = admin_client.post(
        incidents_url(org_a) + ".json",
        data={
            "incident[name]": "Form incident",
            "incident[status]": "investigating",
            f"incident[components][{web_id}]": "major_outage",
            "incident[component_ids][]": web_id,
            "incident[deliver_notifications]": "false",
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert [c["status"] for c in body["components"]] == ["major_outage"]
    assert events(org_a, body["id"]) == []


# --- scheduled maintenance ---------------------------------------------------------------------


def test_a_scheduled_window_goes_in_progress_then_completed_moving_its_components(admin_client, web, org_a):
    web_id = org_a.ids["component_web"]
    starts = utcnow() + timedelta(hours=1)

    created = create(
        admin_client,
        org_a,
        name="Release 42",
        status="scheduled",
        scheduled_for=at(starts),
        scheduled_until=at(starts + timedelta(hours=2)),
        body="We will deploy release 42.",
        component_ids=[web_id],
    )

    assert created.status_code == 201
    window = created.get_json()
    assert set(window) == INCIDENT_KEYS
    assert (window["status"], window["impact"]) == ("scheduled", "maintenance")
    assert window["scheduled_for"] == at(starts)
    assert [c["id"] for c in window["components"]] == [web_id]
    upcoming = public_json(web, org_a, "/api/v2/scheduled-maintenances/upcoming.json")
    assert window["id"] in {m["id"] for m in upcoming["scheduled_maintenances"]}

    started = patch(admin_client, org_a, window["id"], status="in_progress", body="Deploying.")

    assert started.status_code == 200
    assert started.get_json()["status"] == "in_progress"
    assert started.get_json()["components"][0]["status"] == "under_maintenance"
    assert statuses(org_a)[web_id] is ComponentStatus.UNDER_MAINTENANCE
    active = public_json(web, org_a, "/api/v2/scheduled-maintenances/active.json")
    assert window["id"] in {m["id"] for m in active["scheduled_maintenances"]}

    completed = patch(admin_client, org_a, window["id"], status="completed", body="Release 42 is out.")

    assert completed.status_code == 200
    body = completed.get_json()
    assert body["status"] == "completed" and body["resolved_at"] is not None
    assert [u["status"] for u in body["incident_updates"]] == ["completed", "in_progress", "scheduled"]
    assert body["incident_updates"][0]["affected_components"] == [
        {"code": web_id, "name": "Acme Web", "old_status": "under_maintenance", "new_status": "operational"}
    ]
    assert statuses(org_a)[web_id] is ComponentStatus.OPERATIONAL
    assert events(org_a, window["id"]) == [
        EventKind.MAINTENANCE_SCHEDULED,
        EventKind.MAINTENANCE_STARTED,
        EventKind.MAINTENANCE_COMPLETED,
    ]


def test_a_scheduled_window_stores_every_flag_it_is_given(admin_client, org_a):
    starts = utcnow() + timedelta(days=3)

    response = create(
        admin_client,
        org_a,
        name="Database upgrade",
        status="scheduled",
        impact_override="minor",
        scheduled_for=at(starts),
        scheduled_until=at(starts + timedelta(hours=3)),
        scheduled_remind_prior=False,
        scheduled_auto_transition=False,
        scheduled_auto_completed=True,
        auto_transition_to_maintenance_state=True,
        auto_transition_to_operational_state=False,
        auto_transition_deliver_notifications_at_start=False,
        auto_transition_deliver_notifications_at_end=True,
        metadata={"change": {"ticket": "CHG-9"}},
        deliver_notifications=False,
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["scheduled_remind_prior"] is False
    assert body["scheduled_auto_in_progress"] is False
    assert body["scheduled_auto_completed"] is True
    assert body["auto_transition_to_maintenance_state"] is True
    assert body["auto_transition_to_operational_state"] is False
    assert body["auto_transition_deliver_notifications_at_start"] is False
    assert body["auto_transition_deliver_notifications_at_end"] is True
    assert (body["impact"], body["impact_override"]) == ("minor", "minor")
    assert body["metadata"] == {"change": {"ticket": "CHG-9"}}
    window = stored(org_a, body["id"])
    assert window.scheduled_auto_in_progress is False and window.auto_transition_to_operational_state is False
    assert events(org_a, body["id"]) == []


def test_a_window_created_in_progress_is_started_at_once_and_announced_once(admin_client, org_a):
    web_id = org_a.ids["component_web"]

    response = create(
        admin_client,
        org_a,
        name="Emergency patch",
        status="in_progress",
        scheduled_until=at(utcnow() + timedelta(hours=1)),
        body="Patching now.",
        component_ids=[web_id],
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "in_progress"
    assert body["incident_updates"][0]["body"] == "Patching now."
    assert [u["status"] for u in body["incident_updates"]] == ["in_progress", "scheduled"]
    assert statuses(org_a)[web_id] is ComponentStatus.UNDER_MAINTENANCE
    assert events(org_a, body["id"]) == [EventKind.MAINTENANCE_STARTED]


def test_completing_a_window_that_never_started_starts_it_then_completes_it(admin_client, org_a):
    window_id, web_id = org_a.ids["maintenance"], org_a.ids["component_web"]

    response = patch(admin_client, org_a, window_id, status="completed", body="Done early.")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "completed"
    assert [u["status"] for u in body["incident_updates"]] == ["completed", "in_progress", "scheduled"]
    assert body["incident_updates"][0]["body"] == "Done early."
    assert statuses(org_a)[web_id] is ComponentStatus.OPERATIONAL
    assert events(org_a, window_id)[-1] is EventKind.MAINTENANCE_COMPLETED
    assert EventKind.MAINTENANCE_STARTED not in events(org_a, window_id)


def test_patch_reschedules_a_window_and_changes_its_flags(admin_client, org_a):
    window_id = org_a.ids["maintenance"]
    starts = utcnow() + timedelta(days=5)

    response = patch(
        admin_client,
        org_a,
        window_id,
        name="Acme upgrade, moved",
        scheduled_for=at(starts),
        scheduled_until=at(starts + timedelta(hours=4)),
        scheduled_remind_prior=False,
        auto_transition_to_operational_state=False,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Acme upgrade, moved"
    assert (body["scheduled_for"], body["scheduled_until"]) == (at(starts), at(starts + timedelta(hours=4)))
    assert body["scheduled_remind_prior"] is False
    assert body["auto_transition_to_operational_state"] is False
    assert body["auto_transition_to_maintenance_state"] is True
    assert len(body["incident_updates"]) == 1
    assert {"maintenance.rescheduled", "maintenance.updated"} <= set(audit_actions(org_a, window_id))
    assert events(org_a, window_id)[-1] is EventKind.MAINTENANCE_RESCHEDULED


# --- backfilled incidents ----------------------------------------------------------------------


def test_a_backfilled_incident_is_resolved_at_its_date_and_notifies_nobody(admin_client, org_a):
    before = statuses(org_a)

    response = create(
        admin_client,
        org_a,
        name="Outage last Tuesday",
        backfilled=True,
        backfill_date="2024-06-04T10:00:00Z",
        impact_override="minor",
        body="Historical incident imported after the fact.",
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "resolved"
    assert body["created_at"] == body["resolved_at"] == "2024-06-04T10:00:00.000Z"
    (update,) = body["incident_updates"]
    assert (update["status"], update["display_at"]) == ("resolved", "2024-06-04T10:00:00.000Z")
    assert update["deliver_notifications"] is False
    assert body["impact"] == "minor"
    assert stored(org_a, body["id"]).is_backfilled is True
    assert events(org_a, body["id"]) == []
    assert statuses(org_a) == before


def test_a_backfilled_date_without_a_time_is_midnight_on_the_pages_clock(admin_client, org_a):
    response = create(admin_client, org_a, name="Old blip", backfilled=True, backfill_date="2024-06-04")

    assert response.status_code == 201
    assert response.get_json()["resolved_at"] == "2024-06-04T00:00:00.000Z"  # the page's zone is UTC


# --- lists -------------------------------------------------------------------------------------


def test_the_list_holds_incidents_and_maintenance_newest_first(admin_client, org_a):
    newer = create(admin_client, org_a, name="Brand new trouble").get_json()["id"]

    response = admin_client.get(incidents_url(org_a), headers=auth(org_a))

    assert response.status_code == 200
    listed = [i["id"] for i in response.get_json()]
    assert listed[0] == newer
    assert set(listed) == {newer, org_a.ids["incident"], org_a.ids["maintenance"]}
    assert all(set(i) == INCIDENT_KEYS for i in response.get_json())


def test_the_list_searches_names_and_pages_with_limit(admin_client, org_a):
    create(admin_client, org_a, name="Payments DOWN")
    create(admin_client, org_a, name="Search slow")

    found = admin_client.get(incidents_url(org_a) + "?q=payments", headers=auth(org_a)).get_json()
    first = admin_client.get(incidents_url(org_a) + "?limit=2&page=1", headers=auth(org_a)).get_json()
    second = admin_client.get(incidents_url(org_a) + "?limit=2&page=2", headers=auth(org_a)).get_json()
    # Past the maximum, the page holds 100 (Statuspage imposes its maximum rather than refusing).
    too_many = admin_client.get(incidents_url(org_a) + "?limit=101", headers=auth(org_a))
    hundred = admin_client.get(incidents_url(org_a) + "?limit=100", headers=auth(org_a))
    bad = admin_client.get(incidents_url(org_a) + "?limit=many", headers=auth(org_a))

    assert [i["name"] for i in found] == ["Payments DOWN"]
    assert [len(first), len(second)] == [2, 2]
    assert not {i["id"] for i in first} & {i["id"] for i in second}
    assert too_many.status_code == 200 and too_many.get_json() == hundred.get_json()
    assert bad.status_code == 400 and bad.get_json()["field"] == "limit"


def test_the_selection_lists_pick_open_incidents_scheduled_upcoming_and_active_windows(admin_client, org_a):
    overdue = add_window(org_a, starts_in=-timedelta(hours=1), name="Overdue flush")
    running = add_window(org_a, starts_in=timedelta(hours=5), name="Running flush")
    with tenant_session(org_a.tenant_id) as s:
        start_window(s, s.get(Incident, running), actor=ACTOR)
        resolved = open_incident(
            s, s.get(Page, org_a.page_id), name="Resolved", actor=ACTOR, status=IncidentStatus.RESOLVED
        )
        s.commit()

    def ids(suffix: str) -> list[str]:
        response = admin_client.get(incidents_url(org_a, suffix), headers=auth(org_a))
        assert response.status_code == 200
        return [i["id"] for i in response.get_json()]

    assert ids("/unresolved") == [org_a.ids["incident"]]
    assert resolved.id not in ids("/unresolved")
    assert ids("/scheduled") == [overdue, org_a.ids["maintenance"]]
    assert ids("/upcoming") == [org_a.ids["maintenance"]]
    assert ids("/active_maintenance") == [running]
    assert ids("/scheduled?page=2&per_page=1") == [org_a.ids["maintenance"]]


# --- one incident, delete, past updates ---------------------------------------------------------


def test_get_answers_the_incident_with_its_updates_newest_first(admin_client, org_a):
    response = admin_client.get(incidents_url(org_a, f"/{org_a.ids['incident']}.json"), headers=auth(org_a))

    assert response.status_code == 200
    body = response.get_json()
    assert [u["status"] for u in body["incident_updates"]] == ["identified", "investigating"]
    assert body["incident_updates"][0]["affected_components"] is None
    assert body["incident_updates"][1]["affected_components"][0]["new_status"] == "major_outage"
    assert body["incident_updates"][1]["affected_components"][0]["name"] == "Acme API - Acme REST"


def test_delete_answers_the_deleted_incident_and_removes_it(admin_client, web, org_a):
    incident_id = org_a.ids["incident"]

    response = admin_client.delete(incidents_url(org_a, f"/{incident_id}"), headers=auth(org_a))

    assert response.status_code == 200
    assert response.get_json()["id"] == incident_id
    assert set(response.get_json()) == INCIDENT_KEYS
    assert stored(org_a, incident_id) is None
    assert admin_client.get(incidents_url(org_a, f"/{incident_id}"), headers=auth(org_a)).status_code == 404
    summary = public_json(web, org_a, "/api/v2/summary.json")
    assert incident_id not in {i["id"] for i in summary["incidents"]}
    assert audit_actions(org_a, incident_id)[-1] == "incident.deleted"


def test_a_past_update_is_corrected_in_its_message_and_time(admin_client, org_a):
    incident_id = org_a.ids["incident"]
    with tenant_session(org_a.tenant_id) as s:
        first = s.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(IncidentUpdate.display_at)
        ).first()
        first_id, first_at = first.id, first.display_at
    earlier = first_at - timedelta(minutes=30)

    response = admin_client.patch(
        incidents_url(org_a, f"/{incident_id}/incident_updates/{first_id}"),
        json={
            "incident_update": {
                "body": "Corrected wording.",
                "display_at": at(earlier),
                "deliver_notifications": False,
                "wants_twitter_update": False,
            }
        },
        headers=auth(org_a),
    )

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == UPDATE_KEYS
    assert (body["id"], body["body"], body["display_at"]) == (first_id, "Corrected wording.", at(earlier))
    assert body["deliver_notifications"] is False
    assert at(stored(org_a, incident_id).started_at) == at(earlier)
    assert "incident_update.edited" in audit_actions(org_a, incident_id)


def test_an_update_of_another_incident_is_not_found(admin_client, org_a):
    response = admin_client.patch(
        incidents_url(org_a, f"/{org_a.ids['maintenance']}/incident_updates/{org_a.ids['update']}"),
        json={"incident_update": {"body": "Moved"}},
        headers=auth(org_a),
    )

    assert response.status_code == 404


def test_another_organizations_incident_is_not_found_and_left_alone(admin_client, org_a, org_b):
    before = settled_fingerprint(admin_client, org_a, of=org_b)
    incident = incidents_url(org_a, f"/{org_b.ids['incident']}")
    update = f"{incident}/incident_updates/{org_b.ids['update']}"

    answers = [
        admin_client.get(incident, headers=auth(org_a)),
        admin_client.patch(incident, json={"incident": {"body": "Taken over"}}, headers=auth(org_a)),
        admin_client.put(incident, json={"incident": {"name": "Taken over"}}, headers=auth(org_a)),
        admin_client.delete(incident, headers=auth(org_a)),
        admin_client.patch(update, json={"incident_update": {"body": "Taken over"}}, headers=auth(org_a)),
        admin_client.get(f"/v1/pages/{org_b.page_id}/incidents", headers=auth(org_a)),
    ]

    assert [a.status_code for a in answers] == [404] * 6
    assert fingerprint(org_b.tenant_id) == before


def test_another_organizations_component_is_unknown_to_a_new_incident(admin_client, org_a, org_b):
    before = settled_fingerprint(admin_client, org_a)

    response = create(admin_client, org_a, name="Sneaky", components={org_b.ids["component"]: "major_outage"})

    assert response.status_code == 422
    assert response.get_json()["field"] == "incident.components"
    assert fingerprint(org_a.tenant_id) == before


# --- refusals ----------------------------------------------------------------------------------


def _future(hours: int) -> str:
    return at(utcnow() + timedelta(hours=hours))


BAD_CREATES = {
    "no name": ({"status": "investigating"}, "incident.name"),
    "long name": ({"name": "x" * 256}, "incident.name"),
    "long body": ({"name": "Long", "body": "x" * 25_001}, "incident.body"),
    "30,000-character body": ({"name": "Long", "body": "Timeouts. " * 3_000}, "incident.body"),
    "unknown status": ({"name": "Odd", "status": "exploded"}, "incident.status"),
    "postmortem status": ({"name": "Odd", "status": "postmortem"}, "incident.status"),
    "unknown component": (
        {"name": "Odd", "components": {"nosuchcompo": "major_outage"}},
        "incident.components",
    ),
    "unknown component id": ({"name": "Odd", "component_ids": ["nosuchcompo"]}, "incident.component_ids"),
    "component ids not a list": ({"name": "Odd", "component_ids": {"a": 1}}, "incident.component_ids"),
    "components not a map": ({"name": "Odd", "components": ["a"]}, "incident.components"),
    "maintenance impact": ({"name": "Odd", "impact_override": "maintenance"}, "incident.impact_override"),
    "unknown impact": ({"name": "Odd", "impact_override": "apocalyptic"}, "incident.impact_override"),
    "metadata value not an object": ({"name": "Odd", "metadata": {"jira": "OPS-1"}}, "incident.metadata"),
    "metadata not an object": ({"name": "Odd", "metadata": ["x"]}, "incident.metadata"),
    "reminder intervals out of range": (
        {"name": "Odd", "reminder_intervals": "[3, 30]"},
        "incident.reminder_intervals",
    ),
    "reminder intervals not increasing": (
        {"name": "Odd", "reminder_intervals": "[6, 3]"},
        "incident.reminder_intervals",
    ),
    "scheduled without a start": (
        {"name": "Odd", "status": "scheduled", "scheduled_until": _future(2)},
        "incident.scheduled_for",
    ),
    "scheduled without an end": (
        {"name": "Odd", "status": "scheduled", "scheduled_for": _future(2)},
        "incident.scheduled_until",
    ),
    "scheduled ending before it starts": (
        {"name": "Odd", "status": "scheduled", "scheduled_for": _future(3), "scheduled_until": _future(2)},
        "incident.scheduled_until",
    ),
    "scheduled time without a zone": (
        {
            "name": "Odd",
            "status": "scheduled",
            "scheduled_for": "2030-05-07T03:00",
            "scheduled_until": _future(2),
        },
        "incident.scheduled_for",
    ),
    "completed window in the past": (
        {"name": "Odd", "status": "completed", "scheduled_until": at(utcnow() - timedelta(hours=1))},
        "incident.scheduled_until",
    ),
    "started window starting later": (
        {"name": "Odd", "status": "in_progress", "scheduled_for": _future(2), "scheduled_until": _future(3)},
        "incident.scheduled_for",
    ),
    "backfilled with components": (
        {
            "name": "Odd",
            "backfilled": True,
            "backfill_date": "2024-06-04T10:00:00Z",
            "components": {"nosuchcompo": "major_outage"},
        },
        "incident.components",
    ),
    "backfilled with component ids": (
        {"name": "Odd", "backfilled": True, "backfill_date": "2024-06-04", "component_ids": ["x"]},
        "incident.component_ids",
    ),
    "backfilled without a date": ({"name": "Odd", "backfilled": True}, "incident.backfill_date"),
    "backfilled in the future": (
        {"name": "Odd", "backfilled": True, "backfill_date": _future(5)},
        "incident.backfill_date",
    ),
    "backfilled on a bad date": (
        {"name": "Odd", "backfilled": True, "backfill_date": "2024-13-40"},
        "incident.backfill_date",
    ),
}


@pytest.mark.parametrize("fields, field", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_a_bad_incident_is_refused_naming_the_field_and_nothing_is_written(
    admin_client, org_a, fields, field
):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.post(incidents_url(org_a), json={"incident": fields}, headers=auth(org_a))

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_a_component_status_outside_the_enumeration_is_refused(admin_client, org_a):
    before = settled_fingerprint(admin_client, org_a)

    response = create(admin_client, org_a, name="Odd", components={org_a.ids["component_web"]: "on_fire"})

    assert response.status_code == 422
    assert response.get_json()["field"] == "incident.components"
    assert "on_fire" in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    "body",
    [{"name": "No envelope"}, {"incidents": {"name": "Plural"}}, {"incident": "a string"}],
    ids=["bare", "plural", "not an object"],
)
def test_a_body_without_the_incident_envelope_is_refused(admin_client, org_a, body):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.post(incidents_url(org_a), json=body, headers=auth(org_a))

    assert response.status_code == 400
    assert response.get_json()["field"] == "incident"
    assert fingerprint(org_a.tenant_id) == before


BAD_PATCHES = {
    "incident status on a window": ("maintenance", {"status": "resolved"}, "incident.status"),
    "window status on an incident": ("incident", {"status": "in_progress"}, "incident.status"),
    "unknown status": ("incident", {"status": "exploded"}, "incident.status"),
    "window end before its start": (
        "maintenance",
        {"scheduled_until": at(utcnow() + timedelta(hours=1))},
        "incident.scheduled_until",
    ),
    "long body": ("incident", {"body": "x" * 25_001}, "incident.body"),
    "empty name": ("incident", {"name": ""}, "incident.name"),
    "unknown component": ("incident", {"components": {"nosuchcompo": "operational"}}, "incident.components"),
    "bad component status": ("incident", {"components": {"x": 3}}, "incident.components"),
    "unknown component id": ("maintenance", {"component_ids": ["nosuchcompo"]}, "incident.component_ids"),
    "metadata value not an object": ("incident", {"metadata": {"a": [1]}}, "incident.metadata"),
    "maintenance impact on an incident": (
        "incident",
        {"impact_override": "maintenance"},
        "incident.impact_override",
    ),
}


@pytest.mark.parametrize("kind, fields, field", BAD_PATCHES.values(), ids=BAD_PATCHES.keys())
def test_a_bad_update_is_refused_naming_the_field_and_nothing_is_written(
    admin_client, org_a, kind, fields, field
):
    before = settled_fingerprint(admin_client, org_a)

    response = patch(admin_client, org_a, org_a.ids[kind], **fields)

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"display_at": "2999-01-01T00:00:00Z"}, "incident_update.display_at"),
        ({"display_at": "yesterday"}, "incident_update.display_at"),
        ({"body": "x" * 25_001}, "incident_update.body"),
        ({"deliver_notifications": "maybe"}, "incident_update.deliver_notifications"),
    ],
    ids=["future", "not a time", "long body", "not a boolean"],
)
def test_a_bad_correction_of_an_update_is_refused(admin_client, org_a, fields, field):
    before = settled_fingerprint(admin_client, org_a)
    url = incidents_url(org_a, f"/{org_a.ids['incident']}/incident_updates/{org_a.ids['update']}")

    response = admin_client.patch(url, json={"incident_update": fields}, headers=auth(org_a))

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_a_window_in_progress_does_not_step_back_to_scheduled(admin_client, org_a):
    window_id = org_a.ids["maintenance"]
    with tenant_session(org_a.tenant_id) as s:
        start_window(s, s.get(Incident, window_id), actor=ACTOR)
        s.commit()
    before = settled_fingerprint(admin_client, org_a)

    response = patch(admin_client, org_a, window_id, status="scheduled", body="Again")

    assert response.status_code == 422
    assert response.get_json()["field"] == "incident.status"
    assert fingerprint(org_a.tenant_id) == before


def test_a_window_sent_back_as_it_was_read_is_not_rescheduled(admin_client, org_a):
    window_id = org_a.ids["maintenance"]
    url = incidents_url(org_a, f"/{window_id}")
    read = admin_client.get(url, headers=auth(org_a)).get_json()
    echoed = {key: read[key] for key in ("name", "status", "scheduled_for", "scheduled_until")}
    before = events(org_a, window_id)

    response = admin_client.put(url, json={"incident": echoed}, headers=auth(org_a))

    assert response.status_code == 200
    assert response.get_json()["incident_updates"] == read["incident_updates"]
    assert events(org_a, window_id) == before
    assert "maintenance.rescheduled" not in audit_actions(org_a, window_id)


def test_components_given_to_a_scheduled_window_are_covered_and_set_once_it_runs(admin_client, org_a):
    window_id, api, web_id = org_a.ids["maintenance"], org_a.ids["component"], org_a.ids["component_web"]

    covered = patch(admin_client, org_a, window_id, components={api: "under_maintenance"})

    assert covered.status_code == 200
    assert {c["id"] for c in covered.get_json()["components"]} == {api, web_id}
    assert len(covered.get_json()["incident_updates"]) == 1
    assert statuses(org_a)[api] is ComponentStatus.MAJOR_OUTAGE

    started = patch(
        admin_client, org_a, window_id, status="in_progress", components={web_id: "degraded_performance"}
    )

    assert started.status_code == 200
    assert statuses(org_a) == {
        api: ComponentStatus.UNDER_MAINTENANCE,
        web_id: ComponentStatus.DEGRADED_PERFORMANCE,
    }
    assert started.get_json()["incident_updates"][0]["body"].startswith("Scheduled maintenance is currently")


def test_q_finds_incidents_by_an_updates_message_or_their_status_as_statuspage_searches(admin_client, org_a):
    create(admin_client, org_a, name="Checkout errors", body="Card payments time out at the gateway")
    by_name = admin_client.get(incidents_url(org_a) + "?q=checkout", headers=auth(org_a)).get_json()
    by_update = admin_client.get(incidents_url(org_a) + "?q=GATEWAY", headers=auth(org_a)).get_json()
    by_status = admin_client.get(incidents_url(org_a) + "?q=identified", headers=auth(org_a)).get_json()
    nothing = admin_client.get(incidents_url(org_a) + "?q=no+such+words", headers=auth(org_a)).get_json()
    assert [i["name"] for i in by_name] == ["Checkout errors"]
    assert [i["name"] for i in by_update] == ["Checkout errors"]
    # The factory's incident was last updated to Identified.
    assert [i["name"] for i in by_status] == ["Acme outage"]
    assert nothing == []
