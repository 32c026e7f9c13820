"""The management API's transport: keys and their scope, rate, idempotency, `.json` paths, JSON errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.apikeys import issue_api_key
from status_platform.identity.models import ApiKey
from status_platform.tenancy.models import Tenant
from status_platform.timeutil import utcnow
from tenants.api_keys.services import revoke_api_key
from tenants.components.models import Component
from tenants.pages.models import Page
from tenants.pages.services import create_page
from tests.conftest import fingerprint
from tests.factories import ACTOR

ERROR_KEYS = {"message", "error"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"OAuth {key}"}


def page_url(org: Any, rest: str = "") -> str:
    return f"/v1/pages/{org.page_id}{rest}"


def new_key(org: Any, *, page_id: str | None = None, is_read_only: bool = False, name: str = "extra") -> str:
    with tenant_session(org.tenant_id) as s:
        issued = issue_api_key(
            s, tenant_id=org.tenant_id, name=name, page_id=page_id, is_read_only=is_read_only
        )
        s.commit()
        return issued.secret


def key_row(org: Any) -> ApiKey:
    with platform_session() as s:
        row = s.get(ApiKey, org.ids["api_key"])
        assert row is not None
        s.expunge(row)
        return row


def set_last_used(org: Any, value: Any) -> None:
    with platform_session() as s:
        s.get(ApiKey, org.ids["api_key"]).last_used_at = value
        s.commit()


def same_instant(a: Any, b: Any) -> bool:
    return a.replace(tzinfo=None) == b.replace(tzinfo=None)


def assert_error(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert ERROR_KEYS <= set(body) <= ERROR_KEYS | {"field"}
    assert body["message"] and body["error"] == body["message"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def snapshot(client: Any, org: Any, key: str | None = None) -> dict[str, Any]:
    """The organization's rows once the key's last use is recorded (a later request within the
    minute writes nothing more), for "nothing changed" comparisons."""
    assert client.get("/v1/pages", headers=auth(key or org.api_key)).status_code == 200
    return fingerprint(org.tenant_id)


def component_count(org: Any) -> int:
    with tenant_session(org.tenant_id) as s:
        return s.scalar(select(func.count()).select_from(Component).where(Component.page_id == org.page_id))


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["oauth", "bearer", "query"],
)
def test_a_key_is_accepted_as_oauth_or_bearer_header_or_api_key_parameter(admin_client, org_a, how):
    headers = {"oauth": auth(org_a.api_key), "bearer": {"Authorization": f"Bearer {org_a.api_key}"}}.get(
        how, {}
    )
    url = page_url(org_a) + (f"?api_key={org_a.api_key}" if how == "query" else "")
    response = admin_client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["id"] == org_a.page_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "OAuth sp_this-key-was-never-issued"},
        {"Authorization": "OAuth not-even-the-right-shape"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["no key", "unknown key", "malformed key", "other scheme"],
)
def test_a_request_without_a_valid_key_is_401_with_www_authenticate(admin_client, org_a, headers):
    response = admin_client.get(page_url(org_a), headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("OAuth")


def test_a_revoked_key_is_401(admin_client, org_a):
    assert admin_client.get(page_url(org_a), headers=auth(org_a.api_key)).status_code == 200
    with tenant_session(org_a.tenant_id) as s:
        assert revoke_api_key(s, s.get(ApiKey, org_a.ids["api_key"]), actor=ACTOR)
        s.commit()
    response = admin_client.get(page_url(org_a), headers=auth(org_a.api_key))
    assert_error(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_a_key_of_a_deactivated_organization_is_401(admin_client, org_a, org_b):
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).is_active = False
        s.commit()
    assert_error(admin_client.get(page_url(org_a), headers=auth(org_a.api_key)), 401)
    assert admin_client.get(page_url(org_b), headers=auth(org_b.api_key)).status_code == 200


def test_a_request_records_when_the_key_was_last_used_at_most_once_a_minute(admin_client, org_a):
    assert key_row(org_a).last_used_at is None
    before = utcnow()
    assert admin_client.get(page_url(org_a), headers=auth(org_a.api_key)).status_code == 200
    first = key_row(org_a).last_used_at
    assert first is not None and first.replace(tzinfo=None) >= before.replace(tzinfo=None)

    # Within the minute the row is not written again.
    recent = utcnow() - timedelta(seconds=30)
    set_last_used(org_a, recent)
    assert admin_client.get(page_url(org_a), headers=auth(org_a.api_key)).status_code == 200
    assert same_instant(key_row(org_a).last_used_at, recent)

    # Past it, the next request moves it forward.
    stale = utcnow() - timedelta(minutes=2)
    set_last_used(org_a, stale)
    assert admin_client.get(page_url(org_a), headers=auth(org_a.api_key)).status_code == 200
    assert key_row(org_a).last_used_at.replace(tzinfo=None) > (stale + timedelta(minutes=1)).replace(
        tzinfo=None
    )


def test_a_read_only_key_reads_but_may_not_change_the_page(admin_client, org_a):
    key = new_key(org_a, is_read_only=True)
    response = admin_client.get(page_url(org_a), headers=auth(key))
    assert response.status_code == 200
    name = response.get_json()["name"]
    before = fingerprint(org_a.tenant_id)  # the key's last use is already recorded
    response = admin_client.patch(page_url(org_a), json={"page": {"name": "Changed"}}, headers=auth(key))
    assert_error(response, 403)
    assert fingerprint(org_a.tenant_id) == before
    assert admin_client.get(page_url(org_a), headers=auth(key)).get_json()["name"] == name


@pytest.fixture
def second_page(org_a: Any) -> str:
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        page = create_page(s, name="Acme Internal", slug="acme-internal", actor=ACTOR)
        s.commit()
        return page.id


def test_a_page_scoped_key_sees_only_its_page(admin_client, org_a, second_page):
    key = new_key(org_a, page_id=org_a.page_id)
    listed = admin_client.get("/v1/pages", headers=auth(key))
    assert listed.status_code == 200
    assert [page["id"] for page in listed.get_json()] == [org_a.page_id]
    assert admin_client.get(page_url(org_a), headers=auth(key)).status_code == 200

    before = snapshot(admin_client, org_a)
    assert_error(admin_client.get(f"/v1/pages/{second_page}", headers=auth(key)), 404)
    response = admin_client.patch(
        f"/v1/pages/{second_page}", json={"page": {"name": "Mine"}}, headers=auth(key)
    )
    assert_error(response, 404)
    assert fingerprint(org_a.tenant_id) == before

    # The organization's full key sees both.
    everything = admin_client.get("/v1/pages", headers=auth(org_a.api_key)).get_json()
    assert {page["id"] for page in everything} == {org_a.page_id, second_page}


def test_another_organizations_page_is_404(admin_client, org_a, org_b):
    assert_error(admin_client.get(page_url(org_b), headers=auth(org_a.api_key)), 404, field="page_id")
    before = fingerprint(org_b.tenant_id)  # after the key's last use was recorded
    response = admin_client.patch(
        page_url(org_b), json={"page": {"name": "Taken"}}, headers=auth(org_a.api_key)
    )
    assert_error(response, 404)
    assert fingerprint(org_b.tenant_id) == before


# --- rate ---------------------------------------------------------------------------------------


@pytest.fixture
def slow_rate(admin_app: Flask) -> Iterator[None]:
    saved = admin_app.config["API_REQUESTS_PER_MINUTE"], admin_app.config["API_BURST"]
    admin_app.config["API_REQUESTS_PER_MINUTE"], admin_app.config["API_BURST"] = 60, 5
    yield
    admin_app.config["API_REQUESTS_PER_MINUTE"], admin_app.config["API_BURST"] = saved


def test_past_its_burst_a_key_gets_429_with_retry_after_and_other_keys_go_on(
    admin_client, org_a, org_b, slow_rate
):
    other = new_key(org_a, name="second")
    for _ in range(5):
        assert admin_client.get(page_url(org_a), headers=auth(org_a.api_key)).status_code == 200
    response = admin_client.get(page_url(org_a), headers=auth(org_a.api_key))
    assert_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"

    # The limit is the key's: another key of the same organization, and another organization's, go on.
    assert admin_client.get(page_url(org_a), headers=auth(other)).status_code == 200
    assert admin_client.get(page_url(org_b), headers=auth(org_b.api_key)).status_code == 200
    assert_error(admin_client.get(page_url(org_a), headers=auth(org_a.api_key)), 429)


# --- idempotency --------------------------------------------------------------------------------


def create_component_request(
    client: Any, org: Any, name: str, key: str, *, api_key: str | None = None
) -> Any:
    return client.post(
        page_url(org, "/components"),
        json={"component": {"name": name}},
        headers={**auth(api_key or org.api_key), "Idempotency-Key": key},
    )


def test_a_repeated_idempotency_key_replays_the_first_response_and_creates_once(admin_client, org_a):
    count = component_count(org_a)
    first = create_component_request(admin_client, org_a, "Acme Billing", "create-billing-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    again = create_component_request(admin_client, org_a, "Acme Billing", "create-billing-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Cache-Control"] == "no-store"
    assert component_count(org_a) == count + 1


def test_an_idempotency_key_reused_for_a_different_request_is_422(admin_client, org_a):
    assert create_component_request(admin_client, org_a, "Acme Billing", "shared-key").status_code == 201
    before = snapshot(admin_client, org_a)
    response = create_component_request(admin_client, org_a, "Acme Search", "shared-key")
    assert_error(response, 422, field="Idempotency-Key")
    assert fingerprint(org_a.tenant_id) == before


def test_a_refused_request_does_not_hold_its_idempotency_key(admin_client, org_a):
    count = component_count(org_a)
    refused = create_component_request(admin_client, org_a, "", "retry-me")
    assert_error(refused, 422)
    assert component_count(org_a) == count
    accepted = create_component_request(admin_client, org_a, "Acme Billing", "retry-me")
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    assert "Idempotent-Replayed" not in accepted.headers
    assert component_count(org_a) == count + 1


def test_idempotency_keys_of_two_api_keys_do_not_collide(admin_client, org_a, org_b):
    other = new_key(org_a, name="second")
    count_a, count_b = component_count(org_a), component_count(org_b)
    mine = create_component_request(admin_client, org_a, "Billing", "same-words")
    theirs = create_component_request(admin_client, org_b, "Billing", "same-words")
    second = create_component_request(admin_client, org_a, "Billing", "same-words", api_key=other)
    for response in (mine, theirs, second):
        assert response.status_code == 201, response.get_data(as_text=True)
        assert "Idempotent-Replayed" not in response.headers
    assert len({mine.get_json()["id"], theirs.get_json()["id"], second.get_json()["id"]}) == 3
    assert (component_count(org_a), component_count(org_b)) == (count_a + 2, count_b + 1)


def test_a_malformed_idempotency_key_is_400(admin_client, org_a):
    before = snapshot(admin_client, org_a)
    response = create_component_request(admin_client, org_a, "Acme Billing", "x" * 256)
    assert_error(response, 400, field="Idempotency-Key")
    assert fingerprint(org_a.tenant_id) == before


# --- paths, bodies and errors -------------------------------------------------------------------


def test_a_json_suffix_serves_the_same_resource(admin_client, org_a):
    plain = admin_client.get(page_url(org_a), headers=auth(org_a.api_key))
    suffixed = admin_client.get(page_url(org_a, ".json"), headers=auth(org_a.api_key))
    assert suffixed.status_code == plain.status_code == 200
    assert suffixed.get_json() == plain.get_json()
    listed = admin_client.get("/v1/pages.json", headers=auth(org_a.api_key))
    assert [page["id"] for page in listed.get_json()] == [org_a.page_id]


@pytest.mark.parametrize(
    ("data", "content_type", "field"),
    [
        ('{"page": {"name": "x"', "application/json", "body"),
        ('["page"]', "application/json", "body"),
        ('"page"', "application/json", "body"),
        ('{"pagex": {"name": "x"}}', "application/json", "page"),
        ('{"page": "x"}', "application/json", "page"),
        ("[" * 100_000 + "]" * 100_000, "application/json", "body"),
        ('{"page": ' * 50_000 + "{}" + "}" * 50_000, "application/json", "body"),
    ],
    ids=[
        "malformed json",
        "a list",
        "a string",
        "wrong envelope",
        "envelope not an object",
        "deeply nested list",
        "deeply nested object",
    ],
)
def test_a_malformed_body_is_400_naming_the_field(admin_client, org_a, data, content_type, field):
    before = snapshot(admin_client, org_a)
    response = admin_client.patch(
        page_url(org_a), data=data, content_type=content_type, headers=auth(org_a.api_key)
    )
    body = assert_error(response, 400, field=field)
    if field == "page":
        assert "page" in body["message"]
    assert fingerprint(org_a.tenant_id) == before


def test_an_unsupported_content_type_is_415(admin_client, org_a):
    before = snapshot(admin_client, org_a)
    response = admin_client.patch(
        page_url(org_a), data="page[name]=x", content_type="text/plain", headers=auth(org_a.api_key)
    )
    assert_error(response, 415, field="body")
    assert fingerprint(org_a.tenant_id) == before


def test_a_body_over_2_mb_is_413(admin_client, org_a):
    before = snapshot(admin_client, org_a)
    big = json.dumps({"page": {"page_description": "x" * (2 * 1024 * 1024)}})
    response = admin_client.patch(
        page_url(org_a), data=big, content_type="application/json", headers=auth(org_a.api_key)
    )
    assert_error(response, 413)
    assert fingerprint(org_a.tenant_id) == before


def test_a_form_encoded_body_with_brackets_is_read_like_json(admin_client, org_a):
    response = admin_client.patch(
        page_url(org_a),
        data={"page[name]": "Acme Status", "page[hidden_from_search]": "true"},
        headers=auth(org_a.api_key),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["name"], response.get_json()["hidden_from_search"]) == ("Acme Status", True)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        assert (page.name, page.is_search_indexed) == ("Acme Status", False)


def test_an_unknown_path_under_v1_is_a_json_404(admin_client, org_a):
    assert_error(admin_client.get("/v1/no-such-thing", headers=auth(org_a.api_key)), 404)
    assert_error(admin_client.get(page_url(org_a, "/no-such-thing"), headers=auth(org_a.api_key)), 404)
    assert admin_client.get("/v1/no-such-thing").headers["Cache-Control"] == "no-store"


def test_a_method_a_path_does_not_serve_is_a_json_405(admin_client, org_a):
    response = admin_client.delete("/v1/pages", headers=auth(org_a.api_key))
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("per_page", ["0", "1.5", "x", "-1"])
def test_a_bad_per_page_is_400_naming_it(admin_client, org_a, per_page):
    response = admin_client.get(
        page_url(org_a, f"/components?per_page={per_page}"), headers=auth(org_a.api_key)
    )
    assert_error(response, 400, field="per_page")


def test_pagination_returns_the_requested_slice(admin_client, org_a):
    url = page_url(org_a, "/components")
    everything = admin_client.get(url, headers=auth(org_a.api_key)).get_json()
    assert len(everything) >= 2
    first = admin_client.get(f"{url}?per_page=1&page=1", headers=auth(org_a.api_key)).get_json()
    second = admin_client.get(f"{url}?per_page=1&page=2", headers=auth(org_a.api_key)).get_json()
    assert [first[0]["id"], second[0]["id"]] == [item["id"] for item in everything[:2]]
    beyond = admin_client.get(f"{url}?per_page=100&page=2", headers=auth(org_a.api_key))
    assert beyond.status_code == 200 and beyond.get_json() == []


def test_responses_are_never_cached_and_set_no_cookie(admin_client, org_a):
    for response in (
        admin_client.get(page_url(org_a), headers=auth(org_a.api_key)),
        admin_client.get(page_url(org_a)),
        admin_client.patch(
            page_url(org_a), json={"page": {"headline": "All good"}}, headers=auth(org_a.api_key)
        ),
        admin_client.patch(page_url(org_a), json={"pagex": {}}, headers=auth(org_a.api_key)),
    ):
        assert response.headers["Cache-Control"] == "no-store", response.status_code
        assert "Set-Cookie" not in response.headers


def test_writes_need_no_csrf_token_though_the_staff_forms_do(admin_app, admin_client, org_a):
    assert admin_app.config.get("WTF_CSRF_ENABLED", True)
    staff = admin_client.post("/login", data={"email": org_a.owner_email, "password": org_a.owner_password})
    assert staff.status_code == 400  # the sign-in form without its token
    response = admin_client.patch(
        page_url(org_a), data={"page[headline]": "Fine"}, headers=auth(org_a.api_key)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["headline"] == "Fine"


def test_the_openapi_document_is_served_without_a_key(admin_client):
    for url in ("/v1/openapi.json", "/v1/openapi"):
        response = admin_client.get(url)
        assert response.status_code == 200
        document = response.get_json()
        assert document["openapi"].startswith("3.1")
        assert "/pages/{page_id}" in document["paths"]


def test_a_page_size_past_100_is_taken_as_100():
    from admin_ui.api.body import Fields, page_size

    assert page_size(Fields({"per_page": "500"}, prefix=""), "per_page") == 100
    assert page_size(Fields({"per_page": "7"}, prefix=""), "per_page") == 7
    assert page_size(Fields({}, prefix=""), "per_page") == 100


def test_nan_and_infinity_are_not_json(admin_client, org_a):
    for constant in ("NaN", "Infinity", "-Infinity"):
        response = admin_client.post(
            page_url(org_a, "/incidents"),
            data='{"incident": {"name": "n", "metadata": {"a": {"b": ' + constant + "}}}}",
            content_type="application/json",
            headers=auth(org_a.api_key),
        )
        assert_error(response, 400, field="body")


def test_an_address_sending_bad_keys_is_slowed_down_but_good_keys_go_on(admin_client, org_a, monkeypatch):
    from admin_ui import api

    monkeypatch.setattr(
        api, "FAILED_KEYS", api.ratelimit.Limit("api-bad-key-test", attempts=3, window_seconds=60)
    )
    statuses = [admin_client.get(page_url(org_a), headers=auth("sp_not-a-key")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = admin_client.get(page_url(org_a), headers=auth(org_a.api_key))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    other = admin_client.get(
        page_url(org_a), headers=auth(org_a.api_key), environ_overrides={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 200
