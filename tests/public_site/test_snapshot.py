"""The read path: one snapshot per page version, a constant number of statements, HTTP caching, outages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from status_platform.db import session as db_session
from status_platform.db.engine import create_engine
from status_platform.db.session import tenant_session
from status_platform.jobs.queues import get_redis, queue_name
from status_platform.timeutil import utcnow
from tenants.components.models import ComponentStatus
from tenants.components.services import create_component, create_group, set_component_status
from tenants.incidents.models import IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.pages.models import Page
from tenants.pages.snapshot import build_snapshot
from tests.factories import ACTOR, make_organization


def update_page(org, **fields) -> None:  # noqa: ANN001
    """Change page settings directly, as the settings screen will, and mark the page changed."""
    from tenants.pages.services import bump_version

    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        for name, value in fields.items():
            setattr(page, name, value)
        bump_version(s, page.id)
        s.commit()


def count_statements(connection: sa.Connection, work) -> int:  # noqa: ANN001
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    return len([s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE", "SELECT set_config"))])


def grow(org, *, groups: int, components: int, incidents: int) -> None:
    """Add components, incidents with several updates, and status history across 90 days."""
    with tenant_session(org.tenant_id) as s:
        from status_platform.tenancy.models import Tenant

        s.get(Tenant, org.tenant_id).plan_code = "enterprise"  # past the free plan's 25 components
        s.flush()
        page = s.get(Page, org.page_id)
        made = []
        for g in range(groups):
            group = create_group(s, page, name=f"Group {g}", actor=ACTOR)
            for c in range(components):
                made.append(
                    create_component(
                        s,
                        page,
                        name=f"Component {g}.{c}",
                        group=group,
                        actor=ACTOR,
                        created_at=utcnow() - timedelta(days=100),
                    )
                )
        for n in range(incidents):
            start = utcnow() - timedelta(days=n % 85, hours=3)
            target = made[n % len(made)]
            incident = open_incident(
                s,
                page,
                name=f"Past {n}",
                actor=ACTOR,
                backfill_at=start,
                components={target.id: ComponentStatus.PARTIAL_OUTAGE},
            )
            post_update(
                s,
                incident,
                actor=ACTOR,
                status=IncidentStatus.IDENTIFIED,
                body="found",
                display_at=start + timedelta(minutes=10),
            )
            post_update(
                s,
                incident,
                actor=ACTOR,
                status=IncidentStatus.RESOLVED,
                body="fixed",
                display_at=start + timedelta(minutes=40),
            )
            set_component_status(
                s, target, ComponentStatus.PARTIAL_OUTAGE, actor=ACTOR, at=start, deliver_notifications=False
            )
            set_component_status(
                s,
                target,
                ComponentStatus.OPERATIONAL,
                actor=ACTOR,
                at=start + timedelta(minutes=40),
                deliver_notifications=False,
            )
        s.commit()


def test_building_a_snapshot_takes_the_same_statements_whatever_the_page_holds(connection, org_a, org_b):
    def build(org) -> None:  # noqa: ANN001
        with tenant_session(org.tenant_id) as s:
            snapshot = build_snapshot(s, org.page_id, page_url="http://x.test")
            assert snapshot is not None

    small = count_statements(connection, lambda: build(org_a))
    grow(org_b, groups=4, components=6, incidents=120)
    large = count_statements(connection, lambda: build(org_b))
    assert small == large <= 12


def test_the_page_is_built_once_per_version_and_a_write_shows_at_once(web, org_a, connection):
    first = web.get("/", headers={"Host": org_a.host})
    again = count_statements(connection, lambda: web.get("/", headers={"Host": org_a.host}))
    assert again <= 3  # host lookup and session setup only: the snapshot comes from Redis
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        create_component(s, page, name="Brand new component", actor=ACTOR)
        s.commit()
    after = web.get("/", headers={"Host": org_a.host})
    assert "Brand new component" in after.get_data(as_text=True)
    assert after.headers["ETag"] != first.headers["ETag"]


def test_responses_carry_an_etag_and_public_cache_headers_and_answer_304(web, org_a):
    for path in (
        "/",
        "/api/v2/summary.json",
        "/history.atom",
        "/badge.svg",
        f"/incidents/{org_a.ids['incident']}",
    ):
        response = web.get(path, headers={"Host": org_a.host})
        assert response.status_code == 200
        assert (
            response.headers["Cache-Control"]
            == "public, max-age=10, stale-while-revalidate=60, stale-if-error=86400"
        )
        etag = response.headers["ETag"]
        assert etag.startswith('W/"')
        cached = web.get(path, headers={"Host": org_a.host, "If-None-Match": etag})
        assert cached.status_code == 304 and cached.get_data() == b""
        assert (
            web.get(path, headers={"Host": org_a.host, "If-None-Match": f'W/"other", {etag}'}).status_code
            == 304
        )


@pytest.mark.parametrize("header", ['"not-a-tag', "*,,,", "x" * 5000, "W/"])
def test_a_malformed_if_none_match_gets_a_normal_answer(web, org_a, header):
    assert web.get("/", headers={"Host": org_a.host, "If-None-Match": header}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/?page=abc",
        "/history?from=garbage",
        "/history?from=9999-99",
        "/history?kind=%00",
        "/?%ff=%fe",
        "/api/v2/summary.json?callback=x",
        "/badge.svg?style=%3Cscript%3E",
    ],
)
def test_odd_query_strings_get_a_normal_answer(web, org_a, path):
    assert web.get(path, headers={"Host": org_a.host}).status_code == 200


def test_an_unknown_incident_is_a_404_page(web, org_a, org_b):
    for incident_id in ("doesnotexist", org_b.ids["incident"], "../../etc", "x" * 40):
        response = web.get(f"/incidents/{incident_id}", headers={"Host": org_a.host})
        assert response.status_code == 404
        assert "There is nothing at this address." in response.get_data(as_text=True)


def test_pages_keep_serving_the_last_snapshot_when_the_database_is_down(web, router, committed_db, tmp_path):
    org = make_organization("acme", "Acme")
    page = web.get("/", headers={"Host": org.host})
    summary = web.get("/api/v2/summary.json", headers={"Host": org.host})
    assert page.status_code == summary.status_code == 200
    dead = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dead.db'}")
    db_session.SessionFactory.configure(bind=dead)
    try:
        # The version marker is gone too: the app has to ask the database, and cannot.
        get_redis().delete(queue_name(f"cache:version:page:{org.page_id}"))
        down_page = web.get("/", headers={"Host": org.host})
        down_summary = web.get("/api/v2/summary.json", headers={"Host": org.host})
    finally:
        db_session.SessionFactory.configure(bind=committed_db)
    assert down_page.status_code == 200 and "Acme outage" in down_page.get_data(as_text=True)
    assert down_summary.status_code == 200 and down_summary.get_json() == summary.get_json()


def test_a_private_page_shows_visitors_nothing(web, org_a):
    from tenants.pages.models import PageVisibility

    update_page(org_a, visibility=PageVisibility.PRIVATE)
    expected = {
        "/": 302,
        f"/incidents/{org_a.ids['incident']}": 302,
        "/history": 302,
        "/api/v2/summary.json": 401,
        "/history.rss": 401,
        "/badge.svg": 401,
        "/embed.js": 401,
    }
    for path, status in expected.items():
        response = web.get(path, headers={"Host": org_a.host})
        assert response.status_code == status, path
        assert org_a.name + " outage" not in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "private, no-store"
        if status == 302:
            assert response.headers["Location"].startswith("/login?next=" + path.split("?")[0])
    sign_in_form = web.get("/login", headers={"Host": org_a.host}).get_data(as_text=True)
    assert "Sign in to Acme status" in sign_in_form and "Acme outage" not in sign_in_form


def test_tenant_text_is_escaped_and_markdown_is_sanitized(web, org_a):
    update_page(
        org_a,
        custom_css="body { color: red; } </style><script>alert('css')</script>",
        headline="<img src=x onerror=alert('headline')>",
    )
    with tenant_session(org_a.tenant_id) as s:
        open_incident(
            s,
            s.get(Page, org_a.page_id),
            name="<script>alert('name')</script>",
            actor=ACTOR,
            body="**bold** <script>alert('body')</script> [link](javascript:alert('x')) <b onclick=x>b</b>",
        )
        s.commit()
    html = web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img" not in html  # the headline is text, in the page and in its meta tags
    assert 'href="javascript' not in html  # left as text, never a link
    assert "onclick" not in html
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html
    assert "<strong>bold</strong>" in html
    # the custom CSS is kept, but cannot close its style element
    assert "body { color: red; }" in html and "</style><script>" not in html


def test_a_component_shown_only_when_degraded_is_hidden_while_operational(web, org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        quiet = create_component(s, page, name="Rarely Broken", only_show_if_degraded=True, actor=ACTOR)
        s.commit()
        quiet_id = quiet.id
    # Not in the list of components (the subscribe form still offers it: it is a public component).
    assert "Rarely Broken" not in component_list(
        web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    )
    names = [
        c["name"]
        for c in web.get("/api/v2/components.json", headers={"Host": org_a.host}).get_json()["components"]
    ]
    assert "Rarely Broken" in names
    with tenant_session(org_a.tenant_id) as s:
        from tenants.components.models import Component

        set_component_status(s, s.get(Component, quiet_id), ComponentStatus.DEGRADED_PERFORMANCE, actor=ACTOR)
        s.commit()
    assert "Rarely Broken" in component_list(
        web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    )


def component_list(html: str) -> str:
    """The page's list of components, from its section to the next."""
    start = html.index('<section aria-labelledby="components-heading"')
    return html[start : html.index("</section>", start)]


