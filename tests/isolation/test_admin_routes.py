"""Every admin route that names an object, asked by a member of A with an object of B, answers 404.

The routes come from the URL map, so a new route is swept without being listed here.
"""

from __future__ import annotations

import pytest

from tests.admin_routes import admin_routes
from tests.conftest import csrf_token, fingerprint

WITH_OBJECTS = [route for route in admin_routes() if route.object_params]


def _ask(client, route, url):
    if "GET" in route.methods:
        return client.get(url)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "name": "Taken over", "confirm": "x"})


def test_the_sweep_finds_the_routes_of_every_kind_of_object():
    named = {param for route in WITH_OBJECTS for param in route.object_params}
    assert {"page_id", "component_id", "group_id", "incident_id", "update_id", "template_id"} <= named
    assert {"type_id", "member_id", "invitation_id"} <= named


@pytest.mark.parametrize("route", WITH_OBJECTS, ids=lambda r: r.id)
def test_another_organizations_objects_are_404_on_every_admin_route(route, staff_client, org_a, org_b):
    before = fingerprint(org_b.tenant_id)
    # A's organization in the path, B's objects in every id
    assert _ask(staff_client, route, route.url(org_a, objects_of=org_b)).status_code == 404
    # B's organization in the path, as a member of A only
    assert _ask(staff_client, route, route.url(org_b)).status_code == 404
    # A's own page and objects, but for one id that is B's
    own, theirs = route.url(org_a).split("/"), route.url(org_a, objects_of=org_b).split("/")
    rule_parts = route.rule.split("/")
    for param in route.object_params:
        if len(route.object_params) == 1:
            continue
        mixed = "/".join(theirs[i] if part == f"<{param}>" else own[i] for i, part in enumerate(rule_parts))
        assert _ask(staff_client, route, mixed).status_code == 404, mixed
    assert fingerprint(org_b.tenant_id) == before
