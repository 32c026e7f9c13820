"""The management API's page access groups (audiences) and users (viewers), and what they see."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.identity.apikeys import issue_api_key
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tenants.subscribers.models import Subscriber
from tests.conftest import fingerprint

GROUP_FIELDS = {
    "id",
    "page_id",
    "name",
    "page_access_user_ids",
    "external_identifier",
    "metric_ids",
    "component_ids",
    "created_at",
    "updated_at",
    "is_active",
}
USER_FIELDS = {
    "id",
    "page_id",
    "email",
    "external_login",
    "page_access_group_id",
    "page_access_group_ids",
    "created_at",
    "updated_at",
    "is_active",
}
# Statuspage's own request examples.
GROUP_EXAMPLE = """{
  "page_access_group": {
    "name": "Enterprise customers",
    "external_identifier": "okta-group-42",
    "component_ids": ["7ddtptqkb02y"],
    "metric_ids": [],
    "page_access_user_ids": []
  }
}"""
USER_EXAMPLE = """{
  "page_access_user": {
    "email": "customer@example.com",
    "external_login": "uid-123",
    "page_access_group_ids": ["pagrp1"],
    "subscribe_to_components": true
  }
}"""


def auth(org) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def base(org) -> str:
    return f"/v1/pages/{org.page_id}"


def settled(client, org) -> dict:
    """The organization's rows once its key was used (a key's first use records its last use)."""
    assert client.get(base(org), headers=auth(org)).status_code == 200
    return fingerprint(org.tenant_id)


def events(org, action: str) -> list[AuditEvent]:
    with tenant_session(org.tenant_id) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def page_version(org) -> int:
    with tenant_session(org.tenant_id) as s:
        return s.get(Page, org.page_id).version


def group_links(org, audience_id: str) -> tuple[set[str], set[str]]:
    with tenant_session(org.tenant_id) as s:
        components = set(
            s.scalars(
                select(AudienceComponent.component_id).where(AudienceComponent.audience_id == audience_id)
            )
        )
        viewers = set(
            s.scalars(select(AudienceViewer.viewer_id).where(AudienceViewer.audience_id == audience_id))
        )
    return components, viewers


def create_group(admin_client, org, **fields):
    body = {"page_access_group": {"name": "Enterprise customers", **fields}}
    response = admin_client.post(f"{base(org)}/page_access_groups", json=body, headers=auth(org))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_user(admin_client, org, **fields):
    body = {"page_access_user": {"email": "customer@example.com", **fields}}
    response = admin_client.post(f"{base(org)}/page_access_users", json=body, headers=auth(org))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- groups ------------------------------------------------------------------------------------


def test_a_group_is_created_from_statuspages_example_with_its_components_and_users(admin_client, org_a):
    version = page_version(org_a)
    body = json.loads(GROUP_EXAMPLE)
    body["page_access_group"]["component_ids"] = [org_a.ids["component"], org_a.ids["component_web"]]
    body["page_access_group"]["page_access_user_ids"] = [org_a.ids["viewer"]]

    response = admin_client.post(f"{base(org_a)}/page_access_groups", json=body, headers=auth(org_a))

    assert response.status_code == 201
    group = response.get_json()
    assert set(group) == GROUP_FIELDS
    assert group["name"] == "Enterprise customers"
    assert group["external_identifier"] == "okta-group-42"
    assert group["page_id"] == org_a.page_id
    assert set(group["component_ids"]) == {org_a.ids["component"], org_a.ids["component_web"]}
    assert group["page_access_user_ids"] == [org_a.ids["viewer"]]
    assert group["metric_ids"] == []
    assert group["is_active"] is True
    assert group_links(org_a, group["id"]) == (
        {org_a.ids["component"], org_a.ids["component_web"]},
        {org_a.ids["viewer"]},
    )
    [event] = events(org_a, "audience.created")
    assert event.object_id == group["id"]
    assert event.actor_api_key_id is not None
    assert page_version(org_a) > version


def test_a_group_can_be_created_with_a_form_encoded_body(admin_client, org_a):
    response = admin_client.post(
        f"{base(org_a)}/page_access_groups",
        data={
            "page_access_group[name]": "Form clients",
            "page_access_group[component_ids][]": [org_a.ids["component_web"]],
        },
        headers=auth(org_a),
    )

    assert response.status_code == 201
    assert response.get_json()["component_ids"] == [org_a.ids["component_web"]]


def test_groups_are_listed_by_page_and_shown_one_by_one(admin_client, org_a):
    created = create_group(admin_client, org_a)

    listed = admin_client.get(f"{base(org_a)}/page_access_groups", headers=auth(org_a)).get_json()
    second = admin_client.get(
        f"{base(org_a)}/page_access_groups?page=2&per_page=1", headers=auth(org_a)
    ).get_json()
    shown = admin_client.get(f"{base(org_a)}/page_access_groups/{created['id']}", headers=auth(org_a))

    assert [g["id"] for g in listed] == [org_a.ids["audience"], created["id"]]
    assert listed[0]["component_ids"] == [org_a.ids["component"]]
    assert listed[0]["page_access_user_ids"] == [org_a.ids["viewer"]]
    assert [g["id"] for g in second] == [created["id"]]
    assert shown.status_code == 200
    assert shown.get_json() == created


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_group_is_updated_and_its_lists_replaced(admin_client, org_a, method):
    audience_id = org_a.ids["audience"]

    response = getattr(admin_client, method)(
        f"{base(org_a)}/page_access_groups/{audience_id}",
        json={
            "page_access_group": {
                "name": "Renamed client",
                "external_identifier": "idp-7",
                "component_ids": [org_a.ids["component_web"]],
                "page_access_user_ids": [],
            }
        },
        headers=auth(org_a),
    )

    assert response.status_code == 200
    group = response.get_json()
    assert (group["name"], group["external_identifier"]) == ("Renamed client", "idp-7")
    assert group["component_ids"] == [org_a.ids["component_web"]]
    assert group["page_access_user_ids"] == []
    assert group_links(org_a, audience_id) == ({org_a.ids["component_web"]}, set())
    [event] = events(org_a, "audience.updated")
    assert event.before["name"] == "Acme client"
    assert event.after["component_ids"] == [org_a.ids["component_web"]]


def test_a_partial_update_keeps_what_it_does_not_name(admin_client, org_a):
    audience_id = org_a.ids["audience"]

    response = admin_client.patch(
        f"{base(org_a)}/page_access_groups/{audience_id}",
        json={"page_access_group": {"external_identifier": "idp-9"}},
        headers=auth(org_a),
    )

    group = response.get_json()
    assert group["name"] == "Acme client"
    assert group["external_identifier"] == "idp-9"
    assert group["component_ids"] == [org_a.ids["component"]]
    assert group["page_access_user_ids"] == [org_a.ids["viewer"]]


def test_deleting_a_group_answers_the_deleted_group_and_keeps_its_users(admin_client, org_a):
    audience_id = org_a.ids["audience"]

    response = admin_client.delete(f"{base(org_a)}/page_access_groups/{audience_id}", headers=auth(org_a))

    assert response.status_code == 200
    assert response.get_json()["id"] == audience_id
    assert response.get_json()["component_ids"] == [org_a.ids["component"]]
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Audience, audience_id) is None
        assert s.get(Viewer, org_a.ids["viewer"]) is not None
        assert list(s.scalars(select(AudienceViewer))) == []
    assert len(events(org_a, "audience.deleted")) == 1


def test_a_group_with_metrics_is_refused_naming_the_field(admin_client, org_a):
    before = settled(admin_client, org_a)

    response = admin_client.post(
        f"{base(org_a)}/page_access_groups",
        json={"page_access_group": {"name": "Metrics", "metric_ids": ["g1jdj5wr275p"]}},
        headers=auth(org_a),
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == "page_access_group.metric_ids"
    assert fingerprint(org_a.tenant_id) == before


def test_a_group_without_a_name_is_refused(admin_client, org_a):
    response = admin_client.post(
        f"{base(org_a)}/page_access_groups", json={"page_access_group": {"name": "  "}}, headers=auth(org_a)
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == "page_access_group.name"


def test_a_second_group_of_the_same_name_is_a_conflict(admin_client, org_a):
    before = settled(admin_client, org_a)

    response = admin_client.post(
        f"{base(org_a)}/page_access_groups",
        json={"page_access_group": {"name": "Acme client"}},
        headers=auth(org_a),
    )

    assert response.status_code == 409
    assert response.get_json()["field"] == "page_access_group.name"
    assert fingerprint(org_a.tenant_id) == before


def test_a_read_only_key_cannot_create_groups(admin_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        key = issue_api_key(s, tenant_id=org_a.tenant_id, name="reader", is_read_only=True)
        s.commit()
    headers = {"Authorization": f"OAuth {key.secret}"}

    listed = admin_client.get(f"{base(org_a)}/page_access_groups", headers=headers)
    refused = admin_client.post(
        f"{base(org_a)}/page_access_groups", json={"page_access_group": {"name": "X"}}, headers=headers
    )

    assert listed.status_code == 200
    assert refused.status_code == 403


# --- a group's components ----------------------------------------------------------------------


def test_a_groups_components_are_replaced_added_and_removed(admin_client, org_a):
    url = f"{base(org_a)}/page_access_groups/{org_a.ids['audience']}/components"
    api, web = org_a.ids["component"], org_a.ids["component_web"]

    replaced = admin_client.post(url, json={"component_ids": [web]}, headers=auth(org_a))
    assert replaced.status_code == 201
    assert replaced.get_json()["component_ids"] == [web]

    added = admin_client.patch(url, json={"component_ids": [api]}, headers=auth(org_a))
    assert added.status_code == 200
    assert set(added.get_json()["component_ids"]) == {api, web}
    again = admin_client.put(url, json={"component_ids": [api]}, headers=auth(org_a))
    assert set(again.get_json()["component_ids"]) == {api, web}

    listed = admin_client.get(url, headers=auth(org_a))
    assert listed.status_code == 200
    assert {c["id"] for c in listed.get_json()} == {api, web}
    assert all(c["page_id"] == org_a.page_id for c in listed.get_json())

    removed = admin_client.delete(url, json={"component_ids": [web]}, headers=auth(org_a))
    assert removed.status_code == 200
    assert removed.get_json()["component_ids"] == [api]

    one = admin_client.delete(f"{url}/{api}", headers=auth(org_a))
    assert one.status_code == 200
    assert one.get_json()["component_ids"] == []
    assert group_links(org_a, org_a.ids["audience"])[0] == set()
    # The PUT that added nothing recorded nothing.
    assert len(events(org_a, "audience.components_changed")) == 4


def test_a_components_list_without_its_ids_is_refused(admin_client, org_a):
    url = f"{base(org_a)}/page_access_groups/{org_a.ids['audience']}/components"

    response = admin_client.post(url, json={"component_ids": "x" * 65}, headers=auth(org_a))
    missing = admin_client.post(url, json={}, headers=auth(org_a))

    assert response.status_code == 422
    assert response.get_json()["field"] == "component_ids"
    assert missing.status_code == 422
    assert missing.get_json()["field"] == "component_ids"


def test_a_component_is_added_to_and_removed_from_groups(admin_client, org_a):
    other = create_group(admin_client, org_a, name="Partners")
    web = org_a.ids["component_web"]
    url = f"{base(org_a)}/components/{web}/page_access_groups"

    added = admin_client.post(
        url, json={"page_access_group_ids": [org_a.ids["audience"], other["id"]]}, headers=auth(org_a)
    )
    assert added.status_code == 201
    assert added.get_json()["id"] == web
    assert web in group_links(org_a, org_a.ids["audience"])[0]
    assert web in group_links(org_a, other["id"])[0]

    removed = admin_client.delete(url, json={"page_access_group_ids": [other["id"]]}, headers=auth(org_a))
    assert removed.status_code == 200
    assert removed.get_json()["id"] == web
    assert web in group_links(org_a, org_a.ids["audience"])[0]
    assert web not in group_links(org_a, other["id"])[0]


# --- users -------------------------------------------------------------------------------------


def test_a_user_is_created_from_statuspages_example_in_its_groups(admin_client, org_a):
    body = json.loads(USER_EXAMPLE)
    body["page_access_user"]["page_access_group_ids"] = [org_a.ids["audience"]]

    response = admin_client.post(f"{base(org_a)}/page_access_users", json=body, headers=auth(org_a))

    assert response.status_code == 201
    user = response.get_json()
    assert set(user) == USER_FIELDS
    assert (user["email"], user["external_login"]) == ("customer@example.com", "uid-123")
    assert user["page_access_group_ids"] == [org_a.ids["audience"]]
    assert user["page_access_group_id"] == org_a.ids["audience"]
    assert user["is_active"] is True
    assert user["id"] in group_links(org_a, org_a.ids["audience"])[1]
    [event] = events(org_a, "viewer.created")
    assert event.object_id == user["id"]
    # subscribe_to_components: an email subscription bound to the user.
    with tenant_session(org_a.tenant_id) as s:
        [subscriber] = s.scalars(select(Subscriber).where(Subscriber.viewer_id == user["id"]))
        assert subscriber.email == "customer@example.com"
        assert subscriber.confirmed_at is not None


def test_a_user_without_groups_or_subscription_has_none(admin_client, org_a):
    user = create_user(admin_client, org_a, email="Plain@Example.com")

    assert user["email"] == "plain@example.com"
    assert (user["page_access_group_id"], user["page_access_group_ids"]) == (None, [])
    with tenant_session(org_a.tenant_id) as s:
        assert list(s.scalars(select(Subscriber).where(Subscriber.viewer_id == user["id"]))) == []


def test_a_second_user_of_the_same_email_is_a_conflict(admin_client, org_a):
    before = settled(admin_client, org_a)

    response = admin_client.post(
        f"{base(org_a)}/page_access_users",
        json={"page_access_user": {"email": "Viewer@Acme.test"}},
        headers=auth(org_a),
    )

    assert response.status_code == 409
    assert response.get_json()["field"] == "page_access_user.email"
    assert fingerprint(org_a.tenant_id) == before


def test_a_user_with_a_bad_email_is_refused(admin_client, org_a):
    response = admin_client.post(
        f"{base(org_a)}/page_access_users",
        json={"page_access_user": {"email": "nobody"}},
        headers=auth(org_a),
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == "page_access_user.email"


def test_users_are_listed_and_found_by_email(admin_client, org_a):
    created = create_user(admin_client, org_a)

    listed = admin_client.get(f"{base(org_a)}/page_access_users", headers=auth(org_a)).get_json()
    found = admin_client.get(
        f"{base(org_a)}/page_access_users?email=Customer@Example.com", headers=auth(org_a)
    ).get_json()
    unfiltered = admin_client.get(f"{base(org_a)}/page_access_users?email=", headers=auth(org_a)).get_json()
    shown = admin_client.get(f"{base(org_a)}/page_access_users/{org_a.ids['viewer']}", headers=auth(org_a))

    assert [u["id"] for u in listed] == [org_a.ids["viewer"], created["id"]]
    assert [u["id"] for u in found] == [created["id"]]
    assert unfiltered == listed
    assert shown.get_json()["page_access_group_ids"] == [org_a.ids["audience"]]


def test_a_users_groups_are_replaced_by_patch_and_put(admin_client, org_a):
    other = create_group(admin_client, org_a, name="Partners")
    url = f"{base(org_a)}/page_access_users/{org_a.ids['viewer']}"

    patched = admin_client.patch(
        url,
        json={"page_access_user": {"page_access_group_ids": [other["id"]], "external_login": "uid-9"}},
        headers=auth(org_a),
    )
    assert patched.status_code == 200
    assert patched.get_json()["page_access_group_ids"] == [other["id"]]
    assert patched.get_json()["external_login"] == "uid-9"
    assert org_a.ids["viewer"] not in group_links(org_a, org_a.ids["audience"])[1]

    put = admin_client.put(
        url, json={"page_access_user": {"page_access_group_id": org_a.ids["audience"]}}, headers=auth(org_a)
    )
    assert put.status_code == 200
    assert put.get_json()["page_access_group_ids"] == [org_a.ids["audience"]]
    assert put.get_json()["external_login"] == "uid-9"
    assert len(events(org_a, "viewer.updated")) == 2


def test_a_groups_users_are_set_by_page_access_user_ids(admin_client, org_a):
    user = create_user(admin_client, org_a)

    group = create_group(
        admin_client, org_a, name="Both", page_access_user_ids=[org_a.ids["viewer"], user["id"]]
    )

    shown = admin_client.get(f"{base(org_a)}/page_access_users/{user['id']}", headers=auth(org_a)).get_json()
    assert set(group["page_access_user_ids"]) == {org_a.ids["viewer"], user["id"]}
    assert shown["page_access_group_ids"] == [group["id"]]


def test_deleting_a_user_answers_no_content_and_removes_its_memberships(admin_client, org_a):
    viewer_id = org_a.ids["viewer"]

    response = admin_client.delete(f"{base(org_a)}/page_access_users/{viewer_id}", headers=auth(org_a))

    assert response.status_code == 204
    assert response.get_data() == b""
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Viewer, viewer_id) is None
        assert s.get(Audience, org_a.ids["audience"]) is not None
    assert group_links(org_a, org_a.ids["audience"])[1] == set()
    assert len(events(org_a, "viewer.deleted")) == 1


def test_deactivating_a_user_ends_its_sessions(admin_client, org_a):
    viewer_id = org_a.ids["viewer"]

    response = admin_client.patch(
        f"{base(org_a)}/page_access_users/{viewer_id}",
        json={"page_access_user": {"is_active": False}},
        headers=auth(org_a),
    )

    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    with tenant_session(org_a.tenant_id) as s:
        viewer = s.get(Viewer, viewer_id)
        assert (viewer.is_active, viewer.session_version) == (False, 2)
    assert len(events(org_a, "viewer.deactivated")) == 1


def test_a_user_sees_the_components_of_its_active_groups(admin_client, org_a):
    other = create_group(admin_client, org_a, name="Partners", component_ids=[org_a.ids["component_web"]])
    user = create_user(admin_client, org_a, page_access_group_ids=[org_a.ids["audience"], other["id"]])
    url = f"{base(org_a)}/page_access_users/{user['id']}/components"

    both = admin_client.get(url, headers=auth(org_a))
    admin_client.patch(
        f"{base(org_a)}/page_access_groups/{other['id']}",
        json={"page_access_group": {"is_active": False}},
        headers=auth(org_a),
    )
    one = admin_client.get(url, headers=auth(org_a))

    assert both.status_code == 200
    assert {c["id"] for c in both.get_json()} == {org_a.ids["component"], org_a.ids["component_web"]}
    assert [c["id"] for c in one.get_json()] == [org_a.ids["component"]]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "page_access_users/{viewer}/components", "component_ids"),
        ("patch", "page_access_users/{viewer}/components", "component_ids"),
        ("put", "page_access_users/{viewer}/components", "component_ids"),
        ("delete", "page_access_users/{viewer}/components", "component_ids"),
        ("delete", "page_access_users/{viewer}/components/{component}", "component_ids"),
        ("post", "components/{component}/page_access_users", "page_access_user_ids"),
        ("delete", "components/{component}/page_access_users", "page_access_user_ids"),
    ],
)
def test_components_are_given_to_groups_not_to_single_users(admin_client, org_a, method, path, field):
    before = settled(admin_client, org_a)
    url = f"{base(org_a)}/" + path.format(viewer=org_a.ids["viewer"], component=org_a.ids["component_web"])

    response = getattr(admin_client, method)(
        url,
        json={"component_ids": [org_a.ids["component_web"]], "page_access_user_ids": [org_a.ids["viewer"]]},
        headers=auth(org_a),
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert "page access groups" in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


# --- another organization's objects ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "post",
            "page_access_groups",
            {"page_access_group": {"name": "X", "component_ids": ["{component}"]}},
            "page_access_group.component_ids",
        ),
        (
            "post",
            "page_access_groups",
            {"page_access_group": {"name": "X", "page_access_user_ids": ["{viewer}"]}},
            "page_access_group.page_access_user_ids",
        ),
        (
            "patch",
            "page_access_groups/{own_audience}",
            {"page_access_group": {"component_ids": ["{component}"]}},
            "page_access_group.component_ids",
        ),
        (
            "post",
            "page_access_users",
            {"page_access_user": {"email": "x@example.com", "page_access_group_ids": ["{audience}"]}},
            "page_access_user.page_access_group_ids",
        ),
        (
            "patch",
            "page_access_users/{own_viewer}",
            {"page_access_user": {"page_access_group_id": "{audience}"}},
            "page_access_user.page_access_group_id",
        ),
        (
            "post",
            "page_access_groups/{own_audience}/components",
            {"component_ids": ["{component}"]},
            "component_ids",
        ),
        (
            "patch",
            "page_access_groups/{own_audience}/components",
            {"component_ids": ["{component}"]},
            "component_ids",
        ),
        (
            "delete",
            "page_access_groups/{own_audience}/components",
            {"component_ids": ["{component}"]},
            "component_ids",
        ),
        (
            "post",
            "components/{own_component}/page_access_groups",
            {"page_access_group_ids": ["{audience}"]},
            "page_access_group_ids",
        ),
        (
            "delete",
            "components/{own_component}/page_access_groups",
            {"page_access_group_ids": ["{audience}"]},
            "page_access_group_ids",
        ),
    ],
)
def test_another_organizations_ids_are_refused_on_assignment(
    admin_client, org_a, org_b, method, path, body, field
):
    names = {
        "component": org_b.ids["component"],
        "viewer": org_b.ids["viewer"],
        "audience": org_b.ids["audience"],
        "own_audience": org_a.ids["audience"],
        "own_viewer": org_a.ids["viewer"],
        "own_component": org_a.ids["component"],
    }
    payload = json.loads(_fill(json.dumps(body), names))
    before = settled(admin_client, org_a)

    response = getattr(admin_client, method)(
        f"{base(org_a)}/{_fill(path, names)}", json=payload, headers=auth(org_a)
    )

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def _fill(text: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "page_access_groups/{audience}"),
        ("patch", "page_access_groups/{audience}"),
        ("put", "page_access_groups/{audience}"),
        ("delete", "page_access_groups/{audience}"),
        ("get", "page_access_groups/{audience}/components"),
        ("post", "page_access_groups/{audience}/components"),
        ("patch", "page_access_groups/{audience}/components"),
        ("delete", "page_access_groups/{audience}/components"),
        ("delete", "page_access_groups/{own_audience}/components/{component}"),
        ("get", "page_access_users/{viewer}"),
        ("patch", "page_access_users/{viewer}"),
        ("put", "page_access_users/{viewer}"),
        ("delete", "page_access_users/{viewer}"),
        ("get", "page_access_users/{viewer}/components"),
        ("post", "page_access_users/{viewer}/components"),
        ("delete", "page_access_users/{own_viewer}/components/{component}"),
        ("post", "components/{component}/page_access_groups"),
        ("delete", "components/{component}/page_access_groups"),
        ("post", "components/{component}/page_access_users"),
    ],
)
def test_another_organizations_objects_are_not_found_in_the_path(admin_client, org_a, org_b, method, path):
    names = {
        "component": org_b.ids["component"],
        "viewer": org_b.ids["viewer"],
        "audience": org_b.ids["audience"],
        "own_audience": org_a.ids["audience"],
        "own_viewer": org_a.ids["viewer"],
    }
    body = {
        "page_access_group": {"name": "Taken over"},
        "page_access_user": {"email": "taken@example.com"},
        "component_ids": [org_a.ids["component"]],
        "page_access_group_ids": [org_a.ids["audience"]],
        "page_access_user_ids": [org_a.ids["viewer"]],
    }
    before_a, before_b = settled(admin_client, org_a), fingerprint(org_b.tenant_id)

    response = getattr(admin_client, method)(
        f"{base(org_a)}/{_fill(path, names)}", json=None if method == "get" else body, headers=auth(org_a)
    )

    assert response.status_code == 404
    assert fingerprint(org_a.tenant_id) == before_a
    assert fingerprint(org_b.tenant_id) == before_b


def test_another_organizations_page_is_not_found(admin_client, org_a, org_b):
    response = admin_client.get(f"{base(org_b)}/page_access_groups", headers=auth(org_a))

    assert response.status_code == 404


# --- the document ------------------------------------------------------------------------------


def test_the_document_describes_the_objects_served(admin_client, org_a):
    document = admin_client.get("/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    assert set(schemas["PageAccessGroup"]["properties"]) == GROUP_FIELDS
    assert set(schemas["PageAccessUser"]["properties"]) == USER_FIELDS
    assert schemas["PageAccessGroup"]["additionalProperties"] is False
    assert schemas["PageAccessUser"]["additionalProperties"] is False
    paths = document["paths"]
    assert set(paths["/pages/{page_id}/page_access_groups/{page_access_group_id}/components"]) == {
        "get",
        "post",
        "patch",
        "put",
        "delete",
    }
    assert "201" in paths["/pages/{page_id}/page_access_users"]["post"]["responses"]
    assert "204" in paths["/pages/{page_id}/page_access_users/{page_access_user_id}"]["delete"]["responses"]
    assert not any("metrics" in path for path in paths)
