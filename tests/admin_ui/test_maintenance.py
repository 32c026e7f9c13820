"""Maintenance screens: scheduling, times in the page's zone, the lifecycle, rescheduling, cancelling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from admin_ui.formatting import input_datetime
from status_platform.db.session import tenant_session
from status_platform.timeutil import set_clock, utcnow
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus, Template, TemplateComponent
from tenants.maintenance.jobs import complete_due_window, start_due_window
from tenants.maintenance.services import schedule_window
from tenants.pages.models import Page
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.conftest import fingerprint, post_form
from tests.factories import ACTOR
from tests.public_site.test_snapshot import count_statements

FIXED_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/maintenance"


@pytest.fixture
def clock():
    """Pins "now" (before the 2027 dates the tests type); the real clock comes back afterwards."""
    moments = [FIXED_NOW]
    set_clock(lambda: moments[-1])
    yield moments
    set_clock(None)


def set_zone(org, zone: str) -> None:
    with tenant_session(org.tenant_id) as s:
        s.get(Page, org.page_id).time_zone = zone
        s.commit()


def window_form(org, **overrides) -> dict:
    start = utcnow() + timedelta(days=3)
    return {
        "name": "Network upgrade",
        "scheduled_for": input_datetime(start),
        "scheduled_until": input_datetime(start + timedelta(hours=2)),
        "components": [org.ids["component"]],
        "body": "We replace **switches**.",
        **overrides,
    }


def schedule(client, org, **overrides) -> Incident:
    response = post_form(client, f"{base(org)}/", window_form(org, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    window_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    with tenant_session(org.tenant_id) as s:
        window = s.get(Incident, window_id)
        assert window is not None
        s.expunge(window)
        return window


def status_of(org, component_key: str) -> ComponentStatus:
    with tenant_session(org.tenant_id) as s:
        return s.get(Component, org.ids[component_key]).status


def stored(org, window_id: str) -> Incident:
    with tenant_session(org.tenant_id) as s:
        window = s.get(Incident, window_id)
        s.expunge(window)
        return window


def upcoming_names(web, org) -> list[str]:
    response = web.get("/api/v2/scheduled-maintenances/upcoming.json", headers={"Host": org.host})
    assert response.status_code == 200
    return [w["name"] for w in response.get_json()["scheduled_maintenances"]]


def test_a_scheduled_window_appears_on_the_public_page_of_its_organization_only(
    staff_client, web, org_a, org_b
):
    window = schedule(staff_client, org_a)
    assert window.kind is IncidentKind.MAINTENANCE and window.status is IncidentStatus.SCHEDULED
    assert "Network upgrade" in upcoming_names(web, org_a)
    assert "Network upgrade" not in upcoming_names(web, org_b)
    with tenant_session(org_a.tenant_id) as s:
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == window.id)
        ).all()
        assert kinds == [EventKind.MAINTENANCE_SCHEDULED]
        assert [link.component_id for link in s.get(Incident, window.id).affected] == [org_a.ids["component"]]
    page = staff_client.get(f"{base(org_a)}/{window.id}").get_data(as_text=True)
    assert "Network upgrade" in page and "<strong>switches</strong>" in page


def test_the_schedule_form_has_the_fields_and_defaults(staff_client, org_a):
    set_zone(org_a, "Europe/Paris")
    page = staff_client.get(f"{base(org_a)}/new").get_data(as_text=True)
    assert (
        'type="datetime-local"' in page and "Starts (Europe/Paris)" in page and "Ends (Europe/Paris)" in page
    )
    for label in (
        "Start automatically",
        "Complete automatically",
        "Set components to Under Maintenance during the window",
        "Send a reminder 60 minutes before",
        "Notify subscribers",
    ):
        assert re.search(
            r'<input type="checkbox" name="\w+" value="1" checked[^>]*> ' + re.escape(label), page
        ), label
    assert f'value="{org_a.ids["component"]}"' in page and "Acme REST" in page
    assert 'data-preview="preview-body"' in page and ">Schedule maintenance</button>" in page


def test_a_new_york_window_is_stored_in_utc_and_shown_back_in_new_york_time(clock, staff_client, org_a):
    set_zone(org_a, "America/New_York")
    winter = schedule(
        staff_client, org_a, scheduled_for="2027-01-12T09:00", scheduled_until="2027-01-12T11:30"
    )
    summer = schedule(
        staff_client, org_a, scheduled_for="2027-07-12T09:00", scheduled_until="2027-07-12T10:00"
    )
    assert stored(org_a, winter.id).scheduled_for == datetime(2027, 1, 12, 14, 0, tzinfo=UTC)
    assert stored(org_a, winter.id).scheduled_until == datetime(2027, 1, 12, 16, 30, tzinfo=UTC)
    assert stored(org_a, summer.id).scheduled_for == datetime(2027, 7, 12, 13, 0, tzinfo=UTC)
    form = staff_client.get(f"{base(org_a)}/{winter.id}/edit").get_data(as_text=True)
    assert 'value="2027-01-12T09:00"' in form and 'value="2027-01-12T11:30"' in form
    assert "Starts (America/New_York)" in form and "Jan 12, 2027 14:00 UTC" in form
    page = staff_client.get(f"{base(org_a)}/{winter.id}").get_data(as_text=True)
    assert "Jan 12, 2027 09:00 EST (14:00 UTC)" in page and "America/New_York" in page


def test_a_time_the_clocks_skip_is_refused_with_the_field_marked(clock, staff_client, org_a):
    set_zone(org_a, "America/New_York")
    before = fingerprint(org_a.tenant_id)
    response = post_form(
        staff_client,
        f"{base(org_a)}/",
        window_form(org_a, scheduled_for="2027-03-14T02:30", scheduled_until="2027-03-14T05:00"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "does not exist in America/New_York" in page
    assert 'aria-invalid="true" aria-describedby="scheduled_for-error"' in page
    assert 'value="2027-03-14T02:30"' in page  # what was typed comes back
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "Title is required."),
        ({"scheduled_until": "2027-01-12T08:00"}, "scheduled_until", "must end after it starts"),
        (
            {"scheduled_for": "2026-11-01T08:00", "scheduled_until": "2026-11-01T09:00"},
            "scheduled_until",
            "past",
        ),
        ({"scheduled_for": "next tuesday"}, "scheduled_for", "must be a date and time"),
        ({"components": ["nosuchthing0"]}, "components", "Unknown component"),
        ({"components": ["ORG_B"]}, "components", "Unknown component"),
    ],
    ids=["empty title", "end before start", "ended already", "not a time", "unknown component", "org B's"],
)
def test_bad_input_is_refused_with_the_field_marked_and_nothing_changed(
    clock, staff_client, org_a, org_b, overrides, field, message
):
    if overrides.get("components") == ["ORG_B"]:
        overrides = {"components": [org_b.ids["component"]]}
    times = {"scheduled_for": "2027-01-12T09:00", "scheduled_until": "2027-01-12T10:00"}
    data = window_form(org_a, **{**times, **overrides})
    before, before_b = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'class="field invalid"' in page or 'class="field components invalid"' in page
    assert f'aria-describedby="{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before and fingerprint(org_b.tenant_id) == before_b


def test_a_template_fills_the_schedule_form(staff_client, org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        template = Template(
            page_id=org_a.page_id,
            kind=IncidentKind.MAINTENANCE,
            name="Monthly patching",
            title="Patching the web servers",
            body="Expect short *blips*.",
        )
        s.add(template)
        s.flush()
        s.add(TemplateComponent(template_id=template.id, component_id=org_a.ids["component_web"]))
        s.commit()
        template_id = template.id
    page = staff_client.get(f"{base(org_a)}/new").get_data(as_text=True)
    assert "Use a template" in page and "data-template-picker" in page and "Monthly patching" in page
    assert f"{org_a.name} template" not in page  # an incident template is not offered here
    filled = staff_client.get(f"{base(org_a)}/new?template={template_id}").get_data(as_text=True)
    assert 'value="Patching the web servers"' in filled and "Expect short *blips*." in filled
    assert f'value="{org_a.ids["component_web"]}" checked' in filled
    assert f'value="{org_a.ids["component"]}" checked' not in filled
    other = staff_client.get(f"{base(org_a)}/new?template={org_b.ids['template']}").get_data(as_text=True)
    assert "not one of this page" in other and f"{org_b.name} degraded" not in other


def test_the_lifecycle_through_the_screens_moves_the_components(staff_client, web, org_a):
    window = schedule(staff_client, org_a)
    updates = f"{base(org_a)}/{window.id}/updates"
    response = post_form(staff_client, updates, {"status": "in_progress", "body": ""})
    assert response.status_code == 302
    assert stored(org_a, window.id).status is IncidentStatus.IN_PROGRESS
    assert status_of(org_a, "component") is ComponentStatus.UNDER_MAINTENANCE
    assert status_of(org_a, "component_web") is ComponentStatus.OPERATIONAL  # not covered
    assert post_form(staff_client, updates, {"status": "in_progress", "body": "Half done"}).status_code == 302
    assert post_form(staff_client, updates, {"status": "verifying", "body": "Checking"}).status_code == 302
    assert stored(org_a, window.id).status is IncidentStatus.VERIFYING
    assert status_of(org_a, "component") is ComponentStatus.UNDER_MAINTENANCE
    assert post_form(staff_client, updates, {"status": "completed", "body": "All done"}).status_code == 302
    assert stored(org_a, window.id).status is IncidentStatus.COMPLETED
    assert status_of(org_a, "component") is ComponentStatus.OPERATIONAL
    page = staff_client.get(f"{base(org_a)}/{window.id}").get_data(as_text=True)
    assert page.index("All done") < page.index("Checking") < page.index("Half done")  # newest first
    assert 'id="update"' in page
    with tenant_session(org_a.tenant_id) as s:
        for update in s.get(Incident, window.id).updates:
            assert f'href="/t/acme/p/{org_a.page_id}/incidents/{window.id}/updates/{update.id}/edit"' in page


def test_a_step_back_is_refused_on_the_update_form(staff_client, org_a):
    window_id = org_a.ids["maintenance"]
    before = fingerprint(org_a.tenant_id)
    response = post_form(
        staff_client, f"{base(org_a)}/{window_id}/updates", {"status": "completed", "body": "x"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Start the window first" in page
    assert 'aria-describedby="status-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_rescheduling_from_the_edit_form(clock, staff_client, org_a):
    set_zone(org_a, "America/New_York")
    window = schedule(
        staff_client, org_a, scheduled_for="2027-01-12T09:00", scheduled_until="2027-01-12T10:00"
    )
    data = {
        "name": "Network upgrade, part 1",
        "scheduled_for": "2027-01-19T22:00",
        "scheduled_until": "2027-01-20T01:00",
        "components": [org_a.ids["component"], org_a.ids["component_web"]],
        "remind_prior__present": "1",
        "auto_in_progress": "1",
        "auto_in_progress__present": "1",
        "auto_completed": "1",
        "auto_completed__present": "1",
        "auto_transition_components": "1",
        "auto_transition_components__present": "1",
        "notify_reschedule": "1",
        "notify_reschedule__present": "1",
    }
    response = post_form(staff_client, f"{base(org_a)}/{window.id}", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = stored(org_a, window.id)
    assert saved.name == "Network upgrade, part 1"
    assert saved.scheduled_for == datetime(2027, 1, 20, 3, 0, tzinfo=UTC)
    assert saved.scheduled_until == datetime(2027, 1, 20, 6, 0, tzinfo=UTC)
    assert saved.scheduled_remind_prior is False
    with tenant_session(org_a.tenant_id) as s:
        assert len(s.get(Incident, window.id).affected) == 2
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == window.id)
        ).all()
        assert EventKind.MAINTENANCE_RESCHEDULED in kinds
    form = staff_client.get(f"{base(org_a)}/{window.id}/edit").get_data(as_text=True)
    assert 'value="2027-01-19T22:00"' in form


def test_saving_the_edit_form_untouched_does_not_reschedule(staff_client, org_a):
    window_id = org_a.ids["maintenance"]
    kept = stored(org_a, window_id)
    form = staff_client.get(f"{base(org_a)}/{window_id}/edit").get_data(as_text=True)
    values = dict(
        re.findall(r'name="(scheduled_for|scheduled_until)" type="datetime-local" value="([^"]+)"', form)
    )
    response = post_form(
        staff_client,
        f"{base(org_a)}/{window_id}",
        {"name": kept.name, "components": [org_a.ids["component_web"]], **values},
    )
    assert response.status_code == 302
    saved = stored(org_a, window_id)
    assert (saved.scheduled_for, saved.scheduled_until) == (kept.scheduled_for, kept.scheduled_until)
    with tenant_session(org_a.tenant_id) as s:
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == window_id)
        ).all()
        assert EventKind.MAINTENANCE_RESCHEDULED not in kinds


def test_renaming_a_window_in_the_repeated_autumn_hour_keeps_its_time(clock, staff_client, org_a):
    # 01:30 UTC on Oct 31, 2027 is the second 02:30 in Paris (after the clocks go back).
    set_zone(org_a, "Europe/Paris")
    window_id = org_a.ids["maintenance"]
    starts, ends = datetime(2027, 10, 31, 1, 30, tzinfo=UTC), datetime(2027, 10, 31, 3, 0, tzinfo=UTC)
    with tenant_session(org_a.tenant_id) as s:
        window = s.get(Incident, window_id)
        window.scheduled_for, window.scheduled_until = starts, ends
        s.commit()
    form = staff_client.get(f"{base(org_a)}/{window_id}/edit").get_data(as_text=True)
    values = dict(
        re.findall(r'name="(scheduled_for|scheduled_until)" type="datetime-local" value="([^"]+)"', form)
    )
    assert values == {"scheduled_for": "2027-10-31T02:30", "scheduled_until": "2027-10-31T04:00"}
    assert "Oct 31, 2027 01:30 UTC" in form
    response = post_form(
        staff_client,
        f"{base(org_a)}/{window_id}",
        {"name": "Acme upgrade, renamed", "components": [org_a.ids["component_web"]], **values},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = stored(org_a, window_id)
    assert saved.name == "Acme upgrade, renamed"
    assert (saved.scheduled_for, saved.scheduled_until) == (starts, ends)
    with tenant_session(org_a.tenant_id) as s:
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == window_id)
        ).all()
        assert EventKind.MAINTENANCE_RESCHEDULED not in kinds


def test_bad_input_on_the_edit_form_changes_nothing(staff_client, org_a, org_b):
    window_id = org_a.ids["maintenance"]
    for data, field in (
        ({"name": ""}, "name"),
        ({"scheduled_until": "2020-01-01T00:00"}, "scheduled_until"),
        ({"components": [org_b.ids["component_web"]]}, "components"),
    ):
        form = {"name": "Renamed", **window_form(org_a), **data}
        before = fingerprint(org_a.tenant_id)
        response = post_form(staff_client, f"{base(org_a)}/{window_id}", form)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and f'aria-describedby="{field}-error"' in page, field
        assert fingerprint(org_a.tenant_id) == before


def test_cancelling_a_scheduled_window(staff_client, web, org_a):
    window_id = org_a.ids["maintenance"]
    page = staff_client.get(f"{base(org_a)}/{window_id}").get_data(as_text=True)
    assert "data-confirm=" in page and "Cancel maintenance" in page
    response = post_form(staff_client, f"{base(org_a)}/{window_id}/cancel", {"cancel_body": ""})
    assert response.status_code == 302
    saved = stored(org_a, window_id)
    assert saved.cancelled_at is not None and saved.status is IncidentStatus.COMPLETED
    assert status_of(org_a, "component_web") is ComponentStatus.OPERATIONAL
    assert "Acme upgrade" not in upcoming_names(web, org_a)
    page = staff_client.get(f"{base(org_a)}/{window_id}").get_data(as_text=True)
    assert "This scheduled maintenance has been cancelled." in page and "Cancelled" in page
    with tenant_session(org_a.tenant_id) as s:
        kinds = s.scalars(
            select(NotificationEvent.kind).where(NotificationEvent.incident_id == window_id)
        ).all()
        assert EventKind.MAINTENANCE_CANCELLED in kinds


def test_a_window_in_progress_cannot_be_cancelled(staff_client, org_a):
    window_id = org_a.ids["maintenance"]
    post_form(staff_client, f"{base(org_a)}/{window_id}/updates", {"status": "in_progress"})
    page = staff_client.get(f"{base(org_a)}/{window_id}").get_data(as_text=True)
    assert "Cancel maintenance" not in page
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/{window_id}/cancel", {})
    assert response.status_code == 200 and "complete it instead" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before
    assert stored(org_a, window_id).cancelled_at is None


def test_the_clock_still_starts_and_completes_a_window_scheduled_here(staff_client, org_a):
    window = schedule(staff_client, org_a, components=[org_a.ids["component_web"]])
    try:
        assert start_due_window(org_a.tenant_id, window.id) is False  # not due yet
        set_clock(lambda: window.scheduled_for + timedelta(minutes=1))
        assert start_due_window(org_a.tenant_id, window.id) is True
        assert status_of(org_a, "component_web") is ComponentStatus.UNDER_MAINTENANCE
        assert complete_due_window(org_a.tenant_id, window.id) is False  # not over yet
        set_clock(lambda: window.scheduled_until + timedelta(minutes=1))
        assert complete_due_window(org_a.tenant_id, window.id) is True
    finally:
        set_clock(None)
    assert stored(org_a, window.id).status is IncidentStatus.COMPLETED
    assert status_of(org_a, "component_web") is ComponentStatus.OPERATIONAL


def test_the_list_shows_in_progress_upcoming_and_past_with_search_and_paging(staff_client, org_a, org_b):
    running = schedule(staff_client, org_a, name="Running now")
    post_form(staff_client, f"{base(org_a)}/{running.id}/updates", {"status": "in_progress"})
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        start = utcnow() - timedelta(days=60)
        for n in range(51):
            old = schedule_window(
                s,
                page,
                name=f"Old window {n:02d}",
                actor=ACTOR,
                scheduled_for=start + timedelta(hours=n),
                scheduled_until=start + timedelta(hours=n, minutes=30),
                deliver_notifications=False,
            )
            old.status = IncidentStatus.COMPLETED
        s.commit()
    listing = staff_client.get(f"{base(org_a)}/").get_data(as_text=True)
    sections = [listing.index(f'id="h-{name}"') for name in ("in-progress", "upcoming", "past")]
    assert sections[0] < listing.index(">Running now</a>") < sections[1]
    assert (
        sections[1] < listing.index(">Acme upgrade</a>") < sections[2] < listing.index(">Old window 50</a>")
    )
    assert "Old window 50" in listing and "Old window 00" not in listing and "Older →" in listing
    assert f"{org_b.name} upgrade" not in listing
    second = staff_client.get(f"{base(org_a)}/?p=2").get_data(as_text=True)
    assert "Old window 00" in second and "Old window 50" not in second and "← Newer" in second
    found = staff_client.get(f"{base(org_a)}/?q=window 07").get_data(as_text=True)
    assert "Old window 07" in found and "Old window 08" not in found and "Acme upgrade" not in found
    assert 'type="search"' in found


def add_windows(org, count: int) -> None:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        start = utcnow() + timedelta(days=10)
        for n in range(count):
            schedule_window(
                s,
                page,
                name=f"Many window {n:02d}",
                actor=ACTOR,
                scheduled_for=start + timedelta(hours=n),
                scheduled_until=start + timedelta(hours=n, minutes=30),
                component_ids=[org.ids["component"], org.ids["component_web"]],
                deliver_notifications=False,
            )
        s.commit()


def test_the_list_costs_the_same_statements_for_3_windows_as_for_12(staff_client, org_a, org_b, connection):
    url = f"{base(org_a)}/"
    add_windows(org_a, 3)
    staff_client.get(url)
    few = count_statements(connection, lambda: staff_client.get(url))
    add_windows(org_a, 9)
    many = count_statements(connection, lambda: staff_client.get(url))
    listing = staff_client.get(url).get_data(as_text=True)
    both = listing.count("Acme REST, Acme Web") + listing.count("Acme Web, Acme REST")
    assert listing.count(">Many window ") == 12 and both == 12
    assert f"{org_b.name} upgrade" not in listing
    assert few == many


def test_a_huge_page_number_shows_an_empty_page_not_an_error(staff_client, org_a):
    response = staff_client.get(f"{base(org_a)}/?p=99999999999999999999")
    assert response.status_code == 200 and "No past maintenance." in response.get_data(as_text=True)


def test_an_incident_is_not_found_under_maintenance(staff_client, org_a):
    incident_id = org_a.ids["incident"]
    assert staff_client.get(f"{base(org_a)}/{incident_id}").status_code == 404
    assert staff_client.get(f"{base(org_a)}/{incident_id}/edit").status_code == 404
    before = fingerprint(org_a.tenant_id)
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/cancel").status_code == 404
    assert post_form(staff_client, f"{base(org_a)}/{incident_id}/updates", {"body": "x"}).status_code == 404
    assert fingerprint(org_a.tenant_id) == before


def test_another_organizations_window_is_not_found_on_every_route(staff_client, org_a, org_b):
    window_b = org_b.ids["maintenance"]
    before = fingerprint(org_b.tenant_id)
    for path in (f"{base(org_a)}/{window_b}", f"{base(org_a)}/{window_b}/edit"):
        assert staff_client.get(path).status_code == 404, path
    for path, data in (
        (f"{base(org_a)}/{window_b}", window_form(org_a)),
        (f"{base(org_a)}/{window_b}/updates", {"status": "in_progress", "body": "x"}),
        (f"{base(org_a)}/{window_b}/cancel", {}),
    ):
        assert post_form(staff_client, path, data).status_code == 404, path
    assert staff_client.get(f"{base(org_b)}/").status_code == 404
    assert staff_client.get(f"{base(org_b)}/{window_b}").status_code == 404
    assert post_form(staff_client, f"{base(org_b)}/", window_form(org_b)).status_code == 404
    assert fingerprint(org_b.tenant_id) == before


def test_a_viewer_may_read_but_every_write_is_refused(client_as, org_a):
    viewer = client_as("viewer")
    window_id = org_a.ids["maintenance"]
    assert viewer.get(f"{base(org_a)}/").status_code == 200
    page = viewer.get(f"{base(org_a)}/{window_id}").get_data(as_text=True)
    assert "Acme upgrade" in page and 'id="update"' not in page and "Cancel maintenance" not in page
    before = fingerprint(org_a.tenant_id)
    for path, data in (
        (f"{base(org_a)}/", window_form(org_a)),
        (f"{base(org_a)}/{window_id}", window_form(org_a)),
        (f"{base(org_a)}/{window_id}/updates", {"status": "in_progress", "body": "x"}),
        (f"{base(org_a)}/{window_id}/cancel", {}),
    ):
        assert post_form(viewer, path, data).status_code == 403, path
    assert fingerprint(org_a.tenant_id) == before


def test_an_editor_may_schedule(client_as, org_a):
    editor = client_as("editor")
    window = schedule(editor, org_a, name="Editor's window")
    assert stored(org_a, window.id).name == "Editor's window"


def test_a_maintenance_template_fills_the_update_form(staff_client, org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        template = Template(
            page_id=org_a.page_id,
            kind=IncidentKind.MAINTENANCE,
            name="Starting now",
            title="Starting",
            body="The work has **begun**.",
            update_status=IncidentStatus.IN_PROGRESS,
            should_send_notifications=False,
        )
        s.add(template)
        s.commit()
        template_id = template.id
    window_id = org_a.ids["maintenance"]
    page = staff_client.get(f"{base(org_a)}/{window_id}?template={template_id}").get_data(as_text=True)
    assert ">The work has **begun**.</textarea>" in page
    assert re.search(r'value="in_progress" checked', page)
    assert re.search(r'name="deliver_notifications" value="1"(?! checked)', page)
    assert "Filled in from the template Starting now" in page
    foreign = staff_client.get(f"{base(org_a)}/{window_id}?template={org_b.ids['template']}")
    html = foreign.get_data(as_text=True)
    assert foreign.status_code == 200 and "not one of this page&#39;s maintenance templates" in html
    assert "The work has" not in html
