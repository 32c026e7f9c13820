"""Subscriber services check the role of staff who add subscribers by hand; removing and importing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import Conflict, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role
from tenants.audit.models import AuditEvent
from tenants.components.models import Component
from tenants.pages.models import Page
from tenants.subscribers.csv_io import ImportRow, export_csv, preview_import, safe_cell
from tenants.subscribers.models import Channel, Delivery, DeliveryAttempt, Subscriber, SubscriberComponent
from tenants.subscribers.queries import SubscriberCriteria, export_subscribers
from tenants.subscribers.services import add_subscriber, import_subscribers, remove_subscriber
from tests.conftest import fingerprint

ADMIN = Actor(label="admin", role=Role.ADMIN)
EDITOR = Actor(label="editor", role=Role.EDITOR)


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


def test_removing_a_subscriber_deletes_it_with_its_deliveries_and_their_attempts(org_a, org_b):
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        reader = s.get(Subscriber, org_a.ids["subscriber"])
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            remove_subscriber(s, reader, actor=EDITOR)
        s.rollback()
    assert fingerprint(org_a.tenant_id) == before
    with tenant_session(org_a.tenant_id) as s:
        assert remove_subscriber(s, s.get(Subscriber, org_a.ids["subscriber"]), actor=ADMIN) == 1
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Subscriber, org_a.ids["subscriber"]) is None
        assert s.get(Delivery, org_a.ids["delivery"]) is None
        assert s.scalars(select(DeliveryAttempt)).all() == []
        assert s.scalars(select(SubscriberComponent)).all() == []
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "subscriber.deleted"))
    assert event.before == {"channel": "email", "state": "active", "incident_id": None, "deliveries": 1}
    assert "reader@acme.test" not in event.summary
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Subscriber, org_b.ids["subscriber"]) is not None
        assert s.get(Delivery, org_b.ids["delivery"]) is not None
        assert len(s.scalars(select(DeliveryAttempt)).all()) == 1


def test_an_import_is_checked_line_by_line_and_added_in_one_go_with_one_audit_event(admin_app, org_a, org_b):
    text = "\ufeff" + "\r\n".join(
        [
            "Email Address;Phone;URL;Type;Component",
            "Ana@Example.test;;;;Acme Web|Acme REST",
            "'+ops@example.test;;https://hooks.example.test/ops;;",
            ";;https://chat.example.test/hook;teams;",
            '"ana@example.test";;;;',
            ";;;;",
        ]
    )
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        preview = preview_import(s, page, text)
        assert [(row.line, row.channel, row.address, row.error) for row in preview.rows] == [
            (2, Channel.EMAIL, "ana@example.test", None),
            (3, Channel.WEBHOOK, "https://hooks.example.test/ops", None),
            (4, Channel.TEAMS, "https://chat.example.test/hook", None),
            (5, Channel.EMAIL, "ana@example.test", "Repeats line 2."),
        ]
        assert preview.rows[0].component_names == ("Acme Web", "Acme REST")
        assert preview.rows[1].contact_email == "+ops@example.test"
        with pytest.raises(PermissionDenied):
            import_subscribers(s, page, preview.valid, actor=EDITOR, confirmed=True)
        with pytest.raises(ValidationError, match="Line 5 cannot be imported: Repeats line 2."):
            import_subscribers(s, page, list(preview.rows), actor=ADMIN, confirmed=True)
        with pytest.raises(ValidationError, match="no subscriber to import"):
            import_subscribers(s, page, [], actor=ADMIN, confirmed=True)
        forged = ImportRow(line=9, channel=Channel.EMAIL, address="x@example.test", component_ids=("nope",))
        with pytest.raises(ValidationError, match="Unknown component"):
            import_subscribers(s, page, [forged], actor=ADMIN, confirmed=True)
        s.rollback()
    before = fingerprint(org_a.tenant_id)
    # someone subscribes between the preview and the import: nothing is added
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        add_subscriber(s, page, channel=Channel.TEAMS, address="https://chat.example.test/hook", actor=ADMIN)
        with pytest.raises(Conflict, match="has been subscribed since the preview"):
            import_subscribers(s, page, preview.valid, actor=ADMIN, confirmed=True)
        s.rollback()
    assert fingerprint(org_a.tenant_id) == before
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        added = import_subscribers(s, page, preview.valid, actor=ADMIN, confirmed=True)
        s.commit()
        assert [subscriber.state.value for subscriber in added] == ["active"] * 3
        ana = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.test")).one()
        names = set(
            s.scalars(
                select(Component.name)
                .join(SubscriberComponent, SubscriberComponent.component_id == Component.id)
                .where(SubscriberComponent.subscriber_id == ana.id)
            )
        )
        assert names == {"Acme Web", "Acme REST"}
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "subscriber.imported"))
        assert event.after == {
            "count": 3,
            "channels": {"email": 1, "webhook": 1, "teams": 1},
            "confirmed": True,
        }
        # what was imported reads as already subscribed the second time
        again = preview_import(s, page, text)
        assert [row.error for row in again.rows[:3]] == ["Already subscribed to this page."] * 3
        # and the export quotes what a spreadsheet would run, which an import reads back
        exported = export_csv(export_subscribers(s, page.id, SubscriberCriteria(channel=Channel.WEBHOOK)))
        assert "'+ops@example.test" in exported
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("@x") == "'@x" and safe_cell("plain") == "plain"
    with tenant_session(org_b.tenant_id) as s:
        assert [row.email for row in s.scalars(select(Subscriber))] == ["reader@globex.test"]
