"""The notification pipeline end to end: outbox → fan-out → delivery workers, on every channel.

Real Redis and RQ worker (`run_jobs`), a real SMTP server (aiosmtpd), a loopback HTTP receiver
standing in for webhook, Slack and Teams endpoints and for Twilio's Messages API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from status_platform.db.session import tenant_session
from status_platform.jobs import queues
from status_platform.tenancy.models import Tenant
from status_platform.timeutil import set_clock, utcnow
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import Component, ComponentStatus, ComponentVisibility
from tenants.components.services import create_component, create_group, set_component_status
from tenants.incidents.models import Incident, IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.pages.models import Page
from tenants.subscribers.delivery import claim, deliver_pending, quarantine_subscriber
from tenants.subscribers.fanout import fan_out
from tenants.subscribers.jobs import sweep_notifications, sweep_purges
from tenants.subscribers.messages import verify_signature
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    FanoutStatus,
    NotificationEvent,
    Subscriber,
)
from tenants.subscribers.services import add_subscriber, reactivate_subscriber
from tests.factories import ACTOR

SID = "AC" + "0" * 32
TWILIO_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture(autouse=True)
def _settings_active(admin_app) -> None:
    """Links are signed, and endpoints checked, with the active settings."""


@pytest.fixture
def quiet_org(org_a, run_jobs):
    """Organization A with the notices of its own making (the factory's incidents) sent already."""
    run_jobs()
    return org_a


@pytest.fixture
def channels(org_a, http_receiver, mail, worker_settings) -> object:
    """Twilio's stand-in is the receiver too: it answers every request with a message resource.

    Organization A is on a plan with SMS (the free plan has none).
    """
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "startup"
        s.commit()
    http_receiver.body = json.dumps({"sid": "SM" + "1" * 32, "status": "queued"}).encode()
    worker_settings["settings"] = replace(
        worker_settings["settings"],
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_FROM="+15005550006",
        TWILIO_API_BASE=http_receiver.url,
    )
    return http_receiver


@pytest.fixture
def clock() -> Iterator[Callable[[timedelta], None]]:
    """Move this process's clock (the in-process worker's too) forward by a delta."""
    offset = [timedelta()]

    def advance(delta: timedelta) -> None:
        offset[0] += delta
        set_clock(lambda: datetime.now(UTC) + offset[0])

    yield advance
    set_clock(None)


def subscribe(org, channel: Channel, address: str, *, components=(), confirmed=True, contact=None) -> str:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        subscriber = add_subscriber(
            s,
            page,
            channel=channel,
            address=address,
            component_ids=list(components),
            confirmed=confirmed,
            contact_email=contact,
            actor=ACTOR,
        )
        s.commit()
        return subscriber.id


def next_attempt(org, subscriber_id: str) -> datetime | None:
    with tenant_session(org.tenant_id) as s:
        return s.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.PENDING
            )
        )


def requests_to(receiver, path: str) -> list:
    return [r for r in receiver.requests if r.path == path]


def mails_to(mail, address: str) -> list:
    return [m for m in mail.messages if m["To"] == address]


