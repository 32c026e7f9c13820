"""Components and groups in the admin: add, edit, move, reorder, delete, one-click status, bad input."""

from __future__ import annotations

import json

from sqlalchemy import select

from status_platform.db.session import tenant_session
from tenants.components.models import Component, ComponentGroup, ComponentStatus
from tests.conftest import fingerprint, post_form


def _base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/components"


def _public_components(web, org) -> dict[str, dict]:
    body = web.get("/api/v2/components.json", headers={"Host": org.host}).get_data(as_text=True)
    return {c["name"]: c for c in json.loads(body)["components"]}


def _components(org) -> dict[str, Component]:
    with tenant_session(org.tenant_id) as s:
        return {c.name: c for c in s.scalars(select(Component))}


def test_a_group_and_a_component_added_in_the_admin_show_on_the_public_page(staff_client, web, org_a):
    response = post_form(staff_client, f"{_base(org_a)}/groups", {"name": "Storage", "description": "Disks"})
    assert response.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        group = s.scalars(select(ComponentGroup).where(ComponentGroup.name == "Storage")).one()
    response = post_form(
        staff_client,
        f"{_base(org_a)}/",
        {
            "name": "Object store",
            "description": "S3-compatible buckets",
            "group_id": group.id,
            "is_showcased": "1",
            "is_showcased__present": "1",
            "only_show_if_degraded__present": "1",
            "start_date": "2026-01-01",
        },
        follow_redirects=True,
    )
    assert "Added the component Object store." in response.get_data(as_text=True)
    public = _public_components(web, org_a)
    assert public["Object store"]["group_id"] == group.id
    assert public["Object store"]["description"] == "S3-compatible buckets"
    assert public["Object store"]["start_date"] == "2026-01-01"
    assert public["Storage"]["components"] == [public["Object store"]["id"]]


def test_editing_a_component_moves_it_between_groups(staff_client, web, org_a):
    web_id = org_a.ids["component_web"]
    post_form(
        staff_client,
        f"{_base(org_a)}/{web_id}",
        {"name": "Website", "group_id": org_a.ids["group"], "only_show_if_degraded": "1"},
    )
    public = _public_components(web, org_a)
    assert public["Website"]["group_id"] == org_a.ids["group"]
    assert _components(org_a)["Website"].only_show_if_degraded is True
    post_form(staff_client, f"{_base(org_a)}/{web_id}", {"name": "Website", "group_id": ""})
    assert _public_components(web, org_a)["Website"]["group_id"] is None


def test_moving_up_and_down_reorders_the_public_list(staff_client, web, org_a):
    # The top level holds the group (1) and the web component (2).
    post_form(staff_client, f"{_base(org_a)}/{org_a.ids['component_web']}/move", {"direction": "up"})
    names = [
        c["name"]
        for c in json.loads(
            web.get("/api/v2/components.json", headers={"Host": org_a.host}).get_data(as_text=True)
        )["components"]
        if c["group_id"] is None
    ]
    assert names == [f"{org_a.name} Web", f"{org_a.name} API"]
    response = post_form(
        staff_client, f"{_base(org_a)}/groups/{org_a.ids['group']}/move", {"direction": "up"}
    )
    assert response.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(ComponentGroup, org_a.ids["group"]).position == 1


def test_deleting_a_group_keeps_its_components_unless_asked(staff_client, org_a):
    post_form(staff_client, f"{_base(org_a)}/groups/{org_a.ids['group']}/delete", {})
    components = _components(org_a)
    assert components[f"{org_a.name} REST"].group_id is None
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(ComponentGroup, org_a.ids["group"]) is None


def test_deleting_a_group_with_its_components(staff_client, org_a):
    post_form(staff_client, f"{_base(org_a)}/groups/{org_a.ids['group']}/delete", {"delete_components": "1"})
    assert f"{org_a.name} REST" not in _components(org_a)


def test_deleting_a_component_keeps_past_incidents_naming_it(staff_client, web, org_a):
    response = post_form(staff_client, f"{_base(org_a)}/{org_a.ids['component']}/delete", {})
    assert response.status_code == 302
    assert f"{org_a.name} REST" not in _public_components(web, org_a)
    incidents = json.loads(
        web.get("/api/v2/incidents.json", headers={"Host": org_a.host}).get_data(as_text=True)
    )["incidents"]
    incident = next(i for i in incidents if i["id"] == org_a.ids["incident"])
    named = [c["name"] for u in incident["incident_updates"] for c in u["affected_components"] or []]
    assert f"{org_a.name} API - {org_a.name} REST" in named


def test_the_dashboard_sets_a_status_in_one_click(staff_client, web, org_a):
    dashboard = staff_client.get(f"/t/{org_a.slug}/p/{org_a.page_id}/").get_data(as_text=True)
    assert 'name="status" data-autosubmit' in dashboard
    web_id = org_a.ids["component_web"]
    response = post_form(staff_client, f"{_base(org_a)}/{web_id}/status", {"status": "partial_outage"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{org_a.page_id}/")
    assert _public_components(web, org_a)[f"{org_a.name} Web"]["status"] == "partial_outage"
    assert _components(org_a)[f"{org_a.name} Web"].status is ComponentStatus.PARTIAL_OUTAGE


def test_an_unknown_status_is_refused_and_changes_nothing(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    response = post_form(
        staff_client, f"{_base(org_a)}/{org_a.ids['component']}/status", {"status": "on_fire"}
    )
    assert response.status_code == 422 and "The status must be one of" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


def test_an_empty_name_is_marked_and_nothing_is_added(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{_base(org_a)}/", {"name": "  ", "description": "kept"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="field invalid"' in page and "Component name is required." in page
    assert ">kept</textarea>" in page  # what was typed is not lost
    assert fingerprint(org_a.tenant_id) == before


def test_a_group_of_another_organization_is_refused(staff_client, org_a, org_b):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, f"{_base(org_a)}/", {"name": "Sneaky", "group_id": org_b.ids["group"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choose one of this page&#39;s groups." in page
    assert 'aria-invalid="true"' in page
    assert fingerprint(org_a.tenant_id) == before


def test_the_plan_limits_the_number_of_components(staff_client, org_a):
    from status_platform.db.session import platform_session
    from status_platform.tenancy.models import Plan

    with platform_session() as s:
        s.get(Plan, "free").max_components = 2
        s.commit()
    before = fingerprint(org_a.tenant_id)
    page = post_form(staff_client, f"{_base(org_a)}/", {"name": "Third"}).get_data(as_text=True)
    assert "The Free plan includes 2 components" in page
    assert fingerprint(org_a.tenant_id) == before


def test_a_viewer_sees_components_without_the_controls(client_as, org_a):
    page = client_as("viewer").get(f"{_base(org_a)}/").get_data(as_text=True)
    assert f"{org_a.name} REST" in page
    assert "Add component" not in page and 'aria-label="Move up"' not in page
