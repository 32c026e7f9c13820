"""Viewers on the page's own host: password and emailed-link sign-in, sessions, and losing access at once."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.test import Client

from status_platform.db.session import tenant_session
from status_platform.identity.passwords import hash_password
from tenants.audiences import logins
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.services import deactivate_audience, deactivate_viewer, set_viewer_audiences
from tenants.components.models import Component, ComponentStatus, ComponentVisibility
from tenants.components.services import create_component, set_component_status
from tenants.incidents.services import open_incident
from tenants.pages.models import Page, PageVisibility
from tests.factories import ACTOR

PASSWORD = "harbour password 42"
LINK_RE = re.compile(r"(http://\S+/login/link/\S+)")


def _audience_page(org, visibility: PageVisibility = PageVisibility.AUDIENCE_SPECIFIC) -> dict[str, str]:  # noqa: ANN001
    """The factory's audience ("Acme client") gets a private component with an incident of its own."""
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        page.visibility = visibility
        dock = create_component(
            s, page, name="Private Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        audience = s.get(Audience, org.ids["audience"])
        from tenants.audiences.services import add_audience_components

        add_audience_components(s, audience, [dock.id], actor=ACTOR)
        viewer = s.get(Viewer, org.ids["viewer"])
        viewer.password_hash = hash_password(PASSWORD)
        incident = open_incident(
            s,
            page,
            name="Dock flooded",
            actor=ACTOR,
            components={dock.id: ComponentStatus.MAJOR_OUTAGE},
            deliver_notifications=False,
        )
        s.commit()
        return {"dock": dock.id, "incident": incident.id}


def _post(client: Client, org, path: str, data: dict[str, str]):  # noqa: ANN001, ANN202
    return client.post(path, data=data, headers={"Host": org.host, "Origin": f"http://{org.host}"})


def _sign_in(client: Client, org) -> None:  # noqa: ANN001
    response = _post(client, org, "/login", {"email": f"viewer@{org.slug}.test", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_viewer_signs_in_with_a_password_sees_its_components_and_signs_out(router, org_a):
    ids = _audience_page(org_a)
    client = Client(router)
    host = {"Host": org_a.host}
    anonymous = client.get("/", headers=host).get_data(as_text=True)
    assert "Private Dock" not in anonymous and "Dock flooded" not in anonymous
    assert "/login?next=" in anonymous and ">Sign in</a>" in anonymous  # the header offers a sign-in

    wrong = _post(client, org_a, "/login", {"email": "viewer@acme.test", "password": "not it at all"})
    assert wrong.status_code == 422
    shown = wrong.get_data(as_text=True)
    assert "The email address or password is not right." in shown and 'aria-invalid="true"' in shown
    assert "Private Dock" not in client.get("/", headers=host).get_data(as_text=True)

    cross_site = client.post(
        "/login",
        data={"email": "viewer@acme.test", "password": PASSWORD},
        headers={**host, "Origin": "http://evil.test"},
    )
    assert cross_site.status_code == 400

    signed_in = _post(
        client, org_a, "/login", {"email": "viewer@acme.test", "password": PASSWORD, "next": "/history"}
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/history"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Domain=" not in cookie  # host-only: bound to the page's host
    page = client.get("/", headers=host)
    html = page.get_data(as_text=True)
    assert "Private Dock" in html and "Dock flooded" in html and "viewer@acme.test" in html
    assert page.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/incidents/{ids['incident']}", headers=host).status_code == 200

    # An offsite next is not followed (a tab is dropped by browsers: "/\t/evil" is "//evil").
    for offsite in ("//evil.test/x", "/\t/evil.test", "https://evil.test/", "/\\evil.test"):
        again = _post(
            client, org_a, "/login", {"email": "viewer@acme.test", "password": PASSWORD, "next": offsite}
        )
        assert again.headers["Location"] == "/", offsite
    assert client.get("/login?next=/%09/evil.test", headers=host).headers["Location"] == "/"

    assert _post(client, org_a, "/logout", {}).status_code == 302
    assert "Private Dock" not in client.get("/", headers=host).get_data(as_text=True)
    assert client.get(f"/incidents/{ids['incident']}", headers=host).status_code == 404


def test_the_session_is_bound_to_its_page_and_host(router, org_a, org_b):
    _audience_page(org_a)
    _audience_page(org_b)
    client = Client(router)
    _sign_in(client, org_a)
    cookie = next(c for c in client._cookies.values() if c.key == "sp_page_session")  # noqa: SLF001
    thief = Client(router, use_cookies=False)  # sends the Cookie header it is given, as a thief would
    # The copied cookie works on its own host (so what follows is not an empty cookie)...
    own = thief.get("/", headers={"Host": org_a.host, "Cookie": f"sp_page_session={cookie.value}"})
    assert "Private Dock" in own.get_data(as_text=True)
    forged = {"Host": org_b.host, "Cookie": f"sp_page_session={cookie.value}"}
    other_page = thief.get("/", headers=forged).get_data(as_text=True)
    assert "Private Dock" not in other_page and "viewer@acme.test" not in other_page
    # The same page under another of its names (not the host signed in on) does not carry it either.
    other_host = thief.get(
        "/", headers={"Host": "ACME.pages.test:8080", "Cookie": f"sp_page_session={cookie.value}"}
    )
    assert "Private Dock" not in other_host.get_data(as_text=True)


def test_a_viewer_removed_from_its_audience_loses_access_on_the_next_request(router, org_a):
    ids = _audience_page(org_a)
    client = Client(router)
    host = {"Host": org_a.host}
    _sign_in(client, org_a)
    assert client.get(f"/incidents/{ids['incident']}", headers=host).status_code == 200
    assert "Private Dock" in client.get("/api/v2/components.json", headers=host).get_data(as_text=True)

    with tenant_session(org_a.tenant_id) as s:
        set_viewer_audiences(s, s.get(Viewer, org_a.ids["viewer"]), [], actor=ACTOR)
        s.commit()
    assert client.get(f"/incidents/{ids['incident']}", headers=host).status_code == 404
    assert "Private Dock" not in client.get("/", headers=host).get_data(as_text=True)
    assert "Private Dock" not in client.get("/api/v2/components.json", headers=host).get_data(as_text=True)

    with tenant_session(org_a.tenant_id) as s:
        set_viewer_audiences(s, s.get(Viewer, org_a.ids["viewer"]), [org_a.ids["audience"]], actor=ACTOR)
        s.commit()
    assert "Private Dock" in client.get("/", headers=host).get_data(as_text=True)

    # Deactivating the audience ends access too, and deactivating the viewer ends its session.
    with tenant_session(org_a.tenant_id) as s:
        deactivate_audience(s, s.get(Audience, org_a.ids["audience"]), actor=ACTOR)
        s.commit()
    assert "Private Dock" not in client.get("/", headers=host).get_data(as_text=True)
    _sign_in(client, org_a)
    with tenant_session(org_a.tenant_id) as s:
        deactivate_viewer(s, s.get(Viewer, org_a.ids["viewer"]), actor=ACTOR)
        s.commit()
    after = client.get("/", headers=host).get_data(as_text=True)
    assert "viewer@acme.test" not in after
    refused = _post(client, org_a, "/login", {"email": "viewer@acme.test", "password": PASSWORD})
    assert refused.status_code == 422


def test_an_emailed_link_signs_in_once_and_expires(router, org_a, mail, run_jobs, monkeypatch):
    _audience_page(org_a, PageVisibility.PRIVATE)
    client = Client(router)
    host = {"Host": org_a.host}
    assert client.get("/", headers=host).status_code == 302

    unknown = _post(client, org_a, "/login/link", {"email": "stranger@example.test"})
    known = _post(client, org_a, "/login/link", {"email": "viewer@acme.test"})
    assert unknown.status_code == known.status_code == 200
    # The same answer whether or not the address may read the page.
    assert known.get_data(as_text=True).replace("viewer@acme.test", "X") == unknown.get_data(
        as_text=True
    ).replace("stranger@example.test", "X")
    run_jobs()
    messages = [m for m in mail.messages if m["To"] == "viewer@acme.test"]
    assert len(messages) == 1 and not [m for m in mail.messages if m["To"] == "stranger@example.test"]
    link = LINK_RE.search(messages[0].get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
    assert link.startswith(f"http://{org_a.host}")
    path = link.split(org_a.host, 1)[1]

    shown = client.get(path, headers=host)
    assert shown.status_code == 200 and "Continue as" in shown.get_data(as_text=True)
    assert client.get("/", headers=host).status_code == 302  # a GET (a mail scanner) signs nobody in
    assert _post(client, org_a, path, {}).status_code == 302
    assert "Private Dock" in client.get("/", headers=host).get_data(as_text=True)

    second = Client(router)
    used = _post(second, org_a, path, {})
    # Two requests that checked one link before either used it: only one of them signs in.
    with tenant_session(org_a.tenant_id) as s:
        token = path.rsplit("/", 1)[1]
        viewer = s.get(Viewer, org_a.ids["viewer"])
        fresh = logins.login_token(viewer)
        first_check = logins.viewer_of_token(s, org_a.page_id, fresh)
        second_check = logins.viewer_of_token(s, org_a.page_id, fresh)
        assert [logins.use_up(s, first_check), logins.use_up(s, second_check)] == [True, False]
        s.rollback()
    assert token
    assert used.status_code == 400 and "used already" in used.get_data(as_text=True)
    assert second.get("/", headers=host).status_code == 302

    with tenant_session(org_a.tenant_id) as s:
        viewer = s.get(Viewer, org_a.ids["viewer"])
        import itsdangerous.timed

        real = itsdangerous.timed.time.time
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - logins.LINK_SECONDS - 5)
        stale = logins.login_token(viewer)
        invitation = logins.login_token(viewer, invitation=True)
        monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    expired = _post(second, org_a, f"/login/link/{stale}", {})
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    # An invitation of the same age still works: it lives a week.
    assert _post(second, org_a, f"/login/link/{invitation}", {}).status_code == 302
    assert "Private Dock" in second.get("/", headers=host).get_data(as_text=True)
    tampered = _post(Client(router), org_a, f"/login/link/{invitation[:-2]}xx", {})
    assert tampered.status_code == 400


def test_the_banner_counts_only_components_the_reader_may_see(router, org_a):
    ids = _audience_page(org_a)
    with tenant_session(org_a.tenant_id) as s:
        from tenants.incidents.models import Incident, IncidentStatus
        from tenants.incidents.services import post_update

        for incident in s.scalars(select(Incident).where(Incident.id != ids["incident"])):
            if incident.status is not IncidentStatus.RESOLVED and incident.kind.value == "incident":
                post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Fixed")
        for component in s.scalars(select(Component).where(Component.id != ids["dock"])):
            set_component_status(s, component, ComponentStatus.OPERATIONAL, actor=ACTOR)
        s.commit()
    client = Client(router)
    host = {"Host": org_a.host}
    anonymous = client.get("/api/v2/status.json", headers=host).get_json()
    assert anonymous["status"] == {"indicator": "none", "description": "All Systems Operational"}
    _sign_in(client, org_a)
    viewer = client.get("/api/v2/status.json", headers=host).get_json()
    assert viewer["status"]["indicator"] != "none"


def test_the_account_page_gives_a_feed_address_and_an_api_token_and_changes_the_password(router, org_a):
    _audience_page(org_a)
    client, other_device = Client(router), Client(router)
    host = {"Host": org_a.host}
    _sign_in(client, org_a)
    _sign_in(other_device, org_a)
    assert "Your access to Acme status" in client.get("/account", headers=host).get_data(as_text=True)

    issued = _post(client, org_a, "/account/api-token", {}).get_data(as_text=True)
    token = re.search(r'id="api-token" readonly value="(spv_[^"]+)"', issued).group(1)  # type: ignore[union-attr]
    bearer = {**host, "Authorization": f"Bearer {token}"}
    assert "Private Dock" in Client(router).get("/api/v2/components.json", headers=bearer).get_data(
        as_text=True
    )
    feed_page = _post(client, org_a, "/account/feed", {}).get_data(as_text=True)
    feed = re.search(
        r'id="feed-url" readonly value="http://[^/]+(/history.atom\?token=spf_[^"]+)"', feed_page
    )
    assert feed is not None and "Dock flooded" in Client(router).get(feed.group(1), headers=host).get_data(
        as_text=True
    )
    assert _post(client, org_a, "/account/revoke", {}).status_code == 200
    assert Client(router).get("/api/v2/components.json", headers=bearer).status_code == 401
    assert Client(router).get(feed.group(1), headers=host).status_code == 404

    short = _post(client, org_a, "/account/password", {"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and 'aria-invalid="true"' in short.get_data(as_text=True)
    wrong = _post(
        client, org_a, "/account/password", {"current_password": "nope", "new_password": "a long new one"}
    )
    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(as_text=True)
    saved = _post(
        client, org_a, "/account/password", {"current_password": PASSWORD, "new_password": "a long new one"}
    )
    assert saved.status_code == 200 and "Other sessions have been signed out" in saved.get_data(as_text=True)
    assert "Private Dock" in client.get("/", headers=host).get_data(as_text=True)
    assert "Private Dock" not in other_device.get("/", headers=host).get_data(as_text=True)
    relogin = _post(
        Client(router), org_a, "/login", {"email": "viewer@acme.test", "password": "a long new one"}
    )
    assert relogin.status_code == 302
