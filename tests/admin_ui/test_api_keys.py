"""API keys in the admin: made by admins and shown once, limited to a page or to reads, revoked."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.errors import NotFound, PermissionDenied
from status_platform.identity.actor import Actor
from status_platform.identity.apikeys import find_api_key
from status_platform.identity.models import ApiKey
from status_platform.tenancy.models import Role
from tenants.api_keys.services import create_api_key, revoke_api_key
from tenants.audit.models import AuditEvent
from tests.conftest import fingerprint, post_form


def _keys(org) -> str:
    return f"/t/{org.slug}/api-keys/"


def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(staff_client, org_a):
    response = post_form(
        staff_client,
        _keys(org_a),
        {
            "name": "release pipeline",
            "page_id": org_a.page_id,
            "is_read_only": "1",
            "is_read_only__present": "1",
        },
    )
    html = response.get_data(as_text=True)
    secret = re.search(r'<code class="secret" id="new-key">(sp_[^<]+)</code>', html).group(1)
    with platform_session() as s:
        key = find_api_key(s, secret)
        assert key is not None and key.tenant_id == org_a.tenant_id
        assert (key.name, key.page_id, key.is_read_only) == ("release pipeline", org_a.page_id, True)
        assert secret not in {key.key_hash, key.prefix} and secret.startswith(key.prefix)
    again = staff_client.get(_keys(org_a)).get_data(as_text=True)
    assert "release pipeline" in again and secret not in again and "read only" in again
    with staff_client.session_transaction() as session:
        assert secret not in repr(dict(session))  # never in the cookie


def test_revoking_a_key_refuses_it_from_then_on(staff_client, org_a):
    key_id = org_a.ids["api_key"]
    response = post_form(staff_client, f"{_keys(org_a)}{key_id}/revoke", {})
    assert response.status_code == 302
    with platform_session() as s:
        assert find_api_key(s, org_a.api_key) is None
        assert s.get(ApiKey, key_id).revoked_at is not None
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.revoked")).one()


def test_an_empty_name_or_another_organizations_page_is_marked_and_makes_no_key(staff_client, org_a, org_b):
    for data, message in (
        ({"name": "  "}, "Key name is required."),
        ({"name": "sneaky", "page_id": org_b.page_id}, "Choose one of this organization&#39;s pages."),
    ):
        before = fingerprint(org_a.tenant_id)
        html = post_form(staff_client, _keys(org_a), data).get_data(as_text=True)
        assert 'class="field invalid"' in html and message in html
        assert 'class="secret"' not in html
        assert fingerprint(org_a.tenant_id) == before


def test_only_admins_and_owners_see_the_keys(client_as, org_a):
    for role, code in (("viewer", 403), ("editor", 403), ("admin", 200)):
        assert client_as(role).get(_keys(org_a)).status_code == code, role


def test_the_list_shows_the_last_use_and_searches_by_name(staff_client, org_a):
    from status_platform.timeutil import utcnow

    with platform_session() as s:
        s.get(ApiKey, org_a.ids["api_key"]).last_used_at = utcnow()
        s.commit()
    html = staff_client.get(_keys(org_a) + "?q=key").get_data(as_text=True)
    assert f"{org_a.name} key" in html and "never" not in html
    assert "No key matches." in staff_client.get(_keys(org_a) + "?q=nothing-like-it").get_data(as_text=True)


def test_the_services_check_the_role_and_the_organization(org_a, org_b):
    editor = Actor(label="e", role=Role.EDITOR)
    admin = Actor(label="a", role=Role.ADMIN)
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(PermissionDenied):
            create_api_key(s, actor=editor, name="nope")
        foreign = s.get(ApiKey, org_b.ids["api_key"])
        with pytest.raises(NotFound):
            revoke_api_key(s, foreign, actor=admin)
        own = s.get(ApiKey, org_a.ids["api_key"])
        assert revoke_api_key(s, own, actor=admin) is True
        assert revoke_api_key(s, own, actor=admin) is False
