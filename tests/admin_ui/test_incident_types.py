"""Incident types of an organization: add, rename, recolour, reorder, retire and restore; admins only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from tenants.incidents.models import Incident, IncidentType
from tests.conftest import fingerprint, post_form


def base(org) -> str:
    return f"/t/{org.slug}/incident-types"


def types_of(org) -> list[tuple[str, str, bool]]:
    with tenant_session(org.tenant_id) as s:
        rows = s.scalars(select(IncidentType).order_by(IncidentType.position, IncidentType.name))
        return [(t.name, t.color, t.is_retired) for t in rows]


def type_id(org, name: str) -> str:
    with tenant_session(org.tenant_id) as s:
        return s.scalars(select(IncidentType.id).where(IncidentType.name == name)).one()


def test_every_organization_starts_with_minor_and_major(staff_client, org_a):
    page = staff_client.get(f"{base(org_a)}/").get_data(as_text=True)
    assert page.index("Minor") < page.index("Major") and "Add a type" in page


def test_a_type_is_added_at_the_end_of_the_list(staff_client, org_a, org_b):
    response = post_form(staff_client, f"{base(org_a)}/", {"name": "Security", "color": "#8E44AD"})
    assert response.status_code == 302
    assert types_of(org_a)[-1] == ("Security", "#8e44ad", False)
    assert "Security" not in [name for name, _, _ in types_of(org_b)]
    assert "Added the incident type Security" in staff_client.get(f"{base(org_a)}/").get_data(as_text=True)


def test_a_type_can_be_renamed_and_recoloured(staff_client, org_a):
    minor = type_id(org_a, "Minor")
    response = post_form(staff_client, f"{base(org_a)}/{minor}", {"name": "Small", "color": "#123abc"})
    assert response.status_code == 302
    assert types_of(org_a)[0] == ("Small", "#123abc", False)


def test_types_can_be_reordered(staff_client, org_a):
    major = type_id(org_a, "Major")
    assert post_form(staff_client, f"{base(org_a)}/{major}/move", {"direction": "up"}).status_code == 302
    assert [name for name, _, _ in types_of(org_a)] == ["Major", "Minor"]
    before = fingerprint(org_a.tenant_id)
    post_form(staff_client, f"{base(org_a)}/{major}/move", {"direction": "up"})  # already first
    assert fingerprint(org_a.tenant_id) == before


def test_a_retired_type_is_not_offered_but_stays_on_its_incidents(staff_client, org_a):
    major = type_id(org_a, "Major")
    incident_id = org_a.ids["incident"]
    with tenant_session(org_a.tenant_id) as s:
        s.get(Incident, incident_id).incident_type_id = major
        s.commit()
    assert post_form(staff_client, f"{base(org_a)}/{major}/retire").status_code == 302
    assert types_of(org_a)[1] == ("Major", "#e67e22", True)
    incidents = f"/t/{org_a.slug}/p/{org_a.page_id}/incidents"
    new = staff_client.get(f"{incidents}/new").get_data(as_text=True)
    assert f'<option value="{major}"' not in new and ">Minor</option>" in new
    shown = staff_client.get(f"{incidents}/{incident_id}").get_data(as_text=True)
    assert "Major (retired)" in shown
    edit = staff_client.get(f"{incidents}/{incident_id}/edit").get_data(as_text=True)
    assert f'<option value="{major}" selected>Major (retired)</option>' in edit
    # Saving the incident keeps its retired type; a new incident may not take it.
    form = {"name": "Still major", "impact": "derived", "incident_type_id": major}
    assert post_form(staff_client, f"{incidents}/{incident_id}", form).status_code == 302
    before = fingerprint(org_a.tenant_id)
    create = {"name": "New one", "status": "investigating", "impact": "derived", "incident_type_id": major}
    page = post_form(staff_client, f"{incidents}/", create).get_data(as_text=True)
    assert "is retired" in page and 'aria-describedby="incident_type_id-error"' in page
    assert fingerprint(org_a.tenant_id) == before
    assert post_form(staff_client, f"{base(org_a)}/{major}/restore").status_code == 302
    assert f'<option value="{major}"' in staff_client.get(f"{incidents}/new").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "", "color": "#123456"}, "name", "Type name is required"),
        ({"name": "major", "color": "#123456"}, "name", "already an incident type named major"),
        ({"name": "Security", "color": "purple"}, "color", "must be a colour like"),
        ({"name": "Security", "color": "#12345"}, "color", "must be a colour like"),
    ],
)
def test_bad_type_input_marks_the_field_and_changes_nothing(staff_client, org_a, form, field, message):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{base(org_a)}/", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'class="field invalid"' in page and f'aria-describedby="new-{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_renaming_to_a_taken_name_marks_that_row(staff_client, org_a):
    minor = type_id(org_a, "Minor")
    before = fingerprint(org_a.tenant_id)
    page = post_form(staff_client, f"{base(org_a)}/{minor}", {"name": "MAJOR", "color": "#123456"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f'aria-describedby="t-{minor}-name-error"' in text
    assert 'value="MAJOR"' in text
    assert fingerprint(org_a.tenant_id) == before


def test_names_are_unique_per_organization_only(staff_client, org_a, org_b):
    with tenant_session(org_b.tenant_id) as s:
        s.add(IncidentType(name="Security", color="#111111", position=9))
        s.commit()
    assert (
        post_form(staff_client, f"{base(org_a)}/", {"name": "Security", "color": "#222222"}).status_code
        == 302
    )
    assert ("Security", "#222222", False) in types_of(org_a)
    assert ("Security", "#111111", False) in types_of(org_b)


def test_members_read_the_types_but_only_admins_change_them(client_as, org_a):
    editor = client_as("editor")
    assert editor.get(f"{base(org_a)}/").status_code == 200
    assert "Add a type" not in editor.get(f"{base(org_a)}/").get_data(as_text=True)
    before = fingerprint(org_a.tenant_id)
    assert post_form(editor, f"{base(org_a)}/", {"name": "Sneaky", "color": "#123456"}).status_code == 403
    assert post_form(editor, f"{base(org_a)}/{type_id(org_a, 'Minor')}/retire").status_code == 403
    assert fingerprint(org_a.tenant_id) == before
    admin = client_as("admin")
    assert post_form(admin, f"{base(org_a)}/", {"name": "By admin", "color": "#123456"}).status_code == 302


def test_a_type_of_another_organization_is_404(staff_client, org_a, org_b):
    other = type_id(org_b, "Major")
    before = fingerprint(org_b.tenant_id)
    for suffix, data in [
        ("", {"name": "Taken over", "color": "#123456"}),
        ("/move", {"direction": "up"}),
        ("/retire", {}),
        ("/restore", {}),
    ]:
        assert post_form(staff_client, f"{base(org_a)}/{other}{suffix}", data).status_code == 404, suffix
    assert staff_client.get(f"{base(org_b)}/").status_code == 404
    assert fingerprint(org_b.tenant_id) == before


def test_a_huge_page_number_shows_an_empty_page_not_an_error(staff_client, org_a):
    response = staff_client.get(f"{base(org_a)}/?p=99999999999999999999")
    assert response.status_code == 200
    assert "Page 100000 is past the last type." in response.get_data(as_text=True)