def test_an_update_reaches_every_eligible_subscriber_on_every_channel_once(org_a, channels, mail, run_jobs):
    receiver = channels
    x, y = org_a.ids["component"], org_a.ids["component_web"]
    subscribe(org_a, Channel.EMAIL, "page@example.com")
    subscribe(org_a, Channel.EMAIL, "x-only@example.com", components=[x])
    subscribe(org_a, Channel.EMAIL, "y-only@example.com", components=[y])
    subscribe(org_a, Channel.EMAIL, "unconfirmed@example.com", confirmed=False)
    quarantined = subscribe(org_a, Channel.EMAIL, "quarantined@example.com")
    subscribe(org_a, Channel.SMS, "+14155550123")
    hook = subscribe(org_a, Channel.WEBHOOK, receiver.url + "/hook", contact="ops@example.com")
    subscribe(org_a, Channel.SLACK, receiver.url + "/slack")
    subscribe(org_a, Channel.TEAMS, receiver.url + "/teams")
    with tenant_session(org_a.tenant_id) as s:
        s.get(Subscriber, quarantined).quarantined_at = utcnow()
        s.commit()
    run_jobs()  # the confirmation mail of the unconfirmed one
    mail.messages.clear()
    receiver.requests.clear()

    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        incident = open_incident(
            s,
            page,
            name="Checkout errors",
            actor=ACTOR,
            body="Looking",
            components={x: ComponentStatus.MAJOR_OUTAGE},
        )
        s.commit()
        incident_id = incident.id
    run_jobs()
    with tenant_session(org_a.tenant_id) as s:
        post_update(
            s, s.get(Incident, incident_id), actor=ACTOR, status=IncidentStatus.IDENTIFIED, body="Found it"
        )
        s.commit()
    run_jobs()

    # Email: the whole-page and X subscribers (and the organization's own X reader) get both notices.
    for address in ("page@example.com", "x-only@example.com", f"reader@{org_a.slug}.test"):
        subjects = [m["Subject"] for m in mails_to(mail, address)]
        assert len(subjects) == 2, (address, subjects)
        assert "Checkout errors" in subjects[0] and "Identified" in subjects[1]
    for address in ("y-only@example.com", "unconfirmed@example.com", "quarantined@example.com"):
        assert mails_to(mail, address) == []
    # SMS: the creation only (Statuspage texts the beginning and the end, not each update).
    texts = requests_to(receiver, TWILIO_PATH)
    assert len(texts) == 1 and b"To=%2B14155550123" in texts[0].body
    # Webhook, Slack, Teams: both notices each, once.
    hooks = requests_to(receiver, "/hook")
    assert (
        len(hooks) == 2
        and len(requests_to(receiver, "/slack")) == 2
        and len(requests_to(receiver, "/teams")) == 2
    )
    with tenant_session(org_a.tenant_id) as s:
        secret = s.get(Subscriber, hook).secret
        statuses = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        events = s.scalars(
            select(NotificationEvent).where(NotificationEvent.incident_id == incident_id)
        ).all()
    for request in hooks:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert verify_signature(
            secret,
            int(headers["x-statusplatform-timestamp"]),
            request.body,
            headers["x-statusplatform-signature"],
        )
        payload = json.loads(request.body)
        assert payload["incident"]["id"] == incident_id and payload["page"]["id"] == org_a.page_id
    assert {e.fanout_status for e in events} == {FanoutStatus.DONE}
    # Every delivery of the two events was sent; running the jobs again sends nothing more.
    assert dict(statuses).get(DeliveryStatus.PENDING, 0) == 0
    count = len(mail.messages) + len(receiver.requests)
    sweep_notifications()
    run_jobs()
    assert len(mail.messages) + len(receiver.requests) == count


def test_a_failing_webhook_is_retried_with_the_same_delivery_id_until_it_answers(
    quiet_org, http_receiver, run_jobs, clock
):
    org_a = quiet_org
    hook = subscribe(org_a, Channel.WEBHOOK, http_receiver.url + "/hook", contact="ops@example.com")
    http_receiver.responses = [500, 500]
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Flaky", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    for _ in range(2):
        clock(timedelta(minutes=30))
        assert sweep_notifications() >= 1
        run_jobs()
    hooks = requests_to(http_receiver, "/hook")
    assert len(hooks) == 3
    ids = {r.headers.get("X-StatusPlatform-Delivery") for r in hooks}
    assert len(ids) == 1 and None not in ids
    with tenant_session(org_a.tenant_id) as s:
        delivery = s.scalars(select(Delivery).where(Delivery.subscriber_id == hook)).one()
        attempts = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)).all()
        assert delivery.id in ids
        assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 3
        assert sorted((a.is_success, a.status_code) for a in attempts) == [
            (False, 500),
            (False, 500),
            (True, 200),
        ]
        assert s.get(Subscriber, hook).quarantined_at is None


