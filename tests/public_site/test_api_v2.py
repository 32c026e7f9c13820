"""The public Status API v2: endpoints, object shapes, enumerations, selection rules and the status rollup.

Expected key sets and JSON types are transcribed from the Statuspage captures described in the
reference README (section A.1): v2/components.json and v2/components-with-groups.json (components),
v2/incidents.json (incidents.json items), v2/incidents-unresolved.json and v2/summary.json
(unresolved and summary items), v2/scheduled-maintenances-upcoming.json (maintenances).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentStatus
from tenants.components.services import create_component, create_group, set_component_status
from tenants.incidents.models import Impact, Incident, IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.maintenance.services import complete_window, schedule_window, start_window
from tenants.pages.models import Page
from tests.factories import ACTOR

ENDPOINTS = {
    "/api/v2/summary.json": {"page", "components", "incidents", "scheduled_maintenances", "status"},
    "/api/v2/status.json": {"page", "status"},
    "/api/v2/components.json": {"page", "components"},
    "/api/v2/incidents.json": {"page", "incidents"},
    "/api/v2/incidents/unresolved.json": {"page", "incidents"},
    "/api/v2/scheduled-maintenances.json": {"page", "scheduled_maintenances"},
    "/api/v2/scheduled-maintenances/upcoming.json": {"page", "scheduled_maintenances"},
    "/api/v2/scheduled-maintenances/active.json": {"page", "scheduled_maintenances"},
}
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}

COMPONENT_FIELDS = {
    "id": {"str"},
    "name": {"str"},
    "status": {"str"},
    "created_at": {"str"},
    "updated_at": {"str"},
    "position": {"int"},
    "description": {"str", "null"},
    "showcase": {"bool"},
    "start_date": {"str", "null"},
    "group_id": {"str", "null"},
    "page_id": {"str"},
    "group": {"bool"},
    "only_show_if_degraded": {"bool"},
}
GROUP_FIELDS = {**COMPONENT_FIELDS, "components": {"list"}}
INCIDENT_FIELDS = {
    "id": {"str"},
    "name": {"str"},
    "status": {"str"},
    "created_at": {"str"},
    "updated_at": {"str"},
    "monitoring_at": {"str", "null"},
    "resolved_at": {"str", "null"},
    "impact": {"str"},
    "shortlink": {"str"},
    "started_at": {"str"},
    "page_id": {"str"},
    "incident_updates": {"list"},
    "components": {"list"},
}
# incidents.json items also carry reminder_intervals (null in the capture, a string such as "[3, 6, 12, 24]").
LISTED_INCIDENT_FIELDS = {**INCIDENT_FIELDS, "reminder_intervals": {"str", "null"}}
MAINTENANCE_FIELDS = {**INCIDENT_FIELDS, "scheduled_for": {"str"}, "scheduled_until": {"str"}}
UPDATE_FIELDS = {
    "id": {"str"},
    "status": {"str"},
    "body": {"str"},
    "incident_id": {"str"},
    "created_at": {"str"},
    "updated_at": {"str"},
    "display_at": {"str"},
    "affected_components": {"list", "null"},
    "deliver_notifications": {"bool"},
    "custom_tweet": {"null"},
    "tweet_id": {"null"},
}
AFFECTED_FIELDS = {"code": {"str"}, "name": {"str"}, "old_status": {"str"}, "new_status": {"str"}}

COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
IMPACTS = {"none", "minor", "major", "critical", "maintenance"}
STATUS_PAIRS = {
    ("none", "All Systems Operational"),
    ("minor", "Partially Degraded Service"),
    ("minor", "Degraded System Service"),
    ("minor", "Minor Service Outage"),
    ("major", "Partial System Outage"),
    ("critical", "Major System Outage"),
    ("maintenance", "Service Under Maintenance"),
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMESTAMP_KEYS = {
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "started_at",
    "display_at",
    "scheduled_for",
    "scheduled_until",
}


# --- helpers -----------------------------------------------------------------------------------


def get_json(web, org, path: str) -> dict[str, Any]:
    response = web.get(path, headers={"Host": org.host})
    assert response.status_code == 200, (path, response.status_code)
    return response.get_json()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "dict"


def assert_shape(obj: dict[str, Any], fields: dict[str, set[str]], what: str) -> None:
    assert set(obj) == set(fields), f"{what} keys differ: {sorted(set(obj) ^ set(fields))}"
    for key, allowed in fields.items():
        assert json_type(obj[key]) in allowed, f"{what}.{key} is {json_type(obj[key])}, not one of {allowed}"


def assert_component_shape(component: dict[str, Any]) -> None:
    if component["group"]:
        assert_shape(component, GROUP_FIELDS, f"group {component['name']}")
        assert all(isinstance(child, str) for child in component["components"])
    else:
        assert_shape(component, COMPONENT_FIELDS, f"component {component['name']}")


def assert_incident_shape(incident: dict[str, Any], fields: dict[str, set[str]]) -> None:
    assert_shape(incident, fields, f"incident {incident['name']}")
    for update in incident["incident_updates"]:
        assert_shape(update, UPDATE_FIELDS, "incident_update")
        assert update["incident_id"] == incident["id"]
        for change in update["affected_components"] or []:
            assert_shape(change, AFFECTED_FIELDS, "affected_component")
    for component in incident["components"]:
        assert_component_shape(component)


def walk(value: Any):
    """Every (key, value) pair of every object inside a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def resolve(org, incident_id: str) -> None:
    with tenant_session(org.tenant_id) as s:
        post_update(
            s, s.get(Incident, incident_id), actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed"
        )
        s.commit()


