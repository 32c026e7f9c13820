"""In headless Chromium: a client signs in on the page's own host and sees its own components too."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot
from tests.factories import make_organization
from tests.public_site.test_viewers import PASSWORD, _audience_page

pytestmark = pytest.mark.browser


def test_a_viewer_signs_in_through_the_page_and_sees_its_components(committed_db, live_server, page_factory):
    org = make_organization("acme", "Acme")
    _audience_page(org)
    base = f"http://{org.host}:{live_server}"

    visitor = page_factory(width=1280)
    visitor.goto(base + "/")
    components = visitor.locator(".components")
    assert components.get_by_text("Acme Web").is_visible()
    assert "Private Dock" not in visitor.content() and "Dock flooded" not in visitor.content()

    client = page_factory(width=1280)
    client.goto(base + "/")
    client.get_by_role("link", name="Sign in").click()
    client.wait_for_url(base + "/login?next=/")
    form = client.get_by_role("form", name="Sign in with a password")
    form.get_by_label("Email").fill(f"viewer@{org.slug}.test")
    form.get_by_label("Password").fill("not the password")
    form.get_by_role("button", name="Sign in").click()
    assert client.locator(".field.invalid").count() == 1
    assert client.get_by_text("The email address or password is not right.").is_visible()
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    client.wait_for_url(base + "/")
    assert client.locator(".viewer-nav").get_by_text(f"viewer@{org.slug}.test").is_visible()
    assert client.locator(".components").get_by_text("Private Dock").is_visible()
    assert client.get_by_text("Dock flooded").first.is_visible()
    screenshot(client, "viewer-signed-in")

    # The anonymous visitor of the same URL still gets the public summary only.
    visitor.reload()
    assert components.get_by_text("Acme Web").is_visible()
    assert "Private Dock" not in visitor.content()
    screenshot(visitor, "viewer-anonymous")

    client.locator(".viewer-nav").get_by_role("button", name="Sign out").click()
    client.wait_for_url(base + "/")
    assert "Private Dock" not in client.content()
    assert client.get_by_role("link", name="Sign in").is_visible()
