"""Notification messages: Statuspage's webhook payloads, signatures, threaded email, Slack, Teams, SMS."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from status_platform.config import Settings
from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentStatus, ComponentVisibility
from tenants.components.services import set_component_status
from tenants.incidents.models import IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.maintenance.services import schedule_window, start_window
from tenants.pages.models import Page
from tenants.pages.snapshot import build_snapshot
from tenants.subscribers.confirmation import page_public_url
from tenants.subscribers.links import Recipient, manage_url, unsubscribe_url
from tenants.subscribers.messages import (
    RECEIVING_CHANNELS,
    SMS_MAX_LENGTH,
    Notice,
    channel_receives,
    load_notice,
    quarantine_mail,
    render_email,
    render_slack,
    render_sms,
    render_teams,
    render_webhook,
    slack_mrkdwn,
    verify_signature,
    webhook_headers,
)
from tenants.subscribers.models import Channel, EventKind, NotificationEvent
from tenants.subscribers.outbox import record_notification
from tests.factories import ACTOR

COPY = Path(__file__).resolve().parent / "statuspage_webhooks"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "statuspage" / "webhooks"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SECRET = "a" * 64


@pytest.fixture(autouse=True)
def _settings_active(admin_app):
    """Manage and unsubscribe links are signed with the active settings' secret key."""


def reference(name: str) -> dict[str, Any]:
    """A saved Statuspage payload: the shared reference where it is beside the checkout, else the copy."""
    folder = SHARED if SHARED.is_dir() else COPY
    return json.loads((folder / name).read_text())


def recipient(
    subscriber_id: str, delivery_id: str, channel: Channel = Channel.WEBHOOK, **fields
) -> Recipient:
    values = {
        "email": None,
        "phone_number": None,
        "endpoint": None,
        "secret": SECRET if channel is Channel.WEBHOOK else None,
        "incident_id": None,
        "attempts": 0,
        **fields,
    }
    return Recipient(delivery_id=delivery_id, subscriber_id=subscriber_id, channel=channel, **values)


def events_of(session, incident_id: str) -> dict[EventKind, NotificationEvent]:
    rows = session.scalars(
        select(NotificationEvent)
        .where(NotificationEvent.incident_id == incident_id)
        .order_by(NotificationEvent.created_at, NotificationEvent.id)
    )
    return {event.kind: event for event in rows}