def test_uptime_counts_major_outage_fully_and_partial_outage_at_thirty_percent(org_a):
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        component = create_component(
            s, page, name="Measured", actor=ACTOR, created_at=now - timedelta(days=10)
        )
        day = now - timedelta(days=2)
        set_component_status(
            s, component, ComponentStatus.MAJOR_OUTAGE, actor=ACTOR, at=day, deliver_notifications=False
        )
        set_component_status(
            s,
            component,
            ComponentStatus.PARTIAL_OUTAGE,
            actor=ACTOR,
            at=day + timedelta(minutes=60),
            deliver_notifications=False,
        )
        set_component_status(
            s,
            component,
            ComponentStatus.DEGRADED_PERFORMANCE,
            actor=ACTOR,
            at=day + timedelta(minutes=160),
            deliver_notifications=False,
        )
        set_component_status(
            s,
            component,
            ComponentStatus.OPERATIONAL,
            actor=ACTOR,
            at=day + timedelta(minutes=200),
            deliver_notifications=False,
        )
        s.flush()
        snapshot = build_snapshot(s, page.id, page_url="http://x.test", now=now)
    uptime = snapshot["_uptime"][component.id]
    days = {d["date"]: d for d in uptime["days"]}
    outage_day = days[day.date().isoformat()]
    assert (outage_day["major"], outage_day["partial"], outage_day["degraded"]) == (60, 100, 40)
    assert outage_day["status"] == "major_outage"
    tracked_minutes = 10 * 24 * 60  # ten days since the component was created
    expected = 100 * (1 - (60 + 0.3 * 100) / tracked_minutes)
    assert uptime["percent"] == pytest.approx(expected, abs=0.01)
    before_creation = uptime["days"][0]
    assert before_creation["status"] == "no_data"


