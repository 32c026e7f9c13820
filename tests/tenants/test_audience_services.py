"""Audience and viewer services: admins only, the page's ids only, audited, sessions ended on deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.errors import Conflict, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role, Tenant
from tenants.audiences import queries, services
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.audit.models import AuditEvent
from tenants.components.models import Component
from tenants.components.services import create_component
from tenants.pages.models import Page
from tenants.pages.services import create_page
from tenants.subscribers.models import Channel, Subscriber
from tests.conftest import fingerprint
from tests.factories import ACTOR

ADMIN = Actor(label="admin@example.test", role=Role.ADMIN)


def _events(s, action: str) -> list[AuditEvent]:
    return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _component_ids(s, audience_id: str) -> set[str]:
    return set(
        s.scalars(select(AudienceComponent.component_id).where(AudienceComponent.audience_id == audience_id))
    )


def _viewer_ids(s, audience_id: str) -> set[str]:
    return set(s.scalars(select(AudienceViewer.viewer_id).where(AudienceViewer.audience_id == audience_id)))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_below_admin_nobody_manages_audiences_or_viewers(org_a, role):
    actor = Actor(label=f"{role.value}@example.test", role=role)
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        audience = s.get(Audience, org_a.ids["audience"])
        viewer = s.get(Viewer, org_a.ids["viewer"])
        attempts = [
            lambda: services.create_audience(s, page, actor=actor, name="New"),
            lambda: services.update_audience(s, audience, actor=actor, name="Renamed"),
            lambda: services.delete_audience(s, audience, actor=actor),
            lambda: services.set_audience_components(s, audience, [], actor=actor),
            lambda: services.add_audience_components(s, audience, [org_a.ids["component_web"]], actor=actor),
            lambda: services.remove_audience_components(s, audience, [org_a.ids["component"]], actor=actor),
            lambda: services.deactivate_audience(s, audience, actor=actor),
            lambda: services.create_viewer(s, page, actor=actor, email="new@example.com"),
            lambda: services.update_viewer(s, viewer, actor=actor, email="other@example.com"),
            lambda: services.set_viewer_audiences(s, viewer, [], actor=actor),
            lambda: services.delete_viewer(s, viewer, actor=actor),
            lambda: services.deactivate_viewer(s, viewer, actor=actor),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied, match="admin role"):
                attempt()
        s.commit()
    assert fingerprint(org_a.tenant_id) == before


def test_an_audience_is_created_with_its_components_and_viewers_audited_and_the_page_bumped(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        version = page.version
        audience = services.create_audience(
            s,
            page,
            actor=ADMIN,
            name="  Enterprise  ",
            external_identifier="okta-42",
            email_domain="@Example.COM",
            component_ids=[org_a.ids["component_web"], org_a.ids["component_web"]],
            viewer_ids=[org_a.ids["viewer"]],
        )
        s.refresh(page)

        assert (audience.name, audience.external_identifier, audience.email_domain) == (
            "Enterprise",
            "okta-42",
            "example.com",
        )
        assert _component_ids(s, audience.id) == {org_a.ids["component_web"]}
        assert _viewer_ids(s, audience.id) == {org_a.ids["viewer"]}
        assert page.version > version
        [event] = _events(s, "audience.created")
        assert event.after["component_ids"] == [org_a.ids["component_web"]]
        assert event.after["viewer_ids"] == [org_a.ids["viewer"]]


def test_an_audience_name_is_unique_on_its_page(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(Conflict) as refused:
            services.create_audience(s, page, actor=ADMIN, name="Acme client")
        assert refused.value.field == "name"
        other = services.create_audience(s, page, actor=ADMIN, name="Other")
        with pytest.raises(Conflict):
            services.update_audience(s, other, actor=ADMIN, name="Acme client")


def test_a_bad_email_domain_is_refused(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(ValidationError) as refused:
            services.create_audience(s, page, actor=ADMIN, name="Domain", email_domain="not a domain")
        assert refused.value.field == "email_domain"


def test_another_organizations_objects_are_refused_naming_the_field(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        audience = s.get(Audience, org_a.ids["audience"])
        viewer = s.get(Viewer, org_a.ids["viewer"])
        cases = [
            (
                lambda: services.create_audience(
                    s, page, actor=ADMIN, name="X", component_ids=[org_b.ids["component"]]
                ),
                "component_ids",
            ),
            (
                lambda: services.create_audience(
                    s, page, actor=ADMIN, name="X", viewer_ids=[org_b.ids["viewer"]]
                ),
                "viewer_ids",
            ),
            (
                lambda: services.add_audience_components(s, audience, [org_b.ids["component"]], actor=ADMIN),
                "component_ids",
            ),
            (
                lambda: services.remove_audience_components(
                    s, audience, [org_b.ids["component"]], actor=ADMIN
                ),
                "component_ids",
            ),
            (
                lambda: services.create_viewer(
                    s, page, actor=ADMIN, email="x@example.com", audience_ids=[org_b.ids["audience"]]
                ),
                "audience_ids",
            ),
            (
                lambda: services.set_viewer_audiences(s, viewer, [org_b.ids["audience"]], actor=ADMIN),
                "audience_ids",
            ),
        ]
        for attempt, field in cases:
            with pytest.raises(ValidationError) as refused:
                attempt()
            assert refused.value.field == field
        assert _component_ids(s, audience.id) == {org_a.ids["component"]}
        assert queries.audience_ids_by_viewer(s, [viewer.id])[viewer.id] == [audience.id]


def test_another_pages_components_and_viewers_are_refused(org_a):
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        second = create_page(s, name="Second", slug="acme-second", actor=ACTOR)
        elsewhere = create_component(s, second, name="Elsewhere", actor=ACTOR)
        stranger = services.create_viewer(s, second, actor=ADMIN, email="stranger@example.com")
        audience = s.get(Audience, org_a.ids["audience"])

        with pytest.raises(ValidationError) as component_refused:
            services.set_audience_components(s, audience, [elsewhere.id], actor=ADMIN)
        with pytest.raises(ValidationError) as viewer_refused:
            services.update_audience(s, audience, actor=ADMIN, viewer_ids=[stranger.id])
        with pytest.raises(ValidationError) as audience_refused:
            services.set_viewer_audiences(s, stranger, [audience.id], actor=ADMIN)

        assert (component_refused.value.field, viewer_refused.value.field, audience_refused.value.field) == (
            "component_ids",
            "viewer_ids",
            "audience_ids",
        )


def test_an_update_changes_only_what_it_is_given_and_records_the_difference(org_a):
    with tenant_session(org_a.tenant_id) as s:
        audience = s.get(Audience, org_a.ids["audience"])
        page = s.get(Page, org_a.page_id)
        version = page.version

        unchanged = services.update_audience(s, audience, actor=ADMIN, name="Acme client")
        changed = services.update_audience(
            s, audience, actor=ADMIN, external_identifier="idp-1", component_ids=[org_a.ids["component_web"]]
        )
        s.refresh(page)

        assert (unchanged, changed) == (False, True)
        assert audience.name == "Acme client"
        assert _component_ids(s, audience.id) == {org_a.ids["component_web"]}
        assert _viewer_ids(s, audience.id) == {org_a.ids["viewer"]}
        [event] = _events(s, "audience.updated")
        assert event.before == {"external_identifier": None, "component_ids": [org_a.ids["component"]]}
        assert event.after == {"external_identifier": "idp-1", "component_ids": [org_a.ids["component_web"]]}
        assert page.version == version + 1


def test_components_are_replaced_added_and_removed_idempotently(org_a):
    api, web = org_a.ids["component"], org_a.ids["component_web"]
    with tenant_session(org_a.tenant_id) as s:
        audience = s.get(Audience, org_a.ids["audience"])

        assert services.set_audience_components(s, audience, [web], actor=ADMIN) is True
        assert _component_ids(s, audience.id) == {web}
        assert services.add_audience_components(s, audience, [api, web], actor=ADMIN) is True
        assert _component_ids(s, audience.id) == {api, web}
        assert services.add_audience_components(s, audience, [api], actor=ADMIN) is False
        assert services.remove_audience_components(s, audience, [web], actor=ADMIN) is True
        assert services.remove_audience_components(s, audience, [web], actor=ADMIN) is False
        assert _component_ids(s, audience.id) == {api}

        events = _events(s, "audience.components_changed")
        assert len(events) == 3
        assert events[-1].after == {"component_ids": [api]}


def test_a_component_is_given_to_several_audiences_at_once(org_a):
    web = org_a.ids["component_web"]
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        component = s.get(Component, web)
        first = s.get(Audience, org_a.ids["audience"])
        second = services.create_audience(s, page, actor=ADMIN, name="Partners", component_ids=[web])

        added = services.add_component_to_audiences(s, component, [first.id, second.id], actor=ADMIN)
        assert added == [first]
        assert queries.audience_ids_of_component(s, web) == [first.id, second.id]

        removed = services.remove_component_from_audiences(s, component, [first.id, second.id], actor=ADMIN)
        assert removed == [first, second]
        assert queries.audience_ids_of_component(s, web) == []


def test_a_viewer_is_created_in_its_audiences_and_subscribed_when_asked(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        viewer = services.create_viewer(
            s,
            page,
            actor=ADMIN,
            email=" Pat@Example.COM ",
            external_login="uid-1",
            audience_ids=[org_a.ids["audience"]],
            subscribe=True,
        )

        assert (viewer.email, viewer.external_login, viewer.is_active) == ("pat@example.com", "uid-1", True)
        assert viewer.id in _viewer_ids(s, org_a.ids["audience"])
        [subscriber] = s.scalars(select(Subscriber).where(Subscriber.viewer_id == viewer.id))
        assert (subscriber.channel, subscriber.email) == (Channel.EMAIL, "pat@example.com")
        assert [e.object_id for e in _events(s, "viewer.created")] == [viewer.id]
        assert subscriber.id in {e.object_id for e in _events(s, "subscriber.created")}


def test_a_viewer_email_is_unique_on_its_page(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        with pytest.raises(Conflict) as refused:
            services.create_viewer(s, page, actor=ADMIN, email="VIEWER@acme.test")
        assert refused.value.field == "email"
        other = services.create_viewer(s, page, actor=ADMIN, email="other@acme.test")
        with pytest.raises(Conflict):
            services.update_viewer(s, other, actor=ADMIN, email="viewer@acme.test")
        with pytest.raises(ValidationError) as bad:
            services.update_viewer(s, other, actor=ADMIN, email="not an address")
        assert bad.value.field == "email"


def test_a_viewers_audiences_are_replaced_and_audited(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        viewer = s.get(Viewer, org_a.ids["viewer"])
        partners = services.create_audience(s, page, actor=ADMIN, name="Partners")

        assert services.set_viewer_audiences(s, viewer, [partners.id], actor=ADMIN) is True
        assert services.set_viewer_audiences(s, viewer, [partners.id], actor=ADMIN) is False

        assert queries.audience_ids_by_viewer(s, [viewer.id])[viewer.id] == [partners.id]
        [event] = _events(s, "viewer.updated")
        assert event.before == {"audience_ids": [org_a.ids["audience"]]}
        assert event.after == {"audience_ids": [partners.id]}


def test_deactivating_a_viewer_ends_its_sessions_at_once(org_a):
    with tenant_session(org_a.tenant_id) as s:
        viewer = s.get(Viewer, org_a.ids["viewer"])
        version = viewer.session_version

        assert services.deactivate_viewer(s, viewer, actor=ADMIN) is True
        assert services.deactivate_viewer(s, viewer, actor=ADMIN) is False
        s.commit()

    with tenant_session(org_a.tenant_id) as s:
        viewer = s.get(Viewer, org_a.ids["viewer"])
        assert (viewer.is_active, viewer.session_version) == (False, version + 1)
        assert len(_events(s, "viewer.deactivated")) == 1
        assert services.reactivate_viewer(s, viewer, actor=ADMIN) is True
        assert viewer.is_active is True
        assert viewer.session_version == version + 1
        assert len(_events(s, "viewer.reactivated")) == 1


def test_deactivating_an_audience_ends_its_viewers_sessions_and_gives_them_nothing(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        audience = s.get(Audience, org_a.ids["audience"])
        outsider = services.create_viewer(s, page, actor=ADMIN, email="outsider@example.com")
        versions = (s.get(Viewer, org_a.ids["viewer"]).session_version, outsider.session_version)
        page_version = page.version
        assert {c.id for c in s.scalars(queries.viewer_components(org_a.ids["viewer"]))} == {
            org_a.ids["component"]
        }

        assert services.deactivate_audience(s, audience, actor=ADMIN) is True
        assert services.deactivate_audience(s, audience, actor=ADMIN) is False
        s.commit()

    with tenant_session(org_a.tenant_id) as s:
        member = s.get(Viewer, org_a.ids["viewer"])
        outsider = s.get(Viewer, outsider.id)
        assert (member.session_version, outsider.session_version) == (versions[0] + 1, versions[1])
        assert member.is_active is True
        assert list(s.scalars(queries.viewer_components(member.id))) == []
        assert s.get(Page, org_a.page_id).version > page_version
        assert len(_events(s, "audience.deactivated")) == 1

        assert services.reactivate_audience(s, s.get(Audience, org_a.ids["audience"]), actor=ADMIN) is True
        assert [c.id for c in s.scalars(queries.viewer_components(member.id))] == [org_a.ids["component"]]


def test_deleting_an_audience_keeps_its_viewers(org_a):
    with tenant_session(org_a.tenant_id) as s:
        services.delete_audience(s, s.get(Audience, org_a.ids["audience"]), actor=ADMIN)
        s.commit()

    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Audience, org_a.ids["audience"]) is None
        assert s.get(Viewer, org_a.ids["viewer"]) is not None
        assert list(s.scalars(select(AudienceComponent))) == []
        assert list(s.scalars(select(AudienceViewer))) == []
        [event] = _events(s, "audience.deleted")
        assert event.before["viewer_ids"] == [org_a.ids["viewer"]]


def test_deleting_a_viewer_removes_its_memberships_and_subscriptions(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        viewer = services.create_viewer(
            s,
            page,
            actor=ADMIN,
            email="leaving@example.com",
            audience_ids=[org_a.ids["audience"]],
            subscribe=True,
        )
        viewer_id = viewer.id
        s.commit()

    with tenant_session(org_a.tenant_id) as s:
        services.delete_viewer(s, s.get(Viewer, viewer_id), actor=ADMIN)
        s.commit()

    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Viewer, viewer_id) is None
        assert _viewer_ids(s, org_a.ids["audience"]) == {org_a.ids["viewer"]}
        assert list(s.scalars(select(Subscriber).where(Subscriber.viewer_id == viewer_id))) == []
        [event] = _events(s, "viewer.deleted")
        assert event.before["audience_ids"] == [org_a.ids["audience"]]
