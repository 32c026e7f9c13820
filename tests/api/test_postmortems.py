"""Postmortems in the management API: write, read, publish (telling subscribers), revert, delete, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from tenants.audit.models import AuditEvent
from tenants.incidents.models import Incident, IncidentStatus
from tenants.incidents.services import MAX_POSTMORTEM, post_update
from tenants.subscribers.models import EventKind, NotificationEvent
from tests.conftest import fingerprint
from tests.factories import ACTOR

POSTMORTEM_KEYS = {
    "preview_key",
    "body",
    "body_updated_at",
    "body_draft",
    "body_draft_updated_at",
    "published_at",
    "notify_subscribers",
    "notify_twitter",
    "custom_tweet",
}
TEXT = "## Root cause\n\nA certificate expired."


def auth(org) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def url(org, incident_id: str, suffix: str = "") -> str:
    return f"/v1/pages/{org.page_id}/incidents/{incident_id}/postmortem{suffix}"


def settled(client, org) -> dict[str, list[tuple[Any, ...]]]:
    """The organization's rows once its key has been used (the first use stamps the key's last use)."""
    assert client.get(f"/v1/pages/{org.page_id}", headers=auth(org)).status_code == 200
    return fingerprint(org.tenant_id)


def resolved(org) -> str:
    """Org's factory incident, resolved."""
    with tenant_session(org.tenant_id) as s:
        incident = s.get(Incident, org.ids["incident"])
        assert incident is not None
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed.")
        s.commit()
    return org.ids["incident"]


def load(org, incident_id: str) -> Incident:
    with tenant_session(org.tenant_id) as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        s.expunge(incident)
        return incident


def postmortem_events(org, incident_id: str) -> int:
    with tenant_session(org.tenant_id) as s:
        return len(
            list(
                s.scalars(
                    select(NotificationEvent.id).where(
                        NotificationEvent.incident_id == incident_id,
                        NotificationEvent.kind == EventKind.POSTMORTEM_PUBLISHED,
                    )
                )
            )
        )


def actions(org, incident_id: str) -> list[str]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == incident_id, AuditEvent.action.like("incident.postmortem%"))
                .order_by(AuditEvent.created_at, AuditEvent.id)
            )
        )


def public_page(web, org, incident_id: str) -> str:
    response = web.get(f"/incidents/{incident_id}", headers={"Host": org.host})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def save(client, org, incident_id: str, text: str = TEXT) -> Any:
    return client.put(url(org, incident_id), json={"postmortem": {"body_draft": text}}, headers=auth(org))


