"""Double opt-in of subscribers: signed links, hashed SMS codes sent through Twilio, and subscriber states."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from status_platform.config import Settings, active_settings
from status_platform.db.session import tenant_session
from status_platform.errors import Conflict, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.sms import SmsError, send_sms
from status_platform.tenancy.models import Role, Tenant
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tenants.subscribers.confirmation import (
    InvalidConfirmation,
    code_matches,
    confirmation_token,
    hash_code,
    subscriber_id_from_token,
)
from tenants.subscribers.models import Channel, Delivery, DeliveryStatus, Subscriber, SubscriberState
from tenants.subscribers.services import (
    add_subscriber,
    confirm_subscriber,
    confirm_subscriber_code,
    reactivate_subscriber,
    request_confirmation,
    unsubscribe_subscriber,
    update_subscriber_components,
)
from tests.conftest import fingerprint

ADMIN = Actor(label="admin", role=Role.ADMIN)
EDITOR = Actor(label="editor", role=Role.EDITOR)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token"
SENDER = "+15005550006"
PHONE = "+14155552671"


@pytest.fixture(autouse=True)
def _settings_active(admin_app):
    """Links and codes are signed with the active settings' secret key."""


@pytest.fixture(autouse=True)
def _sms_plan(org_a: Any) -> None:
    """Organization A is on a plan with SMS (the free plan has none)."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "startup"
        s.commit()


# --- a stand-in for Twilio's Messages API ----------------------------------------------------------


@dataclass
class TwilioMessage:
    path: str
    authorization: str
    form: dict[str, str]


@dataclass
class Twilio:
    """Answers as Twilio does: 201 with the message resource, 401 for a wrong key, 400 for a bad number."""

    url: str = ""
    messages: list[TwilioMessage] = field(default_factory=list)
    invalid_numbers: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def codes(self) -> list[str]:
        return [re.search(r"\b(\d{6})\b", m.form["Body"]).group(1) for m in self.messages]  # type: ignore[union-attr]


@contextmanager
def running_twilio() -> Iterator[Twilio]:
    """Serve the stand-in on a loopback port for the duration of the block."""
    stand_in = Twilio()
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                self._answer(
                    404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                )
            elif self.headers.get("Authorization") != expected_auth:
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            elif form.get("To") in stand_in.invalid_numbers:
                message = f"The 'To' number {form['To']} is not a valid phone number."
                self._answer(400, {"code": 21211, "message": message, "status": 400})
            else:
                with stand_in.lock:
                    stand_in.messages.append(
                        TwilioMessage(self.path, self.headers.get("Authorization", ""), form)
                    )
                self._answer(
                    201,
                    {
                        "sid": "SM" + "f" * 32,
                        "account_sid": ACCOUNT_SID,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                    },
                )

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def twilio_settings(settings: Settings, stand_in: Twilio) -> Settings:
    """`settings` sending text messages to the stand-in."""
    return replace(
        settings,
        TWILIO_API_BASE=stand_in.url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM=SENDER,
    )


@pytest.fixture
def twilio(worker_settings: dict[str, Settings]) -> Iterator[Twilio]:
    """A local Twilio; the test's jobs send their text messages to it."""
    with running_twilio() as stand_in:
        worker_settings["settings"] = twilio_settings(worker_settings["settings"], stand_in)
        yield stand_in


def _add(s: Any, org: Any, **kwargs: Any) -> Subscriber:
    page = s.get(Page, org.page_id)
    kwargs.setdefault("channel", Channel.EMAIL)
    kwargs.setdefault("address", "someone@example.test")
    return add_subscriber(s, page, actor=ADMIN, **kwargs)


def _events(tenant_id: str, subscriber_id: str) -> list[str]:
    with tenant_session(tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == subscriber_id)
                .order_by(AuditEvent.created_at, AuditEvent.id)
            )
        )


# --- links -----------------------------------------------------------------------------------------


def test_a_confirmation_link_names_its_subscriber_only_on_its_own_page(org_a):
    token = confirmation_token("sub123456789", org_a.page_id)
    assert subscriber_id_from_token(token, page_id=org_a.page_id) == "sub123456789"
    with pytest.raises(InvalidConfirmation, match="not for this status page"):
        subscriber_id_from_token(token, page_id="otherpage123")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidConfirmation, match="not valid"):
        subscriber_id_from_token(tampered, page_id=org_a.page_id)


def test_a_confirmation_link_works_for_48_hours_and_not_longer(org_a, monkeypatch):
    with monkeypatch.context() as clock:
        clock.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 47 * 3600)
        recent = confirmation_token("sub123456789", org_a.page_id)
        clock.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 48 * 3600 - 60)
        old = confirmation_token("sub123456789", org_a.page_id)
    assert subscriber_id_from_token(recent, page_id=org_a.page_id) == "sub123456789"
    with pytest.raises(InvalidConfirmation, match="expired"):
        subscriber_id_from_token(old, page_id=org_a.page_id)


# --- SMS codes -------------------------------------------------------------------------------------