def test_the_badge_shows_the_page_or_one_component(web, org_a, org_b):
    badge = web.get("/badge.svg", headers={"Host": org_a.host})
    assert badge.status_code == 200 and badge.headers["Content-Type"].startswith("image/svg+xml")
    svg = badge.get_data(as_text=True)
    assert "Partial System Outage" in svg or "Major System Outage" in svg
    one = web.get(f"/badge.svg?component={org_a.ids['component']}", headers={"Host": org_a.host})
    assert "Major Outage" in one.get_data(as_text=True) and f"{org_a.name} REST" in one.get_data(as_text=True)
    assert (
        web.get(f"/badge.svg?component={org_b.ids['component']}", headers={"Host": org_a.host}).status_code
        == 404
    )


def test_the_embed_script_reads_the_pages_summary(web, org_a):
    script = web.get("/embed.js", headers={"Host": org_a.host})
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    body = script.get_data(as_text=True)
    assert '"http://acme.pages.test"' in body and "/api/v2/summary.json" in body
    assert script.headers["Access-Control-Allow-Origin"] == "*"


def test_requests_with_credentials_never_get_a_shared_cached_answer(web, router, org_a):
    from status_platform import cache

    cache._listener.ensure_running()
    assert cache._listener.healthy.wait(10)  # entries are trusted only while invalidations are heard
    web.get("/", headers={"Host": org_a.host})
    key = cache.response_key(org_a.page_id, {"HTTP_HOST": org_a.host, "PATH_INFO": "/", "QUERY_STRING": ""})
    assert cache.responses.get(key) is not None  # the anonymous answer is kept
    assert not cache.is_anonymous({"REQUEST_METHOD": "GET", "HTTP_COOKIE": "sp_page_session=x"})
    assert not cache.is_anonymous({"REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": "OAuth key"})
    assert not cache.is_anonymous({"REQUEST_METHOD": "POST"})
    # a request with a cookie goes through the app, which does not store its answer
    cache.responses.items.clear()
    from werkzeug.test import Client

    with_cookie = Client(router, use_cookies=False)  # sends the Cookie header exactly as given
    assert (
        with_cookie.get("/", headers={"Host": org_a.host, "Cookie": "sp_page_session=x"}).status_code == 200
    )
    assert cache.responses.get(key) is None


