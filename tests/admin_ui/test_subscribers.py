"""The subscriber manager: list and filters, adding, per-subscriber actions and history, CSV import
and export, and the delivery log of each notice."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventKind,
    NotificationEvent,
    Subscriber,
    SubscriberComponent,
)
from tests.admin_ui.uploads import assert_preview_lines, preview_line, preview_token, upload_csv
from tests.conftest import fingerprint, post_form


def _base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/subscribers"


def _log(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}/notifications"


def _add(org, *, component_ids=(), incident_id=None, **columns) -> str:
    """A subscriber written straight to the database; returns its id."""
    columns.setdefault("channel", Channel.EMAIL)
    columns.setdefault("confirmed_at", utcnow())
    with tenant_session(org.tenant_id) as s:
        subscriber = Subscriber(page_id=org.page_id, incident_id=incident_id, **columns)
        s.add(subscriber)
        s.flush()
        s.add_all(SubscriberComponent(subscriber_id=subscriber.id, component_id=c) for c in component_ids)
        s.commit()
        return subscriber.id


def _subscriber(org, **where) -> Subscriber | None:
    with tenant_session(org.tenant_id) as s:
        return s.scalars(select(Subscriber).filter_by(page_id=org.page_id, **where)).first()


def _events(org, action: str) -> list[AuditEvent]:
    with tenant_session(org.tenant_id) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _addresses(html: str) -> list[str]:
    return re.findall(r'class="address">([^<]+)</a>', html)


def _mails_to(mail, address: str) -> list:
    return [message for message in mail.messages if message["To"] == address]


def test_the_list_searches_filters_counts_each_state_and_pages_past_fifty(staff_client, org_a, org_b):
    web, api = org_a.ids["component_web"], org_a.ids["component"]
    now = utcnow()
    _add(org_a, email="web.fan@acme.test", component_ids=[web], last_notified_at=now)
    _add(org_a, email="waiting@acme.test", confirmed_at=None)
    _add(
        org_a,
        channel=Channel.WEBHOOK,
        endpoint="https://hooks.acme.test/status",
        email="ops@acme.test",
        quarantined_at=now,
        quarantine_reason="10 failures in an hour: HTTP 500",
    )
    _add(org_a, email="gone@acme.test", unsubscribed_at=now)
    _add(org_a, email="one.incident@acme.test", incident_id=org_a.ids["incident"])
    page = staff_client.get(f"{_base(org_a)}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # "All current": every state but unsubscribed, newest first, the factory's reader included
    assert _addresses(html) == [
        "one.incident@acme.test",
        "https://hooks.acme.test/status",
        "waiting@acme.test",
        "web.fan@acme.test",
        "reader@acme.test",
    ]
    assert "reader@globex.test" not in html
    assert "Incident: Acme outage" in html and "Acme REST" in html and "Acme Web" in html
    assert "10 failures in an hour: HTTP 500" in html and "contact ops@acme.test" in html
    assert re.search(r"All current <strong>5</strong>", html)
    assert re.search(r"Active <strong>3</strong>", html) and re.search(
        r"Unsubscribed <strong>1</strong>", html
    )
    assert re.search(r"Unconfirmed <strong>1</strong>", html) and re.search(
        r"Quarantined <strong>1</strong>", html
    )

    def listed(query: str) -> list[str]:
        response = staff_client.get(f"{_base(org_a)}/?{query}")
        assert response.status_code == 200
        return _addresses(response.get_data(as_text=True))

    assert listed("state=unsubscribed") == ["gone@acme.test"]
    assert listed("state=unconfirmed") == ["waiting@acme.test"]
    assert listed("state=quarantined") == ["https://hooks.acme.test/status"]
    assert listed("channel=webhook") == ["https://hooks.acme.test/status"]
    assert listed(f"component={web}") == ["web.fan@acme.test"]
    assert listed(f"component={api}&state=active") == ["reader@acme.test"]
    assert listed("component=page") == ["https://hooks.acme.test/status", "waiting@acme.test"]
    assert listed("q=WEB.FAN") == ["web.fan@acme.test"]
    assert listed("q=hooks.acme") == ["https://hooks.acme.test/status"]
    # the counts follow the other filters
    searched = staff_client.get(f"{_base(org_a)}/?q=acme.test&channel=email").get_data(as_text=True)
    assert re.search(r"All current <strong>4</strong>", searched)
    # a filter that is not one of the choices is marked, and another page's component is unknown
    bad = staff_client.get(f"{_base(org_a)}/?channel=pigeon&component={org_b.ids['component']}")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert (
        'id="f-channel" name="channel" aria-invalid="true"' in text and "Choose one of the channels." in text
    )
    assert "Choose one of this page&#39;s components." in text
    # 55 more: 50 rows a page, then the rest
    with tenant_session(org_a.tenant_id) as s:
        s.add_all(
            Subscriber(
                page_id=org_a.page_id,
                channel=Channel.EMAIL,
                email=f"bulk{number:02d}@acme.test",
                confirmed_at=now,
                created_at=now + timedelta(minutes=number + 1),
            )
            for number in range(55)
        )
        s.commit()
    first = staff_client.get(f"{_base(org_a)}/?state=active").get_data(as_text=True)
    assert len(_addresses(first)) == 50 and _addresses(first)[0] == "bulk54@acme.test" and "Older →" in first
    second = staff_client.get(f"{_base(org_a)}/?state=active&p=2").get_data(as_text=True)
    assert len(_addresses(second)) == 8 and "← Newer" in second and "Older →" not in second


def test_a_subscriber_is_added_with_or_without_a_confirmation(staff_client, org_a, mail, run_jobs):
    sent = post_form(
        staff_client,
        f"{_base(org_a)}/",
        {
            "channel": "email",
            "email": "New.Reader@Example.test",
            "component_ids": [org_a.ids["component_web"]],
            "send_confirmation": "1",
            "send_confirmation__present": "1",
        },
    )
    assert sent.status_code == 302
    asked = _subscriber(org_a, email="new.reader@example.test")
    assert asked is not None and asked.confirmed_at is None
    shown = staff_client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "A confirmation is on its way" in shown and "Acme Web" in shown and "Resend confirmation" in shown
    run_jobs()
    [message] = _mails_to(mail, "new.reader@example.test")
    assert "Confirm your subscription" in message["Subject"]
    assert "/subscriptions/confirm/" in message.get_body(("plain",)).get_content()

    quiet = post_form(
        staff_client,
        f"{_base(org_a)}/",
        {"channel": "email", "email": "agreed@example.test", "send_confirmation__present": "1"},
    )
    assert quiet.status_code == 302
    active = _subscriber(org_a, email="agreed@example.test")
    assert active is not None and active.confirmed_at is not None
    run_jobs()
    assert _mails_to(mail, "agreed@example.test") == []

    hook = post_form(
        staff_client,
        f"{_base(org_a)}/",
        {"channel": "webhook", "endpoint": "https://hooks.example.test/in", "email": "Ops@Example.test"},
    )
    webhook = _subscriber(org_a, endpoint="https://hooks.example.test/in")
    assert hook.status_code == 200 and webhook is not None and webhook.email == "ops@example.test"
    assert webhook.secret and webhook.secret in hook.get_data(as_text=True)
    # shown once: the subscriber's page does not show it again
    assert webhook.secret not in staff_client.get(f"{_base(org_a)}/{webhook.id}").get_data(as_text=True)


def test_bad_input_to_the_add_form_is_marked_and_nothing_is_stored(staff_client, org_a, org_b):
    before = fingerprint(org_a.tenant_id)
    cases = [
        ({"channel": "email", "email": "not an address"}, "email", "is not valid"),
        ({"channel": "email", "email": ""}, "email", "Enter the email address"),
        ({"channel": "email", "email": "reader@acme.test"}, "email", "already subscribed"),
        (
            {"channel": "webhook", "endpoint": "ftp://files.example.test/"},
            "endpoint",
            "must start with https://",
        ),
        ({"channel": "webhook", "endpoint": "https://hooks.example.test/x"}, "email", "keeps failing"),
        ({"channel": "webhook", "endpoint": "http://169.254.169.254/latest"}, "endpoint", "cloud metadata"),
        ({"channel": "sms", "phone_number": "+14158586273"}, "phone_number", "plan does not include SMS"),
        (
            {"channel": "email", "email": "x@example.test", "component_ids": [org_b.ids["component"]]},
            "components",
            "Unknown component",
        ),
    ]
    for data, field, message in cases:
        response = post_form(staff_client, f"{_base(org_a)}/", data)
        html = response.get_data(as_text=True)
        assert response.status_code in (409, 422), (data, response.status_code)
        assert message in html, (data, html[:2000])
        if field == "components":
            assert 'class="field components invalid" aria-invalid="true"' in html
        else:
            assert re.search(rf'<div class="field invalid">\s*<label for="f-{field}"', html), data
            assert f'id="f-{field}" name="{field}"' in html and 'aria-invalid="true"' in html
            value = data.get(field, "")
            if value:
                assert f'value="{value}"' in html
    assert fingerprint(org_a.tenant_id) == before


def _delivery(org, subscriber_id: str, event_id: str, status: DeliveryStatus, **columns) -> str:
    with tenant_session(org.tenant_id) as s:
        delivery = Delivery(
            event_id=event_id,
            subscriber_id=subscriber_id,
            channel=columns.pop("channel", Channel.EMAIL),
            status=status,
            **columns,
        )
        s.add(delivery)
        s.commit()
        return delivery.id


def _event(org, kind: EventKind = EventKind.INCIDENT_UPDATED, *, minutes_ago: int = 0) -> str:
    with tenant_session(org.tenant_id) as s:
        event = NotificationEvent(
            page_id=org.page_id,
            kind=kind,
            incident_id=org.ids["incident"],
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        s.add(event)
        s.commit()
        return event.id


def test_each_subscriber_shows_its_deliveries_and_is_resent_unsubscribed_reactivated_and_removed(
    staff_client, org_a, mail, run_jobs
):
    waiting = _add(org_a, email="waiting@acme.test", confirmed_at=None)
    older, newer = _event(org_a, minutes_ago=30), _event(org_a, EventKind.INCIDENT_RESOLVED)
    reader = org_a.ids["subscriber"]
    _delivery(org_a, reader, older, DeliveryStatus.SENT, attempts=1, sent_at=utcnow())
    failed = _delivery(
        org_a, reader, newer, DeliveryStatus.FAILED, attempts=2, last_error="550 mailbox unavailable"
    )
    with tenant_session(org_a.tenant_id) as s:
        s.add_all(
            DeliveryAttempt(
                delivery_id=failed,
                attempted_at=utcnow() - timedelta(minutes=minutes),
                is_success=False,
                status_code=550,
                error=f"550 mailbox unavailable (try {number})",
                duration_ms=40,
            )
            for number, minutes in ((1, 5), (2, 1))
        )
        s.commit()
    html = staff_client.get(f"{_base(org_a)}/{reader}").get_data(as_text=True)
    history = html[html.index("Delivery history") :]
    # newest first: the resolution (failed, twice), then the update (sent), then the factory's notice
    assert history.count('class="delivery-sent"') == 2 and history.count('class="delivery-failed"') == 1
    assert history.index("Incident resolved: Acme outage") < history.index("Incident updated: Acme outage")
    assert "✕ Failed" in history and "550 mailbox unavailable" in history and "✓ Sent" in history
    assert "2 attempts" in history and history.index("(try 1)") < history.index("(try 2)")
    assert "status 550" in history and "40 ms" in history
    # removing asks once, naming what goes with it
    assert "deleted with its 3 deliveries and their history" in html

    assert post_form(staff_client, f"{_base(org_a)}/{waiting}/resend").status_code == 302
    run_jobs()
    assert len(_mails_to(mail, "waiting@acme.test")) == 1
    again = post_form(staff_client, f"{_base(org_a)}/{reader}/resend")
    assert again.status_code == 409 and "has confirmed already" in again.get_data(as_text=True)

    unsubscribed = post_form(staff_client, f"{_base(org_a)}/{reader}/unsubscribe", {"notify__present": "1"})
    assert unsubscribed.status_code == 302
    assert _subscriber(org_a, id=reader).unsubscribed_at is not None
    assert post_form(staff_client, f"{_base(org_a)}/{reader}/reactivate").status_code == 302
    assert _subscriber(org_a, id=reader).unsubscribed_at is None
    assert [e.action for e in _events(org_a, "subscriber.reactivated")] == ["subscriber.reactivated"]

    # the fan-out of the factory's notices has delivered more to the reader meanwhile
    with tenant_session(org_a.tenant_id) as s:
        deliveries = list(s.scalars(select(Delivery.id).where(Delivery.subscriber_id == reader)))
        attempts = list(
            s.scalars(select(DeliveryAttempt.id).where(DeliveryAttempt.delivery_id.in_(deliveries)))
        )
    assert len(deliveries) >= 3 and len(attempts) >= 2
    removed = post_form(staff_client, f"{_base(org_a)}/{reader}/delete")
    assert removed.status_code == 302 and removed.headers["Location"].endswith("/subscribers/")
    listing = staff_client.get(removed.headers["Location"]).get_data(as_text=True)
    assert f"Removed reader@acme.test and its {len(deliveries)} deliveries." in listing
    assert _subscriber(org_a, id=reader) is None
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalars(select(Delivery.id).where(Delivery.id.in_(deliveries))).all() == []
        assert s.scalars(select(DeliveryAttempt.id).where(DeliveryAttempt.id.in_(attempts))).all() == []
    [event] = _events(org_a, "subscriber.deleted")
    assert (
        event.before["deliveries"] == len(deliveries)
        and "reader@acme.test" not in repr(event.before) + event.summary
    )
    assert staff_client.get(f"{_base(org_a)}/{reader}").status_code == 404


def _upload(client, org, content: bytes):
    return upload_csv(client, f"{_base(org)}/import/preview", content, "subscribers.csv")


def test_a_csv_import_previews_every_line_with_its_error_then_adds_the_valid_ones(
    staff_client, org_a, org_b, mail, run_jobs
):
    with tenant_session(org_a.tenant_id) as s:
        s.get(Page, org_a.page_id).allow_slack_subscribers = False
        s.commit()
    content = "\n".join(
        [
            "Email,phone_number,endpoint,channel,components",
            "First@Example.test,,,,Acme Web",  # 2: email, by component name
            f"ops@example.test,,https://hooks.example.test/a,,{org_a.ids['component']}",  # 3: webhook, by id
            "not-an-address,,,,",  # 4
            "first@example.test,,,,",  # 5: repeats line 2
            "reader@acme.test,,,,",  # 6: the factory's subscriber
            "second@example.test,,,,Acme Nothing",  # 7
            ",,https://hooks.slack.test/x,slack,",  # 8: Slack is switched off
            ",+14158586273,,,",  # 9: the plan has no SMS
            "third@example.test,,,pigeon,",  # 10
            f"fourth@example.test,,,,{org_b.ids['component']}",  # 11: another organization's component
            "'=fifth@example.test,,,,Acme Web; Acme REST",  # 12: an export's guarded cell, two components
            ",,https://hooks.example.test/b,,",  # 13: a webhook without a contact
        ]
    ).encode()
    before = fingerprint(org_a.tenant_id)
    preview = _upload(staff_client, org_a, content)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "3 of 12 lines can be imported; 9 cannot" in html and "Import 3 subscribers" in html
    assert_preview_lines(
        html,
        {
            2: ("To be added", "Acme Web"),
            3: ("hooks.example.test/a", "contact ops@example.test"),
            4: "is not valid",
            5: "Repeats line 2.",
            6: "Already subscribed to this page.",
            7: "Unknown component: “Acme Nothing”",
            8: "does not accept Slack subscribers",
            9: "plan does not include SMS",
            10: "Unknown channel “pigeon”",
            11: "Unknown component",
            12: ("=fifth@example.test", "Acme REST"),
            13: "A webhook needs an email address",
        },
    )
    assert fingerprint(org_a.tenant_id) == before
    token = preview_token(html)

    # the browser's copy proves nothing: a made-up token imports nothing
    forged = post_form(staff_client, f"{_base(org_a)}/import", {"token": "0" * 32})
    assert forged.status_code == 422 and "This preview has expired" in forged.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before

    done = post_form(
        staff_client,
        f"{_base(org_a)}/import",
        {"token": token, "send_confirmation": "1", "send_confirmation__present": "1"},
    )
    assert done.status_code == 302
    flashed = staff_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 subscribers. 9 lines could not be added. 2 confirmations on the way." in flashed
    first = _subscriber(org_a, email="first@example.test")
    hook = _subscriber(org_a, endpoint="https://hooks.example.test/a")
    fifth = _subscriber(org_a, email="=fifth@example.test")
    assert first.confirmed_at is None and hook.confirmed_at is not None and hook.email == "ops@example.test"
    with tenant_session(org_a.tenant_id) as s:
        links = set(s.scalars(select(SubscriberComponent.component_id).filter_by(subscriber_id=fifth.id)))
    assert links == {org_a.ids["component"], org_a.ids["component_web"]}
    [event] = _events(org_a, "subscriber.imported")
    assert event.after == {"count": 3, "channels": {"email": 2, "webhook": 1}, "confirmed": False}
    run_jobs()
    assert len(_mails_to(mail, "first@example.test")) == 1
    assert len(_mails_to(mail, "=fifth@example.test")) == 1
    # the same preview cannot import twice
    twice = post_form(staff_client, f"{_base(org_a)}/import", {"token": token})
    assert twice.status_code == 422


def test_a_file_that_is_not_a_utf8_subscriber_csv_is_refused_on_the_file_field(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    cases = [
        ("email\nmüller@example.test\n".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"name,age\nAda,36\n", "not a subscriber CSV file"),
        (b'email\n"unterminated@example.test\n', "not valid CSV"),
        (b"email\n" + b"x@example.test\n" * 5001, "more than 5,000"),
        (b"email\n" + b"x" * 1_000_001, "larger than 1 MB"),
        (b"", "Choose a CSV file"),
    ]
    for content, message in cases:
        response = _upload(staff_client, org_a, content)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (message, response.status_code)
        assert message in html, (message, html[:1500])
        assert '<div class="field invalid">' in html and 'name="file" type="file"' in html
        assert 'aria-invalid="true" aria-describedby="file-error"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_the_export_is_the_filtered_list_as_a_csv_download_with_formulas_defused(staff_client, org_a):
    _add(
        org_a,
        channel=Channel.WEBHOOK,
        endpoint="https://hooks.acme.test/x",
        email="=cmd@acme.test",
        quarantined_at=utcnow(),
        quarantine_reason='=HYPERLINK("https://evil.example","click")',
    )
    _add(org_a, email="-2+3@acme.test", component_ids=[org_a.ids["component_web"], org_a.ids["component"]])
    _add(org_a, email="sum@acme.test", unsubscribed_at=utcnow())
    response = staff_client.get(f"{_base(org_a)}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="subscribers-acme-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_address = {row["email"] or row["endpoint"]: row for row in rows}
    # "all current": the unsubscribed one is left out
    assert set(by_address) == {"'=cmd@acme.test", "'-2+3@acme.test", "reader@acme.test"}
    hook = by_address["'=cmd@acme.test"]
    assert hook["channel"] == "webhook" and hook["endpoint"] == "https://hooks.acme.test/x"
    assert hook["quarantine_reason"].startswith("'=HYPERLINK(") and hook["state"] == "quarantined"
    assert by_address["'-2+3@acme.test"]["components"] == "Acme REST; Acme Web"
    assert by_address["reader@acme.test"]["components"] == "Acme REST"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values() if cell)
    filtered = staff_client.get(f"{_base(org_a)}/export.csv?channel=email&state=unsubscribed")
    assert [row["email"] for row in csv.DictReader(io.StringIO(filtered.get_data(as_text=True)))] == [
        "sum@acme.test"
    ]
    # an export reads back: its guarded cells lose their quote
    preview = _upload(staff_client, org_a, response.get_data())
    assert "Already subscribed to this page." in preview_line(preview.get_data(as_text=True), 2)


def test_the_delivery_log_counts_each_notice_by_outcome_and_groups_the_failures_reasons(
    staff_client, org_a, org_b
):
    event = _event(org_a, EventKind.INCIDENT_RESOLVED)
    outcomes = [
        (DeliveryStatus.SENT, None),
        (DeliveryStatus.SENT, None),
        (DeliveryStatus.FAILED, "HTTP 500 from the endpoint"),
        (DeliveryStatus.FAILED, "HTTP 500 from the endpoint"),
        (DeliveryStatus.FAILED, "timed out after 30 s"),
        (DeliveryStatus.PENDING, None),
        (DeliveryStatus.SENDING, None),
        (DeliveryStatus.CANCELLED, "The subscriber unsubscribed."),
    ]
    for number, (status, error) in enumerate(outcomes):
        subscriber = _add(org_a, channel=Channel.WEBHOOK, endpoint=f"https://hooks.acme.test/{number}")
        _delivery(org_a, subscriber, event, status, channel=Channel.WEBHOOK, attempts=1, last_error=error)
    html = staff_client.get(f"{_log(org_a)}/").get_data(as_text=True)
    [row] = [part for part in html.split("</tr>") if "Incident resolved: Acme outage" in part]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[3:7] == ["2", "<strong>3</strong>", "2", "1"]
    assert row.index('HTTP 500 from the endpoint <span class="muted">× 2</span>') < row.index(
        'timed out after 30 s <span class="muted">× 1</span>'
    )
    # the factory's first notice: one delivery, sent
    assert "Incident created: Acme outage" in html and "reader@globex.test" not in html
    detail = staff_client.get(f"{_log(org_a)}/{event}").get_data(as_text=True)
    failed = detail[detail.index("Failed deliveries") :]
    assert re.findall(r'class="address">([^<]+)</a>', failed) == [
        "https://hooks.acme.test/2",
        "https://hooks.acme.test/3",
        "https://hooks.acme.test/4",
    ]
    assert failed.count("HTTP 500 from the endpoint") == 2 and "timed out after 30 s" in failed
    assert staff_client.get(f"{_log(org_a)}/{org_b.ids['event']}").status_code == 404


def test_only_admins_and_owners_see_or_change_subscribers(client_as, org_a):
    editor = client_as("editor")
    before = fingerprint(org_a.tenant_id)
    for path in ("/", "/new", "/export.csv", f"/{org_a.ids['subscriber']}"):
        response = editor.get(_base(org_a) + path)
        assert response.status_code == 403 and "managed by admins and owners" in response.get_data(
            as_text=True
        )
    assert editor.get(f"{_log(org_a)}/").status_code == 403
    response = post_form(editor, f"{_base(org_a)}/{org_a.ids['subscriber']}/delete")
    assert response.status_code == 403 and "needs the admin role" in response.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before
    admin = client_as("admin")
    page = admin.get(f"/t/{org_a.slug}/p/{org_a.page_id}/").get_data(as_text=True)
    assert f'href="{_base(org_a)}/"' in page and f'href="{_log(org_a)}/"' in page
    assert f'href="{_base(org_a)}/"' not in editor.get(f"/t/{org_a.slug}/p/{org_a.page_id}/").get_data(
        as_text=True
    )