def status_of(web, org) -> dict[str, str]:
    return get_json(web, org, "/api/v2/status.json")["status"]


def enrich(org) -> dict[str, str]:
    """More on org's page: a second group, a described component, incidents and windows in every state.

    The fixture's window stays scheduled; one window is in progress, one verifying, one completed.
    """
    now = utcnow()
    ids: dict[str, str] = {}
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        data = create_group(s, page, name="Data", actor=ACTOR, description="Storage")
        db = create_component(s, page, name="Database", group=data, actor=ACTOR, description="Primary")
        cache = create_component(s, page, name="Cache", group=data, actor=ACTOR, start_date=date(2024, 1, 2))
        cdn = create_component(s, page, name="CDN", actor=ACTOR)
        ids.update(group=data.id, database=db.id, cache=cache.id, cdn=cdn.id)
        for status in (IncidentStatus.INVESTIGATING, IncidentStatus.MONITORING):
            incident = open_incident(
                s,
                page,
                name=f"Incident {status.value}",
                actor=ACTOR,
                status=status,
                body=f"We are {status.value}",
                components={cache.id: ComponentStatus.DEGRADED_PERFORMANCE},
            )
            ids[status.value] = incident.id
        solved = open_incident(
            s,
            page,
            name="Incident resolved",
            actor=ACTOR,
            body="Slow",
            components={cdn.id: ComponentStatus.PARTIAL_OUTAGE},
        )
        post_update(s, solved, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fast again")
        ids["resolved"] = solved.id
        windows = {}
        for name, hours in (("in_progress", 1), ("verifying", 2), ("completed", 3)):
            windows[name] = schedule_window(
                s,
                page,
                name=f"Window {name}",
                actor=ACTOR,
                body="Planned work",
                scheduled_for=now - timedelta(hours=hours),
                scheduled_until=now + timedelta(hours=hours),
                component_ids=[db.id],
                auto_transition_components=False,
            )
            start_window(s, windows[name], actor=ACTOR)
            ids[f"window_{name}"] = windows[name].id
        post_update(s, windows["verifying"], actor=ACTOR, status=IncidentStatus.VERIFYING, body="Checking")
        complete_window(s, windows["completed"], actor=ACTOR)
        s.commit()
    return ids


# --- every endpoint ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_every_endpoint_answers_cors_json_with_the_captures_top_level_keys(web, org_a, path):
    response = web.get(path, headers={"Host": org_a.host})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = json.loads(response.get_data(as_text=True))
    assert set(body) == ENDPOINTS[path]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_every_endpoint_begins_with_the_page_object(web, org_a, path):
    page = get_json(web, org_a, path)["page"]
    assert set(page) == PAGE_KEYS
    assert page["id"] == org_a.page_id
    assert page["name"] == "Acme"
    assert page["url"] == "http://acme.pages.test"
    assert page["time_zone"] == "UTC"
    assert TIMESTAMP.match(page["updated_at"])


# --- shapes ------------------------------------------------------------------------------------


def test_components_have_the_captures_fields_and_types(web, org_a):
    enrich(org_a)
    components = get_json(web, org_a, "/api/v2/components.json")["components"]
    assert components
    for component in components:
        assert_component_shape(component)
        assert component["page_id"] == org_a.page_id
    by_name = {c["name"]: c for c in components}
    assert by_name["Database"]["description"] == "Primary"
    assert by_name["Cache"]["start_date"] == "2024-01-02"
    assert by_name["Acme Web"]["start_date"] is None


def test_groups_list_their_children_and_leaves_have_no_components_key(web, org_a):
    ids = enrich(org_a)
    components = get_json(web, org_a, "/api/v2/components.json")["components"]
    by_id = {c["id"]: c for c in components}
    api_group = by_id[org_a.ids["group"]]
    assert api_group["group"] is True and api_group["group_id"] is None
    assert api_group["components"] == [org_a.ids["component"]]
    data_group = by_id[ids["group"]]
    assert data_group["group"] is True and data_group["description"] == "Storage"
    assert data_group["components"] == [ids["database"], ids["cache"]]
    for child_id in (ids["database"], ids["cache"]):
        assert by_id[child_id]["group_id"] == ids["group"]
    assert by_id[org_a.ids["component"]]["group_id"] == org_a.ids["group"]
    for leaf in (c for c in components if not c["group"]):
        assert "components" not in leaf
    assert by_id[org_a.ids["component_web"]]["group_id"] is None
    # a group's status is the worst of its children's
    assert api_group["status"] == "major_outage"
    assert data_group["status"] == "degraded_performance"


def test_summary_components_are_the_same_objects_as_components_json(web, org_a):
    enrich(org_a)
    summary = get_json(web, org_a, "/api/v2/summary.json")
    assert summary["components"] == get_json(web, org_a, "/api/v2/components.json")["components"]


def test_incidents_json_items_have_the_captures_fields_including_reminder_intervals(web, org_a):
    enrich(org_a)
    incidents = get_json(web, org_a, "/api/v2/incidents.json")["incidents"]
    assert len(incidents) == 4
    for incident in incidents:
        assert_incident_shape(incident, LISTED_INCIDENT_FIELDS)
        assert incident["page_id"] == org_a.page_id
        assert incident["shortlink"].startswith("http")


def test_unresolved_and_summary_incidents_have_no_reminder_intervals(web, org_a):
    enrich(org_a)
    unresolved = get_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"]
    summary = get_json(web, org_a, "/api/v2/summary.json")["incidents"]
    assert unresolved and summary
    for incident in unresolved + summary:
        assert "reminder_intervals" not in incident
        assert_incident_shape(incident, INCIDENT_FIELDS)


def test_incident_updates_are_newest_first_with_the_captures_fields(web, org_a):
    with tenant_session(org_a.tenant_id) as s:
        incident = s.get(Incident, org_a.ids["incident"])
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.MONITORING, body="Fix deployed")
        s.commit()
    incident = get_json(web, org_a, "/api/v2/incidents.json")["incidents"][0]
    updates = incident["incident_updates"]
    assert [u["status"] for u in updates] == ["monitoring", "identified", "investigating"]
    assert [u["body"] for u in updates] == ["Fix deployed", "Acme cause found", "Acme is down"]
    assert [u["display_at"] for u in updates] == sorted((u["display_at"] for u in updates), reverse=True)
    for update in updates:
        assert_shape(update, UPDATE_FIELDS, "incident_update")
        assert update["incident_id"] == incident["id"]
        assert update["deliver_notifications"] is True
        assert update["custom_tweet"] is None and update["tweet_id"] is None
    assert updates[0]["affected_components"] is None  # this update changed no component