def test_an_sms_subscriber_is_texted_a_code_that_is_stored_only_hashed(org_a, twilio, run_jobs):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, channel=Channel.SMS, address=PHONE)
        s.commit()
        subscriber_id = subscriber.id
    run_jobs()
    assert len(twilio.messages) == 1
    sent = twilio.messages[0]
    assert sent.form["To"] == PHONE and sent.form["From"] == SENDER
    assert "Acme" in sent.form["Body"]
    # The text also carries the confirmation link, which confirms on the page without the code.
    assert f"http://{org_a.host}/subscriptions/confirm/" in sent.form["Body"]
    code = twilio.codes()[0]
    with tenant_session(org_a.tenant_id) as s:
        stored = s.get(Subscriber, subscriber_id)
        assert stored.confirmation_code_hash == hash_code(subscriber_id, code)
        assert code not in stored.confirmation_code_hash
        assert stored.state is SubscriberState.UNCONFIRMED


def test_the_right_code_confirms_and_a_wrong_one_does_not(org_a, twilio, run_jobs):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, channel=Channel.SMS, address=PHONE)
        s.commit()
        subscriber_id = subscriber.id
    run_jobs()
    code = twilio.codes()[0]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, subscriber_id)
        with pytest.raises(ValidationError, match="not right") as refused:
            confirm_subscriber_code(s, subscriber, wrong)
        assert refused.value.field == "code"
        assert subscriber.confirmed_at is None
        assert confirm_subscriber_code(s, subscriber, f" {code} ") is True
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        confirmed = s.get(Subscriber, subscriber_id)
        assert confirmed.state is SubscriberState.ACTIVE and confirmed.confirmation_code_hash is None
    assert _events(org_a.tenant_id, subscriber_id) == ["subscriber.created", "subscriber.confirmed"]


def test_guessing_codes_is_stopped_after_five_tries(org_a, twilio, run_jobs):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, channel=Channel.SMS, address=PHONE)
        s.commit()
        subscriber_id = subscriber.id
    run_jobs()
    code = twilio.codes()[0]
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, subscriber_id)
        for guess in range(5):
            with pytest.raises(ValidationError, match="not right"):
                confirm_subscriber_code(s, subscriber, f"{(int(code) + guess + 1) % 1_000_000:06d}")
        with pytest.raises(ValidationError, match="Too many tries"):
            confirm_subscriber_code(s, subscriber, code)
        assert subscriber.confirmed_at is None


def test_resending_an_sms_confirmation_texts_a_new_code_and_the_old_one_stops_working(
    org_a, twilio, run_jobs
):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, channel=Channel.SMS, address=PHONE)
        s.commit()
        subscriber_id = subscriber.id
    run_jobs()
    with tenant_session(org_a.tenant_id) as s:
        request_confirmation(s, s.get(Subscriber, subscriber_id), actor=ADMIN)
        s.commit()
    run_jobs()
    first, second = twilio.codes()
    with tenant_session(org_a.tenant_id) as s:
        stored = s.get(Subscriber, subscriber_id).confirmation_code_hash
    assert code_matches(subscriber_id, second, stored)
    assert first == second or not code_matches(subscriber_id, first, stored)
    assert _events(org_a.tenant_id, subscriber_id)[-1] == "subscriber.confirmation_sent"


def test_twilio_refusing_a_message_is_a_clear_error(twilio):
    settings = twilio_settings(active_settings(), twilio)
    twilio.invalid_numbers.add("+15005550001")
    with pytest.raises(SmsError, match=r"HTTP 400.*not a valid phone number \(Twilio error 21211\)"):
        send_sms(settings, to="+15005550001", body="hello")
    with pytest.raises(SmsError, match=r"HTTP 401.*Authenticate"):
        send_sms(replace(settings, TWILIO_AUTH_TOKEN="wrong"), to=PHONE, body="hello")
    with pytest.raises(SmsError, match="not configured"):
        send_sms(replace(settings, TWILIO_ACCOUNT_SID=""), to=PHONE, body="hello")
    with pytest.raises(SmsError, match="could not be reached"):
        send_sms(replace(settings, TWILIO_API_BASE="http://127.0.0.1:9"), to=PHONE, body="hello")
    assert send_sms(settings, to=PHONE, body="hello").startswith("SM")
    assert [m.form for m in twilio.messages] == [{"To": PHONE, "From": SENDER, "Body": "hello"}]


def test_a_messaging_service_sender_is_sent_as_messaging_service_sid(twilio):
    settings = replace(twilio_settings(active_settings(), twilio), TWILIO_FROM="MG" + "1" * 32)
    send_sms(settings, to=PHONE, body="hello")
    assert twilio.messages[0].form == {"To": PHONE, "MessagingServiceSid": "MG" + "1" * 32, "Body": "hello"}


# --- states ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        (Channel.WEBHOOK, "https://hooks.example.test/status"),
        (Channel.SLACK, "https://hooks.slack.test/services/T0/B0/x"),
        (Channel.TEAMS, "https://example.webhook.office.test/webhookb2/x"),
    ],
)
def test_endpoint_subscribers_are_active_at_once_without_any_message(
    org_a, mail, twilio, run_jobs, channel, address
):
    run_jobs()  # the notices of the organization's own incidents, fanned out to its reader
    mail.messages.clear()
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, channel=channel, address=address)
        s.commit()
        assert subscriber.state is SubscriberState.ACTIVE
    assert run_jobs() == 0
    assert mail.messages == [] and twilio.messages == []


