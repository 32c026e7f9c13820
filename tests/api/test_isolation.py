"""Every API operation keeps to its key: another organization's objects, pages outside a page-scoped
key and writes with a read-only key are refused, and nothing changes.

The operations come from the API's URL map, so a new operation is swept without being listed here.
"""

from __future__ import annotations

import pytest
from flask import Flask

from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from tenants.pages.services import create_page
from tests.api.sweep import OBJECT_PARAMS, ApiRoute, api_routes, api_url_map, auth, call, issue_key, object_id
from tests.conftest import fingerprint
from tests.factories import ACTOR, Organization

ROUTES = api_routes()
ADAPTER = api_url_map().url_map.bind("platform.test")
WITH_IDS = [route for route in ROUTES if route.params]
ON_A_PAGE = [route for route in ROUTES if "page_id" in route.params]
WRITES = [route for route in ROUTES if route.is_write]
NAMING_IDS = [route for route in WRITES if route.body_names_objects]

# Each resource of Statuspage's Manage API, by a path segment of its operations.
RESOURCES = (
    "components",
    "component-groups",
    "incidents",
    "incident_templates",
    "subscribers",
    "page_access_users",
    "page_access_groups",
    "postmortem",
)


def _warm(client, org: Organization, key: str) -> None:
    """One read first: a key's first use records its last use, which would show in a fingerprint."""
    assert client.get(f"/v1/pages/{org.page_id}", headers=auth(key)).status_code == 200


def _not_found(route: ApiRoute, response, url: str) -> str | None:
    """Why `response` is not the 404 the sweep expects of `url`, or None."""
    # The path is the operation's own (a 404 of an unknown path would prove nothing).
    if ADAPTER.match(url, method=route.method)[0] != route.endpoint:
        return f"{route.id}: {url} is not this operation's path"
    body = response.get_json(silent=True)
    if response.status_code != 404 or not body or not body.get("message"):
        return f"{route.id}: {url} answered {response.status_code} {response.get_data(as_text=True)[:200]}"
    return None


def test_the_sweep_sees_every_api_rule_the_app_serves(admin_app: Flask):
    served = {
        (rule.rule, method)
        for rule in admin_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served == {(route.rule, route.method) for route in ROUTES}


def test_every_write_the_sweep_sees_is_a_documented_operation():
    for route in WRITES:
        assert route.operation is not None, route.id
        assert route.operation.write, route.id


def test_the_sweep_finds_operations_of_every_resource():
    segments = {
        segment for route in ROUTES if route.operation is not None for segment in route.rule.split("/")
    }
    missing = [resource for resource in RESOURCES if resource not in segments]
    assert not missing, f"no operation of {missing}"
    named = {param for route in WITH_IDS for param in route.params}
    assert {
        "page_id",
        "component_id",
        "group_id",
        "incident_id",
        "incident_update_id",
        "subscriber_id",
        "page_access_user_id",
        "page_access_group_id",
    } <= named
    assert named <= set(OBJECT_PARAMS), f"unknown path parameters {named - set(OBJECT_PARAMS)}"


def test_another_organizations_objects_are_404_on_every_operation(admin_client, org_a, org_b):
    """Every operation with an id, asked by A's key with B's page and ids, A's page and B's ids, and
    A's ids with one swapped for B's: 404 each time, and neither organization changes."""
    _warm(admin_client, org_a, org_a.api_key)
    before_a, before_b = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id)
    failures, asked = [], 0
    for route in WITH_IDS:
        urls = [route.url(org_b)]  # B's page and B's objects
        if route.object_params:
            urls.append(route.url(org_a, objects_of=org_b))  # A's page, B's objects
        if len(route.object_params) > 1:
            # A's page and A's objects, but for one id that is B's
            urls += [route.url(org_a, **{p: object_id(org_b, p)}) for p in route.object_params]
        for url in urls:
            asked += 1
            failure = _not_found(route, call(admin_client, route, url, org_a.api_key, org_b), url)
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures)
    assert asked > len(WITH_IDS)
    assert fingerprint(org_b.tenant_id) == before_b
    assert fingerprint(org_a.tenant_id) == before_a


