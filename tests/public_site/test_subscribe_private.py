"""Subscribing on private and audience-specific pages: signed-in viewers, anonymous visitors, manage links."""

from __future__ import annotations

from itertools import count

from werkzeug.test import Client

from status_platform.db.session import tenant_session
from status_platform.identity.passwords import hash_password
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.services import add_audience_components, create_audience
from tenants.components.models import ComponentVisibility
from tenants.components.services import create_component
from tenants.pages.models import Page, PageVisibility
from tenants.subscribers.links import manage_token
from tests.factories import ACTOR
from tests.public_site.test_subscribe import only_subscriber, subscribers

PASSWORD = "lighthouse password 7"
_ips = count(1)


def docks(org, visibility: PageVisibility) -> dict[str, str]:
    """Audience components beside the factory's public ones: "Alpha Dock" for the factory's
    audience (whose viewer gets a password), "Bravo Dock" for another audience."""
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        page.visibility = visibility
        alpha = create_component(
            s, page, name="Alpha Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        bravo = create_component(
            s, page, name="Bravo Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        add_audience_components(s, s.get(Audience, org.ids["audience"]), [alpha.id], actor=ACTOR)
        create_audience(s, page, actor=ACTOR, name="Bravo shipping", component_ids=[bravo.id])
        s.get(Viewer, org.ids["viewer"]).password_hash = hash_password(PASSWORD)
        sealed = create_component(
            s, page, name="Sealed Dock", visibility=ComponentVisibility.HIDDEN, actor=ACTOR
        )
        s.commit()
        return {"alpha": alpha.id, "bravo": bravo.id, "sealed": sealed.id, "web": org.ids["component_web"]}


def post(client: Client, org, path: str, data: dict):
    return client.post(
        path,
        data=data,
        headers={"Host": org.host, "Origin": f"http://{org.host}"},
        environ_base={"REMOTE_ADDR": f"203.0.113.{next(_ips)}"},
    )


def get(client: Client, org, path: str):
    return client.get(path, headers={"Host": org.host})


def sign_in(client: Client, org) -> None:
    response = post(client, org, "/login", {"email": f"viewer@{org.slug}.test", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def email_sign_up(client: Client, org, address: str, components: list[str]):
    return post(
        client, org, "/subscriptions", {"channel": "email", "email": address, "components": components}
    )


def test_an_audience_page_offers_each_reader_its_own_components_and_binds_a_viewers_subscription(
    router, org_a
):
    ids = docks(org_a, PageVisibility.AUDIENCE_SPECIFIC)
    client = Client(router)

    # Anonymous: public components only, and a way to sign in for more.
    form = get(client, org_a, "/subscriptions/new").get_data(as_text=True)
    assert f'value="{ids["web"]}"' in form
    assert "Alpha Dock" not in form and "Bravo Dock" not in form and ids["alpha"] not in form
    assert "to follow your own components too" in form and 'href="/login"' in form
    refused = email_sign_up(client, org_a, "guess@example.com", [ids["alpha"]])
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'class="field components-field invalid"' in html and "Choose components of this page only" in html
    assert "Alpha Dock" not in html
    # A hidden component is refused alike, and so is one with a made-up id.
    for wanted in ([ids["sealed"]], ["nosuchcompon"], [ids["web"], ids["sealed"]]):
        refused = email_sign_up(client, org_a, "guess@example.com", wanted)
        assert refused.status_code == 422, wanted
        assert "Choose components of this page only" in refused.get_data(as_text=True)
    assert subscribers(org_a, email="guess@example.com") == []
    assert email_sign_up(client, org_a, "anon@example.com", [ids["web"]]).status_code == 200
    anonymous = only_subscriber(org_a, email="anon@example.com")
    assert anonymous.viewer_id is None

    # Signed in: the viewer's components, not another audience's; the subscription is the viewer's.
    sign_in(client, org_a)
    form = get(client, org_a, "/subscriptions/new")
    shown = form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "private, no-store"
    assert "Alpha Dock" in shown and "Bravo Dock" not in shown and ids["bravo"] not in shown
    assert "to follow your own components too" not in shown
    assert email_sign_up(client, org_a, "other@example.com", [ids["bravo"]]).status_code == 422
    assert email_sign_up(client, org_a, "other@example.com", [ids["sealed"]]).status_code == 422
    assert subscribers(org_a, email="other@example.com") == []
    assert email_sign_up(client, org_a, "client@example.com", [ids["alpha"]]).status_code == 200
    bound = only_subscriber(org_a, email="client@example.com")
    assert bound.viewer_id == org_a.ids["viewer"]
    assert [link.component_id for link in bound.component_links] == [ids["alpha"]]

    # The manage link shows what its subscription may see, whoever opens it.
    stranger = Client(router)
    manage_bound = f"/subscriptions/manage/{manage_token(bound.id, org_a.page_id)}"
    page = get(stranger, org_a, manage_bound).get_data(as_text=True)
    assert "Alpha Dock" in page and "Bravo Dock" not in page
    manage_anonymous = f"/subscriptions/manage/{manage_token(anonymous.id, org_a.page_id)}"
    page = get(stranger, org_a, manage_anonymous).get_data(as_text=True)
    assert "Acme Web" in page and "Alpha Dock" not in page and "Bravo Dock" not in page
    chose_hidden = post(stranger, org_a, manage_anonymous, {"components": [ids["alpha"]]})
    assert chose_hidden.status_code == 422 and "Alpha Dock" not in chose_hidden.get_data(as_text=True)
    assert [
        link.component_id for link in only_subscriber(org_a, email="anon@example.com").component_links
    ] == [ids["web"]]
    saved = post(stranger, org_a, manage_bound, {"components": [ids["alpha"], ids["web"]]})
    assert saved.status_code == 200
    assert {
        link.component_id for link in only_subscriber(org_a, email="client@example.com").component_links
    } == {
        ids["alpha"],
        ids["web"],
    }

    # The viewer deactivated: its subscription hears nothing, so its manage page offers nothing
    # and it may choose nothing, though it may still follow the whole page (or unsubscribe).
    with tenant_session(org_a.tenant_id) as s:
        s.get(Viewer, org_a.ids["viewer"]).is_active = False
        s.commit()
    page = get(stranger, org_a, manage_bound).get_data(as_text=True)
    assert "Alpha Dock" not in page and 'name="components"' not in page
    refused = post(stranger, org_a, manage_bound, {"components": [ids["web"]]})
    assert refused.status_code == 422 and "told nothing of this page" in refused.get_data(as_text=True)
    assert post(stranger, org_a, manage_bound, {}).status_code == 200
    assert only_subscriber(org_a, email="client@example.com").component_links == []


def test_a_private_page_takes_sign_ups_from_signed_in_viewers_only(router, org_a):
    ids = docks(org_a, PageVisibility.PRIVATE)
    client = Client(router)

    asked = get(client, org_a, "/subscriptions/new")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/login")
    refused = email_sign_up(client, org_a, "anon@example.com", [])
    html = refused.get_data(as_text=True)
    assert refused.status_code == 401 and "Sign in to subscribe" in html
    assert (
        'href="/login?next=/subscriptions/new"' in html or 'href="/login?next=%2Fsubscriptions%2Fnew"' in html
    )
    assert "Acme Web" not in html and "Alpha Dock" not in html
    assert subscribers(org_a, email="anon@example.com") == []

    sign_in(client, org_a)
    form = get(client, org_a, "/subscriptions/new").get_data(as_text=True)
    assert "Alpha Dock" in form and "Acme Web" in form and "Bravo Dock" not in form
    # No public feed on a private page: the viewer's own feed is on its account page.
    assert "/history.atom" not in form.split('id="page-pane-feeds"')[-1].split("</div>")[0]
    assert 'href="/account"' in form
    assert email_sign_up(client, org_a, "client@example.com", [ids["alpha"]]).status_code == 200
    assert only_subscriber(org_a, email="client@example.com").viewer_id == org_a.ids["viewer"]