def test_a_webhook_that_always_fails_is_quarantined_after_ten_attempts_and_its_contact_told(
    quiet_org, http_receiver, mail, run_jobs, clock, public_client
):
    org_a = quiet_org
    hook = subscribe(org_a, Channel.WEBHOOK, http_receiver.url + "/down", contact="ops@example.com")
    http_receiver.responses = [503] * 50
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Down", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    # Each retry once it is due and the sweeper's next minute has come (backoff with jitter:
    # ten attempts fit in well under the hour).
    while (due := next_attempt(org_a, hook)) is not None:
        clock(max(due - utcnow(), timedelta()) + timedelta(minutes=1))
        assert sweep_notifications() == 1
        run_jobs()
    assert len(requests_to(http_receiver, "/down")) == 10
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, hook)
        assert subscriber.quarantined_at is not None
        assert "answered 503" in (subscriber.quarantine_reason or "")
        assert s.scalars(select(Delivery.status).where(Delivery.subscriber_id == hook)).all() == [
            DeliveryStatus.FAILED
        ]
    notices = mails_to(mail, "ops@example.com")
    assert len(notices) == 1 and http_receiver.url + "/down" in notices[0].get_body(("plain",)).get_content()
    # Quarantined: the next incident does not reach it.
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Again", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    assert len(requests_to(http_receiver, "/down")) == 10
    # Its owner brings it back by subscribing the URL again on the page: the same subscription,
    # secret unchanged and not shown again, and the next notice reaches it.
    http_receiver.responses = []
    answer = public_client.post(
        "/subscriptions",
        data={"channel": "webhook", "endpoint": http_receiver.url + "/down", "email": "ops@example.com"},
        base_url=f"http://{org_a.host}",
        headers={"Origin": f"http://{org_a.host}"},
    )
    assert answer.status_code == 200 and "active again" in answer.get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        subscriber = s.get(Subscriber, hook)
        assert subscriber.quarantined_at is None and subscriber.secret not in answer.get_data(as_text=True)
        assert (
            s.scalar(select(func.count()).select_from(Subscriber).where(Subscriber.endpoint.like("%/down")))
            == 1
        )
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Third", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    assert b"Third" in requests_to(http_receiver, "/down")[-1].body


def test_two_workers_claim_disjoint_rows_and_an_expired_lease_is_claimed_again(org_a, http_receiver, clock):
    for n in range(30):
        subscribe(org_a, Channel.WEBHOOK, f"{http_receiver.url}/h{n}")
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Claims", actor=ACTOR, body="Looking")
        s.commit()
        event_id = s.scalars(
            select(NotificationEvent.id).order_by(NotificationEvent.created_at.desc())
        ).first()
    assert fan_out(org_a.tenant_id, event_id) == 30
    queues.get_queue("notifications").empty()  # the test claims by hand
    with tenant_session(org_a.tenant_id) as first, tenant_session(org_a.tenant_id) as second:
        a = claim(first, Channel.WEBHOOK, limit=20, lease_seconds=60)
        b = claim(second, Channel.WEBHOOK, limit=20, lease_seconds=60)
        assert len(a) == 20 and len(b) == 10 and not set(a) & set(b)
        assert claim(first, Channel.WEBHOOK, limit=20, lease_seconds=60) == {}
    # A worker that dies holding its claim: once the lease runs out, another takes the rows.
    clock(timedelta(seconds=61))
    assert deliver_pending(org_a.tenant_id, Channel.WEBHOOK.value) == 30
    assert len(http_receiver.requests) == 30


def test_the_unsubscribe_post_works_from_the_emails_header_url(quiet_org, mail, run_jobs, public_client):
    org_a = quiet_org
    reader = subscribe(org_a, Channel.EMAIL, "leaving@example.com")
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="First", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    (message,) = mails_to(mail, "leaving@example.com")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlsplit(message["List-Unsubscribe"].strip("<>"))
    assert url.hostname == org_a.host
    # A mail scanner following the link changes nothing.
    assert public_client.get(url.path, base_url=f"http://{url.netloc}").status_code == 200
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Subscriber, reader).unsubscribed_at is None
    # The mail client's one-click POST (RFC 8058): no cookies, no Origin.
    answer = public_client.post(
        url.path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        base_url=f"http://{url.netloc}",
    )
    assert answer.status_code == 200
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Subscriber, reader).unsubscribed_at is not None
    # Unsubscribed: the next notice does not reach them.
    mail.messages.clear()
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        open_incident(s, page, name="Second", actor=ACTOR, body="Looking")
        s.commit()
    run_jobs()
    subjects = [m["Subject"] for m in mails_to(mail, "leaving@example.com")]
    assert not any("Second" in subject for subject in subjects), subjects


