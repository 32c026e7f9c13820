"""Subscribing from the public page: every channel's form, double opt-in, limits, manage, unsubscribe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from html import unescape
from itertools import count
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from status_platform import config
from status_platform.config import Settings
from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.confirmation import confirmation_token
from tenants.subscribers.links import manage_token
from tenants.subscribers.messages import signature
from tenants.subscribers.models import Subscriber, SubscriberState
from tests.conftest import fingerprint
from tests.factories import Organization
from tests.tenants.test_subscriber_confirmation import PHONE, Twilio, running_twilio, twilio_settings

CONFIRM_LINK_RE = re.compile(r"http://acme\.pages\.test(/subscriptions/confirm/[A-Za-z0-9_.-]+)")
MANAGE_LINK_RE = re.compile(r"http://acme\.pages\.test(/subscriptions/manage/[A-Za-z0-9_.-]+)")
_addresses = count(1)


@pytest.fixture(autouse=True)
def _sms_plan(org_a: Organization) -> None:
    """Organization A is on a plan with SMS (the free plan has none)."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "startup"
        s.commit()


@pytest.fixture
def twilio(worker_settings: dict[str, Settings]) -> Iterator[Twilio]:
    """A local Twilio; the test's jobs send their text messages to it."""
    with running_twilio() as stand_in:
        worker_settings["settings"] = twilio_settings(worker_settings["settings"], stand_in)
        yield stand_in


def next_ip() -> str:
    """A client address of its own, so that a test's sign-ups do not reach the per-network limit."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


def submit(
    client: FlaskClient,
    org: Organization,
    data: dict[str, Any],
    *,
    path: str = "/subscriptions",
    ip: str | None = None,
    origin: str | None = "same",
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a form of the page at `org`'s host, as a browser on that page sends it (Origin and all)."""
    sent = dict(headers or {})
    if origin == "same":
        sent["Origin"] = f"http://{org.host}"
    elif origin is not None:
        sent["Origin"] = origin
    return client.post(
        path,
        data=data,
        base_url=f"http://{org.host}",
        headers=sent,
        environ_base={"REMOTE_ADDR": ip or next_ip()},
    )


def get(client: FlaskClient, org: Organization, path: str) -> Any:
    return client.get(path, base_url=f"http://{org.host}")


def subscribers(org: Organization, **where: Any) -> list[Subscriber]:
    with tenant_session(org.tenant_id) as s:
        statement = select(Subscriber).where(
            *(getattr(Subscriber, name) == value for name, value in where.items())
        )
        found = list(s.scalars(statement))
        for subscriber in found:
            _ = subscriber.component_links
        s.expunge_all()
        return found


def only_subscriber(org: Organization, **where: Any) -> Subscriber:
    [subscriber] = subscribers(org, **where)
    return subscriber


def set_page(org: Organization, **fields: Any) -> None:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        for name, value in fields.items():
            setattr(page, name, value)
        bump_version(s, page.id)
        s.commit()


def assert_private(response: Any, referrer: str = "no-referrer") -> None:
    """Never cached, never indexed, and the token in the address never sent to another site."""
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == referrer
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


def tab_keys(html: str, prefix: str) -> list[str]:
    return re.findall(rf'id="{prefix}-tab-([a-z]+)"', html)


def path_of(url: str) -> str:
    return urlsplit(url).path


def mail_to(mail: Any, address: str) -> list[Any]:
    return [message for message in mail.messages if message["To"] == address]


