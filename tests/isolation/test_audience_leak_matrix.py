"""The leak matrix: every public channel, read anonymously, as a viewer of audience A, of B, and as staff.

One page holds a public component, a component only audience A may see, one only B may see
and a hidden one, with incidents and a window about each. Each raw response is searched for
every name: what the reader may see is there, and nothing else is (not in a tooltip, not in a
JSON field, not in a feed entry).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from status_platform.db.session import tenant_session
from status_platform.identity.passwords import hash_password
from status_platform.timeutil import utcnow
from tenants.audiences import logins
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import ComponentStatus, ComponentVisibility
from tenants.components.services import create_component
from tenants.incidents.services import open_incident
from tenants.maintenance.services import schedule_window
from tenants.pages.models import Page, PageVisibility
from tenants.pages.services import bump_version
from tests.conftest import log_in
from tests.factories import ACTOR

PASSWORD = "viewer password 123"

# What each name is, and who may read it.
PUBLIC_NAMES = {"Harbor Lights"}
A_NAMES = {"Alpha Dock", "Quay flood", "Tide works"}
B_NAMES = {"Bravo Dock", "Crane jam"}
HIDDEN_NAMES = {"Vault Seven", "Vault breach"}
EVERY_NAME = PUBLIC_NAMES | A_NAMES | B_NAMES | HIDDEN_NAMES
MAY_SEE = {
    "anonymous": PUBLIC_NAMES,
    "viewer A": PUBLIC_NAMES | A_NAMES,
    "viewer B": PUBLIC_NAMES | B_NAMES,
}

API_PATHS = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]


def _build(org, visibility: PageVisibility) -> dict[str, str]:  # noqa: ANN001
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        page.visibility = visibility
        harbor = create_component(s, page, name="Harbor Lights", actor=ACTOR)
        alpha = create_component(
            s, page, name="Alpha Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        bravo = create_component(
            s, page, name="Bravo Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        vault = create_component(
            s, page, name="Vault Seven", visibility=ComponentVisibility.HIDDEN, actor=ACTOR
        )
        audience_a = Audience(page_id=page.id, name="Alpha client")
        audience_b = Audience(page_id=page.id, name="Bravo client")
        viewer_a = Viewer(page_id=page.id, email="a@alpha.test", password_hash=hash_password(PASSWORD))
        viewer_b = Viewer(page_id=page.id, email="b@bravo.test", password_hash=hash_password(PASSWORD))
        s.add_all([audience_a, audience_b, viewer_a, viewer_b])
        s.flush()
        s.add_all(
            [
                AudienceComponent(audience_id=audience_a.id, component_id=alpha.id),
                AudienceComponent(audience_id=audience_b.id, component_id=bravo.id),
                AudienceViewer(audience_id=audience_a.id, viewer_id=viewer_a.id),
                AudienceViewer(audience_id=audience_b.id, viewer_id=viewer_b.id),
            ]
        )
        spanning = open_incident(
            s,
            page,
            name="Tidal surge",
            actor=ACTOR,
            body="Water over the quays",
            components={
                harbor.id: ComponentStatus.DEGRADED_PERFORMANCE,
                alpha.id: ComponentStatus.PARTIAL_OUTAGE,
                bravo.id: ComponentStatus.MAJOR_OUTAGE,
                vault.id: ComponentStatus.MAJOR_OUTAGE,
            },
            deliver_notifications=False,
        )
        quay = open_incident(
            s,
            page,
            name="Quay flood",
            actor=ACTOR,
            body="Flooded",
            components={alpha.id: ComponentStatus.MAJOR_OUTAGE},
            deliver_notifications=False,
        )
        crane = open_incident(
            s,
            page,
            name="Crane jam",
            actor=ACTOR,
            body="Stuck",
            components={bravo.id: ComponentStatus.PARTIAL_OUTAGE},
            deliver_notifications=False,
        )
        breach = open_incident(
            s,
            page,
            name="Vault breach",
            actor=ACTOR,
            body="Open",
            components={vault.id: ComponentStatus.MAJOR_OUTAGE},
            deliver_notifications=False,
        )
        start = utcnow() + timedelta(days=1)
        tide = schedule_window(
            s,
            page,
            name="Tide works",
            actor=ACTOR,
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=2),
            component_ids=[alpha.id],
            deliver_notifications=False,
        )
        feed_a = logins.issue_secret(s, viewer_a, "feed", actor=ACTOR)
        token_b = logins.issue_secret(s, viewer_b, "api", actor=ACTOR)
        bump_version(s, page.id)
        s.commit()
        return {
            "harbor": harbor.id,
            "alpha": alpha.id,
            "bravo": bravo.id,
            "vault": vault.id,
            "spanning": spanning.id,
            "quay": quay.id,
            "crane": crane.id,
            "breach": breach.id,
            "tide": tide.id,
            "feed_a": feed_a,
            "token_b": token_b,
            "audience_a": audience_a.id,
            "viewer_a": viewer_a.id,
        }


def _sign_in(web, org, email: str) -> None:  # noqa: ANN001
    host = {"Host": org.host, "Origin": f"http://{org.host}"}
    response = web.post("/login", data={"email": email, "password": PASSWORD}, headers=host)
    assert response.status_code == 302, response.get_data(as_text=True)


def _channels(ids: dict[str, str]) -> list[str]:
    return [
        "/",
        "/history",
        "/history?kind=maintenance",
        f"/incidents/{ids['spanning']}",
        *API_PATHS,
        "/history.atom",
        "/history.rss",
        "/subscriptions/new",
        "/subscriptions/new?channel=webhook",
        "/badge.svg",
        "/embed.js",
        "/sitemap.xml",
    ]


def _names_in(body: bytes) -> set[str]:
    return {name for name in EVERY_NAME if name.encode() in body}


@pytest.mark.parametrize("visibility", [PageVisibility.AUDIENCE_SPECIFIC, PageVisibility.PRIVATE])
def test_every_channel_names_only_what_its_reader_may_see(web, router, org_a, admin_client, visibility):
    from werkzeug.test import Client

    ids = _build(org_a, visibility)
    host = {"Host": org_a.host}
    readers = {"anonymous": Client(router), "viewer A": Client(router), "viewer B": Client(router)}
    _sign_in(readers["viewer A"], org_a, "a@alpha.test")
    _sign_in(readers["viewer B"], org_a, "b@bravo.test")
    seen: dict[str, set[str]] = {}
    # Each reader twice, the second round in the opposite order: whatever one reader's requests
    # left in the caches (Redis documents, rendered bytes, the router's responses) must not reach
    # the next reader.
    order = ["anonymous", "viewer A", "viewer B"]
    for reader in [*order, *reversed(order)]:
        client = readers[reader]
        allowed = MAY_SEE[reader]
        union: set[str] = set()
        for path in _channels(ids):
            response = client.get(path, headers=host)
            body = response.get_data()
            leaked = _names_in(body) - allowed
            assert not leaked, f"{reader} {path} names {leaked}"
            union |= _names_in(body)
            if reader == "anonymous" and visibility is PageVisibility.PRIVATE:
                assert response.status_code in (302, 401, 404), path
                continue
            if path == "/sitemap.xml" and visibility is PageVisibility.PRIVATE:
                assert response.status_code == 404
                continue
            assert response.status_code == 200, f"{reader} {path}: {response.status_code}"
            personal = reader != "anonymous" or visibility is PageVisibility.PRIVATE
            expected_cache = "private, no-store" if personal else "public"
            assert response.headers["Cache-Control"].startswith(expected_cache), (reader, path)
        assert seen.setdefault(reader, union) == union, reader  # the same names both rounds
        # Where the reader may look at each component, each of its names is there.
        for path in ("/", "/api/v2/summary.json", "/api/v2/components.json"):
            body = client.get(path, headers=host).get_data()
            if reader == "anonymous" and visibility is PageVisibility.PRIVATE:
                assert _names_in(body) == set()
            else:
                expected = {n for n in allowed if n in ("Harbor Lights", "Alpha Dock", "Bravo Dock")}
                assert {n for n in _names_in(body) if n.endswith(("Dock", "Lights"))} == expected, (
                    reader,
                    path,
                )
    if visibility is PageVisibility.AUDIENCE_SPECIFIC:
        assert seen["anonymous"] == PUBLIC_NAMES
    assert seen["viewer A"] == PUBLIC_NAMES | A_NAMES
    assert seen["viewer B"] == PUBLIC_NAMES | B_NAMES

    # Incidents by URL: 404 where none of the incident's components may be seen.
    for reader, client, allowed_incidents in (
        ("anonymous", readers["anonymous"], {"spanning"}),
        ("viewer A", readers["viewer A"], {"spanning", "quay"}),
        ("viewer B", readers["viewer B"], {"spanning", "crane"}),
    ):
        if reader != "anonymous":
            allowed_incidents = allowed_incidents | ({"tide"} if reader == "viewer A" else set())
        for key in ("spanning", "quay", "crane", "breach", "tide"):
            response = client.get(f"/incidents/{ids[key]}", headers=host)
            if reader == "anonymous" and visibility is PageVisibility.PRIVATE:
                assert response.status_code == 302
            else:
                assert response.status_code == (200 if key in allowed_incidents else 404), (reader, key)
            assert not _names_in(response.get_data()) - MAY_SEE[reader]
        badge = client.get(f"/badge.svg?component={ids['alpha']}", headers=host)
        if reader == "viewer A":
            assert badge.status_code == 200 and b"Alpha Dock" in badge.get_data()
        else:
            assert badge.status_code in (302, 401, 404) and b"Alpha Dock" not in badge.get_data()

    # Scripts and feed readers: the per-viewer API token and the secret feed URL.
    anonymous = readers["anonymous"]
    by_token = anonymous.get(
        "/api/v2/summary.json", headers={**host, "Authorization": f"Bearer {ids['token_b']}"}
    )
    assert by_token.status_code == 200
    assert _names_in(by_token.get_data()) == {"Harbor Lights", "Bravo Dock", "Crane jam"}
    assert by_token.headers["Cache-Control"] == "private, no-store"
    wrong = anonymous.get("/api/v2/summary.json", headers={**host, "Authorization": "Bearer spv_nope"})
    assert wrong.status_code == 401 and not _names_in(wrong.get_data())
    feed = anonymous.get(f"/history.atom?token={ids['feed_a']}", headers=host)
    assert feed.status_code == 200
    # A feed names incidents, not components (Statuspage's feed format): A's incidents are there.
    assert _names_in(feed.get_data()) == {"Quay flood", "Tide works"}
    assert b"Tidal surge" in feed.get_data()
    assert feed.headers["Cache-Control"] == "private, no-store"
    rss = anonymous.get(f"/history.rss?token={ids['feed_a']}", headers=host)
    assert rss.status_code == 200 and _names_in(rss.get_data()) == {"Quay flood", "Tide works"}
    assert anonymous.get("/history.atom?token=spf_forged", headers=host).status_code == 404
    # The token feed was not kept for anyone else: the plain feed is still the public one.
    plain = anonymous.get("/history.atom", headers=host)
    assert not _names_in(plain.get_data()) - PUBLIC_NAMES

    # Search engines: a private page is never indexed.
    index = anonymous.get("/", headers=host) if visibility is PageVisibility.AUDIENCE_SPECIFIC else None
    robots = anonymous.get("/robots.txt", headers=host).get_data(as_text=True)
    if visibility is PageVisibility.PRIVATE:
        assert "Disallow: /" in robots
        signed_in = readers["viewer A"].get("/", headers=host).get_data(as_text=True)
        assert '<meta name="robots" content="noindex, nofollow">' in signed_in
    else:
        assert "Sitemap:" in robots and index is not None
        assert "noindex" not in index.get_data(as_text=True)

    # Staff see every component and incident in the admin and the Manage API.
    log_in(admin_client, org_a.owner_email, org_a.owner_password)
    dashboard = admin_client.get(f"/t/{org_a.slug}/p/{org_a.page_id}/").get_data()
    assert {"Harbor Lights", "Alpha Dock", "Bravo Dock", "Vault Seven"} <= _names_in(dashboard)
    manage = web.get(
        f"/v1/pages/{org_a.page_id}/components",
        headers={"Host": "platform.test", "Authorization": f"OAuth {org_a.api_key}"},
    )
    assert {"Harbor Lights", "Alpha Dock", "Bravo Dock", "Vault Seven"} <= _names_in(manage.get_data())
    incidents = web.get(
        f"/v1/pages/{org_a.page_id}/incidents",
        headers={"Host": "platform.test", "Authorization": f"OAuth {org_a.api_key}"},
    )
    assert {"Quay flood", "Crane jam", "Vault breach"} <= _names_in(incidents.get_data())
    assert b"Tidal surge" in incidents.get_data()
