"""A page's settings screen: every setting saved and shown on the page, bad input refused, logo, deletion."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from status_platform.db.session import platform_session, tenant_session
from status_platform.tenancy.models import PageRoute, Tenant
from tenants.audit.models import AuditEvent
from tenants.components.models import Component
from tenants.components.services import create_component
from tenants.pages import services
from tenants.pages.models import Page
from tenants.pages.schemas import BOOLEAN_SETTINGS
from tenants.pages.services import create_page
from tests.conftest import csrf_token, fingerprint, post_form
from tests.factories import ACTOR
from tests.tenants.test_page_services import SVG, gif, jpeg, png


def settings_url(org: Any, page_id: str | None = None, rest: str = "") -> str:
    return f"/t/{org.slug}/p/{page_id or org.page_id}/settings/{rest}"


def current_form(org: Any) -> dict[str, str]:
    """The settings form as the browser sends it back unchanged."""
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        route = s.get(PageRoute, org.page_id)
        form = {
            "name": page.name,
            "slug": route.slug,
            "headline": page.headline,
            "page_description": page.page_description,
            "support_url": page.support_url,
            "time_zone": page.time_zone,
            "history_days": str(page.history_days),
            "upcoming_maintenance_days": str(page.upcoming_maintenance_days),
            "maintenance_reminder_minutes": str(page.maintenance_reminder_minutes),
            "visibility": page.visibility.value,
            "notifications_from_name": page.notifications_from_name,
            "notifications_from_email": page.notifications_from_email,
            "notifications_email_footer": page.notifications_email_footer,
            "brand_color": page.brand_color,
            "css_background": (page.css_colors or {}).get("background", ""),
            "css_text": (page.css_colors or {}).get("text", ""),
            "custom_css": page.custom_css,
        }
        for name in BOOLEAN_SETTINGS:
            form[f"{name}__present"] = "1"
            if getattr(page, name):
                form[name] = "1"
    return form


def load_page(org: Any) -> tuple[Page, PageRoute]:
    with tenant_session(org.tenant_id) as s:
        return s.get(Page, org.page_id), s.get(PageRoute, org.page_id)


def field_is_marked(html: str, field: str, message: str) -> bool:
    return (
        re.search(r'class="field[a-z ]* invalid"', html) is not None
        and f'aria-invalid="true" aria-describedby="{field}-error"' in html
        and re.search(rf'<p class="error" id="{field}-error">[^<]*{re.escape(message)}', html) is not None
    )


def public_html(web: Any, host: str, path: str = "/") -> tuple[int, str]:
    response = web.get(path, headers={"Host": host})
    return response.status_code, response.get_data(as_text=True)


def test_the_settings_form_shows_the_pages_settings(staff_client, org_a, org_b):
    html = staff_client.get(settings_url(org_a)).get_data(as_text=True)
    assert 'value="Acme"' in html and 'value="acme"' in html and "acme.pages.test" in html
    assert 'list="time-zones"' in html and '<option value="Europe/Paris">' in html
    assert 'name="history_days" type="number" value="15"' in html
    assert "Globex" not in html.split("<main")[1]


def test_every_setting_is_saved_and_shown_where_the_public_page_shows_it(staff_client, org_a, org_b, web):
    untouched = current_form(org_b)
    form = current_form(org_a)
    form.update(
        name="Acme Cloud",
        headline="Live status of Acme Cloud",
        page_description="Every Acme service",
        support_url="https://help.acme.example/",
        time_zone="Europe/Paris",
        history_days="30",
        upcoming_maintenance_days="14",
        maintenance_reminder_minutes="120",
        visibility="public",
        notifications_from_name="Acme Ops",
        notifications_from_email="Ops@Acme.example",
        notifications_email_footer="You subscribed on status.acme.example",
        brand_color="#1A4F8B",
        custom_css=".masthead { border-bottom: 3px solid var(--brand); }",
    )
    for name in ("is_search_indexed", "allow_rss_atom_feeds", "allow_sms_subscribers"):
        form.pop(name)
    response = post_form(staff_client, settings_url(org_a), form)
    assert response.status_code == 302 and response.headers["Location"].endswith(settings_url(org_a))
    assert "Saved the settings of Acme Cloud." in staff_client.get(settings_url(org_a)).get_data(as_text=True)

    page, _route = load_page(org_a)
    assert (page.name, page.headline, page.page_description) == (
        "Acme Cloud",
        "Live status of Acme Cloud",
        "Every Acme service",
    )
    assert (page.support_url, page.time_zone) == ("https://help.acme.example/", "Europe/Paris")
    assert (page.history_days, page.upcoming_maintenance_days, page.maintenance_reminder_minutes) == (
        30,
        14,
        120,
    )
    assert (page.notifications_from_name, page.notifications_from_email) == ("Acme Ops", "ops@acme.example")
    assert page.notifications_email_footer == "You subscribed on status.acme.example"
    assert (page.brand_color, page.is_search_indexed, page.allow_rss_atom_feeds) == ("#1a4f8b", False, False)
    assert page.allow_sms_subscribers is False and page.allow_email_subscribers is True

    html = staff_client.get(settings_url(org_a)).get_data(as_text=True)
    assert 'value="Acme Cloud"' in html and 'value="Europe/Paris"' in html and 'value="#1a4f8b"' in html

    status, shown = public_html(web, org_a.host)
    assert status == 200
    assert "<title>" in shown and "Acme Cloud" in shown.split("</title>")[0]
    assert '<p class="headline">Live status of Acme Cloud</p>' in shown
    assert 'href="https://help.acme.example/"' in shown
    assert "--brand: #1a4f8b;" in shown
    assert ".masthead { border-bottom: 3px solid var(--brand); }" in shown
    assert '<meta name="robots" content="noindex, nofollow">' in shown
    assert "history.atom" not in shown
    assert public_html(web, org_a.host, "/history.rss")[0] == 404
    assert current_form(org_b) == untouched
    assert "Acme Cloud" not in public_html(web, org_b.host)[1]


def test_light_theme_colours_are_applied_by_the_public_page(staff_client, org_a, web):
    form = current_form(org_a) | {"css_background": "#FFFDF5", "css_text": "#102030"}
    assert post_form(staff_client, settings_url(org_a), form).status_code == 302
    assert load_page(org_a)[0].css_colors == {"background": "#fffdf5", "text": "#102030"}
    shown = public_html(web, org_a.host)[1]
    assert (
        "@media (prefers-color-scheme: light) { :root { --bg: #fffdf5; --card: #fffdf5; --fg: #102030; } }"
        in shown
    )


def test_a_private_page_is_not_shown_to_visitors(staff_client, org_a, web):
    assert (
        post_form(
            staff_client, settings_url(org_a), current_form(org_a) | {"visibility": "private"}
        ).status_code
        == 302
    )
    status, shown = public_html(web, org_a.host)
    assert status == 302 and "Acme REST" not in shown  # to the sign-in form
    assert web.get("/login", headers={"Host": org_a.host}).status_code == 200


def test_a_new_address_moves_the_page_and_says_so(staff_client, org_a, web):
    html = staff_client.get(settings_url(org_a)).get_data(as_text=True)
    assert "Changing the address moves the page: the old address stops answering" in html
    response = post_form(staff_client, settings_url(org_a), current_form(org_a) | {"slug": "acme-status"})
    assert response.status_code == 302
    flashed = staff_client.get(settings_url(org_a)).get_data(as_text=True)
    assert "The page is now at http://acme-status.pages.test; its old address no longer answers." in flashed
    assert public_html(web, "acme-status.pages.test")[0] == 200
    assert public_html(web, org_a.host)[0] == 404
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "page.settings_updated")).one()
        assert (event.before, event.after) == ({"slug": "acme"}, {"slug": "acme-status"})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "Page name is required."),
        ("slug", "globex", "is already taken by another page"),
        ("slug", "Not a slug!", "lowercase letters, digits or hyphens"),
        ("time_zone", "Mars/Olympus_Mons", "is not a known time zone"),
        ("support_url", "javascript:alert(1)", "must be an address starting with https://"),
        ("history_days", "91", "between 1 and 90"),
        ("upcoming_maintenance_days", "soon", "whole number"),
        ("maintenance_reminder_minutes", "10081", "between 0 and 10080"),
        ("visibility", "everyone", "Choose public, private or audience-specific."),
        ("notifications_from_email", "not an address", "Sender email is not valid"),
        ("brand_color", "blue", "must be a colour like #1a2b3c"),
        ("brand_color", "#ffd54f", "contrast of 1.4:1"),
        ("css_text", "#bbbbbb", "The text colour (#bbbbbb) has a contrast of 1.9:1"),
        ("css_background", "#333333", "Choose a lighter background."),
        ("custom_css", "body{}</style><script>alert(1)</script>", "cannot contain &lt;/style&gt;"),
        ("custom_css", "a::after { content: '<b>' }", "cannot contain &#39;&lt;&#39; (line 1)"),
        ("custom_css", "/* big */" + "x" * 52000, "the limit is 50 KB"),
    ],
)
def test_bad_settings_are_refused_with_the_field_marked_and_nothing_changed(
    staff_client, org_a, org_b, field, value, message
):
    before = fingerprint(org_a.tenant_id)
    form = current_form(org_a) | {"name": "Acme renamed", field: value}
    response = post_form(staff_client, settings_url(org_a), form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_is_marked(html, field, message), (
        html.split('class="error"')[1][:300] if 'class="error"' in html else html
    )
    assert fingerprint(org_a.tenant_id) == before


def test_an_address_taken_at_the_same_moment_is_refused_on_the_address_field(
    staff_client, org_a, org_b, monkeypatch
):
    # As if Globex's address committed after this request looked: only the database can refuse it now.
    monkeypatch.setattr(services, "slug_is_taken", lambda *args, **kwargs: False)
    before = fingerprint(org_a.tenant_id)
    form = current_form(org_a) | {"name": "Acme renamed", "slug": "Globex"}
    response = post_form(staff_client, settings_url(org_a), form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_is_marked(html, "slug", "The address &#39;globex&#39; is already taken by another page.")
    assert 'value="Acme renamed"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_the_form_keeps_what_was_typed_when_it_is_refused(staff_client, org_a):
    form = current_form(org_a) | {"headline": "Typed headline", "brand_color": "nope"}
    html = post_form(staff_client, settings_url(org_a), form).get_data(as_text=True)
    assert 'value="Typed headline"' in html and 'value="nope"' in html


def test_an_editor_cannot_change_the_settings(client_as, org_a):
    editor = client_as("editor")
    assert "Only admins and owners can change these settings" in editor.get(settings_url(org_a)).get_data(
        as_text=True
    )
    before = fingerprint(org_a.tenant_id)
    response = post_form(editor, settings_url(org_a), current_form(org_a) | {"name": "Taken over"})
    assert response.status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_an_admin_can_change_the_settings(client_as, org_a):
    admin = client_as("admin")
    assert (
        post_form(admin, settings_url(org_a), current_form(org_a) | {"name": "Acme by admin"}).status_code
        == 302
    )
    assert load_page(org_a)[0].name == "Acme by admin"


def test_another_organizations_page_settings_are_404(client_as, org_a, org_b):
    member_of_b = client_as("owner", org_b)
    before = fingerprint(org_a.tenant_id)
    assert member_of_b.get(settings_url(org_a)).status_code == 404
    assert member_of_b.get(settings_url(org_b, org_a.page_id)).status_code == 404
    assert member_of_b.get(settings_url(org_b, org_a.page_id, "domain")).status_code == 404
    for rest in ("", "logo", "logo/remove", "domain", "domain/verify", "domain/remove", "delete"):
        response = post_form(
            member_of_b, settings_url(org_b, org_a.page_id, rest), {"name": "x", "confirm": "Acme"}
        )
        assert response.status_code == 404, rest
    assert fingerprint(org_a.tenant_id) == before


# --- logo --------------------------------------------------------------------------------------


def upload(client: Any, org: Any, data: bytes, filename: str, content_type: str = "image/png") -> Any:
    """POST a logo as a browser would, encoded in memory.

    The test client spools a big body to a temporary file it never closes (a ResourceWarning).
    """
    token = csrf_token(client.get("/orgs", follow_redirects=True).get_data(as_text=True))
    boundary, body = encode_multipart(
        {"csrf_token": token, "logo": FileStorage(io.BytesIO(data), filename, content_type=content_type)}
    )
    return client.post(
        settings_url(org, rest="logo"), data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [(png(120, 40), "logo.png", "image/png"), (jpeg(64, 64), "logo.svg", "image/svg+xml"), (gif(), "x", "")],
)
def test_a_logo_is_saved_by_its_bytes_and_shown_on_the_page(
    staff_client, org_a, org_b, web, data, filename, content_type
):
    response = upload(staff_client, org_a, data, filename, content_type)
    assert response.status_code == 302
    assert "Saved the new logo" in staff_client.get(settings_url(org_a)).get_data(as_text=True)
    page, _route = load_page(org_a)
    assert (
        page.logo_content_type
        == {b"\x89P": "image/png", b"\xff\xd8": "image/jpeg", b"GI": "image/gif"}[data[:2]]
    )
    status, shown = public_html(web, org_a.host)
    assert status == 200
    match = re.search(r'<img src="(/logo\?v=\d+)" alt="Acme" class="logo">', shown)
    assert match
    logo = web.get(match.group(1), headers={"Host": org_a.host})
    assert logo.status_code == 200 and logo.get_data() == data
    assert logo.headers["Content-Type"] == page.logo_content_type
    assert 'class="logo"' not in public_html(web, org_b.host)[1]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (png(padding=520 * 1024), "big.png", "the limit is 512 KB"),
        (b"just some text, not a picture", "logo.png", "must be a PNG, JPEG, GIF or WebP image"),
        (SVG, "logo.svg", "SVG logos are not accepted because they can carry scripts"),
        (SVG, "logo.png", "SVG logos are not accepted"),
        (png(9000, 10), "huge.png", "at most 4096 pixels a side"),
        (b"", "", "Choose an image file to upload."),
    ],
)
def test_a_bad_logo_is_refused_with_the_field_marked_and_nothing_changed(
    staff_client, org_a, data, filename, message
):
    before = fingerprint(org_a.tenant_id)
    response = upload(staff_client, org_a, data, filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_is_marked(html, "logo", message)
    assert 'value="Acme"' in html  # the settings form is shown again around it
    assert fingerprint(org_a.tenant_id) == before


def test_removing_the_logo_brings_back_the_name(staff_client, org_a, web):
    assert upload(staff_client, org_a, png(), "logo.png").status_code == 302
    assert 'class="logo"' in public_html(web, org_a.host)[1]
    assert post_form(staff_client, settings_url(org_a, rest="logo/remove")).status_code == 302
    assert "Removed the logo" in staff_client.get(settings_url(org_a)).get_data(as_text=True)
    page, _route = load_page(org_a)
    assert page.logo_content_type is None
    assert 'class="logo"' not in public_html(web, org_a.host)[1]
    with tenant_session(org_a.tenant_id) as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("page.logo_%"))))
        assert actions == {"page.logo_updated", "page.logo_removed"}


# --- deleting a page ---------------------------------------------------------------------------


def second_page(org: Any) -> tuple[str, str]:
    """Put `org` on the Business plan and give it a second page with a component; (page id, component id)."""
    with platform_session() as s:
        s.get(Tenant, org.tenant_id).plan_code = "business"
        s.commit()
    with tenant_session(org.tenant_id) as s:
        page = create_page(s, name=f"{org.name} Internal", slug=f"{org.slug}-internal", actor=ACTOR)
        component = create_component(s, page, name="Internal VPN", actor=ACTOR)
        s.commit()
        return page.id, component.id


def test_deleting_a_page_needs_its_exact_name(staff_client, org_a, org_b):
    page_id, _component_id = second_page(org_a)
    before = fingerprint(org_a.tenant_id)
    for typed in ("", "acme internal", "Acme"):
        response = post_form(staff_client, settings_url(org_a, page_id, "delete"), {"confirm": typed})
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert field_is_marked(
            html, "confirm", "Type the page&#39;s name, Acme Internal, exactly to delete it."
        )
    assert fingerprint(org_a.tenant_id) == before


def test_a_deleted_page_takes_everything_on_it_and_its_address(staff_client, org_a, org_b, web):
    page_id, component_id = second_page(org_a)
    untouched = current_form(org_b)
    assert public_html(web, "acme-internal.pages.test")[0] == 200
    response = post_form(staff_client, settings_url(org_a, page_id, "delete"), {"confirm": "Acme Internal"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{org_a.slug}/")
    assert "Deleted the page Acme Internal" in staff_client.get(
        f"/t/{org_a.slug}/", follow_redirects=True
    ).get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Page, page_id) is None and s.get(Component, component_id) is None
        assert s.get(PageRoute, page_id) is None
        assert s.get(Page, org_a.page_id) is not None
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "page.deleted")).one()
        assert event.before["slug"] == "acme-internal" and event.page_id == page_id
    assert public_html(web, "acme-internal.pages.test")[0] == 404
    assert public_html(web, org_a.host)[0] == 200
    assert current_form(org_b) == untouched and public_html(web, org_b.host)[0] == 200


def test_the_last_page_of_an_organization_cannot_be_deleted(staff_client, org_a):
    html = staff_client.get(settings_url(org_a)).get_data(as_text=True)
    assert "the organization's only page, and an organization keeps at least one" in html
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, settings_url(org_a, rest="delete"), {"confirm": "Acme"})
    assert response.status_code == 200
    assert "is the organization&#39;s only page, and an organization keeps at least one" in response.get_data(
        as_text=True
    )
    assert fingerprint(org_a.tenant_id) == before