def test_a_saved_postmortem_is_a_private_draft_read_back_by_get(admin_client, org_a, web):
    incident_id = resolved(org_a)
    response = save(admin_client, org_a, incident_id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == POSTMORTEM_KEYS
    assert body["body_draft"] == TEXT and body["body"] is None
    assert body["published_at"] is None and body["body_updated_at"] is None
    assert body["body_draft_updated_at"] is not None
    assert body["notify_subscribers"] is False and body["notify_twitter"] is False
    assert body["preview_key"] is None and body["custom_tweet"] is None
    assert admin_client.get(url(org_a, incident_id), headers=auth(org_a)).get_json() == body
    assert load(org_a, incident_id).postmortem_body == TEXT
    assert actions(org_a, incident_id) == ["incident.postmortem_saved"]
    assert "certificate expired" not in public_page(web, org_a, incident_id)


def test_a_postmortem_is_published_on_the_public_page_and_reverted_to_a_draft(admin_client, org_a, web):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    published = admin_client.put(
        url(org_a, incident_id, "/publish"), json={"postmortem": {}}, headers=auth(org_a)
    )
    assert published.status_code == 200, published.get_json()
    body = published.get_json()
    assert body["published_at"] is not None and body["body"] == TEXT and body["body_draft"] == TEXT
    assert body["body_updated_at"] == body["published_at"]
    assert body["notify_subscribers"] is False
    page = public_page(web, org_a, incident_id)
    assert "A certificate expired." in page and "Root cause</h2>" in page
    assert load(org_a, incident_id).status is IncidentStatus.RESOLVED
    assert postmortem_events(org_a, incident_id) == 0

    reverted = admin_client.put(url(org_a, incident_id, "/revert"), headers=auth(org_a))
    assert reverted.status_code == 200
    assert reverted.get_json()["published_at"] is None and reverted.get_json()["body"] is None
    assert reverted.get_json()["body_draft"] == TEXT
    assert "certificate expired" not in public_page(web, org_a, incident_id)
    assert actions(org_a, incident_id) == [
        "incident.postmortem_saved",
        "incident.postmortem_published",
        "incident.postmortem_unpublished",
    ]


def test_saving_a_published_postmortem_changes_the_public_text_at_once(admin_client, org_a, web):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    admin_client.put(url(org_a, incident_id, "/publish"), headers=auth(org_a))
    response = save(admin_client, org_a, incident_id, "A certificate expired; we now renew them early.")
    assert response.get_json()["body"] == "A certificate expired; we now renew them early."
    assert response.get_json()["body_updated_at"] == response.get_json()["body_draft_updated_at"]
    assert "we now renew them early" in public_page(web, org_a, incident_id)


def test_publishing_with_notify_subscribers_tells_them_once(admin_client, org_a):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    notify = {"postmortem": {"notify_subscribers": True, "notify_twitter": False, "custom_tweet": ""}}
    response = admin_client.put(url(org_a, incident_id, "/publish"), json=notify, headers=auth(org_a))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["notify_subscribers"] is True
    assert postmortem_events(org_a, incident_id) == 1
    admin_client.put(url(org_a, incident_id, "/revert"), headers=auth(org_a))
    again = admin_client.put(url(org_a, incident_id, "/publish"), json=notify, headers=auth(org_a))
    assert again.status_code == 200 and again.get_json()["published_at"] is not None
    assert postmortem_events(org_a, incident_id) == 1


def test_publishing_from_a_form_can_notify_subscribers(admin_client, org_a):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    response = admin_client.put(
        url(org_a, incident_id, "/publish"),
        data={"postmortem[notify_subscribers]": "true"},
        headers=auth(org_a),
    )
    assert response.status_code == 200, response.get_json()
    assert postmortem_events(org_a, incident_id) == 1


def test_deleting_a_published_postmortem_takes_it_down_and_removes_it(admin_client, org_a, web):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    admin_client.put(url(org_a, incident_id, "/publish"), headers=auth(org_a))
    response = admin_client.delete(url(org_a, incident_id), headers=auth(org_a))
    assert response.status_code == 204 and response.get_data() == b""
    incident = load(org_a, incident_id)
    assert incident.postmortem_body is None and incident.postmortem_published_at is None
    assert incident.postmortem_body_updated_at is None
    assert "certificate expired" not in public_page(web, org_a, incident_id)
    assert actions(org_a, incident_id)[-1] == "incident.postmortem_deleted"
    assert admin_client.get(url(org_a, incident_id), headers=auth(org_a)).status_code == 404
    assert admin_client.delete(url(org_a, incident_id), headers=auth(org_a)).status_code == 404


def test_a_draft_may_be_written_while_the_incident_is_open_but_not_published(admin_client, org_a):
    incident_id = org_a.ids["incident"]
    assert save(admin_client, org_a, incident_id).status_code == 200
    before = fingerprint(org_a.tenant_id)
    response = admin_client.put(
        url(org_a, incident_id, "/publish"),
        json={"postmortem": {"notify_subscribers": True}},
        headers=auth(org_a),
    )
    assert response.status_code == 422
    assert "Resolve the incident before publishing" in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


def test_a_postmortem_needs_its_text_before_it_is_published(admin_client, org_a):
    incident_id = resolved(org_a)
    before = settled(admin_client, org_a)
    response = admin_client.put(url(org_a, incident_id, "/publish"), headers=auth(org_a))
    assert response.status_code == 422 and response.get_json()["field"] == "postmortem.body_draft"
    assert fingerprint(org_a.tenant_id) == before


def test_a_maintenance_window_has_no_postmortem(admin_client, org_a):
    window_id = org_a.ids["maintenance"]
    before = settled(admin_client, org_a)
    assert save(admin_client, org_a, window_id).status_code == 422
    publish = admin_client.put(url(org_a, window_id, "/publish"), headers=auth(org_a))
    assert publish.status_code == 422 and "Only incidents have postmortems" in publish.get_json()["message"]
    assert admin_client.get(url(org_a, window_id), headers=auth(org_a)).status_code == 404
    assert fingerprint(org_a.tenant_id) == before


def test_an_incident_without_a_postmortem_has_none_to_read_revert_or_delete(admin_client, org_a):
    incident_id = resolved(org_a)
    before = settled(admin_client, org_a)
    for method, suffix in (("GET", ""), ("DELETE", ""), ("PUT", "/revert")):
        response = admin_client.open(url(org_a, incident_id, suffix), method=method, headers=auth(org_a))
        assert response.status_code == 404, (method, suffix)
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("suffix", "body", "field", "words"),
    [
        ("", {"postmortem": {"body_draft": "  "}}, "postmortem.body_draft", "must not be empty"),
        ("", {"postmortem": {}}, "postmortem.body_draft", "required"),
        ("", {"postmortem": {"body_draft": "x" * (MAX_POSTMORTEM + 1)}}, "postmortem.body_draft", "at most"),
        ("", {"postmortem": {"body_draft": "bell \x07"}}, "postmortem.body_draft", "control characters"),
        ("", {"postmortem": {"body_draft": 12}}, "postmortem.body_draft", "must be a string"),
        ("/publish", {"postmortem": {"notify_twitter": True}}, "postmortem.notify_twitter", "Twitter"),
        (
            "/publish",
            {"postmortem": {"notify_subscribers": "maybe"}},
            "postmortem.notify_subscribers",
            "true or",
        ),
    ],
)
def test_bad_postmortem_input_is_refused_with_the_field_named(
    admin_client, org_a, suffix, body, field, words
):
    incident_id = resolved(org_a)
    save(admin_client, org_a, incident_id)
    before = fingerprint(org_a.tenant_id)
    response = admin_client.put(url(org_a, incident_id, suffix), json=body, headers=auth(org_a))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field and words in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


def test_a_body_without_the_postmortem_envelope_is_a_bad_request(admin_client, org_a):
    response = admin_client.put(url(org_a, resolved(org_a)), json={"body_draft": TEXT}, headers=auth(org_a))
    assert response.status_code == 400 and response.get_json()["field"] == "postmortem"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"postmortem": {"body_draft": "Hijack"}}),
        ("DELETE", "", None),
        ("PUT", "/publish", {"postmortem": {"notify_subscribers": True}}),
        ("PUT", "/revert", None),
    ],
)
def test_another_organizations_incident_is_not_found(admin_client, org_a, org_b, method, suffix, body):
    incident_id = resolved(org_b)
    with tenant_session(org_b.tenant_id) as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        incident.postmortem_body = "Globex draft"
        s.commit()
    settled(admin_client, org_a)
    before = fingerprint(org_b.tenant_id)
    for page_of in (org_a, org_b):
        response = admin_client.open(
            url(page_of, incident_id, suffix), method=method, json=body, headers=auth(org_a)
        )
        assert response.status_code == 404, page_of.name
    assert fingerprint(org_b.tenant_id) == before
