"""In headless Chromium: the demo page on its own host, at desktop and phone widths, and staff sign-in."""

from __future__ import annotations

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


@pytest.mark.parametrize(("width", "name"), [(1280, "desktop"), (375, "phone")])
def test_the_demo_page_shows_status_incident_components_and_maintenance(
    acme, live_server, page_factory, width, name
):
    page = page_factory(width=width)
    response = page.goto(f"http://acme.pages.test:{live_server}/")
    assert response.status == 200
    assert page.title() == "Partially Degraded Service · Acme Cloud Status"
    assert page.get_by_role("heading", name="Slow dashboard loading for some users").is_visible()
    assert page.get_by_text("Investigating").first.is_visible()
    assert page.get_by_role("heading", name="Database upgrade").is_visible()
    summary = page.locator("summary", has_text="Web")
    assert "Degraded Performance" in summary.inner_text()
    summary.click()  # groups fold open on click
    assert page.get_by_text("Dashboard", exact=True).is_visible()
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"demo-page-{name}")
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
    page.wait_for_url(f"http://platform.test:{live_server}/t/acme/")
    assert page.get_by_role("heading", name="Acme", exact=True).is_visible()
    assert page.get_by_text("Slow dashboard loading for some users").is_visible()
    screenshot(page, "admin-dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"http://platform.test:{live_server}/login")
    assert page_factory.errors == []
