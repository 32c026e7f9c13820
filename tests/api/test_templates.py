"""Incident templates in the management API: list, create (JSON and form), get, update, delete, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.identity.apikeys import issue_api_key
from tenants.audit.models import AuditEvent
from tenants.components.models import ComponentStatus
from tenants.incidents.models import IncidentKind, IncidentStatus, Template
from tenants.incidents.services import MAX_BODY, create_template
from tenants.pages.models import Page
from tests.conftest import fingerprint
from tests.factories import ACTOR

TEMPLATE_KEYS = {
    "id",
    "name",
    "title",
    "body",
    "group_id",
    "update_status",
    "should_tweet",
    "should_send_notifications",
    "components",
    "kind",
    "created_at",
    "updated_at",
}


def auth(org) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def url(org, template_id: str | None = None) -> str:
    base = f"/v1/pages/{org.page_id}/incident_templates"
    return f"{base}/{template_id}" if template_id else base


def example(org, **overrides: Any) -> dict[str, Any]:
    """Statuspage's own example body (manage/incident-template-create.request.json), on org's page."""
    template = {
        "name": "DB degraded",
        "title": "Database performance degraded",
        "body": "We are investigating elevated database latency.",
        "group_id": None,
        "update_status": "investigating",
        "should_tweet": False,
        "should_send_notifications": True,
        "component_ids": [org.ids["component"]],
    }
    template.update(overrides)
    return {"template": template}


def settled(client, org) -> dict[str, list[tuple[Any, ...]]]:
    """The organization's rows once its key has been used (the first use stamps the key's last use)."""
    assert client.get(f"/v1/pages/{org.page_id}", headers=auth(org)).status_code == 200
    return fingerprint(org.tenant_id)


def stored(org, template_id: str) -> Template | None:
    with tenant_session(org.tenant_id) as s:
        template = s.get(Template, template_id)
        if template is not None:
            s.expunge(template)
        return template


def component_statuses(org, template_id: str) -> dict[str, ComponentStatus | None]:
    with tenant_session(org.tenant_id) as s:
        template = s.get(Template, template_id)
        assert template is not None
        return {link.component_id: link.status for link in template.components}


def actions(org, template_id: str) -> list[str]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == template_id)
                .order_by(AuditEvent.created_at, AuditEvent.id)
            )
        )


def test_creating_a_template_answers_201_with_the_template_and_stores_it(admin_client, org_a):
    response = admin_client.post(url(org_a), json=example(org_a), headers=auth(org_a))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == TEMPLATE_KEYS
    assert body["name"] == "DB degraded" and body["title"] == "Database performance degraded"
    assert body["body"] == "We are investigating elevated database latency."
    assert body["update_status"] == "investigating" and body["kind"] == "incident"
    assert body["group_id"] is None and body["should_tweet"] is False
    assert body["should_send_notifications"] is True
    assert [c["id"] for c in body["components"]] == [org_a.ids["component"]]
    assert body["components"][0]["name"] == "Acme REST"
    template = stored(org_a, body["id"])
    assert template is not None and template.page_id == org_a.page_id
    assert template.update_status is IncidentStatus.INVESTIGATING and template.kind is IncidentKind.INCIDENT
    assert component_statuses(org_a, body["id"]) == {org_a.ids["component"]: None}
    assert actions(org_a, body["id"]) == ["template.created"]


def test_a_template_can_be_created_from_a_bracketed_form(admin_client, org_a):
    form = {
        "template[name]": "Web slow",
        "template[title]": "The website is slow",
        "template[body]": "We are looking into it.",
        "template[should_send_notifications]": "false",
        "template[component_ids][]": [org_a.ids["component"], org_a.ids["component_web"]],
    }
    response = admin_client.post(url(org_a), data=form, headers=auth(org_a))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "Web slow" and body["should_send_notifications"] is False
    assert body["update_status"] is None
    assert {c["id"] for c in body["components"]} == {org_a.ids["component"], org_a.ids["component_web"]}
    assert set(component_statuses(org_a, body["id"])) == {org_a.ids["component"], org_a.ids["component_web"]}


def test_a_maintenance_template_takes_the_maintenance_statuses(admin_client, org_a):
    created = admin_client.post(
        url(org_a),
        json=example(org_a, kind="maintenance", update_status="in_progress"),
        headers=auth(org_a),
    )
    assert created.status_code == 201, created.get_json()
    assert (
        created.get_json()["kind"] == "maintenance" and created.get_json()["update_status"] == "in_progress"
    )
    before = fingerprint(org_a.tenant_id)
    mixed = admin_client.post(
        url(org_a), json=example(org_a, update_status="in_progress"), headers=auth(org_a)
    )
    assert mixed.status_code == 422 and mixed.get_json()["field"] == "template.update_status"
    assert fingerprint(org_a.tenant_id) == before


def test_templates_are_listed_by_name_a_page_at_a_time(admin_client, org_a):
    for name in ("Zeta", "alpha", "Beta"):
        assert (
            admin_client.post(url(org_a), json=example(org_a, name=name), headers=auth(org_a)).status_code
            == 201
        )
    listed = admin_client.get(url(org_a), headers=auth(org_a))
    assert listed.status_code == 200
    names = [t["name"] for t in listed.get_json()]
    assert names == ["Acme template", "alpha", "Beta", "Zeta"]
    assert all(set(t) == TEMPLATE_KEYS for t in listed.get_json())
    factory_made = listed.get_json()[0]
    assert [c["id"] for c in factory_made["components"]] == [org_a.ids["component"]]
    second = admin_client.get(url(org_a), query_string={"page": 2, "per_page": 2}, headers=auth(org_a))
    assert [t["name"] for t in second.get_json()] == ["Beta", "Zeta"]
    # Past 100 the page size is taken as 100, as Statuspage imposes its maximum.
    larger = admin_client.get(url(org_a), query_string={"per_page": 101}, headers=auth(org_a))
    assert larger.status_code == 200 and larger.get_json() == listed.get_json()


def test_a_template_is_read_by_its_id(admin_client, org_a):
    response = admin_client.get(url(org_a, org_a.ids["template"]), headers=auth(org_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == org_a.ids["template"] and body["name"] == "Acme template"
    assert body["title"] == "Acme degraded" and body["body"] == "We are on it"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_an_update_changes_the_fields_sent_and_keeps_the_component_statuses(admin_client, org_a, method):
    with tenant_session(org_a.tenant_id) as s:
        template = create_template(
            s,
            s.get(Page, org_a.page_id),
            actor=ACTOR,
            name="Outage",
            title="API outage",
            body="The API is down.",
            update_status=IncidentStatus.IDENTIFIED,
            components={org_a.ids["component"]: ComponentStatus.MAJOR_OUTAGE},
        )
        s.commit()
        template_id = template.id
    response = admin_client.open(
        url(org_a, template_id),
        method=method,
        json={"template": {"title": "API unavailable"}},
        headers=auth(org_a),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "API unavailable" and body["name"] == "Outage"
    assert body["body"] == "The API is down." and body["update_status"] == "identified"
    assert component_statuses(org_a, template_id) == {org_a.ids["component"]: ComponentStatus.MAJOR_OUTAGE}

    ids = [org_a.ids["component"], org_a.ids["component_web"]]
    response = admin_client.open(
        url(org_a, template_id),
        method=method,
        json={"template": {"component_ids": ids, "update_status": None, "should_send_notifications": False}},
        headers=auth(org_a),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {c["id"] for c in body["components"]} == set(ids)
    assert body["update_status"] is None and body["should_send_notifications"] is False
    assert component_statuses(org_a, template_id) == {
        org_a.ids["component"]: ComponentStatus.MAJOR_OUTAGE,
        org_a.ids["component_web"]: None,
    }
    assert actions(org_a, template_id) == ["template.created", "template.updated", "template.updated"]


def test_changing_only_the_components_moves_updated_at(admin_client, org_a):
    template_id = org_a.ids["template"]
    long_ago = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    with tenant_session(org_a.tenant_id) as s:
        template = s.get(Template, template_id)
        assert template is not None
        template.updated_at = long_ago
        s.commit()
    response = admin_client.patch(
        url(org_a, template_id),
        json={"template": {"component_ids": [org_a.ids["component_web"]]}},
        headers=auth(org_a),
    )
    assert response.status_code == 200
    assert [c["id"] for c in response.get_json()["components"]] == [org_a.ids["component_web"]]
    assert response.get_json()["updated_at"] > "2020-01-02T03:04:05.000Z"
    unchanged = admin_client.patch(
        url(org_a, template_id), json={"template": {"name": "Acme template"}}, headers=auth(org_a)
    )
    assert unchanged.get_json()["updated_at"] == response.get_json()["updated_at"]
    assert actions(org_a, template_id) == ["template.updated"]


def test_deleting_a_template_answers_it_and_removes_it(admin_client, org_a):
    template_id = org_a.ids["template"]
    response = admin_client.delete(url(org_a, template_id), headers=auth(org_a))
    assert response.status_code == 200
    assert response.get_json()["id"] == template_id and response.get_json()["name"] == "Acme template"
    assert stored(org_a, template_id) is None
    assert actions(org_a, template_id) == ["template.deleted"]
    assert admin_client.get(url(org_a, template_id), headers=auth(org_a)).status_code == 404


def test_components_of_another_organization_are_refused_and_nothing_is_written(admin_client, org_a, org_b):
    before = settled(admin_client, org_a)
    foreign = [org_b.ids["component"]]
    created = admin_client.post(url(org_a), json=example(org_a, component_ids=foreign), headers=auth(org_a))
    assert created.status_code == 422
    assert created.get_json()["field"] == "template.component_ids"
    assert org_b.ids["component"] in created.get_json()["message"]
    changed = admin_client.patch(
        url(org_a, org_a.ids["template"]),
        json={"template": {"name": "Renamed", "component_ids": foreign}},
        headers=auth(org_a),
    )
    assert changed.status_code == 422 and changed.get_json()["field"] == "template.component_ids"
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"group_id": "tg1234567890"}, "template.group_id", "template groups"),
        ({"should_tweet": True}, "template.should_tweet", "Twitter"),
        ({"title": "   "}, "template.title", "must not be empty"),
        ({"name": None}, "template.name", "required"),
        ({"body": "x" * (MAX_BODY + 1)}, "template.body", f"at most {MAX_BODY}"),
        ({"update_status": "postmortem"}, "template.update_status", "must be one of"),
        ({"kind": "outage"}, "template.kind", "must be one of"),
        ({"title": "Line one\nline two"}, "template.title", "one line"),
        ({"component_ids": "not-a-list" * 10}, "template.component_ids", "list of ids"),
    ],
)
def test_bad_template_input_is_refused_with_the_field_named(admin_client, org_a, overrides, field, words):
    before = settled(admin_client, org_a)
    response = admin_client.post(url(org_a), json=example(org_a, **overrides), headers=auth(org_a))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert words in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


def test_an_update_with_an_empty_title_is_refused(admin_client, org_a):
    before = settled(admin_client, org_a)
    response = admin_client.put(
        url(org_a, org_a.ids["template"]), json={"template": {"title": ""}}, headers=auth(org_a)
    )
    assert response.status_code == 422 and response.get_json()["field"] == "template.title"
    assert fingerprint(org_a.tenant_id) == before


def test_a_body_without_the_template_envelope_is_a_bad_request(admin_client, org_a):
    response = admin_client.post(url(org_a), json={"name": "No envelope"}, headers=auth(org_a))
    assert response.status_code == 400 and response.get_json()["field"] == "template"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("GET", None),
        ("PATCH", {"template": {"name": "Hijack"}}),
        ("PUT", {"template": {"name": "Hijack"}}),
        ("DELETE", None),
    ],
)
def test_another_organizations_template_is_not_found(admin_client, org_a, org_b, method, body):
    settled(admin_client, org_a)
    before = fingerprint(org_b.tenant_id)
    response = admin_client.open(
        url(org_a, org_b.ids["template"]), method=method, json=body, headers=auth(org_a)
    )
    assert response.status_code == 404
    # Nor can org A's key reach org B's page with org B's own template id.
    elsewhere = admin_client.open(
        url(org_b, org_b.ids["template"]), method=method, json=body, headers=auth(org_a)
    )
    assert elsewhere.status_code == 404
    assert fingerprint(org_b.tenant_id) == before


def test_a_read_only_key_cannot_create_templates(admin_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        key = issue_api_key(s, tenant_id=org_a.tenant_id, name="reader", is_read_only=True)
        s.commit()
    headers = {"Authorization": f"OAuth {key.secret}"}
    assert admin_client.get(url(org_a), headers=headers).status_code == 200
    before = fingerprint(org_a.tenant_id)
    assert admin_client.post(url(org_a), json=example(org_a), headers=headers).status_code == 403
    assert fingerprint(org_a.tenant_id) == before
