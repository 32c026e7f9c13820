"""The public webhook documentation: readable signed out, and true to what the platform sends."""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from status_platform.config import Settings
from status_platform.db.session import tenant_session
from tenants.components.models import Component, ComponentStatus
from tenants.components.services import set_component_status
from tenants.incidents.models import IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.pages.models import Page
from tenants.subscribers.links import Recipient
from tenants.subscribers.messages import load_notice, render_webhook, signature, webhook_headers
from tenants.subscribers.models import Channel, EventKind, NotificationEvent, Subscriber
from tenants.subscribers.services import add_subscriber
from tests.conftest import log_in
from tests.factories import ACTOR

DOCS = "/docs/webhooks"
SECRET = "9f" * 32


def code_block(page: str, attribute: str, value: str) -> str:
    """The text of the page's <code> element carrying attribute="value", unescaped."""
    match = re.search(rf'<code[^>]*\b{attribute}="{value}"[^>]*>(.*?)</code>', page, re.DOTALL)
    assert match, f"the page has no code block with {attribute}={value!r}"
    return html.unescape(match.group(1))


def shape(value: Any) -> Any:
    """The keys of a JSON value, recursively: objects by key, arrays as the merge of their items.

    A null stands for "no detail here", so `[null, {...}]` and `[{...}]` have the same shape, and
    a key that is null in one item and an object in another takes the object's keys.
    """
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = _merge(merged, shape(item))
        return ["list", merged]
    return None


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: _merge(a.get(key), b.get(key)) for key in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return ["list", _merge(a[1], b[1])]
    raise AssertionError(f"one key holds both {a!r} and {b!r}")