def test_the_copy_of_the_webhook_payloads_is_the_shared_reference():
    copied = sorted(path.name for path in COPY.glob("*.json"))
    assert copied == ["webhook-component-update.json", "webhook-incident.json"]
    if SHARED.is_dir():
        for name in copied:
            assert (COPY / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_an_incident_webhook_has_statuspage_shape_and_a_signature_that_breaks_when_the_body_changes(
    org_a, settings: Settings, connection
):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        web = s.get(Component, org_a.ids["component_web"])
        incident = open_incident(
            s,
            page,
            name="Checkout errors",
            actor=ACTOR,
            body="We are looking into **failed** payments.",
            components={web.id: ComponentStatus.PARTIAL_OUTAGE},
        )
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.IDENTIFIED, body="A bad deploy.")
        s.commit()
        event = events_of(s, incident.id)[EventKind.INCIDENT_UPDATED]

        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        sa.event.listen(connection, "before_cursor_execute", count)
        notice = load_notice(s, event, settings)
        sa.event.remove(connection, "before_cursor_execute", count)
        assert len(statements) <= 8, statements

        page_url = page_public_url(s, page, settings)
        snapshot = build_snapshot(s, page.id, page_url=page_url)
        one = recipient("sub000000001", "del000000001")
        body = render_webhook(notice, one)
        payload = json.loads(body)

        # Exactly Statuspage's keys, plus the v2 `components` and the updates' `affected_components`.
        expected = reference("webhook-incident.json")
        assert list(payload) == ["meta", "page", "incident"]
        assert set(payload["meta"]) == set(expected["meta"])
        assert set(payload["page"]) == set(expected["page"])
        assert set(payload["incident"]) == set(expected["incident"]) | {"components"}
        update_keys = set(expected["incident"]["incident_updates"][0]) | {"affected_components"}
        assert all(set(u) == update_keys for u in payload["incident"]["incident_updates"])

        assert payload["meta"]["unsubscribe"] == unsubscribe_url(page_url, one.subscriber_id, page.id)
        assert payload["page"] == {
            "id": page.id,
            "status_indicator": snapshot["status"]["indicator"],
            "status_description": snapshot["status"]["description"],
        }
        sent = payload["incident"]
        assert (sent["id"], sent["name"], sent["status"], sent["impact"]) == (
            incident.id,
            "Checkout errors",
            "identified",
            "major",
        )
        assert sent["organization_id"] == page.id
        assert sent["shortlink"] == f"{page_url}/incidents/{incident.id}"
        assert sent["backfilled"] is False and sent["resolved_at"] is None
        assert all(ISO.match(sent[key]) for key in ("created_at", "updated_at"))
        assert [u["status"] for u in sent["incident_updates"]] == ["identified", "investigating"]
        assert sent["incident_updates"][0]["body"] == "A bad deploy."
        assert sent["incident_updates"][0]["affected_components"] is None
        assert sent["incident_updates"][1]["affected_components"] == [
            {"code": web.id, "name": web.name, "old_status": "operational", "new_status": "partial_outage"}
        ]
        assert [(c["id"], c["name"], c["status"]) for c in sent["components"]] == [
            (web.id, web.name, "partial_outage")
        ]

        # Another recipient differs only in its unsubscribe link.
        other = json.loads(render_webhook(notice, recipient("sub000000002", "del000000002")))
        assert other["meta"]["unsubscribe"] != payload["meta"]["unsubscribe"]
        assert {**other, "meta": payload["meta"]} == payload

        timestamp = int(time.time())
        headers = webhook_headers(notice, one, body, timestamp=timestamp)
        assert headers["Content-Type"] == "application/json"
        assert headers["X-StatusPlatform-Event"] == "incident_updated"
        assert headers["X-StatusPlatform-Delivery"] == "del000000001"
        assert headers["X-StatusPlatform-Timestamp"] == str(timestamp)
        signed = headers["X-StatusPlatform-Signature"]
        assert re.fullmatch(r"v1=[0-9a-f]{64}", signed)
        assert verify_signature(SECRET, timestamp, body, signed)
        assert verify_signature(SECRET, str(timestamp), body, signed)
        assert not verify_signature(SECRET, timestamp, body.replace(b"A bad deploy", b"A bad deplox"), signed)
        assert not verify_signature(SECRET, timestamp + 1, body, signed)
        assert not verify_signature("b" * 64, timestamp, body, signed)
        # A retry of the same delivery carries the same id and, signed at the same time, the same signature.
        assert webhook_headers(notice, one, render_webhook(notice, one), timestamp=timestamp) == headers

        started = time.perf_counter()
        for n in range(2000):
            render_webhook(notice, recipient(f"sub{n:09d}", f"del{n:09d}"))
        per_body = (time.perf_counter() - started) / 2000 * 1e6
        print(f"webhook body per recipient: {per_body:.1f} µs")


