"""Page services: settings in one audited change, logos checked by their bytes, domains cleaned, deletion."""

from __future__ import annotations

import struct
import zlib

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import Conflict, NotFound, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import PageRoute, Role
from tenants.audit.models import AuditEvent
from tenants.pages import domains, schemas, services
from tenants.pages.models import Page, PageVisibility
from tenants.pages.services import delete_page, set_page_logo, update_page_settings
from tests.factories import ACTOR

ADMIN = Actor(label="admin@example.test", role=Role.ADMIN)
EDITOR = Actor(label="editor@example.test", role=Role.EDITOR)


# --- image files, made byte by byte ------------------------------------------------------------


def png(width: int = 2, height: int = 1, *, padding: int = 0) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
    )
    if padding:
        data += chunk(b"tEXt", b"Comment\x00" + b"x" * padding)
    return data + chunk(b"IEND", b"")


def gif(width: int = 3, height: int = 2) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00" * 6 + b";"


def jpeg(width: int = 5, height: int = 4) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = (
        b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp(width: int = 7, height: int = 6) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# --- settings ----------------------------------------------------------------------------------


def test_a_settings_change_is_one_audit_event_with_only_what_changed_and_bumps_the_version(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        version = page.version
        changed = update_page_settings(
            s, page, actor=ADMIN, name="Acme Cloud", history_days="30", brand_color="#1A4F8B", headline=""
        )
        s.commit()
        assert changed == ["name", "history_days", "brand_color"]
        s.refresh(page)
        assert (page.name, page.history_days, page.brand_color) == ("Acme Cloud", 30, "#1a4f8b")
        assert page.version == version + 1
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "page.settings_updated")))
        assert len(events) == 1
        assert events[0].before == {"name": "Acme", "history_days": 15, "brand_color": "#2c6fbb"}
        assert events[0].after == {"name": "Acme Cloud", "history_days": 30, "brand_color": "#1a4f8b"}
    with tenant_session(org_b.tenant_id) as s:
        assert s.get(Page, org_b.page_id).name == "Globex"
        assert not list(s.scalars(select(AuditEvent).where(AuditEvent.action == "page.settings_updated")))


def test_saving_unchanged_settings_records_nothing(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        version = page.version
        assert update_page_settings(s, page, actor=ADMIN, name="Acme", slug="acme", time_zone="UTC") == []
        s.commit()
        s.refresh(page)
        assert page.version == version
        assert not list(s.scalars(select(AuditEvent).where(AuditEvent.action == "page.settings_updated")))


def test_an_editor_cannot_change_page_settings(org_a):
    with tenant_session(org_a.tenant_id) as s, pytest.raises(PermissionDenied, match="change page settings"):
        update_page_settings(s, s.get(Page, org_a.page_id), actor=EDITOR, name="Taken over")


def test_the_address_of_another_organizations_page_is_a_conflict_on_the_slug(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(Conflict) as raised:
            update_page_settings(s, s.get(Page, org_a.page_id), actor=ADMIN, slug=org_b.slug)
        assert raised.value.field == "slug"


def test_a_new_address_moves_the_route_with_the_page(org_a):
    with tenant_session(org_a.tenant_id) as s:
        update_page_settings(s, s.get(Page, org_a.page_id), actor=ADMIN, slug="acme-status")
        s.commit()
        assert s.get(PageRoute, org_a.page_id).slug == "acme-status"


def test_light_theme_colours_are_kept_in_css_colors_and_emptied_back_to_the_theme(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        update_page_settings(s, page, actor=ADMIN, css_background="#FFFDF5", css_text="#102030")
        assert page.css_colors == {"background": "#fffdf5", "text": "#102030"}
        update_page_settings(s, page, actor=ADMIN, css_background="", css_text="")
        assert page.css_colors == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"css_text": "#aaaaaa"}, "css_text", "contrast of 2.3:1"),
        ({"css_background": "#000000"}, "css_background", "lighter background"),
        ({"brand_color": "#ffcc00"}, "brand_color", "brand colour"),
        ({"css_background": "#777777", "css_text": "#ffffff"}, "css_text", "text colour"),
    ],
)
def test_colours_below_wcag_aa_contrast_are_refused(org_a, fields, field, message):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(ValidationError, match=message) as raised:
            update_page_settings(s, s.get(Page, org_a.page_id), actor=ADMIN, **fields)
        assert raised.value.field == field