def test_quarantined_subscribers_are_purged_after_ninety_days_unless_reactivated(quiet_org, run_jobs, clock):
    org_a = quiet_org
    kept = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/kept")
    gone = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/gone")
    with tenant_session(org_a.tenant_id) as s:
        for subscriber_id in (kept, gone):
            quarantine_subscriber(s, subscriber_id, reason="10 failed deliveries", now=utcnow())
        s.commit()
    with tenant_session(org_a.tenant_id) as s:
        reactivate_subscriber(s, s.get(Subscriber, kept), actor=ACTOR)
        s.commit()
    clock(timedelta(days=89))
    assert sweep_purges() == 0
    clock(timedelta(days=2))
    assert sweep_purges() == 1
    run_jobs()
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Subscriber, gone) is None and s.get(Subscriber, kept) is not None


def test_the_fan_out_tells_each_subscriber_only_of_components_it_may_see_and_follows(quiet_org):
    """Component status changes (webhook notices) of public, audience, hidden and hidden-group components."""
    org_a = quiet_org
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        client_only = create_component(
            s, page, name="Client", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        hidden = create_component(
            s, page, name="Internal", visibility=ComponentVisibility.HIDDEN, actor=ACTOR
        )
        secret_group = create_group(s, page, name="Secret group", actor=ACTOR)
        secret_group.visibility = ComponentVisibility.HIDDEN
        in_secret_group = create_component(s, page, name="Grouped", group=secret_group, actor=ACTOR)
        audience = Audience(page_id=page.id, name="Client audience")
        viewer = Viewer(page_id=page.id, email="client@example.com")
        s.add_all([audience, viewer])
        s.flush()
        s.add_all(
            [
                AudienceComponent(audience_id=audience.id, component_id=client_only.id),
                AudienceViewer(audience_id=audience.id, viewer_id=viewer.id),
            ]
        )
        s.commit()
        ids = {"client": client_only.id, "hidden": hidden.id, "grouped": in_secret_group.id}
        audience_id, viewer_id = audience.id, viewer.id
    web = org_a.ids["component_web"]
    everyone = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/everyone")
    follows_web = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/web", components=[web])
    subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/fc", components=[ids["client"]])
    by_audience = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/audience")
    by_viewer = subscribe(org_a, Channel.WEBHOOK, "https://hooks.example.com/viewer")
    with tenant_session(org_a.tenant_id) as s:
        s.get(Subscriber, by_audience).audience_id = audience_id
        s.get(Subscriber, by_viewer).viewer_id = viewer_id
        s.commit()

    def told_of(component_id: str, status: ComponentStatus = ComponentStatus.MAJOR_OUTAGE) -> set[str]:
        with tenant_session(org_a.tenant_id) as s:
            assert set_component_status(s, s.get(Component, component_id), status, actor=ACTOR)
            s.commit()
            event_id = s.scalars(
                select(NotificationEvent.id)
                .where(NotificationEvent.component_id == component_id)
                .order_by(NotificationEvent.created_at.desc())
            ).first()
        fan_out(org_a.tenant_id, event_id)
        with tenant_session(org_a.tenant_id) as s:
            return set(s.scalars(select(Delivery.subscriber_id).where(Delivery.event_id == event_id)))

    assert told_of(web) == {everyone, follows_web, by_audience, by_viewer}
    # An audience component: its audience (directly or through a viewer) only; the public
    # subscriber who chose it (…/fc) is not told either, since it may not see it.
    assert told_of(ids["client"]) == {by_audience, by_viewer}
    assert told_of(ids["hidden"]) == set()
    assert told_of(ids["grouped"]) == set()  # public itself, but in a hidden group
    # A deactivated viewer hears nothing more.
    with tenant_session(org_a.tenant_id) as s:
        s.get(Viewer, viewer_id).is_active = False
        s.commit()
    assert told_of(web, ComponentStatus.PARTIAL_OUTAGE) == {everyone, follows_web, by_audience}