def test_a_component_webhook_has_statuspage_shape_and_only_webhooks_hear_of_it(org_a, settings):
    with tenant_session(org_a.tenant_id) as s:
        web = s.get(Component, org_a.ids["component_web"])
        set_component_status(s, web, ComponentStatus.DEGRADED_PERFORMANCE, actor=ACTOR)
        s.flush()
        event = s.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.kind == EventKind.COMPONENT_UPDATED)
            .order_by(NotificationEvent.created_at.desc(), NotificationEvent.id.desc())
        ).first()
        notice = load_notice(s, event, settings)
        page_url = page_public_url(s, s.get(Page, org_a.page_id), settings)
        snapshot = build_snapshot(s, org_a.page_id, page_url=page_url)
        payload = json.loads(render_webhook(notice, recipient("sub000000001", "del000000001")))

    expected = reference("webhook-component-update.json")
    assert set(payload) == set(expected)
    assert all(set(payload[key]) == set(expected[key]) for key in expected)
    assert payload["component_update"]["old_status"] == "operational"
    assert payload["component_update"]["new_status"] == "degraded_performance"
    assert payload["component_update"]["component_id"] == web.id
    assert ISO.match(payload["component_update"]["created_at"])
    assert payload["component"] == {
        "created_at": payload["component"]["created_at"],
        "id": web.id,
        "name": web.name,
        "status": "degraded_performance",
    }
    assert payload["page"]["status_indicator"] == snapshot["status"]["indicator"]
    assert payload["page"]["status_description"] == snapshot["status"]["description"]

    assert RECEIVING_CHANNELS[EventKind.COMPONENT_UPDATED] == {Channel.WEBHOOK}
    sms_kinds = {
        EventKind.INCIDENT_CREATED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.MAINTENANCE_STARTED,
        EventKind.MAINTENANCE_COMPLETED,
    }
    for kind in EventKind:
        for channel in Channel:
            if kind is EventKind.COMPONENT_UPDATED:
                expected_receives = channel is Channel.WEBHOOK
            elif channel is Channel.SMS:
                expected_receives = kind in sms_kinds
            else:
                expected_receives = True
            assert channel_receives(kind, channel) is expected_receives, (kind, channel)
            assert (channel in RECEIVING_CHANNELS[kind]) is expected_receives


def test_the_emails_of_one_incident_thread_for_each_subscriber_and_carry_one_click_unsubscribe(
    org_a, settings
):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.notifications_from_name = "Acme Status Team"
        page.notifications_from_email = "status@acme.test"
        page.notifications_email_footer = "Acme Inc.\n1 Main Street"
        web = s.get(Component, org_a.ids["component_web"])
        incident = open_incident(
            s,
            page,
            name="API errors",
            actor=ACTOR,
            body='Errors on <script>alert("x")</script>**checkout** & <b onclick="steal()">login</b>.',
            components={web.id: ComponentStatus.MAJOR_OUTAGE},
        )
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.IDENTIFIED, body="Found it.")
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed.")
        s.flush()
        events = events_of(s, incident.id)
        page_url = page_public_url(s, page, settings)
        subscriber_id = org_a.ids["subscriber"]
        messages = {}
        for n, kind in enumerate(
            [EventKind.INCIDENT_CREATED, EventKind.INCIDENT_UPDATED, EventKind.INCIDENT_RESOLVED]
        ):
            notice = load_notice(s, events[kind], settings)
            reader = recipient(subscriber_id, f"delivery{n:04d}", Channel.EMAIL, email="reader@acme.test")
            # What the receiving server sees, parsed back as a mail client would.
            messages[kind] = message_from_bytes(
                render_email(notice, reader, settings).as_bytes(), policy=policy.default
            )
        other_reader = recipient("othersub0001", "delivery9999", Channel.EMAIL, email="other@acme.test")
        other = render_email(
            load_notice(s, events[EventKind.INCIDENT_CREATED], settings), other_reader, settings
        )

    root = f"<incident.{incident.id}.{subscriber_id}@{settings.PLATFORM_HOST}>"
    created, updated, resolved = (messages[k] for k in sorted(messages, key=list(EventKind).index))
    assert created["Message-ID"] == root and created["In-Reply-To"] is None
    for n, later in ((1, updated), (2, resolved)):
        assert later["Message-ID"] == f"<delivery{n:04d}@{settings.PLATFORM_HOST}>"
        assert later["In-Reply-To"] == root and later["References"] == root
    assert other["Message-ID"] == f"<incident.{incident.id}.othersub0001@{settings.PLATFORM_HOST}>"
    assert [m["Subject"] for m in (created, updated, resolved)] == [
        "[Acme] Investigating: API errors",
        "[Acme] Identified: API errors",
        "[Acme] Resolved: API errors",
    ]

    unsubscribe = unsubscribe_url(page_url, subscriber_id, page.id)
    manage = manage_url(page_url, subscriber_id, page.id)
    for message in (created, updated, resolved):
        sender = message["From"].addresses[0]
        # Sent from the platform's address under the page's name; replies go to the page's address.
        assert (sender.display_name, sender.addr_spec) == ("Acme Status Team", "status@localhost")
        assert message["Reply-To"] == "status@acme.test"
        assert message["To"] == "reader@acme.test"
        assert message["Date"] is not None
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == f'"Acme status" <{page.id}.{settings.PLATFORM_HOST}>'
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        markup = message.get_body(("html",)).get_content()
        for part in (text, markup):
            assert manage in part and unsubscribe in part
            assert "1 Main Street" in part
            assert "API errors" in part
            assert "<script" not in part and "alert(" not in part and "onclick" not in part
        assert "<img" not in markup and "src=" not in markup
    created_text = created.get_body(("plain",)).get_content()
    created_html = created.get_body(("html",)).get_content()
    assert "New incident: Investigating" in created_text
    assert f"{web.name} (Major Outage)" in created_text
    assert f"{page_url}/incidents/{incident.id}" in created_text
    assert "<strong>checkout</strong> &amp;" in created_html and "<b>login</b>" in created_html
    assert "Fixed." in resolved.get_body(("plain",)).get_content()