def body_of(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


# --- the panel -------------------------------------------------------------------------------------


def test_the_header_offers_a_tab_per_channel_the_page_allows_and_the_incident_page_its_own(
    public_client, org_a
):
    page = get(public_client, org_a, "/").get_data(as_text=True)
    assert '<summary class="subscribe-button">Subscribe to updates</summary>' in page
    assert tab_keys(page, "menu") == ["email", "sms", "webhook", "slack", "teams", "feeds"]
    # Each tab also works as a link to the same forms on a page of their own.
    assert 'href="/subscriptions/new?channel=sms"' in page
    assert 'href="http://acme.pages.test/history.atom">Atom feed' in page
    # Components to choose, grouped as the page shows them; none chosen means the whole page.
    menu = page[page.index('id="menu-pane-email"') : page.index('id="menu-pane-sms"')]
    assert "<legend>Acme API</legend>" in menu
    assert f'value="{org_a.ids["component"]}"> Acme REST' in menu
    assert f'value="{org_a.ids["component_web"]}"> Acme Web' in menu

    incident = get(public_client, org_a, f"/incidents/{org_a.ids['incident']}").get_data(as_text=True)
    assert tab_keys(incident, "incident") == ["email", "sms", "webhook"]
    assert f'name="incident" value="{org_a.ids["incident"]}"' in incident

    full = get(public_client, org_a, "/subscriptions/new?channel=webhook")
    assert full.status_code == 200
    html = full.get_data(as_text=True)
    assert 'id="page-pane-webhook">' in html and 'id="page-pane-email" hidden' in html

    set_page(
        org_a, allow_webhook_subscribers=False, allow_slack_subscribers=False, allow_rss_atom_feeds=False
    )
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "free"
        s.commit()
    assert tab_keys(get(public_client, org_a, "/").get_data(as_text=True), "menu") == ["email", "teams"]
    set_page(org_a, allow_page_subscribers=False, allow_incident_subscribers=False)
    assert "Subscribe to updates" not in get(public_client, org_a, "/").get_data(as_text=True)
    incident = get(public_client, org_a, f"/incidents/{org_a.ids['incident']}").get_data(as_text=True)
    assert "Subscribe to updates" not in incident


# --- each channel ----------------------------------------------------------------------------------


def test_an_email_sign_up_is_mailed_a_link_that_confirms_it(public_client, org_a, mail, run_jobs):
    response = submit(
        public_client,
        org_a,
        {"channel": "email", "email": "New.Reader@Example.test", "components": [org_a.ids["component"]]},
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    assert_private(response)
    subscriber = only_subscriber(org_a, email="new.reader@example.test")
    assert subscriber.state is SubscriberState.UNCONFIRMED and subscriber.incident_id is None
    assert [link.component_id for link in subscriber.component_links] == [org_a.ids["component"]]

    run_jobs()
    [message] = mail_to(mail, "new.reader@example.test")
    link = CONFIRM_LINK_RE.search(body_of(message)).group(1)  # type: ignore[union-attr]
    shown = get(public_client, org_a, link)
    assert shown.status_code == 200 and "Confirm subscription" in shown.get_data(as_text=True)
    assert only_subscriber(org_a, id=subscriber.id).confirmed_at is None
    confirmed = public_client.post(link, base_url=f"http://{org_a.host}")
    assert "Subscription confirmed" in confirmed.get_data(as_text=True)
    assert only_subscriber(org_a, id=subscriber.id).state is SubscriberState.ACTIVE


def test_an_incident_page_subscribes_to_that_incident_only(public_client, org_a, mail, run_jobs):
    incident_id = org_a.ids["incident"]
    response = submit(
        public_client, org_a, {"channel": "email", "email": "follower@example.test", "incident": incident_id}
    )
    assert response.status_code == 200 and "Acme outage" in response.get_data(as_text=True)
    subscriber = only_subscriber(org_a, email="follower@example.test")
    assert subscriber.incident_id == incident_id and subscriber.component_links == []
    run_jobs()
    [message] = mail_to(mail, "follower@example.test")
    assert "Acme outage" in body_of(message)
    # An incident of another organization is not one of this page's.
    other = submit(
        public_client, org_a, {"channel": "email", "email": "x@example.test", "incident": "nosuchincid1"}
    )
    assert other.status_code == 404 and subscribers(org_a, email="x@example.test") == []


def test_an_sms_sign_up_is_confirmed_with_the_code_texted_to_it(public_client, org_a, twilio, run_jobs):
    response = submit(public_client, org_a, {"channel": "sms", "phone_number": "+1 415 555 2671"})
    assert response.status_code == 303
    code_page = path_of(response.headers["Location"])
    assert code_page.startswith("/subscriptions/code/")
    subscriber = only_subscriber(org_a, phone_number=PHONE)
    assert subscriber.state is SubscriberState.UNCONFIRMED

    shown = get(public_client, org_a, code_page)
    assert shown.status_code == 200 and "+1 415-555-2671" in shown.get_data(as_text=True)
    assert_private(shown, referrer="same-origin")  # its form's POST then carries the Origin
    # The code page's token is no confirmation link: whoever typed the number still needs the code.
    token = code_page.rsplit("/", 1)[1]
    assert get(public_client, org_a, f"/subscriptions/confirm/{token}").status_code == 400

    run_jobs()
    [code] = twilio.codes()
    wrong = submit(public_client, org_a, {"code": f"{(int(code) + 1) % 1_000_000:06d}"}, path=code_page)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "This code is not right" in html
    assert 'class="field invalid"' in html and 'aria-invalid="true"' in html
    assert only_subscriber(org_a, id=subscriber.id).confirmed_at is None
    right = submit(public_client, org_a, {"code": code}, path=code_page)
    assert right.status_code == 200 and "Subscription confirmed" in right.get_data(as_text=True)
    assert only_subscriber(org_a, id=subscriber.id).state is SubscriberState.ACTIVE

    # Signed up again, the active number gets a code page like any other, where no code works,
    # and a text with its manage link.
    again = submit(public_client, org_a, {"channel": "sms", "phone_number": PHONE})
    assert again.status_code == 303
    again_page = path_of(again.headers["Location"])
    asked = get(public_client, org_a, again_page).get_data(as_text=True)
    assert "Enter the code we texted you" in asked
    for _ in range(3):  # the five tries of the window, two of them spent on the first code page
        guess = submit(public_client, org_a, {"code": code}, path=again_page)
        assert guess.status_code == 422 and "This code is not right" in guess.get_data(as_text=True)
    stopped = submit(public_client, org_a, {"code": code}, path=again_page)
    assert stopped.status_code == 422 and "Too many tries" in stopped.get_data(as_text=True)
    run_jobs()
    assert len(twilio.messages) == 2 and "/subscriptions/manage/" in twilio.messages[-1].form["Body"]
    assert len(subscribers(org_a, phone_number=PHONE)) == 1


def test_a_webhook_sign_up_shows_its_signing_secret_and_slack_and_teams_are_done_at_once(
    public_client, org_a, http_receiver
):
    hook = f"{http_receiver.url}/status-hook"
    response = submit(
        public_client, org_a, {"channel": "webhook", "endpoint": hook, "email": "oncall@example.test"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_private(response)
    subscriber = only_subscriber(org_a, endpoint=hook)
    assert subscriber.state is SubscriberState.ACTIVE and subscriber.email == "oncall@example.test"
    assert subscriber.secret and subscriber.secret in html
    # The URL is shown as its host only (Slack's and Teams' URLs are credentials).
    shown = hook.rsplit("/", 1)[0] + "/…"
    assert f'<span class="address">{shown}</span> will receive every notice of Acme' in html
    assert "X-StatusPlatform-Signature" in html and "X-StatusPlatform-Timestamp" in html
    assert "X-StatusPlatform-Delivery" in html
    # The page's verification code accepts what the delivery signs, and nothing else.
    snippet = unescape(re.search(r'<pre class="code"><code>(.*?)</code></pre>', html, re.S).group(1))  # type: ignore[union-attr]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102
    stamp, body = int(time.time()), b'{"incident": {}}'
    signed = signature(subscriber.secret, stamp, body)
    assert namespace["is_genuine"](subscriber.secret, str(stamp), body, signed)
    assert not namespace["is_genuine"](subscriber.secret, str(stamp), body + b" ", signed)
    assert not namespace["is_genuine"]("0" * 64, str(stamp), body, signed)
    manage = MANAGE_LINK_RE.search(html).group(1)  # type: ignore[union-attr]
    assert get(public_client, org_a, manage).status_code == 200

    # An endpoint has no address to keep secret: a repeated sign-up says it is subscribed.
    again = submit(
        public_client, org_a, {"channel": "webhook", "endpoint": hook, "email": "oncall@example.test"}
    )
    assert again.status_code == 409 and "This URL is already subscribed to Acme." in again.get_data(
        as_text=True
    )

    for channel in ("slack", "teams"):
        url = f"{http_receiver.url}/{channel}"
        done = submit(public_client, org_a, {"channel": channel, "endpoint": url})
        assert done.status_code == 200 and "subscription added" in done.get_data(as_text=True)
        assert only_subscriber(org_a, endpoint=url).state is SubscriberState.ACTIVE
    assert http_receiver.requests == []


# --- refusals --------------------------------------------------------------------------------------


@pytest.fixture
def no_egress_allowlist(public_app, monkeypatch) -> None:
    """Settings as in production: no private, loopback or link-local target is allowed."""
    strict = replace(public_app.config["SETTINGS"], EGRESS_ALLOWLIST=())
    monkeypatch.setitem(public_app.config, "SETTINGS", strict)
    monkeypatch.setattr(config, "_active", [strict])


@pytest.mark.parametrize(
    ("data", "field", "typed"),
    [
        ({"channel": "email", "email": "not-an-email"}, "email", "not-an-email"),
        ({"channel": "email", "email": ""}, "email", ""),
        ({"channel": "sms", "phone_number": "+1 555 12"}, "phone_number", "+1 555 12"),
        (
            {"channel": "webhook", "endpoint": "http://127.0.0.1:8080/hook", "email": "a@example.test"},
            "endpoint",
            "http://127.0.0.1:8080/hook",
        ),
        (
            {
                "channel": "webhook",
                "endpoint": "http://169.254.169.254/latest/meta-data",
                "email": "a@example.test",
            },
            "endpoint",
            "http://169.254.169.254/latest/meta-data",
        ),
        (
            {"channel": "webhook", "endpoint": "http://localhost/hook", "email": "a@example.test"},
            "endpoint",
            "http://localhost/hook",
        ),
        (
            {"channel": "webhook", "endpoint": "https://hooks.example.test/x", "email": "nope"},
            "email",
            "nope",
        ),
        (
            {"channel": "slack", "endpoint": "http://127.0.0.1/services/x"},
            "endpoint",
            "http://127.0.0.1/services/x",
        ),
        (
            {"channel": "teams", "endpoint": "http://169.254.169.254/webhookb2"},
            "endpoint",
            "http://169.254.169.254/webhookb2",
        ),
        ({"channel": "email", "email": "a@example.test", "components": ["nosuchcompon"]}, "components", None),
    ],
    ids=[
        "email",
        "no-email",
        "phone",
        "loopback",
        "metadata",
        "localhost",
        "contact",
        "slack",
        "teams",
        "component",
    ],
)
def test_bad_input_shows_the_form_again_naming_the_field_and_stores_nothing(
    public_client, org_a, no_egress_allowlist, data, field, typed
):
    before = fingerprint(org_a.tenant_id)
    response = submit(public_client, org_a, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert_private(response)
    channel = data["channel"]
    prefix = f"page-{channel}"
    if field == "components":
        assert (
            'class="field components-field invalid"' in html and "Choose components of this page only" in html
        )
    else:
        tag = re.search(rf'<input id="{prefix}-{field}"[^>]*>', html).group(0)  # type: ignore[union-attr]
        assert 'aria-invalid="true"' in tag and f'value="{typed}"' in unescape(tag)
        assert re.search(rf'<div class="field invalid">\s*<label for="{prefix}-{field}">', html)
        assert f'id="{prefix}-{field}-error"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_a_post_from_another_site_is_refused(public_client, org_a):
    before = fingerprint(org_a.tenant_id)
    data = {"channel": "email", "email": "forged@example.test"}
    for origin, headers in [
        ("http://evil.test", {}),
        ("https://acme.pages.test.evil.test", {}),
        ("null", {"Sec-Fetch-Site": "cross-site"}),
        (None, {"Sec-Fetch-Site": "same-site"}),
        (None, {"Referer": "http://evil.test/acme.pages.test"}),
        (None, {}),
    ]:
        refused = submit(public_client, org_a, data, origin=origin, headers=headers)
        assert refused.status_code == 403, (origin, headers)
        assert "from another site" in refused.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before
    # What browsers send from the page itself: Origin, or Sec-Fetch-Site, or a Referer of this host.
    for n, (origin, headers) in enumerate(
        [
            ("same", {}),
            ("null", {"Sec-Fetch-Site": "same-origin"}),
            (None, {"Referer": f"http://{org_a.host}/incidents/x"}),
        ]
    ):
        data = {"channel": "email", "email": f"reader{n}@example.test"}
        assert submit(public_client, org_a, data, origin=origin, headers=headers).status_code == 200
    token = manage_token(org_a.ids["subscriber"], org_a.page_id)
    forged = submit(
        public_client,
        org_a,
        {"components": []},
        path=f"/subscriptions/manage/{token}",
        origin="http://evil.test",
    )
    assert forged.status_code == 403
    assert [
        link.component_id for link in only_subscriber(org_a, id=org_a.ids["subscriber"]).component_links
    ] == [org_a.ids["component"]]


def test_sign_ups_are_limited_per_network_and_per_address(public_client, org_a):
    network = "203.0.113.7"
    for n in range(10):
        data = {"channel": "email", "email": f"burst{n}@example.test"}
        assert submit(public_client, org_a, data, ip=network).status_code == 200
    refused = submit(public_client, org_a, {"channel": "email", "email": "one-more@example.test"}, ip=network)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-ups from your network" in refused.get_data(as_text=True)
    assert subscribers(org_a, email="one-more@example.test") == []

    # One address, however it is written and from however many networks: three sign-ups an hour.
    for written in ("target@example.test", "Target@Example.test", " target@example.test "):
        assert submit(public_client, org_a, {"channel": "email", "email": written}).status_code == 200
    limited = submit(public_client, org_a, {"channel": "email", "email": "TARGET@example.test"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "signed up several times" in limited.get_data(as_text=True)
    assert len(subscribers(org_a, email="target@example.test")) == 1


def test_a_repeated_email_sign_up_gets_the_same_answer_as_a_new_one(public_client, org_a, mail, run_jobs):
    new = submit(public_client, org_a, {"channel": "email", "email": "fresh@example.test"})
    pending = submit(public_client, org_a, {"channel": "email", "email": "fresh@example.test"})
    active = submit(public_client, org_a, {"channel": "email", "email": "reader@acme.test"})
    assert new.status_code == pending.status_code == active.status_code == 200
    assert pending.get_data(as_text=True) == new.get_data(as_text=True)
    assert active.get_data(as_text=True).replace("reader@acme.test", "fresh@example.test") == new.get_data(
        as_text=True
    )
    assert len(subscribers(org_a, email="fresh@example.test")) == 1
    assert len(subscribers(org_a, email="reader@acme.test")) == 1

    run_jobs()
    to_fresh = mail_to(mail, "fresh@example.test")
    assert len(to_fresh) == 2 and all(CONFIRM_LINK_RE.search(body_of(m)) for m in to_fresh)
    [to_reader] = [m for m in mail_to(mail, "reader@acme.test") if "already subscribed" in m["Subject"]]
    manage = MANAGE_LINK_RE.search(body_of(to_reader)).group(1)  # type: ignore[union-attr]
    shown = get(public_client, org_a, manage)
    assert shown.status_code == 200 and "reader@acme.test" in shown.get_data(as_text=True)


# --- manage and unsubscribe ------------------------------------------------------------------------


def test_the_manage_page_changes_the_components_followed(public_client, org_a):
    token = manage_token(org_a.ids["subscriber"], org_a.page_id)
    path = f"/subscriptions/manage/{token}"
    shown = get(public_client, org_a, path)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert_private(shown, referrer="same-origin")
    assert "reader@acme.test" in html and "Acme REST" in html
    assert re.search(rf'value="{org_a.ids["component"]}" checked', html)
    assert f'action="/subscriptions/unsubscribe/{token}"' in html

    saved = submit(public_client, org_a, {"components": [org_a.ids["component_web"]]}, path=path)
    assert saved.status_code == 200 and "Saved" in saved.get_data(as_text=True)
    links = only_subscriber(org_a, id=org_a.ids["subscriber"]).component_links
    assert [link.component_id for link in links] == [org_a.ids["component_web"]]
    whole = submit(public_client, org_a, {}, path=path)
    assert "The whole page" in whole.get_data(as_text=True)
    assert only_subscriber(org_a, id=org_a.ids["subscriber"]).component_links == []

    before = fingerprint(org_a.tenant_id)
    unknown = submit(public_client, org_a, {"components": ["nosuchcompon"]}, path=path)
    assert unknown.status_code == 422 and 'class="field components-field invalid"' in unknown.get_data(
        as_text=True
    )
    assert fingerprint(org_a.tenant_id) == before
    for bad in (token[:-3] + "xyz", confirmation_token(org_a.ids["subscriber"], org_a.page_id)):
        assert get(public_client, org_a, f"/subscriptions/manage/{bad}").status_code == 400


def test_one_click_unsubscribe_works_by_post_and_never_by_get(public_client, org_a, org_b):
    token = manage_token(org_a.ids["subscriber"], org_a.page_id)
    path = f"/subscriptions/unsubscribe/{token}"
    shown = get(public_client, org_a, path)
    assert shown.status_code == 200 and "<button" in shown.get_data(as_text=True)
    assert_private(shown)
    assert only_subscriber(org_a, id=org_a.ids["subscriber"]).state is SubscriberState.ACTIVE

    # RFC 8058: the mail provider POSTs the body below, with no Origin and no cookies.
    for _ in range(2):
        done = public_client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
            base_url=f"http://{org_a.host}",
        )
        assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    assert only_subscriber(org_a, id=org_a.ids["subscriber"]).state is SubscriberState.UNSUBSCRIBED
    with tenant_session(org_a.tenant_id) as s:
        actions = list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == org_a.ids["subscriber"]))
        )
    assert actions.count("subscriber.unsubscribed") == 1

    # Another page's link does nothing here.
    foreign = manage_token(org_b.ids["subscriber"], org_b.page_id)
    refused = public_client.post(f"/subscriptions/unsubscribe/{foreign}", base_url=f"http://{org_a.host}")
    assert refused.status_code == 400
    assert only_subscriber(org_b, id=org_b.ids["subscriber"]).state is SubscriberState.ACTIVE


def test_a_channel_the_page_switched_off_is_refused(public_client, org_a):
    set_page(org_a, allow_email_subscribers=False)
    before = fingerprint(org_a.tenant_id)
    refused = submit(public_client, org_a, {"channel": "email", "email": "late@example.test"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Acme does not accept email subscribers." in html
    assert 'id="page-pane-email"' not in html
    assert fingerprint(org_a.tenant_id) == before