def test_affected_components_name_grouped_components_group_dash_component(web, org_a):
    with tenant_session(org_a.tenant_id) as s:
        incident = s.get(Incident, org_a.ids["incident"])
        post_update(
            s,
            incident,
            actor=ACTOR,
            body="Web is slow too",
            components={org_a.ids["component_web"]: ComponentStatus.DEGRADED_PERFORMANCE},
        )
        s.commit()
    incident = get_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"][0]
    first = incident["incident_updates"][-1]["affected_components"]
    assert first == [
        {
            "code": org_a.ids["component"],
            "name": "Acme API - Acme REST",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    latest = incident["incident_updates"][0]["affected_components"]
    assert latest == [
        {
            "code": org_a.ids["component_web"],
            "name": "Acme Web",
            "old_status": "operational",
            "new_status": "degraded_performance",
        }
    ]
    # the incident's components: the affected leaves with their current status
    assert {c["id"]: c["status"] for c in incident["components"]} == {
        org_a.ids["component"]: "major_outage",
        org_a.ids["component_web"]: "degraded_performance",
    }
    for component in incident["components"]:
        assert_shape(component, COMPONENT_FIELDS, "incident component")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/api/v2/summary.json",
    ],
)
def test_maintenances_have_the_captures_fields_with_their_window(web, org_a, path):
    enrich(org_a)
    maintenances = get_json(web, org_a, path)["scheduled_maintenances"]
    assert maintenances
    for maintenance in maintenances:
        assert_incident_shape(maintenance, MAINTENANCE_FIELDS)
        assert maintenance["impact"] == "maintenance"
        assert maintenance["scheduled_for"] < maintenance["scheduled_until"]


