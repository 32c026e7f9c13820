"""Roles on every write of the admin: each route × each role below its minimum is 403 and changes nothing."""

from __future__ import annotations

import pytest

from status_platform.errors import PermissionDenied
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import can, require_role
from status_platform.tenancy.models import Role
from tests.admin_routes import admin_routes
from tests.conftest import fingerprint, post_form

ROLES = [role.value for role in Role]
WRITES = [route for route in admin_routes() if route.is_write]


def test_every_write_route_declares_its_minimum_role():
    undeclared = [route.id for route in WRITES if route.min_role is None]
    assert WRITES and undeclared == []


def test_the_routes_cover_every_area_of_writes():
    minimums = {route.min_role for route in WRITES}
    assert {"editor", "admin", "owner"} <= minimums


CASES = [
    pytest.param(route, role, id=f"{route.id}-as-{role}")
    for route in WRITES
    if route.min_role is not None
    for role in ROLES
    if not Role(role).at_least(Role(route.min_role))
]


@pytest.mark.parametrize(("route", "role"), CASES)
def test_a_role_below_the_routes_minimum_gets_403_and_changes_nothing(route, role, client_as, org_a):
    client = client_as(role)
    before = fingerprint(org_a.tenant_id)
    response = post_form(client, route.url(org_a), {"name": "Changed", "confirm": org_a.name})
    assert response.status_code == 403, response.get_data(as_text=True)[:500]
    assert f"needs the {route.min_role} role" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize("route", [r for r in WRITES if r.min_role is not None], ids=lambda r: r.id)
def test_the_routes_minimum_role_is_let_through(route, client_as, org_a):
    client = client_as(route.min_role)
    response = post_form(client, route.url(org_a), {})
    assert response.status_code not in (403, 500), response.get_data(as_text=True)[:500]


def test_signed_out_writes_are_refused_without_a_redirect(admin_client, org_a):
    route = next(r for r in WRITES if r.min_role == "editor")
    response = admin_client.post(route.url(org_a), data={})
    assert response.status_code in (400, 403)  # no CSRF token, and no session either


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        (Role.VIEWER, Role.EDITOR, False),
        (Role.EDITOR, Role.EDITOR, True),
        (Role.EDITOR, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, True),
        (Role.ADMIN, Role.OWNER, False),
        (Role.OWNER, Role.OWNER, True),
    ],
)
def test_the_service_layer_checks_roles_itself(role, minimum, allowed):
    actor = Actor(label="someone", user_id="u1", role=role)
    assert can(actor, minimum) is allowed
    if allowed:
        require_role(actor, minimum, "do it")
    else:
        with pytest.raises(PermissionDenied, match=f"needs the {minimum.value} role"):
            require_role(actor, minimum, "do it")


def test_an_actor_without_a_role_may_write_nothing():
    with pytest.raises(PermissionDenied):
        require_role(Actor(label="nobody"), Role.VIEWER, "read")