def test_maintenance_notices_read_in_the_page_time_zone_on_every_channel(org_a, settings):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.time_zone = "America/New_York"
        web = s.get(Component, org_a.ids["component_web"])
        start = (utcnow() + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
        window = schedule_window(
            s,
            page,
            name="Database upgrade",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=2),
            component_ids=[web.id],
            body="We upgrade the database (< 5 minutes & its replicas).",
            actor=ACTOR,
        )
        record_notification(
            s,
            page_id=page.id,
            kind=EventKind.MAINTENANCE_REMINDER,
            incident_id=window.id,
            component_ids=[web.id],
            payload={"minutes_before": 60},
            not_before=start - timedelta(minutes=60),
        )
        start_window(s, window, actor=ACTOR)
        s.flush()
        events = events_of(s, window.id)
        page_url = page_public_url(s, page, settings)
        subscriber_id = org_a.ids["subscriber"]
        reader = recipient(subscriber_id, "delivery0001", Channel.EMAIL, email="reader@acme.test")
        notices = {kind: load_notice(s, events[kind], settings) for kind in events}
        status_now = build_snapshot(s, page.id, page_url=page_url)["status"]["description"]

    scheduled = render_email(notices[EventKind.MAINTENANCE_SCHEDULED], reader, settings)
    reminder = render_email(notices[EventKind.MAINTENANCE_REMINDER], reader, settings)
    root = f"<incident.{window.id}.{subscriber_id}@{settings.PLATFORM_HOST}>"
    assert scheduled["Subject"] == "[Acme] Scheduled maintenance: Database upgrade"
    assert scheduled["Message-ID"] == root
    assert reminder["Subject"] == "[Acme] Reminder: Database upgrade begins in 60 minutes"
    assert reminder["In-Reply-To"] == root
    text = scheduled.get_body(("plain",)).get_content()
    local = start.astimezone(ZoneInfo("America/New_York"))
    assert local.strftime("%b %-d, %Y %H:%M %Z") + " (14:00 UTC)" in text
    assert "We upgrade the database (< 5 minutes & its replicas)." in text
    assert "(&lt; 5 minutes &amp; its replicas)" in scheduled.get_body(("html",)).get_content()

    started = notices[EventKind.MAINTENANCE_STARTED]
    window_url = f"{page_url}/incidents/{window.id}"
    manage = manage_url(page_url, subscriber_id, page.id)

    sms = render_sms(
        started, recipient(subscriber_id, "delivery0002", Channel.SMS, phone_number="+14155552671")
    )
    assert sms == f"[Acme] Maintenance in progress: Database upgrade. {window_url} Manage: {manage}"
    assert len(sms) <= SMS_MAX_LENGTH

    slack = json.loads(
        render_slack(notices[EventKind.MAINTENANCE_SCHEDULED], recipient(subscriber_id, "d3", Channel.SLACK))
    )
    assert slack["text"].startswith("[Acme] Scheduled maintenance: Database upgrade")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "section", "context", "actions"]
    assert slack["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "Scheduled maintenance: Database upgrade",
        "emoji": False,
    }
    assert slack["blocks"][1]["text"]["type"] == "mrkdwn"
    assert (
        "We upgrade the database (&lt; 5 minutes &amp; its replicas)." in slack["blocks"][1]["text"]["text"]
    )
    assert "(14:00 UTC)" in slack["blocks"][2]["text"]["text"]
    assert [e["url"] for e in slack["blocks"][4]["elements"]] == [window_url, manage]

    teams = json.loads(render_teams(started, recipient(subscriber_id, "d4", Channel.TEAMS)))
    assert teams["@type"] == "MessageCard" and teams["@context"] == "http://schema.org/extensions"
    assert teams["summary"] == "[Acme] Maintenance in progress: Database upgrade"
    assert teams["themeColor"] == "0969DA"
    assert teams["title"] == "[Acme] Maintenance in progress: Database upgrade"
    facts = {f["name"]: f["value"] for f in teams["sections"][0]["facts"]}
    assert facts["Status"] == "In progress" and web.name in facts["Components"]
    assert facts["Page status"] == status_now
    assert [(a["@type"], a["name"], a["targets"][0]["uri"]) for a in teams["potentialAction"]] == [
        ("OpenUri", "View maintenance", window_url),
        ("OpenUri", "Manage subscription", manage),
    ]


