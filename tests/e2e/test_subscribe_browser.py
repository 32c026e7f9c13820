"""In headless Chromium: the "Subscribe to updates" panel, the SMS code form and the manage page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.ids import new_id
from tenants.organizations import demo
from tenants.subscribers.links import manage_token
from tenants.subscribers.models import Subscriber
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(committed_db):
    with tenant_session(new_id()) as s:
        org = demo.seed_demo(s)
        s.commit()
    return org


def no_overflow(page, width: int) -> None:  # noqa: ANN001
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_visitor_subscribes_confirms_by_code_and_manages_the_subscription(
    acme, live_server, page_factory, chromium, http_receiver
):
    base = f"http://acme.pages.test:{live_server}"
    # Desktop: the panel opens under the header button, one tab per channel, switched in place.
    page = page_factory(width=1280)
    page.goto(base + "/")
    panel = page.locator(".subscribe-panel")
    assert not panel.is_visible()
    page.get_by_text("Subscribe to updates", exact=True).click()
    assert panel.is_visible()
    tabs = panel.get_by_role("tab")
    assert tabs.all_inner_texts() == ["Email", "SMS", "Webhook", "Slack", "Teams", "Feeds"]
    assert panel.get_by_label("Email address").is_visible()
    screenshot(page, "subscribe-panel-desktop")
    panel.get_by_role("tab", name="SMS").click()
    assert panel.get_by_label("Mobile number").is_visible()
    assert not panel.get_by_label("Email address").is_visible()
    assert page.url == base + "/"  # switched without leaving the page
    page.keyboard.press("Escape")
    assert not panel.is_visible()

    # Without script the panel still opens, and each tab leads to the same forms on their own page.
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        plain = context.new_page()
        plain.goto(base + "/")
        plain.get_by_text("Subscribe to updates", exact=True).click()
        plain.locator(".subscribe-panel").get_by_role("link", name="SMS").click()
        plain.wait_for_url(base + "/subscriptions/new?channel=sms")
        assert plain.get_by_label("Mobile number").is_visible()
        assert not plain.get_by_label("Email address").is_visible()
    finally:
        context.close()

    # Phone width: the panel spans the screen and nothing scrolls sideways.
    phone = page_factory(width=375, height=800)
    phone.goto(base + "/")
    phone.get_by_text("Subscribe to updates", exact=True).click()
    phone_panel = phone.locator(".subscribe-panel")
    phone_panel.get_by_role("tab", name="Webhook").click()
    webhook = phone_panel.get_by_role("tabpanel", name="Webhook")
    webhook.locator("summary", has_text="Components").click()
    assert webhook.get_by_label("Dashboard").is_visible()
    box = phone_panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    no_overflow(phone, 375)
    screenshot(phone, "subscribe-panel-phone")

    # SMS: the code page, a wrong code marks the field.
    phone_panel.get_by_role("tab", name="SMS").click()
    phone_panel.get_by_label("Mobile number").fill("+44 20 7946 0958")
    phone_panel.get_by_role("button", name="Subscribe").click()
    phone.wait_for_url(f"{base}/subscriptions/code/*")
    assert phone.get_by_role("heading", name="Enter the code we texted you").is_visible()
    phone.get_by_label("Code").fill("000000")
    phone.get_by_role("button", name="Confirm").click()
    phone.get_by_text("This code is not right").wait_for()
    assert phone.get_by_label("Code").get_attribute("aria-invalid") == "true"
    no_overflow(phone, 375)
    screenshot(phone, "subscribe-sms-code")

    # Webhook: the signing secret, readable at phone width.
    phone.goto(base + "/subscriptions/new?channel=webhook")
    phone.get_by_label("URL to notify").fill(http_receiver.url + "/status-hook")
    phone.get_by_label("Email for failure notices").fill("oncall@example.test")
    phone.get_by_role("button", name="Subscribe").click()
    assert phone.get_by_role("heading", name="Your signing secret").is_visible()
    assert len(phone.locator("#webhook-secret").inner_text().strip()) == 64
    no_overflow(phone, 375)
    screenshot(phone, "subscribe-webhook-secret")

    # The manage page (sent with no-referrer, so the browser posts Origin: null): change components.
    with tenant_session(acme.tenant.id) as s:
        subscriber = s.scalars(select(Subscriber).where(Subscriber.email == "pending@umbrella.test")).one()
        token = manage_token(subscriber.id, subscriber.page_id)
    manage = page_factory(width=375, height=800)
    manage.goto(f"{base}/subscriptions/manage/{token}")
    assert manage.get_by_role("heading", name="Your subscription").is_visible()
    manage.get_by_label("Dashboard").check()
    manage.get_by_role("button", name="Save").click()
    assert manage.get_by_text("Saved.").is_visible()
    assert manage.get_by_label("Dashboard").is_checked()
    no_overflow(manage, 375)
    screenshot(manage, "subscribe-manage")
    manage.get_by_role("button", name="Unsubscribe").click()
    assert manage.get_by_role("heading", name="You are unsubscribed").is_visible()
    # Chromium logs the wrong code's 422 answer; nothing else went wrong.
    refused = "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    assert page_factory.errors == [refused]
