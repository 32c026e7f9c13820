"""The management API's components and component groups: list, create, get, update, reorder, delete."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.tenancy.models import Tenant
from tenants.audit.models import AuditEvent
from tenants.components.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    ComponentVisibility,
)
from tenants.components.services import create_component
from tenants.pages.services import create_page
from tests.conftest import fingerprint
from tests.factories import ACTOR


def auth(org: Any) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def components_url(org: Any, suffix: str = "") -> str:
    return f"/v1/pages/{org.page_id}/components{suffix}"


def groups_url(org: Any, suffix: str = "") -> str:
    return f"/v1/pages/{org.page_id}/component-groups{suffix}"


def public_components(web: Any, org: Any) -> dict[str, dict[str, Any]]:
    response = web.get("/api/v2/components.json", headers={"Host": org.host})
    assert response.status_code == 200
    return {c["id"]: c for c in response.get_json()["components"]}


def audit_events(org: Any, action: str, object_id: str) -> list[AuditEvent]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)
            )
        )


def stored_component(org: Any, component_id: str) -> Component | None:
    with tenant_session(org.tenant_id) as s:
        return s.get(Component, component_id)


def top_level(org: Any) -> list[str]:
    """The page's top-level ids (groups and ungrouped components) by position."""
    with tenant_session(org.tenant_id) as s:
        groups = s.scalars(select(ComponentGroup).where(ComponentGroup.page_id == org.page_id))
        loose = s.scalars(
            select(Component).where(Component.page_id == org.page_id, Component.group_id.is_(None))
        )
        items = [*groups, *loose]
        return [item.id for item in sorted(items, key=lambda item: item.position)]


def settled_fingerprint(client: Any, org: Any, of: Any = None) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of `of` (by default `org`) once `org`'s key has been used: a key's first use records
    its `last_used_at`, which a refused request must not be blamed for."""
    assert client.get(f"/v1/pages/{org.page_id}", headers=auth(org)).status_code == 200
    return fingerprint((of or org).tenant_id)


def second_page_component(org: Any) -> str:
    """Give `org` a second page (on the Business plan) with one component; the component's id."""
    with platform_session() as s:
        s.get(Tenant, org.tenant_id).plan_code = "business"
        s.commit()
    with tenant_session(org.tenant_id) as s:
        page = create_page(s, name=f"{org.name} Internal", slug=f"{org.slug}-internal", actor=ACTOR)
        component = create_component(s, page, name="Internal VPN", actor=ACTOR)
        s.commit()
        return component.id


# --- components ----------------------------------------------------------------------------------


def test_components_are_listed_in_the_public_page_order_with_group_members_inside_their_group(
    admin_client, org_a
):
    created = admin_client.post(
        components_url(org_a),
        json={"component": {"name": "Acme GraphQL", "group_id": org_a.ids["group"]}},
        headers=auth(org_a),
    )
    assert created.status_code == 201
    new_id = created.get_json()["id"]

    response = admin_client.get(components_url(org_a), headers=auth(org_a))

    assert response.status_code == 200
    listed = response.get_json()
    assert [c["id"] for c in listed] == [org_a.ids["component"], new_id, org_a.ids["component_web"]]
    assert [c["position"] for c in listed] == [1, 2, 2]
    assert all(c["group"] is False and c["page_id"] == org_a.page_id for c in listed)


def test_the_component_list_is_paginated(admin_client, org_a):
    second = admin_client.get(components_url(org_a) + "?page=2&per_page=1", headers=auth(org_a))
    beyond = admin_client.get(components_url(org_a) + "?page=3&per_page=1", headers=auth(org_a))

    assert [c["id"] for c in second.get_json()] == [org_a.ids["component_web"]]
    assert beyond.status_code == 200
    assert beyond.get_json() == []


