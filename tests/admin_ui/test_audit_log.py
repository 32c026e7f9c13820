"""The audit log: every write with who, what, when and before/after; filters; paging; admins only."""

from __future__ import annotations

from datetime import timedelta

from status_platform.db.session import tenant_session
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tests.conftest import post_form


def _log(org) -> str:
    return f"/t/{org.slug}/audit/"


def test_a_write_in_the_admin_is_logged_with_who_and_before_and_after(staff_client, org_a):
    url = f"/t/{org_a.slug}/p/{org_a.page_id}/components/{org_a.ids['component_web']}/status"
    post_form(staff_client, url, {"status": "major_outage"})
    page = staff_client.get(_log(org_a) + "?action=component").get_data(as_text=True)
    assert "component.status_changed" in page
    assert org_a.owner_email in page
    assert "<del>operational</del>" in page and "<ins>major_outage</ins>" in page


def test_the_log_filters_by_who_what_and_text(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        s.add(
            AuditEvent(
                actor_label="robot@acme.test",
                action="incident.created",
                object_type="incident",
                object_id="x1",
                summary="Opened incident 'Robots'",
            )
        )
        s.commit()
    by_actor = staff_client.get(_log(org_a) + "?actor=robot").get_data(as_text=True)
    assert "Robots" in by_actor and "Created page" not in by_actor
    by_text = staff_client.get(_log(org_a) + "?q=robots").get_data(as_text=True)
    assert "Robots" in by_text
    by_action = staff_client.get(_log(org_a) + "?action=page").get_data(as_text=True)
    assert "Created page" in by_action and "Robots" not in by_action
    by_object = staff_client.get(_log(org_a) + "?object=x1").get_data(as_text=True)
    assert "Robots" in by_object and "Created page" not in by_object


def test_the_log_filters_by_day_and_marks_a_bad_day(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        s.add(
            AuditEvent(
                actor_label="old",
                action="page.updated",
                object_type="page",
                object_id=org_a.page_id,
                summary="Ancient change",
                created_at=utcnow() - timedelta(days=40),
            )
        )
        s.commit()
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    recent = staff_client.get(_log(org_a) + f"?since={since}").get_data(as_text=True)
    assert "Ancient change" not in recent and "Created page" in recent
    bad = staff_client.get(_log(org_a) + "?since=yesterday")
    assert bad.status_code == 200 and "is not a date like" in bad.get_data(as_text=True)


def test_the_log_pages_past_fifty_rows(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        base = utcnow() - timedelta(hours=1)
        for i in range(60):
            s.add(
                AuditEvent(
                    actor_label="bulk",
                    action="component.updated",
                    object_type="component",
                    object_id=f"c{i}",
                    summary=f"Bulk change {i:02d}",
                    created_at=base + timedelta(seconds=i),
                )
            )
        s.commit()
    first = staff_client.get(_log(org_a) + "?actor=bulk").get_data(as_text=True)
    assert "Bulk change 59" in first and "Bulk change 09" not in first and "Older →" in first
    assert f'href="/t/{org_a.slug}/audit/?actor=bulk&amp;p=2">Older →</a>' in first
    second = staff_client.get(_log(org_a) + "?actor=bulk&p=2").get_data(as_text=True)
    assert "Bulk change 09" in second and "Bulk change 59" not in second and "← Newer" in second


def test_only_admins_and_owners_read_the_log(client_as, org_a):
    for role, code in (("viewer", 403), ("editor", 403), ("admin", 200), ("owner", 200)):
        assert client_as(role).get(_log(org_a)).status_code == code, role


def test_the_log_shows_only_the_organizations_own_events(staff_client, org_a, org_b):
    page = staff_client.get(_log(org_a)).get_data(as_text=True)
    assert org_a.name in page and org_b.name not in page


def test_services_record_the_actor_of_each_write(org_a):
    from tenants.components.models import ComponentGroup
    from tenants.components.services import update_group

    actor = Actor(label="ed@acme.test", user_id=None, role=Role.EDITOR, ip_address="192.0.2.7")
    with tenant_session(org_a.tenant_id) as s:
        group = s.get(ComponentGroup, org_a.ids["group"])
        update_group(s, group, actor=actor, name="Renamed API")
        event = s.query(AuditEvent).filter_by(action="component_group.updated").one()
        assert (event.actor_label, event.ip_address) == ("ed@acme.test", "192.0.2.7")
        assert event.before["name"] == f"{org_a.name} API" and event.after["name"] == "Renamed API"
