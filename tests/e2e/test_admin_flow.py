"""In headless Chromium, a new organization's first hour: sign up, components, an incident, maintenance.

After each step the public page, on the page's own host, shows the change.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from status_platform.timeutil import utcnow
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


def test_a_new_organization_signs_up_and_runs_its_page(live_server, page_factory):
    admin = page_factory(width=1280)
    admin.on("dialog", lambda dialog: dialog.accept())
    public = page_factory(width=1280)
    base = f"http://platform.test:{live_server}"
    site = f"http://initech.pages.test:{live_server}/"

    def public_text() -> str:
        # A reload asks the server again, as a visitor pressing F5 would (pages are cacheable for 10 s).
        if public.url == site:
            public.reload()
        else:
            public.goto(site)
        return public.locator("main").text_content() or ""

    # Sign up: the organization, its owner and its first page, signed in at once.
    admin.goto(f"{base}/signup")
    admin.fill("input[name=name]", "Initech")
    admin.fill("input[name=page_name]", "Initech Status")
    admin.fill("input[name=page_slug]", "initech")
    admin.fill("input[name=owner_email]", "founder@initech.test")
    admin.fill("input[name=owner_password]", "a long enough password")
    admin.fill("input[name=confirm_password]", "a long enough password")
    admin.get_by_role("button", name="Create organization").click()
    admin.wait_for_url("**/p/*/")
    assert admin.get_by_role("heading", name="Initech Status").is_visible()
    dashboard = admin.url
    assert public.goto(site).status == 200
    assert "Initech Status" in public.title()

    # A group and three components.
    admin.get_by_role("link", name="Components", exact=True).click()
    admin.get_by_role("link", name="Add group").click()
    admin.fill("input[name=name]", "Platform")
    admin.get_by_role("button", name="Add group").click()
    assert admin.get_by_text("Added the group Platform.").is_visible()
    for name, group in (("API", "Platform"), ("Dashboard", "Platform"), ("Billing", "")):
        admin.get_by_role("link", name="Add component").first.click()
        admin.fill("input[name=name]", name)
        admin.select_option("select[name=group_id]", label=group or "No group (top level)")
        admin.get_by_role("button", name="Add component").click()
        assert admin.get_by_text(f"Added the component {name}.").is_visible()
    shown = public_text()
    for name in ("Platform", "API", "Dashboard", "Billing"):
        assert name in shown
    assert public.get_by_text("All Systems Operational").is_visible()
    screenshot(admin, "admin-components")

    # An incident affecting two components.
    admin.goto(dashboard)
    admin.get_by_role("link", name="Create incident").click()
    admin.fill("input[name=name]", "API errors for some customers")
    admin.fill("textarea[name=body]", "We are **investigating** elevated error rates.")
    admin.get_by_label("API", exact=True).select_option("major_outage")
    admin.get_by_label("Dashboard", exact=True).select_option("degraded_performance")
    admin.locator(".preview strong", has_text="investigating").wait_for()
    screenshot(admin, "admin-new-incident")
    admin.get_by_role("button", name="Create incident").click()
    incident_url = admin.url
    shown = public_text()
    assert "API errors for some customers" in shown and "Investigating" in shown
    assert "Major Outage" in (public.locator(".component", has_text="API").first.text_content() or "")
    assert public.get_by_role("region", name="Active incidents").is_visible()

    # Identified, then Resolved: the components come back.
    admin.goto(incident_url)
    admin.locator("#update").get_by_label("Identified").check()
    admin.locator("#update textarea[name=body]").fill("A bad deploy; rolling back.")
    admin.get_by_role("button", name="Post update").click()
    assert "Identified" in public_text() and "A bad deploy; rolling back." in public.content()
    admin.goto(incident_url)
    admin.locator("#update").get_by_label("Resolved").check()
    admin.locator("#update textarea[name=body]").fill("Error rates are back to normal.")
    admin.get_by_role("button", name="Post update").click()
    shown = public_text()
    assert public.get_by_text("All Systems Operational").is_visible()
    assert "Error rates are back to normal." in shown  # under past incidents
    screenshot(admin, "admin-incident")

    # Scheduled maintenance, typed in the page's zone (UTC here).
    start = (utcnow() + timedelta(days=1)).replace(hour=9, minute=0)
    admin.goto(dashboard)
    admin.get_by_role("link", name="Schedule maintenance").click()
    admin.fill("input[name=name]", "Database failover test")
    admin.fill("input[name=scheduled_for]", start.strftime("%Y-%m-%dT%H:%M"))
    admin.fill("input[name=scheduled_until]", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    admin.get_by_label("Billing").check()
    admin.fill("textarea[name=body]", "Billing may be read-only for a few minutes.")
    admin.get_by_role("button", name="Schedule maintenance").click()
    shown = public_text()
    assert "Database failover test" in shown
    assert public.get_by_role("region", name="Scheduled maintenance").is_visible()
    admin.goto(dashboard)
    assert admin.get_by_role("link", name="Database failover test").is_visible()
    screenshot(admin, "admin-flow-dashboard")
    screenshot(public, "admin-flow-public-page")
    assert admin.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page_factory.errors == []