def test_the_webhook_documentation_is_public_and_matches_what_subscribers_receive(
    admin_client, public_client, org_a, settings: Settings
):
    response = admin_client.get(DOCS)
    assert response.status_code == 200, "the page is for subscribers, who do not sign in"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert "Set-Cookie" not in response.headers, "a shared cache may keep it"
    page = response.get_data(as_text=True)
    assert "Webhook notifications" in page and "Sign in" in page

    with tenant_session(org_a.tenant_id) as s:
        page_row = s.get(Page, org_a.page_id)
        web_component = s.get(Component, org_a.ids["component_web"])
        subscriber = add_subscriber(
            s,
            page_row,
            channel=Channel.WEBHOOK,
            address="http://127.0.0.1:9/hooks/status",
            contact_email="ops@acme.test",
            actor=ACTOR,
        )
        incident = open_incident(
            s,
            page_row,
            name="Checkout errors",
            actor=ACTOR,
            body="We are looking into failed payments.",
            components={web_component.id: ComponentStatus.PARTIAL_OUTAGE},
        )
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.IDENTIFIED, body="A faulty deploy.")
        set_component_status(s, web_component, ComponentStatus.DEGRADED_PERFORMANCE, actor=ACTOR)
        s.flush()
        recipient = Recipient(
            delivery_id="dlv7k2m9x4qa",
            subscriber_id=subscriber.id,
            channel=Channel.WEBHOOK,
            email=subscriber.email,
            phone_number=None,
            endpoint=subscriber.endpoint,
            secret=SECRET,
            incident_id=None,
            attempts=0,
        )

        def delivered(kind: EventKind) -> tuple[bytes, dict[str, str]]:
            event = s.scalars(
                select(NotificationEvent)
                .where(NotificationEvent.kind == kind)
                .order_by(NotificationEvent.created_at.desc(), NotificationEvent.id.desc())
            ).first()
            assert event is not None, kind
            notice = load_notice(s, event, settings)
            body = render_webhook(notice, recipient)
            return body, webhook_headers(notice, recipient, body, timestamp=int(time.time()))

        incident_body, incident_headers = delivered(EventKind.INCIDENT_UPDATED)
        component_body, component_headers = delivered(EventKind.COMPONENT_UPDATED)
        s.commit()

    # The examples have exactly the keys of real payloads, at every depth, in the same order.
    for name, body in (("incident", incident_body), ("component_update", component_body)):
        example = json.loads(code_block(page, "data-example", name))
        real = json.loads(body)
        assert list(example) == list(real), name
        assert shape(example) == shape(real), name
        assert example["meta"]["documentation"] == real["meta"]["documentation"] == settings.admin_url(DOCS)
    # ...including those inside lists, which the real payload fills here.
    sent = json.loads(incident_body)["incident"]
    assert sent["incident_updates"][-1]["affected_components"] and sent["components"]

    # Every header sent is documented, with the values that never change and the signature's form.
    assert set(incident_headers) == set(component_headers)
    for name, value in incident_headers.items():
        assert f"<code>{name}</code>" in page, name
        if name in ("Content-Type", "User-Agent"):
            assert f"<code>{value}</code>" in page, value
    assert incident_headers["X-StatusPlatform-Event"] == "incident_updated"
    assert component_headers["X-StatusPlatform-Event"] == "component_updated"
    assert re.fullmatch(r"v1=[0-9a-f]{64}", incident_headers["X-StatusPlatform-Signature"])
    assert "<code>v1=&lt;hex&gt;</code>" in page
    assert '<code>"&lt;timestamp&gt;." + body</code>' in page
    for kind in EventKind:
        assert f"<td><code>{kind.value}</code></td>" in page, kind

    # The retry schedule shown is the delivery worker's: base doubling to ten minutes, ten attempts.
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", page)
    base = settings.DELIVERY_RETRY_BASE_SECONDS
    expected_waits = [min(base * 2 ** (n - 1), 600) for n in range(1, 10)]
    assert [int(n) for n, _ in rows] == list(range(1, 11))
    assert rows[0][1] == "None: the first attempt"
    shown = [
        sum(int(x) * (60 if unit == "min" else 1) for x, unit in re.findall(r"(\d+) (min|s)", w))
        for _, w in rows[1:]
    ]
    assert shown == expected_waits
    assert "within <strong>30 s</strong>" in page
    assert "10 failed attempts within 1 hour" in page and "<strong>90 days</strong>" in page
    assert "a 3xx answer is a failure" in page and "5 minutes" in page

    # The Python sample, run as printed, accepts a real signature and refuses anything else.
    namespace: dict[str, Any] = {}
    exec(compile(code_block(page, "data-sample", "python"), "webhooks.html", "exec"), namespace)
    is_genuine = namespace["is_genuine"]
    sent_at = incident_headers["X-StatusPlatform-Timestamp"]
    signed = incident_headers["X-StatusPlatform-Signature"]
    assert signed == signature(SECRET, int(sent_at), incident_body)
    assert is_genuine(SECRET, incident_body, sent_at, signed)
    assert is_genuine(SECRET, incident_body, sent_at, f"v1={'0' * 64}, {signed}")
    assert not is_genuine(SECRET, incident_body.replace(b"faulty", b"Faulty"), sent_at, signed)
    assert not is_genuine("another secret", incident_body, sent_at, signed)
    assert not is_genuine(SECRET, incident_body, str(int(sent_at) + 1), signed)
    old = int(time.time()) - 301
    assert not is_genuine(SECRET, incident_body, str(old), signature(SECRET, old, incident_body))
    assert not is_genuine(SECRET, incident_body, "soon", signed)
    assert "hmac.compare_digest" in page and "crypto.timingSafeEqual" in page

    # Unsubscribing as documented: a bare POST to meta.unsubscribe.
    unsubscribe = urlsplit(json.loads(component_body)["meta"]["unsubscribe"])
    assert unsubscribe.netloc == org_a.host
    answer = public_client.post(unsubscribe.path, base_url=f"http://{unsubscribe.netloc}")
    assert answer.status_code == 200 and "You are unsubscribed" in answer.get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Subscriber, subscriber.id).unsubscribed_at is not None

    # Staff signed in read the same page.
    log_in(admin_client, org_a.owner_email, org_a.owner_password)
    answer = admin_client.get(DOCS)
    assert answer.headers["Cache-Control"] == "private, no-cache", "it names the member: no shared cache"
    signed_in = answer.get_data(as_text=True)
    assert "Sign out" in signed_in and code_block(signed_in, "data-sample", "python") == code_block(
        page, "data-sample", "python"
    )