def test_short_channels_shorten_long_names_and_hidden_components_are_not_listed(org_a, settings):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.name = "Acme Corporation International Holdings Status"
        web = s.get(Component, org_a.ids["component_web"])
        web.visibility = ComponentVisibility.HIDDEN
        incident = open_incident(
            s,
            page,
            name="Payments <fail> & " + "very " * 45 + "slowly",
            actor=ACTOR,
            body="Looking.",
            components={web.id: ComponentStatus.MAJOR_OUTAGE},
        )
        s.flush()
        notice: Notice = load_notice(s, events_of(s, incident.id)[EventKind.INCIDENT_CREATED], settings)
        page_url = page_public_url(s, page, settings)

    reader = recipient("sub000000001", "del000000001", Channel.SMS, phone_number="+14155552671")
    sms = render_sms(notice, reader)
    assert len(sms) <= SMS_MAX_LENGTH
    assert sms.startswith("[Acme Corporation Internatio...] Investigating: Payments <fail> & very very")
    assert f"... {page_url}/incidents/{incident.id} Manage: " in sms and "...." not in sms
    assert sms.endswith(
        f"{page_url}/incidents/{incident.id} Manage: {manage_url(page_url, 'sub000000001', page.id)}"
    )

    slack = json.loads(render_slack(notice, reader))
    assert len(slack["blocks"][0]["text"]["text"]) <= 150
    assert slack_mrkdwn("**Fixed** <now> & [see](https://x.test/a?b=1)") == (
        "*Fixed* &lt;now&gt; &amp; <https://x.test/a?b=1|see>"
    )
    assert "Payments &lt;fail&gt; &amp; very" in slack["text"]

    assert notice.incident.components == ()
    payload = json.loads(render_webhook(notice, reader))
    assert payload["incident"]["components"] == []
    assert web.name not in json.dumps(payload["incident"]["components"])

    mail = quarantine_mail(
        page_name="Acme",
        page_url=page_url,
        endpoint="https://hooks.example.test/status",
        reason="HTTP 500",
        purge_days=90,
    )
    assert mail.subject == "[Acme] Webhook notifications stopped"
    for part in (mail.text, mail.html):
        assert "https://hooks.example.test/status" in part and "HTTP 500" in part
        assert "10 times within an hour" in part and "90 days" in part
        assert "subscribe it again" in part and "reactivate" in part
    hostile = quarantine_mail(
        page_name="<Acme>", page_url=page_url, endpoint="https://x.test/<y>", reason="<b>"
    )
    assert "<Acme>" not in hostile.html and "&lt;Acme&gt;" in hostile.html and "<b>" not in hostile.html