def test_a_colour_chosen_before_does_not_block_saving_something_else(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        page.brand_color = "#ffcc00"  # saved before contrast was checked
        s.flush()
        assert update_page_settings(s, page, actor=ADMIN, brand_color="#ffcc00", name="Acme 2") == ["name"]


def test_audience_specific_pages_need_a_plan_with_audiences(org_a):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(ValidationError, match="audience-specific") as raised:
            update_page_settings(s, s.get(Page, org_a.page_id), actor=ADMIN, visibility="audience_specific")
        assert raised.value.field == "visibility"
        page = s.get(Page, org_a.page_id)
        update_page_settings(s, page, actor=ADMIN, visibility="private")
        assert page.visibility is PageVisibility.PRIVATE


@pytest.mark.parametrize(
    ("css", "message"),
    [
        ("body { color: red }</STYLE><script>alert(1)</script>", "</style>"),
        ("a[title=x] { }\n.b::after { content: '<b>' }", "line 2"),
        ("x" * (50 * 1024 + 1), "50 KB"),
    ],
)
def test_custom_css_cannot_leave_its_style_sheet(css, message):
    with pytest.raises(ValidationError, match=message) as raised:
        schemas.clean_custom_css(css)
    assert raised.value.field == "custom_css"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example.com", "https://", "example.com/help"]
)
def test_the_support_url_must_be_http_or_https(url):
    with pytest.raises(ValidationError, match="https://"):
        schemas.clean_support_url(url)


# --- logos -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        (png(2, 1), "image/png", (2, 1)),
        (gif(3, 2), "image/gif", (3, 2)),
        (jpeg(5, 4), "image/jpeg", (5, 4)),
        (webp(7, 6), "image/webp", (7, 6)),
    ],
)
def test_logos_are_known_by_their_bytes(data, content_type, size):
    info = schemas.sniff_logo(data)
    assert (info.content_type, (info.width, info.height)) == (content_type, size)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG, "SVG"),
        (b"<svg onload='alert(1)'/>", "SVG"),
        (b"%PDF-1.7 not a picture", "PNG, JPEG, GIF or WebP"),
        (png(padding=600 * 1024), "limit is 512 KB"),
        (png(5000, 1), "at most 4096 pixels"),
        (b"\x89PNG\r\n\x1a\n", "damaged"),
        (b"", "Choose an image"),
    ],
)
def test_other_files_are_refused_as_logos(data, message):
    with pytest.raises(ValidationError, match=message) as raised:
        schemas.sniff_logo(data)
    assert raised.value.field == "logo"


def test_a_second_logo_in_the_same_second_gets_a_new_address(org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        set_page_logo(s, page, png(), actor=ADMIN)
        first = page.logo_updated_at
        set_page_logo(s, page, gif(), actor=ADMIN)
        assert int(page.logo_updated_at.timestamp()) > int(first.timestamp())


# --- custom domains ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Status.Example.COM.", "status.example.com"),
        ("https://status.example.com/", "status.example.com"),
        ("status.exämple.com", "status.xn--exmple-cua.com"),
    ],
)
def test_custom_domains_are_lowercase_ascii(raw, clean):
    assert schemas.clean_custom_domain(raw, pages_domain="pages.test", platform_host="platform.test") == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("localhost", "with a dot"),
        ("192.0.2.10", "not an IP address"),
        ("[2001:db8::1]", "not an IP address"),
        ("acme.pages.test", "belongs to the platform"),
        ("pages.test", "belongs to the platform"),
        ("platform.test", "belongs to the platform"),
        ("status example.com", "not a valid domain"),
        ("-status.example.com", "not a valid domain"),
        ("", "Enter the domain"),
    ],
)
def test_custom_domains_that_cannot_be_a_customers_are_refused(raw, message):
    with pytest.raises(ValidationError, match=message) as raised:
        schemas.clean_custom_domain(raw, pages_domain="pages.test", platform_host="platform.test")
    assert raised.value.field == "domain"


def test_a_page_without_a_route_is_not_found_the_same_way_by_settings_and_domains(org_a, org_b, settings):
    assert domains.route_of is services.route_of
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        s.delete(s.get(PageRoute, org_a.page_id))
        s.flush()
        for write in (
            lambda: update_page_settings(s, page, actor=ADMIN, name="Acme 2"),
            lambda: domains.verify_custom_domain(s, page, actor=ADMIN, settings=settings),
            lambda: domains.remove_custom_domain(s, page, actor=ADMIN),
        ):
            with pytest.raises(NotFound, match="This page has no address any more."):
                write()
    with tenant_session(org_b.tenant_id) as s:
        assert services.route_of(s, s.get(Page, org_b.page_id)).slug == "globex"


# --- deletion ----------------------------------------------------------------------------------


def test_the_only_page_of_an_organization_cannot_be_deleted(org_a):
    with tenant_session(org_a.tenant_id) as s:
        with pytest.raises(ValidationError, match="only page") as raised:
            delete_page(s, s.get(Page, org_a.page_id), actor=ACTOR, confirm="Acme")
        assert raised.value.field == "confirm"
