"""In headless Chromium: the demo page at desktop and phone widths, incidents, history, staff sign-in."""

from __future__ import annotations

import re

import pytest

from status_platform.db.session import tenant_session
from status_platform.ids import new_id
from tenants.organizations import demo
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(committed_db):
    with tenant_session(new_id()) as s:
        org = demo.seed_demo(s)
        s.commit()
    return org


@pytest.mark.parametrize(("width", "name"), [(1280, "desktop"), (360, "phone")])
def test_the_demo_page_shows_every_section(acme, live_server, page_factory, width, name):
    page = page_factory(width=width)
    response = page.goto(f"http://acme.pages.test:{live_server}/")
    assert response.status == 200
    assert page.title() == "Partially Degraded Service · Acme Cloud Status"
    active = page.get_by_role("region", name="Active incidents")
    assert active.get_by_role("heading", name="Slow dashboard loading for some users").is_visible()
    assert active.get_by_text("Investigating", exact=True).is_visible()
    upcoming = page.get_by_role("region", name="Scheduled maintenance")
    assert upcoming.get_by_role("heading", name="Database upgrade").is_visible()
    # groups: worst child status, folded until clicked, remembered across visits
    web = page.locator("summary", has_text="Web")
    assert "Degraded Performance" in web.inner_text()
    dashboard = page.locator(".component", has_text="Dashboard").first
    assert not dashboard.is_visible()
    web.click()
    assert dashboard.is_visible()
    # the toggle event, which remembers the choice, fires after the click returns
    page.wait_for_function("Object.values(localStorage).includes('open')")
    page.reload()
    assert page.locator(".component", has_text="Dashboard").first.is_visible()
    # showcased components carry a 90-day bar, with the formula stated on the page
    bar = page.locator(".component", has_text="Email delivery").locator(".uptime")
    assert bar.locator(".day").count() == 90
    assert re.search(r"\d+\.\d\d % uptime", bar.inner_text())
    assert page.get_by_text("a partial outage at 30 %").is_visible()
    # past incidents: every day of the window, quiet days said so
    past = page.get_by_role("region", name="Past incidents")
    assert past.locator(".day-block").count() == 15
    assert past.get_by_text("No incidents reported.").count() >= 10
    assert past.get_by_role("link", name="Elevated error rates on the REST API").is_visible()
    # the local-time script adds the visitor's time (New York) beside the page's (UTC)
    assert page.locator(".local-time").count() > 0
    assert "EST" in page.locator(".local-time").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"status-page-{name}")
    assert page_factory.errors == []


def test_a_day_with_an_outage_shows_its_details_on_focus(acme, live_server, page_factory):
    page = page_factory()
    page.goto(f"http://acme.pages.test:{live_server}/")
    page.locator("summary", has_text="API").click()
    day = page.locator(".component", has_text="REST API").locator(".day[tabindex='0']").last
    day.focus()
    tip = day.locator(".tip")
    assert tip.is_visible()
    assert "Partial outage" in tip.inner_text() and "Elevated error rates on the REST API" in tip.inner_text()
    screenshot(page, "uptime-tooltip")
    assert page_factory.errors == []


def test_an_incident_page_shows_its_timeline(acme, live_server, page_factory):
    page = page_factory(width=375)
    page.goto(f"http://acme.pages.test:{live_server}/")
    page.get_by_role("region", name="Past incidents").get_by_role(
        "link", name="Elevated error rates on the REST API"
    ).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Elevated error rates on the REST API"
    assert page.get_by_text("This incident has been resolved.", exact=True).is_visible()
    assert page.get_by_text("Lasted for 47m").is_visible()
    labels = page.locator(".timeline h2").all_inner_texts()
    assert labels == ["Resolved", "Monitoring", "Identified", "Investigating"]
    assert page.locator(".timeline strong", has_text="HTTP 503").count() == 1  # Markdown rendered
    assert page.get_by_text("16m after the update before").is_visible()
    assert page.get_by_role("region", name="Affected components").get_by_text("API - REST API").is_visible()
    screenshot(page, "incident-page")
    assert page_factory.errors == []