def test_a_confirmed_subscriber_needs_no_confirmation_and_confirming_again_changes_nothing(org_a):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a, confirmed=True)
        with pytest.raises(Conflict, match="confirmed already"):
            request_confirmation(s, subscriber, actor=ADMIN)
        assert confirm_subscriber(s, subscriber) is False


def test_unsubscribing_is_idempotent_and_cancels_pending_deliveries(org_a):
    with tenant_session(org_a.tenant_id) as s:
        s.get(Delivery, org_a.ids["delivery"]).status = DeliveryStatus.PENDING
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, org_a.ids["subscriber"])
        assert unsubscribe_subscriber(s, subscriber, actor=ADMIN) is True
        first = subscriber.unsubscribed_at
        assert unsubscribe_subscriber(s, subscriber, actor=ADMIN) is False
        assert subscriber.unsubscribed_at == first
        s.commit()
        statuses = set(s.scalars(select(Delivery.status).where(Delivery.subscriber_id == subscriber.id)))
    assert statuses == {DeliveryStatus.CANCELLED}
    assert _events(org_a.tenant_id, org_a.ids["subscriber"]).count("subscriber.unsubscribed") == 1


def test_a_cancelled_subscription_cannot_be_confirmed(org_a):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = _add(s, org_a)
        unsubscribe_subscriber(s, subscriber, actor=ADMIN)
        with pytest.raises(Conflict, match="cancelled"):
            confirm_subscriber(s, subscriber)
        with pytest.raises(Conflict, match="reactivate"):
            request_confirmation(s, subscriber, actor=ADMIN)


def test_reactivating_clears_the_quarantine_and_the_unsubscription_but_not_confirmation(org_a):
    with tenant_session(org_a.tenant_id) as s:
        quarantined = s.get(Subscriber, org_a.ids["subscriber"])
        quarantined.quarantined_at = utcnow()
        quarantined.quarantine_reason = "bounced"
        quarantined.purge_at = utcnow() + timedelta(days=30)
        unconfirmed = _add(s, org_a)
        unsubscribe_subscriber(s, unconfirmed, actor=ADMIN)
        assert reactivate_subscriber(s, quarantined, actor=ADMIN) is True
        assert reactivate_subscriber(s, unconfirmed, actor=ADMIN) is True
        assert reactivate_subscriber(s, unconfirmed, actor=ADMIN) is False
        assert quarantined.state is SubscriberState.ACTIVE
        assert quarantined.quarantine_reason is None and quarantined.purge_at is None
        assert unconfirmed.state is SubscriberState.UNCONFIRMED


def test_reactivating_an_address_that_subscribed_again_is_a_conflict(org_a):
    with tenant_session(org_a.tenant_id) as s:
        old = _add(s, org_a, address="again@example.test", confirmed=True)
        unsubscribe_subscriber(s, old, actor=ADMIN)
        _add(s, org_a, address="Again@Example.test", confirmed=True)
        with pytest.raises(Conflict, match="already subscribed"):
            reactivate_subscriber(s, old, actor=ADMIN)


def test_choosing_components_replaces_the_old_choice_and_none_means_the_whole_page(org_a):
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, org_a.ids["subscriber"])
        update_subscriber_components(
            s, subscriber, actor=ADMIN, component_ids=[org_a.ids["component_web"], org_a.ids["component"]]
        )
        s.commit()
        assert {link.component_id for link in subscriber.component_links} == {
            org_a.ids["component"],
            org_a.ids["component_web"],
        }
        update_subscriber_components(s, subscriber, actor=ADMIN, component_ids=[])
        s.commit()
        assert subscriber.component_links == []
        with pytest.raises(ValidationError, match="Unknown component"):
            update_subscriber_components(s, subscriber, actor=ADMIN, component_ids=["nosuchcompon"])


def test_a_page_that_switches_off_a_channel_refuses_its_subscribers(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.allow_sms_subscribers = False
        s.commit()
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(ValidationError, match="does not accept SMS subscribers") as refused:
            _add(s, org_a, channel=Channel.SMS, address=PHONE)
        assert refused.value.field == "phone_number"
        s.rollback()
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    "write",
    [
        lambda s, sub: unsubscribe_subscriber(s, sub, actor=EDITOR),
        lambda s, sub: reactivate_subscriber(s, sub, actor=EDITOR),
        lambda s, sub: request_confirmation(s, sub, actor=EDITOR),
        lambda s, sub: update_subscriber_components(s, sub, actor=EDITOR, component_ids=[]),
    ],
    ids=["unsubscribe", "reactivate", "resend", "components"],
)
def test_editors_may_not_change_subscribers(org_a, write):
    before = fingerprint(org_a.tenant_id)
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            write(s, s.get(Subscriber, org_a.ids["subscriber"]))
        s.rollback()
    assert fingerprint(org_a.tenant_id) == before