def test_creating_a_component_stores_it_shows_it_publicly_and_audits_the_key(admin_client, web, org_a):
    response = admin_client.post(
        components_url(org_a),
        json={
            "component": {
                "name": "API Gateway",
                "description": "Public REST API",
                "status": "degraded_performance",
                "group_id": None,
                "showcase": False,
                "only_show_if_degraded": True,
                "start_date": "2024-06-07",
            }
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "API Gateway"
    assert body["description"] == "Public REST API"
    assert body["status"] == "degraded_performance"
    assert body["group_id"] is None
    assert body["showcase"] is False
    assert body["only_show_if_degraded"] is True
    assert body["start_date"] == "2024-06-07"
    assert body["visibility"] == "public"
    assert body["created_at"].endswith("Z")
    component = stored_component(org_a, body["id"])
    assert component is not None and component.page_id == org_a.page_id
    assert component.status is ComponentStatus.DEGRADED_PERFORMANCE
    assert top_level(org_a)[-1] == body["id"]
    assert public_components(web, org_a)[body["id"]]["status"] == "degraded_performance"
    [event] = audit_events(org_a, "component.created", body["id"])
    assert event.actor_api_key_id == org_a.ids["api_key"]
    assert event.actor_user_id is None
    assert "Acme key" in event.actor_label


def test_a_hidden_component_is_managed_but_not_public(admin_client, web, org_a):
    response = admin_client.post(
        components_url(org_a),
        json={"component": {"name": "Secret", "visibility": "hidden"}},
        headers=auth(org_a),
    )

    assert response.status_code == 201
    assert response.get_json()["visibility"] == "hidden"
    assert response.get_json()["id"] not in public_components(web, org_a)
    listed = admin_client.get(components_url(org_a), headers=auth(org_a)).get_json()
    assert response.get_json()["id"] in [c["id"] for c in listed]


def test_a_form_encoded_component_is_created_like_a_json_one(admin_client, org_a):
    response = admin_client.post(
        components_url(org_a),
        data={
            "component[name]": "Billing",
            "component[group_id]": org_a.ids["group"],
            "component[showcase]": "false",
            "component[status]": "partial_outage",
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert (body["name"], body["group_id"], body["showcase"], body["status"]) == (
        "Billing",
        org_a.ids["group"],
        False,
        "partial_outage",
    )


def test_paths_with_a_json_suffix_are_the_same_resources(admin_client, org_a):
    component_id = org_a.ids["component"]

    listed = admin_client.get(components_url(org_a, ".json"), headers=auth(org_a))
    one = admin_client.get(components_url(org_a, f"/{component_id}.json"), headers=auth(org_a))
    created = admin_client.post(
        components_url(org_a, ".json"), json={"component": {"name": "Suffixed"}}, headers=auth(org_a)
    )
    groups = admin_client.get(groups_url(org_a, ".json"), headers=auth(org_a))

    assert listed.status_code == 200 and len(listed.get_json()) == 2
    assert one.get_json()["id"] == component_id
    assert created.status_code == 201
    assert [g["id"] for g in groups.get_json()] == [org_a.ids["group"]]


def test_getting_a_component_gives_its_fields(admin_client, org_a):
    response = admin_client.get(components_url(org_a, f"/{org_a.ids['component']}"), headers=auth(org_a))

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == org_a.ids["component"]
    assert body["name"] == "Acme REST"
    assert body["group_id"] == org_a.ids["group"]
    assert body["status"] == "major_outage"


def test_patching_the_status_records_history_and_changes_the_public_api(admin_client, web, org_a):
    component_id = org_a.ids["component_web"]
    assert public_components(web, org_a)[component_id]["status"] == "operational"

    response = admin_client.patch(
        components_url(org_a, f"/{component_id}"),
        json={"component": {"status": "partial_outage"}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "partial_outage"
    assert response.get_json()["name"] == "Acme Web"
    assert public_components(web, org_a)[component_id]["status"] == "partial_outage"
    with tenant_session(org_a.tenant_id) as s:
        changes = list(
            s.scalars(select(ComponentStatusChange).where(ComponentStatusChange.component_id == component_id))
        )
        assert (changes[-1].old_status, changes[-1].new_status) == (
            ComponentStatus.OPERATIONAL,
            ComponentStatus.PARTIAL_OUTAGE,
        )
    [event] = audit_events(org_a, "component.status_changed", component_id)
    assert event.actor_api_key_id == org_a.ids["api_key"]
    assert event.after == {"status": "partial_outage"}


def test_patching_changes_only_the_fields_given(admin_client, org_a):
    component_id = org_a.ids["component"]

    response = admin_client.patch(
        components_url(org_a, f"/{component_id}"),
        json={"component": {"description": "REST and webhooks", "start_date": "2023-02-01"}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["description"] == "REST and webhooks"
    assert body["start_date"] == "2023-02-01"
    assert (body["name"], body["group_id"], body["status"]) == (
        "Acme REST",
        org_a.ids["group"],
        "major_outage",
    )
    [event] = audit_events(org_a, "component.updated", component_id)
    assert event.actor_api_key_id == org_a.ids["api_key"]
    assert event.after == {"description": "REST and webhooks", "start_date": "2023-02-01"}


def test_put_updates_a_component_as_patch_does(admin_client, org_a):
    component_id = org_a.ids["component_web"]

    response = admin_client.put(
        components_url(org_a, f"/{component_id}"),
        json={"component": {"name": "Website", "showcase": False, "visibility": "audience"}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    component = stored_component(org_a, component_id)
    assert component is not None
    assert (component.name, component.is_showcased, component.visibility) == (
        "Website",
        False,
        ComponentVisibility.AUDIENCE,
    )
    assert component.description == ""


def test_group_id_moves_a_component_into_a_group_and_null_back_to_the_top_level(admin_client, web, org_a):
    web_id, group_id = org_a.ids["component_web"], org_a.ids["group"]

    into = admin_client.patch(
        components_url(org_a, f"/{web_id}"), json={"component": {"group_id": group_id}}, headers=auth(org_a)
    )

    assert into.status_code == 200
    assert (into.get_json()["group_id"], into.get_json()["position"]) == (group_id, 2)
    assert public_components(web, org_a)[group_id]["components"] == [org_a.ids["component"], web_id]
    assert top_level(org_a) == [group_id]

    out = admin_client.patch(
        components_url(org_a, f"/{org_a.ids['component']}"),
        json={"component": {"group_id": None}},
        headers=auth(org_a),
    )

    assert out.status_code == 200
    assert (out.get_json()["group_id"], out.get_json()["position"]) == (None, 2)
    assert top_level(org_a) == [group_id, org_a.ids["component"]]
    assert stored_component(org_a, web_id).position == 1


def test_position_moves_a_component_within_its_group(admin_client, org_a):
    group_id = org_a.ids["group"]
    created = admin_client.post(
        components_url(org_a),
        json={"component": {"name": "Acme gRPC", "group_id": group_id}},
        headers=auth(org_a),
    )
    new_id = created.get_json()["id"]

    response = admin_client.patch(
        components_url(org_a, f"/{new_id}"), json={"component": {"position": 1}}, headers=auth(org_a)
    )

    assert response.status_code == 200
    assert response.get_json()["position"] == 1
    group = admin_client.get(groups_url(org_a, f"/{group_id}"), headers=auth(org_a)).get_json()
    assert group["components"] == [new_id, org_a.ids["component"]]
    [event] = audit_events(org_a, "component.moved", new_id)
    assert (event.before, event.after) == ({"position": 2}, {"position": 1})
    assert event.actor_api_key_id == org_a.ids["api_key"]


def test_position_moves_a_component_among_the_top_level_and_past_the_end_means_last(admin_client, org_a):
    web_id, group_id = org_a.ids["component_web"], org_a.ids["group"]

    first = admin_client.patch(
        components_url(org_a, f"/{web_id}"), json={"component": {"position": 1}}, headers=auth(org_a)
    )
    assert first.status_code == 200
    assert top_level(org_a) == [web_id, group_id]

    last = admin_client.put(
        components_url(org_a, f"/{web_id}"), data={"component[position]": "99"}, headers=auth(org_a)
    )
    assert last.get_json()["position"] == 2
    assert top_level(org_a) == [group_id, web_id]


def test_moving_to_another_group_and_a_position_in_one_request(admin_client, org_a):
    web_id, group_id = org_a.ids["component_web"], org_a.ids["group"]

    response = admin_client.patch(
        components_url(org_a, f"/{web_id}"),
        json={"component": {"group_id": group_id, "position": 1}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    group = admin_client.get(groups_url(org_a, f"/{group_id}"), headers=auth(org_a)).get_json()
    assert group["components"] == [web_id, org_a.ids["component"]]


def test_deleting_a_component_answers_204_and_removes_it(admin_client, web, org_a):
    component_id = org_a.ids["component"]

    response = admin_client.delete(components_url(org_a, f"/{component_id}"), headers=auth(org_a))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert stored_component(org_a, component_id) is None
    assert component_id not in public_components(web, org_a)
    [event] = audit_events(org_a, "component.deleted", component_id)
    assert event.actor_api_key_id == org_a.ids["api_key"]
    again = admin_client.get(components_url(org_a, f"/{component_id}"), headers=auth(org_a))
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ({"name": ""}, "component.name"),
        ({"name": "   "}, "component.name"),
        ({"name": "x" * 256}, "component.name"),
        ({"name": "Ok", "status": "broken"}, "component.status"),
        ({"name": "Ok", "group_id": "nosuchgroup1"}, "component.group_id"),
        ({"name": "Ok", "start_date": "2024-13-01"}, "component.start_date"),
        ({"name": "Ok", "start_date": "yesterday"}, "component.start_date"),
        ({"name": "Ok", "start_date": "1999-12-31"}, "component.start_date"),
        ({"name": "Ok", "visibility": "secret"}, "component.visibility"),
        ({"name": "Ok", "showcase": "maybe"}, "component.showcase"),
        ({"description": "No name"}, "component.name"),
    ],
)
def test_a_bad_new_component_is_refused_naming_the_field(admin_client, org_a, component, field):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.post(components_url(org_a), json={"component": component}, headers=auth(org_a))

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ({"name": ""}, "component.name"),
        ({"name": None}, "component.name"),
        ({"name": "x" * 256}, "component.name"),
        ({"status": "broken"}, "component.status"),
        ({"status": "major_outage", "group_id": "nosuchgroup1"}, "component.group_id"),
        ({"status": "major_outage", "start_date": "2024-02-30"}, "component.start_date"),
        ({"position": 0}, "component.position"),
        ({"position": "first"}, "component.position"),
        ({"name": "Line\nbreak"}, "component.name"),
    ],
)
def test_a_bad_component_update_is_refused_naming_the_field(admin_client, org_a, component, field):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.patch(
        components_url(org_a, f"/{org_a.ids['component_web']}"),
        json={"component": component},
        headers=auth(org_a),
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_another_organizations_group_id_is_refused_as_unknown(admin_client, org_a, org_b):
    before = settled_fingerprint(admin_client, org_a)
    before_b = settled_fingerprint(admin_client, org_a, org_b)

    created = admin_client.post(
        components_url(org_a),
        json={"component": {"name": "Stray", "group_id": org_b.ids["group"]}},
        headers=auth(org_a),
    )
    moved = admin_client.patch(
        components_url(org_a, f"/{org_a.ids['component_web']}"),
        json={"component": {"group_id": org_b.ids["group"]}},
        headers=auth(org_a),
    )

    assert (created.status_code, created.get_json()["field"]) == (422, "component.group_id")
    assert (moved.status_code, moved.get_json()["field"]) == (422, "component.group_id")
    assert fingerprint(org_a.tenant_id) == before
    assert fingerprint(org_b.tenant_id) == before_b


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_organizations_component_is_not_found(admin_client, org_a, org_b, method):
    before_b = settled_fingerprint(admin_client, org_a, org_b)

    response = getattr(admin_client, method)(
        components_url(org_a, f"/{org_b.ids['component']}"),
        json={"component": {"status": "operational"}},
        headers=auth(org_a),
    )

    assert response.status_code == 404
    assert fingerprint(org_b.tenant_id) == before_b


def test_another_organizations_page_is_not_found(admin_client, org_a, org_b):
    response = admin_client.post(
        components_url(org_b), json={"component": {"name": "Stray"}}, headers=auth(org_a)
    )
    listed = admin_client.get(groups_url(org_b), headers=auth(org_a))

    assert response.status_code == 404
    assert listed.status_code == 404


def test_a_read_only_key_cannot_change_a_component(admin_client, org_a):
    from status_platform.identity.apikeys import issue_api_key

    with tenant_session(org_a.tenant_id) as s:
        key = issue_api_key(s, tenant_id=org_a.tenant_id, name="reader", is_read_only=True)
        s.commit()
    headers = {"Authorization": f"OAuth {key.secret}"}
    read = admin_client.get(components_url(org_a), headers=headers)
    before = fingerprint(org_a.tenant_id)

    write = admin_client.patch(
        components_url(org_a, f"/{org_a.ids['component_web']}"),
        json={"component": {"status": "major_outage"}},
        headers=headers,
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert fingerprint(org_a.tenant_id) == before


# --- component groups ----------------------------------------------------------------------------


def test_creating_a_group_takes_its_components_and_the_description_beside_the_envelope(
    admin_client, web, org_a
):
    web_id, rest_id = org_a.ids["component_web"], org_a.ids["component"]

    response = admin_client.post(
        groups_url(org_a),
        json={
            "description": "Backend services",
            "component_group": {"name": "Backend", "components": [web_id, rest_id]},
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Backend"
    assert body["description"] == "Backend services"
    assert body["components"] == [web_id, rest_id]
    assert body["page_id"] == org_a.page_id
    public = public_components(web, org_a)
    assert public[body["id"]]["components"] == [web_id, rest_id]
    assert public[org_a.ids["group"]]["components"] == []
    assert top_level(org_a) == [org_a.ids["group"], body["id"]]
    [created] = audit_events(org_a, "component_group.created", body["id"])
    assert created.actor_api_key_id == org_a.ids["api_key"]
    [members] = audit_events(org_a, "component_group.updated", body["id"])
    assert members.after == {"components": [web_id, rest_id]}


def test_a_form_encoded_group_with_its_description_inside_the_envelope(admin_client, org_a):
    response = admin_client.post(
        groups_url(org_a),
        data={
            "component_group[name]": "Frontend",
            "component_group[description]": "What visitors see",
            "component_group[components][]": org_a.ids["component_web"],
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert (body["name"], body["description"], body["components"]) == (
        "Frontend",
        "What visitors see",
        [org_a.ids["component_web"]],
    )


def test_groups_are_listed_and_paginated(admin_client, org_a):
    created = admin_client.post(
        groups_url(org_a), json={"component_group": {"name": "Empty", "components": []}}, headers=auth(org_a)
    )
    assert created.status_code == 201

    listed = admin_client.get(groups_url(org_a), headers=auth(org_a)).get_json()
    second = admin_client.get(groups_url(org_a) + "?page=2&per_page=1", headers=auth(org_a)).get_json()

    assert [g["id"] for g in listed] == [org_a.ids["group"], created.get_json()["id"]]
    assert listed[0]["components"] == [org_a.ids["component"]]
    assert listed[0]["description"] is None
    assert [g["id"] for g in second] == [created.get_json()["id"]]


def test_getting_a_group_gives_its_fields(admin_client, org_a):
    response = admin_client.get(groups_url(org_a, f"/{org_a.ids['group']}"), headers=auth(org_a))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["name"], body["components"], body["position"]) == (
        org_a.ids["group"],
        "Acme API",
        [org_a.ids["component"]],
        1,
    )


def test_patching_a_group_renames_it_and_replaces_its_components(admin_client, web, org_a):
    group_id, rest_id, web_id = org_a.ids["group"], org_a.ids["component"], org_a.ids["component_web"]

    response = admin_client.patch(
        groups_url(org_a, f"/{group_id}"),
        json={
            "description": "All of the API",
            "component_group": {"name": "Acme APIs", "components": [web_id]},
        },
        headers=auth(org_a),
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["description"], body["components"]) == (
        "Acme APIs",
        "All of the API",
        [web_id],
    )
    assert stored_component(org_a, rest_id).group_id is None
    assert top_level(org_a) == [group_id, rest_id]
    public = public_components(web, org_a)
    assert public[group_id]["name"] == "Acme APIs"
    assert public[rest_id]["group_id"] is None
    events = audit_events(org_a, "component_group.updated", group_id)
    assert sorted(sorted(event.after) for event in events) == [
        ["components"],
        ["description", "expanded", "name"],
    ]
    assert all(event.actor_api_key_id == org_a.ids["api_key"] for event in events)


def test_put_on_a_group_with_only_the_outer_description_keeps_the_rest(admin_client, org_a):
    group_id = org_a.ids["group"]

    response = admin_client.put(
        groups_url(org_a, f"/{group_id}"), json={"description": "Edge"}, headers=auth(org_a)
    )

    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["description"]) == ("Acme API", "Edge")
    assert response.get_json()["components"] == [org_a.ids["component"]]


def test_position_moves_a_group_among_the_top_level(admin_client, org_a):
    group_id, web_id = org_a.ids["group"], org_a.ids["component_web"]

    response = admin_client.patch(
        groups_url(org_a, f"/{group_id}"), json={"component_group": {"position": 2}}, headers=auth(org_a)
    )

    assert response.status_code == 200
    assert response.get_json()["position"] == 2
    assert top_level(org_a) == [web_id, group_id]
    [event] = audit_events(org_a, "component_group.moved", group_id)
    assert event.actor_api_key_id == org_a.ids["api_key"]


def test_deleting_a_group_answers_with_it_and_keeps_its_components_at_the_top_level(admin_client, web, org_a):
    group_id, rest_id = org_a.ids["group"], org_a.ids["component"]

    response = admin_client.delete(groups_url(org_a, f"/{group_id}"), headers=auth(org_a))

    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["components"]) == (group_id, [rest_id])
    component = stored_component(org_a, rest_id)
    assert component is not None and component.group_id is None
    assert top_level(org_a) == [org_a.ids["component_web"], rest_id]
    public = public_components(web, org_a)
    assert group_id not in public
    assert public[rest_id]["group_id"] is None
    [event] = audit_events(org_a, "component_group.deleted", group_id)
    assert event.actor_api_key_id == org_a.ids["api_key"]
    assert admin_client.get(groups_url(org_a, f"/{group_id}"), headers=auth(org_a)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"component_group": {"name": "", "components": []}}, "component_group.name"),
        ({"component_group": {"name": "x" * 256, "components": []}}, "component_group.name"),
        ({"component_group": {"components": []}}, "component_group.name"),
        ({"component_group": {"name": "Backend"}}, "component_group.components"),
        (
            {"component_group": {"name": "Backend", "components": ["nosuchcompo"]}},
            "component_group.components",
        ),
        ({"component_group": {"name": "Backend", "components": [1, 2]}}, "component_group.components"),
        ({"description": 5, "component_group": {"name": "Backend", "components": []}}, "description"),
        (
            {"description": "d" * 2001, "component_group": {"name": "Backend", "components": []}},
            "description",
        ),
        (
            {"component_group": {"name": "B", "description": "d" * 2001, "components": []}},
            "component_group.description",
        ),
    ],
)
def test_a_bad_new_group_is_refused_naming_the_field(admin_client, org_a, body, field):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.post(groups_url(org_a), json=body, headers=auth(org_a))

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("group", "field"),
    [
        ({"name": ""}, "component_group.name"),
        ({"name": "x" * 256}, "component_group.name"),
        ({"components": ["nosuchcompo"]}, "component_group.components"),
        ({"position": 0}, "component_group.position"),
    ],
)
def test_a_bad_group_update_is_refused_naming_the_field(admin_client, org_a, group, field):
    before = settled_fingerprint(admin_client, org_a)

    response = admin_client.patch(
        groups_url(org_a, f"/{org_a.ids['group']}"), json={"component_group": group}, headers=auth(org_a)
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_components_of_another_organization_or_page_cannot_join_a_group(admin_client, org_a, org_b):
    other_page_component = second_page_component(org_a)
    before = settled_fingerprint(admin_client, org_a)
    before_b = settled_fingerprint(admin_client, org_a, org_b)

    foreign = admin_client.post(
        groups_url(org_a),
        json={"component_group": {"name": "Stolen", "components": [org_b.ids["component"]]}},
        headers=auth(org_a),
    )
    other_page = admin_client.patch(
        groups_url(org_a, f"/{org_a.ids['group']}"),
        json={"component_group": {"components": [org_a.ids["component_web"], other_page_component]}},
        headers=auth(org_a),
    )

    assert (foreign.status_code, foreign.get_json()["field"]) == (422, "component_group.components")
    assert (other_page.status_code, other_page.get_json()["field"]) == (422, "component_group.components")
    assert fingerprint(org_a.tenant_id) == before
    assert fingerprint(org_b.tenant_id) == before_b


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_organizations_group_is_not_found(admin_client, org_a, org_b, method):
    before_b = settled_fingerprint(admin_client, org_a, org_b)

    response = getattr(admin_client, method)(
        groups_url(org_a, f"/{org_b.ids['group']}"),
        json={"component_group": {"name": "Taken"}},
        headers=auth(org_a),
    )

    assert response.status_code == 404
    assert fingerprint(org_b.tenant_id) == before_b