def test_history_pages_back_to_the_first_incident(acme, live_server, page_factory):
    with tenant_session(acme.tenant.id) as s:
        from datetime import timedelta

        from status_platform.timeutil import utcnow
        from tenants.incidents.services import open_incident
        from tenants.pages.models import Page

        open_incident(
            s,
            s.get(Page, acme.page.id),
            name="An old outage",
            actor=demo.ACTOR,
            backfill_at=utcnow() - timedelta(days=200),
        )
        s.commit()
    page = page_factory()
    page.goto(f"http://acme.pages.test:{live_server}/history")
    assert page.get_by_role("heading", name="Incident History").is_visible()
    assert page.locator(".month").count() == 3
    assert "Elevated error rates on the REST API" in page.locator(".past-incident h3").all_inner_texts()
    pages_back = 0
    while page.get_by_role("link", name="← Older").count():
        page.get_by_role("link", name="← Older").click()
        pages_back += 1
        assert page.get_by_role("link", name="Newer →").is_visible()
    assert pages_back == 2  # 200 days back is the third page of three months; none older
    assert "An old outage" in page.locator(".past-incident h3").all_inner_texts()
    page.get_by_role("link", name="Newer →").click()
    assert "An old outage" not in page.locator(".past-incident h3").all_inner_texts()
    page.get_by_role("link", name="Maintenance").click()
    assert page.get_by_role("heading", name="Maintenance History").is_visible()
    assert "Scheduled for" in page.locator(".past-incident", has_text="Database upgrade").inner_text()
    screenshot(page, "history")
    assert page_factory.errors == []


def test_a_components_description_shows_on_keyboard_focus(acme, live_server, page_factory):
    page = page_factory()
    page.goto(f"http://acme.pages.test:{live_server}/")
    page.keyboard.press("Tab")  # the skip link first
    help_icon = page.locator(".component", has_text="Email delivery").locator(".help")
    help_icon.focus()
    tip = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
    assert "Transactional email sent on your behalf" in tip
    assert page_factory.errors == []


def test_the_embed_script_shows_a_dismissible_notice_on_another_site(
    acme, live_server, page_factory, http_receiver
):
    # The customer's own site, on another origin, which only includes the script tag.
    http_receiver.body = (
        f"<!doctype html><title>Shop</title><h1>Shop</h1>"
        f'<script src="http://acme.pages.test:{live_server}/embed.js" async></script>'
    ).encode()
    page = page_factory()
    page.goto(http_receiver.url + "/")
    notice = page.get_by_role("status")
    notice.wait_for()
    assert "Slow dashboard loading for some users" in notice.inner_text()
    screenshot(page, "embed-notice")
    page.get_by_role("button", name="Dismiss").click()
    assert page.get_by_role("status").count() == 0
    page.reload()
    page.wait_for_timeout(500)  # give the script its chance: a dismissed notice stays away
    assert page.get_by_role("status").count() == 0
    assert page_factory.errors == []


def test_staff_sign_in_in_the_browser(acme, live_server, page_factory):
    page = page_factory()
    page.goto(f"http://platform.test:{live_server}/login")
    page.get_by_label("Email address").fill(demo.DEMO_OWNER_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("The email address or password is not right.").is_visible()
    page.get_by_label("Password").fill(demo.DEMO_OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"http://platform.test:{live_server}/t/acme/p/*/")
    assert page.get_by_role("heading", name="Acme Cloud", exact=True).is_visible()
    assert page.get_by_text("Slow dashboard loading for some users").is_visible()
    screenshot(page, "admin-dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"http://platform.test:{live_server}/login")
    assert page_factory.errors == []


def test_a_visitor_in_the_pages_zone_sees_each_time_once(acme, live_server, page_factory):
    page = page_factory(timezone="UTC")
    page.goto(f"http://acme.pages.test:{live_server}/")
    assert page.locator("time[data-local]").count() > 0
    assert page.locator(".local-time").count() == 0


def test_the_page_reads_without_javascript_and_in_dark_mode(acme, live_server, chromium):
    context = chromium.new_context(
        java_script_enabled=False, color_scheme="dark", viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"http://acme.pages.test:{live_server}/")
        assert page.get_by_role("region", name="Active incidents").is_visible()
        page.locator("summary", has_text="Web").click()  # <details> folds open without any script
        assert page.locator(".component", has_text="Dashboard").first.is_visible()
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 23, 32)"  # the dark theme
        screenshot(page, "status-page-dark-no-js")
    finally:
        context.close()
