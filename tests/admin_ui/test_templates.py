"""Incident and maintenance templates in the admin: write, list, edit, delete; 404 across organizations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from tenants.components.models import ComponentStatus
from tenants.incidents.models import IncidentKind, IncidentStatus, Template
from tenants.incidents.services import create_template
from tenants.pages.models import Page
from tests.conftest import fingerprint, post_form
from tests.factories import ACTOR
from tests.public_site.test_snapshot import count_statements


def base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/templates"


def template_form(org, **overrides) -> dict[str, str]:
    data = {
        "kind": "incident",
        "name": "Database failover",
        "title": "Database failover in progress",
        "body": "We are failing over the **primary** database.",
        "update_status": "identified",
        "should_send_notifications__present": "1",
        "should_send_notifications": "1",
        f"component:{org.ids['component']}": "partial_outage",
        f"component:{org.ids['component_web']}": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def template_named(org, name: str) -> Template | None:
    with tenant_session(org.tenant_id) as s:
        template = s.scalars(select(Template).where(Template.name == name)).one_or_none()
        if template is not None:
            s.expunge(template)
        return template


def components_of(org, name: str) -> dict[str, ComponentStatus | None]:
    with tenant_session(org.tenant_id) as s:
        template = s.scalars(select(Template).where(Template.name == name)).one()
        return {link.component_id: link.status for link in template.components}


def test_a_template_is_written_with_its_components_and_listed(staff_client, org_a, org_b):
    response = post_form(staff_client, f"{base(org_a)}/", template_form(org_a))
    assert response.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        template = s.scalars(select(Template).where(Template.name == "Database failover")).one()
        assert template.kind is IncidentKind.INCIDENT and template.update_status is IncidentStatus.IDENTIFIED
        assert template.should_send_notifications
    assert components_of(org_a, "Database failover") == {
        org_a.ids["component"]: ComponentStatus.PARTIAL_OUTAGE
    }
    listing = staff_client.get(f"{base(org_a)}/").get_data(as_text=True)
    assert "Database failover in progress" in listing and f"{org_a.name} template" in listing
    assert template_named(org_b, "Database failover") is None


def test_a_written_template_fills_the_incident_form(staff_client, org_a):
    post_form(staff_client, f"{base(org_a)}/", template_form(org_a, should_send_notifications=None))
    with tenant_session(org_a.tenant_id) as s:
        template_id = s.scalars(select(Template.id).where(Template.name == "Database failover")).one()
    page = staff_client.get(f"/t/{org_a.slug}/p/{org_a.page_id}/incidents/new?template={template_id}")
    text = page.get_data(as_text=True)
    assert 'value="Database failover in progress"' in text and "**primary** database" in text
    assert 'name="status" value="identified" checked' in text
    assert 'name="deliver_notifications" value="1">' in text  # left unchecked, as the template says


def test_a_maintenance_template_is_kept_apart_from_the_incident_picker(staff_client, org_a):
    form = template_form(org_a, kind="maintenance", name="Patch night", update_status="in_progress")
    form[f"component:{org_a.ids['component']}"] = "under_maintenance"
    assert post_form(staff_client, f"{base(org_a)}/", form).status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        template = s.scalars(select(Template).where(Template.name == "Patch night")).one()
        assert (
            template.kind is IncidentKind.MAINTENANCE and template.update_status is IncidentStatus.IN_PROGRESS
        )
        template_id = template.id
    new = staff_client.get(f"/t/{org_a.slug}/p/{org_a.page_id}/incidents/new").get_data(as_text=True)
    assert ">Patch night</option>" not in new and f">{org_a.name} template</option>" in new
    assert (
        staff_client.get(
            f"/t/{org_a.slug}/p/{org_a.page_id}/incidents/new?template={template_id}"
        ).status_code
        == 404
    )
    chooser = staff_client.get(f"{base(org_a)}/new?kind=maintenance").get_data(as_text=True)
    assert 'name="kind" value="maintenance" checked' in chooser


def test_a_template_can_be_edited(staff_client, org_a):
    template_id = org_a.ids["template"]
    edit = staff_client.get(f"{base(org_a)}/{template_id}/edit").get_data(as_text=True)
    assert f'value="{org_a.name} degraded"' in edit and "We are on it" in edit
    form = template_form(
        org_a,
        name="Renamed",
        title="Now a new title",
        update_status="",
        **{
            f"component:{org_a.ids['component']}": "",
            f"component:{org_a.ids['component_web']}": "major_outage",
        },
    )
    assert post_form(staff_client, f"{base(org_a)}/{template_id}", form).status_code == 302
    template = template_named(org_a, "Renamed")
    assert template is not None and template.title == "Now a new title" and template.update_status is None
    assert components_of(org_a, "Renamed") == {org_a.ids["component_web"]: ComponentStatus.MAJOR_OUTAGE}


def test_a_template_can_be_deleted(staff_client, org_a):
    template_id = org_a.ids["template"]
    edit = staff_client.get(f"{base(org_a)}/{template_id}/edit").get_data(as_text=True)
    assert "data-confirm=" in edit
    assert post_form(staff_client, f"{base(org_a)}/{template_id}/delete").status_code == 302
    assert template_named(org_a, f"{org_a.name} template") is None


def test_the_list_searches_names_and_titles(staff_client, org_a):
    post_form(staff_client, f"{base(org_a)}/", template_form(org_a))
    found = staff_client.get(f"{base(org_a)}/?q=failover").get_data(as_text=True)
    assert "Database failover" in found and f"{org_a.name} template" not in found


def add_templates(org, count: int, first: int = 0) -> None:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        for number in range(first, first + count):
            create_template(
                s,
                page,
                actor=ACTOR,
                name=f"Prepared {number:02d}",
                title=f"Prepared message {number:02d}",
                components={
                    org.ids["component"]: ComponentStatus.MAJOR_OUTAGE,
                    org.ids["component_web"]: None,
                },
            )
        s.commit()


def test_the_list_costs_the_same_statements_for_3_templates_as_for_12(staff_client, org_a, org_b, connection):
    url = f"{base(org_a)}/"
    add_templates(org_a, 3)
    staff_client.get(url)
    few = count_statements(connection, lambda: staff_client.get(url))
    add_templates(org_a, 9, first=3)
    many = count_statements(connection, lambda: staff_client.get(url))
    listing = staff_client.get(url).get_data(as_text=True)
    assert listing.count("<td>Prepared message ") == 12 and listing.count("<td>2</td>") == 12
    assert f"{org_b.name} template" not in listing
    assert few == many


def test_a_huge_page_number_shows_an_empty_page_not_an_error(staff_client, org_a):
    response = staff_client.get(f"{base(org_a)}/?p=99999999999999999999")
    assert response.status_code == 200
    assert "Page 100000 is past the last template." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Template name is required"),
        ({"title": ""}, "title", "Title is required"),
        ({"kind": "party"}, "kind", "Choose incident or maintenance"),
        ({"update_status": "in_progress"}, "update_status", "The status must be one of"),
        ({"component:bogus1234567": "major_outage"}, "components", "Unknown component"),
        ({"component:bogus1234567": "melted"}, "components", "is not a component status"),
    ],
)
def test_bad_template_input_marks_the_field_and_changes_nothing(
    staff_client, org_a, overrides, field, message
):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/", template_form(org_a, **overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'aria-invalid="true"' in page and f'aria-describedby="{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_component_of_another_organization_is_refused(staff_client, org_a, org_b):
    before = fingerprint(org_a.tenant_id)
    form = template_form(org_a, **{f"component:{org_b.ids['component']}": "major_outage"})
    page = post_form(staff_client, f"{base(org_a)}/", form).get_data(as_text=True)
    assert "Unknown component" in page and 'class="field components invalid"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_viewer_cannot_write_templates(client_as, org_a):
    viewer = client_as("viewer")
    assert viewer.get(f"{base(org_a)}/").status_code == 200
    before = fingerprint(org_a.tenant_id)
    assert post_form(viewer, f"{base(org_a)}/", template_form(org_a)).status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_an_editor_can_write_templates(client_as, org_a):
    editor = client_as("editor")
    assert post_form(editor, f"{base(org_a)}/", template_form(org_a)).status_code == 302
    assert template_named(org_a, "Database failover") is not None


def test_a_template_of_another_organization_is_404(staff_client, org_a, org_b):
    other = org_b.ids["template"]
    before = fingerprint(org_b.tenant_id)
    assert staff_client.get(f"{base(org_a)}/{other}/edit").status_code == 404
    assert post_form(staff_client, f"{base(org_a)}/{other}", template_form(org_a)).status_code == 404
    assert post_form(staff_client, f"{base(org_a)}/{other}/delete").status_code == 404
    assert staff_client.get(f"{base(org_b)}/").status_code == 404
    assert fingerprint(org_b.tenant_id) == before
