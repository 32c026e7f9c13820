"""Component services: roles checked in the service layer, moves, deletions, and the page version."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from tenants.components import services
from tenants.components.models import Component, ComponentGroup, ComponentStatus
from tenants.pages.models import Page
from tests.conftest import fingerprint

VIEWER = Actor(label="viewer@x.test", role=Role.VIEWER)
EDITOR = Actor(label="editor@x.test", role=Role.EDITOR)


@pytest.mark.parametrize(
    "write",
    [
        lambda s, page, c, grp: services.create_component(s, page, name="New", actor=VIEWER),
        lambda s, page, c, grp: services.create_group(s, page, name="New", actor=VIEWER),
        lambda s, page, c, grp: services.update_component(s, c, name="Renamed", actor=VIEWER),
        lambda s, page, c, grp: services.delete_component(s, c, actor=VIEWER),
        lambda s, page, c, grp: services.update_group(s, grp, name="Renamed", actor=VIEWER),
        lambda s, page, c, grp: services.delete_group(s, grp, actor=VIEWER),
        lambda s, page, c, grp: services.move_item(s, c, actor=VIEWER, offset=1),
        lambda s, page, c, grp: services.set_component_status(
            s, c, ComponentStatus.MAJOR_OUTAGE, actor=VIEWER
        ),
    ],
    ids=["create", "create_group", "update", "delete", "update_group", "delete_group", "move", "status"],
)
def test_a_viewer_may_not_write_components_even_past_the_admin(write, org_a):
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        component = s.get(Component, org_a.ids["component_web"])
        group = s.get(ComponentGroup, org_a.ids["group"])
        with pytest.raises(PermissionDenied, match="viewer"):
            write(s, page, component, group)
        s.commit()
    assert fingerprint(org_a.tenant_id) == before


def test_an_edit_bumps_the_page_version_and_logs_only_what_changed(org_a):
    with tenant_session(org_a.tenant_id) as s:
        component = s.get(Component, org_a.ids["component_web"])
        version = s.get(Page, org_a.page_id).version
        services.update_component(s, component, name=component.name, description="New words", actor=EDITOR)
        s.commit()
        s.expire_all()
        assert s.get(Page, org_a.page_id).version > version
        from tenants.audit.models import AuditEvent

        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "component.updated")).one()
        assert event.before == {"description": ""} and event.after == {"description": "New words"}


def test_an_unchanged_save_writes_no_event_and_keeps_the_version(org_a):
    with tenant_session(org_a.tenant_id) as s:
        component = s.get(Component, org_a.ids["component_web"])
        version = s.get(Page, org_a.page_id).version
        services.update_component(s, component, name=component.name, actor=EDITOR)
        s.commit()
        s.expire_all()
        assert s.get(Page, org_a.page_id).version == version


def test_moving_a_component_into_a_group_puts_it_last_and_closes_the_gap(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        group = s.get(ComponentGroup, org_a.ids["group"])
        extra = services.create_component(s, page, name="Extra", actor=EDITOR)
        web = s.get(Component, org_a.ids["component_web"])
        services.update_component(s, web, name=web.name, group=group, actor=EDITOR)
        s.commit()
        s.expire_all()
        assert [c.name for c in s.get(ComponentGroup, group.id).components] == [
            f"{org_a.name} REST",
            f"{org_a.name} Web",
        ]
        top = services.top_level_items(s, page.id)
        assert [(item.name, item.position) for item in top] == [(f"{org_a.name} API", 1), ("Extra", 2)]
        assert extra.position == 2


def test_a_move_past_the_end_changes_nothing(org_a):
    with tenant_session(org_a.tenant_id) as s:
        group = s.get(ComponentGroup, org_a.ids["group"])
        assert services.move_item(s, group, actor=EDITOR, offset=-1) is False
        assert services.move_item(s, group, actor=EDITOR, offset=1) is True


def test_a_group_of_another_page_is_refused(org_a):
    with tenant_session(org_a.tenant_id) as s:
        from status_platform.tenancy.models import Tenant
        from tenants.pages.services import create_page

        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.flush()
        s.expire_all()
        other = create_page(s, name="Second", slug="acme-second", actor=Actor(label="o", role=Role.OWNER))
        group = s.get(ComponentGroup, org_a.ids["group"])
        with pytest.raises(ValidationError, match="another page"):
            services.create_component(s, other, name="Stray", group=group, actor=EDITOR)
