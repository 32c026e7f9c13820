"""Subscriber services check the role of staff who add subscribers by hand."""

from __future__ import annotations

import pytest

from status_platform.db.session import tenant_session
from status_platform.errors import PermissionDenied
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from tenants.pages.models import Page
from tenants.subscribers.models import Channel
from tenants.subscribers.services import add_subscriber
from tests.conftest import fingerprint


def test_an_editor_may_not_add_subscribers_and_an_admin_may(org_a):
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            add_subscriber(
                s,
                page,
                channel=Channel.EMAIL,
                address="x@acme.test",
                actor=Actor(label="e", role=Role.EDITOR),
            )
        s.rollback()
    assert fingerprint(org_a.tenant_id) == before
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        added = add_subscriber(
            s, page, channel=Channel.EMAIL, address="y@acme.test", actor=Actor(label="a", role=Role.ADMIN)
        )
        assert added.email == "y@acme.test"
