"""Incidents in the admin: create, update, resolve, edit, backfill, postmortems, 404 across organizations."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Impact, Incident, IncidentStatus, IncidentType, IncidentUpdate, Template
from tenants.incidents.services import create_incident_type, open_incident, post_update
from tenants.pages.models import Page
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.conftest import fingerprint, post_form
from tests.factories import ACTOR
from tests.public_site.test_snapshot import count_statements


def base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/incidents"


def incident_form(org, **overrides) -> dict[str, str]:
    data = {
        "name": "Checkout errors",
        "status": "investigating",
        "body": "We are looking into **failed** payments.",
        "impact": "derived",
        "incident_type_id": "",
        "deliver_notifications__present": "1",
        "deliver_notifications": "1",
        f"component:{org.ids['component']}": "major_outage",
        f"component:{org.ids['component_web']}": "degraded_performance",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def create_incident(client, org, **overrides) -> str:
    response = post_form(client, f"{base(org)}/", incident_form(org, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/incidents/([a-z0-9]+)$", response.headers["Location"])
    assert match
    return match.group(1)


def update_form(org, status: str, **overrides) -> dict[str, str]:
    data = {
        "status": status,
        "body": f"Now {status}.",
        "restore_components__present": "1",
        "restore_components": "1",
        "deliver_notifications__present": "1",
        "deliver_notifications": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def component_status(org, key: str) -> ComponentStatus:
    with tenant_session(org.tenant_id) as s:
        return s.get(Component, org.ids[key]).status


def load(org, incident_id: str) -> dict[str, object]:
    with tenant_session(org.tenant_id) as s:
        incident = s.get(Incident, incident_id)
        return {
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "started_at": incident.started_at,
            "resolved_at": incident.resolved_at,
            "updates": [(u.status, u.body) for u in incident.updates],
            "update_ids": [u.id for u in incident.updates],
            "type": incident.incident_type_id,
            "backfilled": incident.is_backfilled,
        }


def unresolved(web, org) -> list[str]:
    response = web.get("/api/v2/incidents/unresolved.json", headers={"Host": org.host})
    assert response.status_code == 200
    return [incident["name"] for incident in response.get_json()["incidents"]]


def selected_option(page: str, name: str) -> str:
    """The value of the selected option of the select named `name` ('' when none is)."""
    start = page.index(f'name="{name}"')
    select = page[start : page.index("</select>", start)]
    match = re.search(r'<option value="([^"]*)" selected', select)
    return match.group(1) if match else ""


def events_of(org, incident_id: str) -> list[EventKind]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(select(NotificationEvent.kind).where(NotificationEvent.incident_id == incident_id))
        )


# --- creating -------------------------------------------------------------------------------------


def test_the_create_form_reads_like_the_message_subscribers_get(staff_client, org_a):
    page = staff_client.get(f"{base(org_a)}/new").get_data(as_text=True)
    order = [
        'name="name"',
        'name="status" value="investigating" checked',
        'name="body"',
        f'name="component:{org_a.ids["component"]}"',
        'name="impact"',
        'name="incident_type_id"',
        'name="deliver_notifications" value="1" checked',
        "Create incident</button>",
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "Derived from components" in page and 'data-preview="preview-body"' in page
    assert "data-template-picker" in page and f"{org_a.name} template" in page


def test_creating_an_incident_sets_its_components_and_the_public_api_shows_it(
    staff_client, org_a, org_b, web
):
    incident_id = create_incident(staff_client, org_a)
    assert component_status(org_a, "component") is ComponentStatus.MAJOR_OUTAGE
    assert component_status(org_a, "component_web") is ComponentStatus.DEGRADED_PERFORMANCE
    assert "Checkout errors" in unresolved(web, org_a)
    assert "Checkout errors" not in unresolved(web, org_b)
    page = staff_client.get(f"{base(org_a)}/{incident_id}").get_data(as_text=True)
    assert "<strong>failed</strong> payments" in page and "impact-critical" in page
    assert f"{org_a.owner_email}" in page and 'id="update"' in page
    assert set(events_of(org_a, incident_id)) == {EventKind.INCIDENT_CREATED, EventKind.COMPONENT_UPDATED}


def test_the_impact_is_derived_from_the_components_unless_one_is_chosen(staff_client, org_a):
    derived = create_incident(
        staff_client, org_a, **{f"component:{org_a.ids['component']}": "partial_outage"}
    )
    chosen = create_incident(staff_client, org_a, name="Chosen", impact="minor")
    assert load(org_a, derived)["impact"] is Impact.MAJOR
    assert load(org_a, chosen)["impact"] is Impact.MINOR


def test_an_incident_created_without_notifying_records_no_notification_events(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a, deliver_notifications=None)
    assert events_of(org_a, incident_id) == []
    assert component_status(org_a, "component") is ComponentStatus.MAJOR_OUTAGE


def test_a_template_fills_the_new_incident_form(staff_client, org_a):
    template_id = org_a.ids["template"]
    with tenant_session(org_a.tenant_id) as s:
        template = s.get(Template, template_id)
        template.update_status = IncidentStatus.IDENTIFIED
        template.components[0].status = ComponentStatus.PARTIAL_OUTAGE
        s.commit()
    page = staff_client.get(f"{base(org_a)}/new?template={template_id}").get_data(as_text=True)
    assert f'value="{org_a.name} degraded"' in page and "We are on it</textarea>" in page
    assert 'name="status" value="identified" checked' in page
    assert selected_option(page, f"component:{org_a.ids['component']}") == "partial_outage"
    assert selected_option(page, f"component:{org_a.ids['component_web']}") == ""


def test_a_template_of_another_organization_is_404(staff_client, org_a, org_b):
    assert staff_client.get(f"{base(org_a)}/new?template={org_b.ids['template']}").status_code == 404
    incident = org_a.ids["incident"]
    assert staff_client.get(f"{base(org_a)}/{incident}?template={org_b.ids['template']}").status_code == 404


# --- updating and resolving ---------------------------------------------------------------------


def test_identified_then_resolved_sets_the_components_back_to_operational(staff_client, org_a, web):
    incident_id = create_incident(staff_client, org_a)
    # The form comes back with every affected component at its current status.
    current = {
        f"component:{org_a.ids['component']}": "major_outage",
        f"component:{org_a.ids['component_web']}": "degraded_performance",
    }
    url = f"{base(org_a)}/{incident_id}/updates"
    assert post_form(staff_client, url, update_form(org_a, "identified", **current)).status_code == 302
    assert component_status(org_a, "component") is ComponentStatus.MAJOR_OUTAGE
    assert post_form(staff_client, url, update_form(org_a, "resolved", **current)).status_code == 302
    assert component_status(org_a, "component") is ComponentStatus.OPERATIONAL
    assert component_status(org_a, "component_web") is ComponentStatus.OPERATIONAL
    state = load(org_a, incident_id)
    assert state["status"] is IncidentStatus.RESOLVED and state["impact"] is Impact.CRITICAL
    assert [status for status, _ in state["updates"]] == [
        IncidentStatus.RESOLVED,
        IncidentStatus.IDENTIFIED,
        IncidentStatus.INVESTIGATING,
    ]
    assert "Checkout errors" not in unresolved(web, org_a)
    page = staff_client.get(f"{base(org_a)}/{incident_id}").get_data(as_text=True)
    assert page.index("<strong>Resolved</strong>") < page.index("<strong>Identified</strong>")
    assert "This incident has been resolved" in page


def test_resolving_with_the_box_unchecked_leaves_the_components_as_they_are(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a)
    form = update_form(org_a, "resolved", restore_components=None)
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/updates", form).status_code == 302
    assert load(org_a, incident_id)["status"] is IncidentStatus.RESOLVED
    assert component_status(org_a, "component") is ComponentStatus.MAJOR_OUTAGE


def test_an_update_can_change_one_component_and_leave_the_others(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a)
    form = update_form(
        org_a,
        "monitoring",
        **{
            f"component:{org_a.ids['component']}": "operational",
            f"component:{org_a.ids['component_web']}": "degraded_performance",
        },
    )
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/updates", form).status_code == 302
    assert component_status(org_a, "component") is ComponentStatus.OPERATIONAL
    assert component_status(org_a, "component_web") is ComponentStatus.DEGRADED_PERFORMANCE


def test_an_update_without_notifying_records_no_notification_events(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a, deliver_notifications=None)
    form = update_form(org_a, "resolved", deliver_notifications=None)
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/updates", form).status_code == 302
    assert component_status(org_a, "component") is ComponentStatus.OPERATIONAL
    assert events_of(org_a, incident_id) == []


def test_the_update_form_starts_from_the_current_status_and_components(staff_client, org_a):
    page = staff_client.get(f"{base(org_a)}/{org_a.ids['incident']}").get_data(as_text=True)
    form = page[page.index('id="update"') :]
    assert 'value="identified" checked' in form
    assert selected_option(form, f"component:{org_a.ids['component']}") == "major_outage"
    assert selected_option(form, f"component:{org_a.ids['component_web']}") == ""
    assert 'name="restore_components" value="1" checked' in form
    assert 'name="deliver_notifications" value="1" checked' in form


# --- editing ---------------------------------------------------------------------------------------


def test_the_title_impact_and_type_can_be_edited(staff_client, org_a, web):
    incident_id = org_a.ids["incident"]
    with tenant_session(org_a.tenant_id) as s:
        major = s.scalars(select(IncidentType.id).where(IncidentType.name == "Major")).one()
    form = {"name": "Renamed outage", "impact": "minor", "incident_type_id": major}
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}", form)
    assert response.status_code == 302
    state = load(org_a, incident_id)
    assert state["name"] == "Renamed outage" and state["impact"] is Impact.MINOR and state["type"] == major
    assert "Renamed outage" in unresolved(web, org_a)
    post_form(staff_client, f"{base(org_a)}/{incident_id}", {**form, "impact": "derived"})
    assert load(org_a, incident_id)["impact"] is Impact.CRITICAL


def test_a_past_update_can_be_edited_and_deleted(staff_client, org_a):
    incident_id = org_a.ids["incident"]
    newest, oldest = load(org_a, incident_id)["update_ids"]
    edit = staff_client.get(f"{base(org_a)}/{incident_id}/updates/{oldest}/edit")
    assert edit.status_code == 200 and f"{org_a.name} is down" in edit.get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        first = s.get(IncidentUpdate, oldest)
        earlier = (first.display_at - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        expected_start = datetime.fromisoformat(earlier).replace(tzinfo=ZoneInfo("UTC"))
    form = {"body": "It was down since dawn", "display_at": earlier}
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}/updates/{oldest}", form)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/incidents/{incident_id}")
    state = load(org_a, incident_id)
    assert state["updates"][-1] == (IncidentStatus.INVESTIGATING, "It was down since dawn")
    assert state["started_at"] == expected_start
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}/updates/{newest}/delete")
    assert response.status_code == 302
    state = load(org_a, incident_id)
    assert state["update_ids"] == [oldest] and state["status"] is IncidentStatus.INVESTIGATING


def test_the_only_update_cannot_be_deleted(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a)
    (only,) = load(org_a, incident_id)["update_ids"]
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}/updates/{only}/delete")
    assert response.status_code == 200 and "only update" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


def test_an_update_cannot_move_past_the_one_after_it(staff_client, org_a):
    incident_id = org_a.ids["incident"]
    newest, oldest = load(org_a, incident_id)["update_ids"]
    with tenant_session(org_a.tenant_id) as s:
        s.get(IncidentUpdate, oldest).display_at = utcnow() - timedelta(hours=4)
        s.get(IncidentUpdate, newest).display_at = utcnow() - timedelta(hours=3)
        s.commit()
    later = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    before = fingerprint(org_a.tenant_id)
    form = {"body": "Moved", "display_at": later}
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}/updates/{oldest}", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="field invalid"' in page
    assert "cannot be after the update after it" in page
    assert fingerprint(org_a.tenant_id) == before


def test_an_incident_can_be_deleted(staff_client, org_a, web):
    incident_id = create_incident(staff_client, org_a)
    edit = staff_client.get(f"{base(org_a)}/{incident_id}/edit").get_data(as_text=True)
    assert "data-confirm=" in edit and "Delete the incident Checkout errors" in edit
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/delete").status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Incident, incident_id) is None
    assert "Checkout errors" not in unresolved(web, org_a)


# --- lists -----------------------------------------------------------------------------------------


def test_the_list_shows_open_incidents_first_and_searches_titles(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        old = open_incident(s, page, name="Old DNS trouble", actor=ACTOR)
        post_update(s, old, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed")
        s.commit()
    listing = staff_client.get(f"{base(org_a)}/").get_data(as_text=True)
    assert listing.index(f"{org_a.name} outage") < listing.index("Past incidents") < listing.index("Old DNS")
    found = staff_client.get(f"{base(org_a)}/?q=dns").get_data(as_text=True)
    assert "Old DNS trouble" in found and f"{org_a.name} outage" not in found


def test_past_incidents_page_past_fifty(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        start = utcnow() - timedelta(days=200)
        for number in range(52):
            incident = open_incident(
                s, page, name=f"Blip {number:02d}", actor=ACTOR, backfill_at=start + timedelta(days=number)
            )
            post_update(
                s,
                incident,
                actor=ACTOR,
                status=IncidentStatus.RESOLVED,
                display_at=start + timedelta(days=number, hours=1),
            )
        s.commit()
    first = staff_client.get(f"{base(org_a)}/").get_data(as_text=True)
    assert "Blip 51" in first and "Blip 01" not in first and "?p=2" in first
    second = staff_client.get(f"{base(org_a)}/?p=2").get_data(as_text=True)
    assert "Blip 01" in second and "Blip 00" in second and "Blip 51" not in second


def add_typed_incidents(org, count: int, first: int = 0) -> None:
    """`count` open incidents, each of its own type (so no type is shared between rows)."""
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        for number in range(first, first + count):
            kind = create_incident_type(s, actor=ACTOR, name=f"Kind {number:02d}", color="#3366cc")
            open_incident(
                s,
                page,
                name=f"Typed incident {number:02d}",
                actor=ACTOR,
                incident_type_id=kind.id,
                deliver_notifications=False,
            )
        s.commit()


def test_the_list_costs_the_same_statements_for_3_incidents_as_for_12(staff_client, org_a, org_b, connection):
    url = f"{base(org_a)}/"
    add_typed_incidents(org_a, 3)
    staff_client.get(url)
    few = count_statements(connection, lambda: staff_client.get(url))
    add_typed_incidents(org_a, 9, first=3)
    many = count_statements(connection, lambda: staff_client.get(url))
    listing = staff_client.get(url).get_data(as_text=True)
    assert listing.count(">Typed incident ") == 12 and "Kind 11" in listing
    assert f"{org_b.name} outage" not in listing
    assert few == many


def incident_with_updates(org, count: int) -> str:
    """An incident whose timeline holds `count` updates, each changing a component."""
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        component = org.ids["component"]
        incident = open_incident(
            s,
            page,
            name=f"Flapping {count}",
            actor=ACTOR,
            components={component: ComponentStatus.MAJOR_OUTAGE},
            deliver_notifications=False,
        )
        for number in range(1, count):
            post_update(
                s,
                incident,
                actor=ACTOR,
                body=f"Step {number}",
                components={
                    component: ComponentStatus.PARTIAL_OUTAGE if number % 2 else ComponentStatus.MAJOR_OUTAGE
                },
                deliver_notifications=False,
            )
        s.commit()
        return incident.id


def test_the_incident_page_costs_the_same_statements_for_3_updates_as_for_12(staff_client, org_a, connection):
    short, long = incident_with_updates(org_a, 3), incident_with_updates(org_a, 12)
    staff_client.get(f"{base(org_a)}/{short}")
    few = count_statements(connection, lambda: staff_client.get(f"{base(org_a)}/{short}"))
    many = count_statements(connection, lambda: staff_client.get(f"{base(org_a)}/{long}"))
    page = staff_client.get(f"{base(org_a)}/{long}").get_data(as_text=True)
    assert len(re.findall(r'<p class="muted">[^<]*Acme REST: <span', page)) == 12 and "Step 11" in page
    assert few == many


def test_a_huge_page_number_shows_an_empty_page_not_an_error(staff_client, org_a):
    response = staff_client.get(f"{base(org_a)}/?p=99999999999999999999")
    assert response.status_code == 200 and "Page 100000" in response.get_data(as_text=True)


def test_maintenance_windows_are_not_incidents_here_but_their_updates_can_be_edited(staff_client, org_a):
    window = org_a.ids["maintenance"]
    assert staff_client.get(f"{base(org_a)}/{window}").status_code == 404
    assert staff_client.get(f"{base(org_a)}/{window}/edit").status_code == 404
    assert staff_client.get(f"{base(org_a)}/{window}/postmortem").status_code == 404
    with tenant_session(org_a.tenant_id) as s:
        (update,) = [u.id for u in s.get(Incident, window).updates]
    edit = staff_client.get(f"{base(org_a)}/{window}/updates/{update}/edit")
    assert edit.status_code == 200
    with tenant_session(org_a.tenant_id) as s:
        display_at = s.get(IncidentUpdate, update).display_at.strftime("%Y-%m-%dT%H:%M")
    form = {"body": "Corrected announcement", "display_at": display_at}
    response = post_form(staff_client, f"{base(org_a)}/{window}/updates/{update}", form)
    assert response.status_code == 302 and f"/maintenance/{window}" in response.headers["Location"]
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(IncidentUpdate, update).body == "Corrected announcement"


# --- backfill ---------------------------------------------------------------------------------------


def test_a_backfilled_incident_keeps_its_own_times_and_shows_in_the_history(staff_client, org_a, web):
    zone = ZoneInfo("America/New_York")
    with tenant_session(org_a.tenant_id) as s:
        s.get(Page, org_a.page_id).time_zone = "America/New_York"
        s.commit()
    day = (utcnow().astimezone(zone) - timedelta(days=3)).date()
    form = {
        "name": "Nightly import stalled",
        "started_at": f"{day.isoformat()}T09:15",
        "resolved_at": f"{day.isoformat()}T11:45",
        "body": "Imports stopped.",
        "resolution": "Imports caught up.",
        f"component:{org_a.ids['component_web']}": "partial_outage",
        "impact": "derived",
    }
    events_before = fingerprint(org_a.tenant_id)["notification_events"]
    response = post_form(staff_client, f"{base(org_a)}/backfill", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    incident_id = response.headers["Location"].rsplit("/", 1)[1]
    state = load(org_a, incident_id)
    start = datetime(day.year, day.month, day.day, 9, 15, tzinfo=zone)
    assert state["started_at"] == start and state["resolved_at"] == start + timedelta(hours=2, minutes=30)
    assert state["backfilled"] and state["impact"] is Impact.MAJOR
    assert state["updates"] == [
        (IncidentStatus.RESOLVED, "Imports caught up."),
        (IncidentStatus.INVESTIGATING, "Imports stopped."),
    ]
    assert component_status(org_a, "component_web") is ComponentStatus.OPERATIONAL
    assert fingerprint(org_a.tenant_id)["notification_events"] == events_before
    public = web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    assert "Nightly import stalled" in public
    assert "Nightly import stalled" not in web.get("/", headers={"Host": "globex.pages.test"}).get_data(
        as_text=True
    )
    shown = staff_client.get(f"{base(org_a)}/{incident_id}").get_data(as_text=True)
    assert "09:15 EST" in shown or "09:15 EDT" in shown


# --- postmortems -------------------------------------------------------------------------------------


def resolved_incident(client, org) -> str:
    incident_id = create_incident(client, org)
    post_form(client, f"{base(org)}/{incident_id}/updates", update_form(org, "resolved"))
    return incident_id


def test_a_postmortem_draft_is_private_until_published(staff_client, org_a, web):
    incident_id = resolved_incident(staff_client, org_a)
    url = f"{base(org_a)}/{incident_id}/postmortem"
    body = "## Root cause\n\nA certificate expired."
    assert post_form(staff_client, url, {"postmortem_body": body}).status_code == 302
    public = f"/incidents/{incident_id}"
    assert "certificate expired" not in web.get(public, headers={"Host": org_a.host}).get_data(as_text=True)
    form = {"postmortem_body": body, "notify__present": "1"}
    assert post_form(staff_client, f"{url}/publish", form).status_code == 302
    page = web.get(public, headers={"Host": org_a.host}).get_data(as_text=True)
    assert "A certificate expired." in page and "Root cause</h2>" in page
    assert load(org_a, incident_id)["status"] is IncidentStatus.RESOLVED
    assert EventKind.POSTMORTEM_PUBLISHED not in events_of(org_a, incident_id)
    assert post_form(staff_client, f"{url}/unpublish").status_code == 302
    assert "certificate expired" not in web.get(public, headers={"Host": org_a.host}).get_data(as_text=True)


def test_publishing_a_postmortem_can_notify_subscribers(staff_client, org_a):
    incident_id = resolved_incident(staff_client, org_a)
    form = {"postmortem_body": "What happened.", "notify__present": "1", "notify": "1"}
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/postmortem/publish", form).status_code == 302
    assert events_of(org_a, incident_id).count(EventKind.POSTMORTEM_PUBLISHED) == 1


def test_a_postmortem_cannot_be_published_while_the_incident_is_open(staff_client, org_a):
    incident_id = create_incident(staff_client, org_a)
    before = fingerprint(org_a.tenant_id)
    form = {"postmortem_body": "Too early", "notify__present": "1", "notify": "1"}
    response = post_form(staff_client, f"{base(org_a)}/{incident_id}/postmortem/publish", form)
    assert response.status_code == 200 and "Resolve the incident before publishing" in response.get_data(
        as_text=True
    )
    assert fingerprint(org_a.tenant_id) == before


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "Title is required"),
        ({"component:bogus123456": "major_outage"}, "components", "Unknown component"),
        ({"status": "exploded"}, "status", "The status must be one of"),
        ({"impact": "apocalyptic"}, "impact", "The impact must be"),
        ({"incident_type_id": "nosuchtype12"}, "incident_type_id", "incident types"),
    ],
)
def test_bad_incident_input_marks_the_field_and_changes_nothing(
    staff_client, org_a, overrides, field, message
):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/", incident_form(org_a, **overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'aria-invalid="true"' in page and f'aria-describedby="{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_bad_component_status_marks_the_components(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    form = incident_form(org_a, **{f"component:{org_a.ids['component']}": "on_fire"})
    page = post_form(staff_client, f"{base(org_a)}/", form).get_data(as_text=True)
    assert "is not a component status" in page and 'class="field components invalid"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_component_of_another_organization_is_refused(staff_client, org_a, org_b):
    before = fingerprint(org_a.tenant_id)
    form = incident_form(org_a, **{f"component:{org_b.ids['component']}": "major_outage"})
    page = post_form(staff_client, f"{base(org_a)}/", form).get_data(as_text=True)
    assert "Unknown component" in page and 'aria-describedby="components-error"' in page
    assert fingerprint(org_a.tenant_id) == before
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Component, org_b.ids["component"]).status is ComponentStatus.MAJOR_OUTAGE


def test_a_bad_update_status_marks_the_field_and_changes_nothing(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    url = f"{base(org_a)}/{org_a.ids['incident']}/updates"
    response = post_form(staff_client, url, update_form(org_a, "in_progress"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'aria-describedby="status-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_backfill_resolved_before_it_started_is_refused(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    day = (utcnow() - timedelta(days=2)).date().isoformat()
    form = {"name": "Backwards", "started_at": f"{day}T10:00", "resolved_at": f"{day}T09:00", "body": "x"}
    response = post_form(staff_client, f"{base(org_a)}/backfill", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "resolved after it started" in page
    assert 'class="field invalid"' in page and 'aria-describedby="resolved_at-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_backfill_resolved_in_the_future_is_refused(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    start = (utcnow() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    end = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"name": "Not over yet", "started_at": start, "resolved_at": end}
    page = post_form(staff_client, f"{base(org_a)}/backfill", form).get_data(as_text=True)
    assert "cannot be in the future" in page and 'aria-describedby="resolved_at-error"' in page
    assert fingerprint(org_a.tenant_id) == before


# --- roles and organizations ---------------------------------------------------------------------


def test_a_viewer_reads_incidents_but_cannot_write_them(client_as, org_a):
    viewer = client_as("viewer")
    assert viewer.get(f"{base(org_a)}/{org_a.ids['incident']}").status_code == 200
    before = fingerprint(org_a.tenant_id)
    assert post_form(viewer, f"{base(org_a)}/", incident_form(org_a)).status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_an_editor_can_create_incidents(client_as, org_a):
    editor = client_as("editor")
    incident_id = create_incident(editor, org_a, name="Editor's incident")
    assert load(org_a, incident_id)["name"] == "Editor's incident"


def test_an_incident_of_another_organization_is_404_on_every_route(staff_client, org_a, org_b):
    other = org_b.ids["incident"]
    with tenant_session(org_b.tenant_id) as s:
        update = s.get(Incident, other).updates[0].id
    before_b = fingerprint(org_b.tenant_id)
    reads = ["", "/edit", "/postmortem", f"/updates/{update}/edit"]
    writes = [
        "",
        "/updates",
        "/delete",
        "/postmortem",
        "/postmortem/publish",
        "/postmortem/unpublish",
        f"/updates/{update}",
        f"/updates/{update}/delete",
    ]
    for suffix in reads:
        assert staff_client.get(f"{base(org_a)}/{other}{suffix}").status_code == 404, suffix
    for suffix in writes:
        data = {"name": "Hijack", "status": "resolved", "body": "x", "postmortem_body": "x", "display_at": ""}
        assert post_form(staff_client, f"{base(org_a)}/{other}{suffix}", data).status_code == 404, suffix
    # An update of A's incident under B's id, and B's page itself.
    mine = load(org_a, org_a.ids["incident"])["update_ids"][0]
    assert staff_client.get(f"{base(org_a)}/{other}/updates/{mine}/edit").status_code == 404
    assert staff_client.get(f"{base(org_a)}/{org_a.ids['incident']}/updates/{update}/edit").status_code == 404
    assert staff_client.get(f"{base(org_b)}/").status_code == 404
    assert fingerprint(org_b.tenant_id) == before_b
    with tenant_session(org_b.tenant_id) as s:
        assert s.scalar(select(func.count()).select_from(IncidentUpdate)) >= 2