def test_a_cached_answer_keeps_its_headers_and_answers_304(web, org_a):
    first = web.get("/api/v2/status.json", headers={"Host": org_a.host})
    cached = web.get("/api/v2/status.json", headers={"Host": org_a.host})
    assert cached.get_data() == first.get_data()
    for name in (
        "ETag",
        "Cache-Control",
        "Access-Control-Allow-Origin",
        "Content-Type",
        "X-Content-Type-Options",
    ):
        assert cached.headers[name] == first.headers[name]
    not_modified = web.get(
        "/api/v2/status.json", headers={"Host": org_a.host, "If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304 and not_modified.headers["ETag"] == first.headers["ETag"]
    assert web.head("/api/v2/status.json", headers={"Host": org_a.host}).get_data() == b""


def test_the_logo_is_shown_and_served_with_its_type(web, org_a):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    update_page(org_a, logo_data=png, logo_content_type="image/png", logo_updated_at=utcnow())
    html = web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    assert re.search(r'<img src="/logo\?v=\d+" alt="Acme" class="logo">', html)
    logo = web.get(re.search(r'src="(/logo\?v=\d+)"', html).group(1), headers={"Host": org_a.host})
    assert logo.status_code == 200 and logo.get_data() == png and logo.headers["Content-Type"] == "image/png"
    assert web.get("/logo", headers={"Host": "globex.pages.test"}).status_code == 404


def test_the_page_describes_itself_to_link_previews_and_tabs(web, org_a):
    html = web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    assert '<meta property="og:title" content="Acme Status: Major System Outage">' in html
    assert '<meta property="og:url" content="http://acme.pages.test/">' in html
    assert "<title>Major System Outage · Acme Status</title>" in html
    # the favicon takes the colour of the overall status (critical: red)
    assert "fill='%23c62828'" in html