def test_the_fixture_window_shows_its_schedule_and_component(web, org_a):
    body = get_json(web, org_a, "/api/v2/scheduled-maintenances/upcoming.json")
    (window,) = body["scheduled_maintenances"]
    assert window["id"] == org_a.ids["maintenance"] and window["name"] == "Acme upgrade"
    assert window["status"] == "scheduled"
    assert [c["id"] for c in window["components"]] == [org_a.ids["component_web"]]
    starts = datetime.fromisoformat(window["scheduled_for"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(window["scheduled_until"].replace("Z", "+00:00"))
    assert ends - starts == timedelta(hours=1)
    assert timedelta(days=1) < starts - utcnow() <= timedelta(days=2)


# --- enumerations and timestamps ---------------------------------------------------------------


def test_enumerated_values_stay_within_the_reference_sets(web, org_a):
    enrich(org_a)
    summary = get_json(web, org_a, "/api/v2/summary.json")
    incidents = get_json(web, org_a, "/api/v2/incidents.json")["incidents"]
    maintenances = get_json(web, org_a, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    components = summary["components"] + [c for i in incidents + maintenances for c in i["components"]]
    assert {c["status"] for c in components} <= COMPONENT_STATUSES
    assert {i["status"] for i in incidents} <= INCIDENT_STATUSES
    assert {m["status"] for m in maintenances} <= MAINTENANCE_STATUSES
    assert {i["impact"] for i in incidents + maintenances} <= IMPACTS
    updates = [u for i in incidents + maintenances for u in i["incident_updates"]]
    assert {u["status"] for u in updates} <= INCIDENT_STATUSES | MAINTENANCE_STATUSES
    changes = [c for u in updates for c in u["affected_components"] or []]
    assert changes
    assert {c["old_status"] for c in changes} | {c["new_status"] for c in changes} <= COMPONENT_STATUSES
    status = summary["status"]
    assert set(status) == {"indicator", "description"}
    assert (status["indicator"], status["description"]) in STATUS_PAIRS


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_timestamps_are_utc_with_milliseconds_and_z(web, org_a, path):
    enrich(org_a)
    stamps = [
        value
        for key, value in walk(get_json(web, org_a, path))
        if key in TIMESTAMP_KEYS and value is not None
    ]
    assert stamps
    for value in stamps:
        assert TIMESTAMP.match(value), value
    dates = [value for key, value in walk(get_json(web, org_a, path)) if key == "start_date" and value]
    for value in dates:
        assert re.match(r"^\d{4}-\d\d-\d\d$", value), value


# --- ordering and selection --------------------------------------------------------------------


def test_components_are_sorted_by_position(web, org_a):
    enrich(org_a)
    components = get_json(web, org_a, "/api/v2/components.json")["components"]
    positions = [c["position"] for c in components]
    assert positions == sorted(positions)
    by_name = {c["name"]: c["position"] for c in components}
    # top level: Acme API (group) 1, Acme Web 2, Data (group) 3, CDN 4; children count within their group
    assert (by_name["Acme API"], by_name["Acme Web"], by_name["Data"], by_name["CDN"]) == (1, 2, 3, 4)
    assert (by_name["Acme REST"], by_name["Database"], by_name["Cache"]) == (1, 1, 2)


def test_unresolved_lists_only_investigating_identified_and_monitoring(web, org_a):
    ids = enrich(org_a)
    incidents = get_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"]
    assert {i["id"] for i in incidents} == {org_a.ids["incident"], ids["investigating"], ids["monitoring"]}
    assert {i["status"] for i in incidents} == {"investigating", "identified", "monitoring"}


def test_incidents_json_includes_resolved_incidents_newest_first(web, org_a):
    ids = enrich(org_a)
    incidents = get_json(web, org_a, "/api/v2/incidents.json")["incidents"]
    assert {i["id"] for i in incidents} == {
        org_a.ids["incident"],
        ids["investigating"],
        ids["monitoring"],
        ids["resolved"],
    }
    resolved = next(i for i in incidents if i["id"] == ids["resolved"])
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["impact"] == "major"  # the worst moment: partial outage
    started = [i["started_at"] for i in incidents]
    assert started == sorted(started, reverse=True)
    assert all(i["status"] in INCIDENT_STATUSES for i in incidents)


def test_incidents_json_holds_the_50_most_recent(web, org_a):
    now = utcnow()
    old = {}
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        for n in range(1, 56):
            began = now - timedelta(days=n, hours=1)
            incident = open_incident(
                s, page, name=f"Backfilled {n}", actor=ACTOR, body="It happened", backfill_at=began
            )
            post_update(
                s,
                incident,
                actor=ACTOR,
                status=IncidentStatus.RESOLVED,
                body="It was fixed",
                display_at=began + timedelta(minutes=30),
            )
            old[n] = incident.id
        s.commit()
    incidents = get_json(web, org_a, "/api/v2/incidents.json")["incidents"]
    assert len(incidents) == 50
    expected = [org_a.ids["incident"]] + [old[n] for n in range(1, 50)]
    assert [i["id"] for i in incidents] == expected
    assert all(i["status"] == "resolved" for i in incidents[1:])
    unresolved = get_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"]
    assert [i["id"] for i in unresolved] == [org_a.ids["incident"]]


def test_upcoming_lists_only_scheduled_windows(web, org_a):
    enrich(org_a)
    windows = get_json(web, org_a, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [w["id"] for w in windows] == [org_a.ids["maintenance"]]
    assert all(w["status"] == "scheduled" for w in windows)


def test_active_lists_only_in_progress_and_verifying_windows(web, org_a):
    ids = enrich(org_a)
    windows = get_json(web, org_a, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert {w["id"]: w["status"] for w in windows} == {
        ids["window_in_progress"]: "in_progress",
        ids["window_verifying"]: "verifying",
    }


def test_starting_the_fixture_window_moves_it_from_upcoming_to_active(web, org_a):
    upcoming = "/api/v2/scheduled-maintenances/upcoming.json"
    active = "/api/v2/scheduled-maintenances/active.json"
    assert get_json(web, org_a, active)["scheduled_maintenances"] == []
    assert len(get_json(web, org_a, upcoming)["scheduled_maintenances"]) == 1
    with tenant_session(org_a.tenant_id) as s:
        start_window(s, s.get(Incident, org_a.ids["maintenance"]), actor=ACTOR)
        s.commit()
    (window,) = get_json(web, org_a, active)["scheduled_maintenances"]
    assert window["id"] == org_a.ids["maintenance"] and window["status"] == "in_progress"
    assert window["incident_updates"][0]["status"] == "in_progress"
    assert window["components"][0]["status"] == "under_maintenance"
    assert get_json(web, org_a, upcoming)["scheduled_maintenances"] == []


def test_scheduled_maintenances_json_includes_completed_windows(web, org_a):
    ids = enrich(org_a)
    windows = get_json(web, org_a, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert {w["id"]: w["status"] for w in windows} == {
        org_a.ids["maintenance"]: "scheduled",
        ids["window_in_progress"]: "in_progress",
        ids["window_verifying"]: "verifying",
        ids["window_completed"]: "completed",
    }
    completed = next(w for w in windows if w["id"] == ids["window_completed"])
    assert completed["resolved_at"] is not None


def test_summary_lists_upcoming_and_in_progress_windows_but_not_completed_ones(web, org_a):
    ids = enrich(org_a)
    windows = get_json(web, org_a, "/api/v2/summary.json")["scheduled_maintenances"]
    assert {w["id"] for w in windows} == {
        org_a.ids["maintenance"],
        ids["window_in_progress"],
        ids["window_verifying"],
    }
    assert ids["window_completed"] not in {w["id"] for w in windows}


def test_summary_lists_only_unresolved_incidents(web, org_a):
    ids = enrich(org_a)
    incidents = get_json(web, org_a, "/api/v2/summary.json")["incidents"]
    assert {i["id"] for i in incidents} == {org_a.ids["incident"], ids["investigating"], ids["monitoring"]}
    assert ids["resolved"] not in {i["id"] for i in incidents}


# --- the status object -------------------------------------------------------------------------


def test_status_json_and_summary_agree(web, org_a):
    enrich(org_a)
    assert status_of(web, org_a) == get_json(web, org_a, "/api/v2/summary.json")["status"]


def test_all_operational_is_none_all_systems_operational(web, org_a):
    resolve(org_a, org_a.ids["incident"])  # the scheduled window does not count until it starts
    assert status_of(web, org_a) == {"indicator": "none", "description": "All Systems Operational"}


def test_one_major_outage_among_several_components_is_a_partial_system_outage(web, org_a):
    resolve(org_a, org_a.ids["incident"])
    with tenant_session(org_a.tenant_id) as s:
        set_component_status(
            s, s.get(Component, org_a.ids["component_web"]), ComponentStatus.MAJOR_OUTAGE, actor=ACTOR
        )
        s.commit()
    assert status_of(web, org_a) == {"indicator": "major", "description": "Partial System Outage"}


def test_an_open_incidents_impact_raises_the_components_rollup(web, org_a):
    # components alone: one major outage of two (major); the open incident's impact is critical
    assert status_of(web, org_a) == {"indicator": "critical", "description": "Major System Outage"}


def test_an_incident_with_impact_override_critical_and_operational_components_is_critical(web, org_a):
    resolve(org_a, org_a.ids["incident"])
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Payments failing", actor=ACTOR, impact_override=Impact.CRITICAL)
        s.commit()
    components = get_json(web, org_a, "/api/v2/components.json")["components"]
    assert {c["status"] for c in components} == {"operational"}
    assert status_of(web, org_a) == {"indicator": "critical", "description": "Major System Outage"}
    (incident,) = get_json(web, org_a, "/api/v2/incidents/unresolved.json")["incidents"]
    assert incident["impact"] == "critical"


def test_a_minor_incident_without_degraded_components_is_a_minor_service_outage(web, org_a):
    resolve(org_a, org_a.ids["incident"])
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Slow emails", actor=ACTOR, impact_override=Impact.MINOR)
        s.commit()
    assert status_of(web, org_a) == {"indicator": "minor", "description": "Minor Service Outage"}


def test_a_window_in_progress_with_nothing_worse_is_service_under_maintenance(web, org_a):
    resolve(org_a, org_a.ids["incident"])
    with tenant_session(org_a.tenant_id) as s:
        start_window(s, s.get(Incident, org_a.ids["maintenance"]), actor=ACTOR)
        s.commit()
    assert status_of(web, org_a) == {"indicator": "maintenance", "description": "Service Under Maintenance"}


def test_a_window_in_progress_that_leaves_components_operational_still_shows_maintenance(web, org_a):
    resolve(org_a, org_a.ids["incident"])
    now = utcnow()
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        window = schedule_window(
            s,
            page,
            name="Quiet upgrade",
            actor=ACTOR,
            scheduled_for=now,
            scheduled_until=now + timedelta(hours=1),
            component_ids=[org_a.ids["component"]],
            auto_transition_components=False,
        )
        start_window(s, window, actor=ACTOR)
        s.commit()
    components = get_json(web, org_a, "/api/v2/components.json")["components"]
    assert {c["status"] for c in components} == {"operational"}
    assert status_of(web, org_a) == {"indicator": "maintenance", "description": "Service Under Maintenance"}


# --- freshness and isolation -------------------------------------------------------------------


def test_a_posted_update_is_visible_at_the_next_read(web, org_a):
    path = "/api/v2/incidents/unresolved.json"
    before = get_json(web, org_a, path)["incidents"][0]
    assert before["status"] == "identified"
    with tenant_session(org_a.tenant_id) as s:
        post_update(
            s,
            s.get(Incident, org_a.ids["incident"]),
            actor=ACTOR,
            status=IncidentStatus.MONITORING,
            body="Fixed?",
        )
        s.commit()
    after = get_json(web, org_a, path)["incidents"][0]
    assert after["status"] == "monitoring" and after["monitoring_at"] is not None
    assert after["incident_updates"][0]["body"] == "Fixed?"
    assert len(after["incident_updates"]) == len(before["incident_updates"]) + 1
    resolve(org_a, org_a.ids["incident"])
    assert get_json(web, org_a, path)["incidents"] == []


def test_a_component_status_change_is_visible_at_the_next_read(web, org_a):
    path = "/api/v2/components.json"
    web_status = {c["id"]: c["status"] for c in get_json(web, org_a, path)["components"]}
    assert web_status[org_a.ids["component_web"]] == "operational"
    with tenant_session(org_a.tenant_id) as s:
        set_component_status(
            s, s.get(Component, org_a.ids["component_web"]), ComponentStatus.PARTIAL_OUTAGE, actor=ACTOR
        )
        s.commit()
    after = {c["id"]: c for c in get_json(web, org_a, path)["components"]}
    assert after[org_a.ids["component_web"]]["status"] == "partial_outage"
    assert after[org_a.ids["component_web"]]["updated_at"] > after[org_a.ids["component_web"]]["created_at"]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_another_organizations_objects_never_appear(web, org_a, org_b, path):
    with tenant_session(org_b.tenant_id) as s:
        start_window(s, s.get(Incident, org_b.ids["maintenance"]), actor=ACTOR)
        s.commit()
    text = web.get(path, headers={"Host": org_a.host}).get_data(as_text=True)
    assert "Acme" in text
    assert "Globex" not in text and "globex" not in text
    for object_id in (org_b.page_id, org_b.ids["component"], org_b.ids["incident"], org_b.ids["maintenance"]):
        assert object_id not in text
    other = web.get(path, headers={"Host": org_b.host}).get_data(as_text=True)
    assert "Globex" in other and "Acme" not in other


def test_started_at_is_the_creation_time_for_incidents_and_windows(web, org_a):
    # Every capture has started_at a few milliseconds before created_at, scheduled windows included
    # (v2/scheduled-maintenances-upcoming.json: created 2020-02-11, started_at 2020-02-11, scheduled_for
    # 2020-02-15); the window itself is told by scheduled_for / scheduled_until.
    summary = get_json(web, org_a, "/api/v2/summary.json")
    items = summary["incidents"] + summary["scheduled_maintenances"]
    assert {i["id"] for i in items} == {org_a.ids["incident"], org_a.ids["maintenance"]}
    for item in items:
        started = datetime.fromisoformat(item["started_at"].replace("Z", "+00:00"))
        created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        assert timedelta(0) <= created - started < timedelta(seconds=1), (item["name"], started, created)