def test_another_organizations_ids_in_a_body_are_refused(admin_client, org_a, org_b):
    """Every write whose body names objects, on A's page with B's ids in the body: a 4xx, no change."""
    _warm(admin_client, org_a, org_a.api_key)
    before_a, before_b = fingerprint(org_a.tenant_id), fingerprint(org_b.tenant_id)
    failures = []
    for route in NAMING_IDS:
        url = route.url(org_a)  # A's page and objects, B's objects in the body
        response = call(admin_client, route, url, org_a.api_key, org_b)
        if not 400 <= response.status_code < 500:
            failures.append(f"{route.id}: {url} answered {response.status_code}")
    assert not failures, "\n".join(failures)
    assert NAMING_IDS
    assert fingerprint(org_b.tenant_id) == before_b
    assert fingerprint(org_a.tenant_id) == before_a


def test_a_key_lists_only_its_own_organizations_pages(admin_client, org_a, org_b):
    response = admin_client.get("/v1/pages", headers=auth(org_a.api_key))
    assert response.status_code == 200
    assert [page["id"] for page in response.get_json()] == [org_a.page_id]


# --- a key limited to one page -------------------------------------------------------------------


@pytest.fixture
def second_page(org_a) -> str:
    """A second page of organization A (the business plan allows it)."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.flush()
        page = create_page(s, name="Acme EU", slug="acme-eu", actor=ACTOR)
        s.commit()
        return page.id


def test_a_page_scoped_key_gets_404_on_every_operation_of_another_page(admin_client, org_a, second_page):
    key = issue_key(org_a, page_id=second_page)
    assert admin_client.get(f"/v1/pages/{second_page}", headers=auth(key)).status_code == 200
    before = fingerprint(org_a.tenant_id)
    failures = []
    for route in ON_A_PAGE:
        url = route.url(org_a)
        failure = _not_found(route, call(admin_client, route, url, key, org_a), url)
        if failure:
            failures.append(failure)
    assert not failures, "\n".join(failures)
    assert ON_A_PAGE
    assert fingerprint(org_a.tenant_id) == before


def test_a_page_scoped_key_lists_only_its_page(admin_client, org_a, second_page):
    key = issue_key(org_a, page_id=second_page)
    response = admin_client.get("/v1/pages", headers=auth(key))
    assert response.status_code == 200
    assert [page["id"] for page in response.get_json()] == [second_page]
    full = admin_client.get("/v1/pages", headers=auth(org_a.api_key)).get_json()
    assert {page["id"] for page in full} == {org_a.page_id, second_page}


# --- a read-only key -----------------------------------------------------------------------------


def test_a_read_only_key_gets_403_on_every_write(admin_client, org_a):
    key = issue_key(org_a, read_only=True)
    _warm(admin_client, org_a, key)
    before = fingerprint(org_a.tenant_id)
    failures = []
    for route in WRITES:
        url = route.url(org_a)
        response = call(admin_client, route, url, key, org_a)
        body = response.get_json(silent=True) or {}
        if response.status_code != 403 or "read-only" not in body.get("message", ""):
            failures.append(f"{route.id}: {url} answered {response.status_code} {body}")
    assert not failures, "\n".join(failures)
    assert len(WRITES) > 40
    assert fingerprint(org_a.tenant_id) == before


def test_a_read_only_key_still_reads(admin_client, org_a):
    key = issue_key(org_a, read_only=True)
    response = admin_client.get(f"/v1/pages/{org_a.page_id}", headers=auth(key))
    assert response.status_code == 200
    assert response.get_json()["id"] == org_a.page_id
    assert admin_client.get("/v1/pages", headers=auth(key)).status_code == 200
