"""The management API's subscribers: double opt-in, lists, counts, bulk changes, incident subscribers."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from status_platform.config import Settings
from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from status_platform.timeutil import utcnow
from tenants.audiences.models import Viewer
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tenants.subscribers.confirmation import hash_code
from tenants.subscribers.models import Channel, Subscriber, SubscriberState
from tests.conftest import fingerprint
from tests.tenants.test_subscriber_confirmation import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PHONE,
    SENDER,
    Twilio,
    running_twilio,
    twilio_settings,
)

LINK_RE = re.compile(r"http://acme\.pages\.test/subscriptions/confirm/[A-Za-z0-9_.-]+")
SUBSCRIBER_KEYS = {
    "id",
    "mode",
    "email",
    "endpoint",
    "phone_number",
    "phone_country",
    "display_phone_number",
    "obfuscated_channel_name",
    "workspace_name",
    "skip_confirmation_notification",
    "quarantined_at",
    "purge_at",
    "components",
    "page_access_user_id",
    "created_at",
    "state",
    "incident_id",
    "secret",
}


@pytest.fixture
def twilio(worker_settings: dict[str, Settings]) -> Iterator[Twilio]:
    """A local Twilio; the test's jobs send their text messages to it."""
    with running_twilio() as stand_in:
        worker_settings["settings"] = twilio_settings(worker_settings["settings"], stand_in)
        yield stand_in


@pytest.fixture(autouse=True)
def _sms_plan(org_a: Any) -> None:
    """Organization A is on a plan with SMS (the free plan has none)."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "startup"
        s.commit()


def auth(org: Any) -> dict[str, str]:
    return {"Authorization": f"OAuth {org.api_key}"}


def url(org: Any, path: str = "") -> str:
    return f"/v1/pages/{org.page_id}/subscribers{path}"


def create(client: Any, org: Any, status: int = 201, **fields: Any) -> dict[str, Any]:
    response = client.post(url(org), json={"subscriber": fields}, headers=auth(org))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def listed(client: Any, org: Any, path: str = "", **params: Any) -> list[dict[str, Any]]:
    response = client.get(url(org, path), query_string=params, headers=auth(org))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored(org: Any, subscriber_id: str) -> Subscriber:
    with tenant_session(org.tenant_id) as s:
        subscriber = s.get(Subscriber, subscriber_id)
        assert subscriber is not None
        s.expunge(subscriber)
        return subscriber


def actions(org: Any, subscriber_id: str) -> list[str]:
    with tenant_session(org.tenant_id) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == subscriber_id)
                .order_by(AuditEvent.created_at, AuditEvent.id)
            )
        )


def settled(client: Any, org: Any) -> dict[str, Any]:
    """The organization's rows once a first request has stamped the key's last use."""
    assert client.get(url(org, "/count"), headers=auth(org)).status_code == 200
    return fingerprint(org.tenant_id)


def link_of(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    match = LINK_RE.search(text)
    assert match, text
    return match.group(0)


def path_of(link: str) -> str:
    return link.removeprefix("http://acme.pages.test")


# --- email double opt-in ---------------------------------------------------------------------------


def test_an_email_subscriber_is_mailed_a_link_whose_get_shows_a_button_and_whose_post_confirms(
    admin_client, web, org_a, mail, run_jobs
):
    body = create(admin_client, org_a, email="Reader@Example.test", component_ids=[org_a.ids["component"]])
    assert set(body) == SUBSCRIBER_KEYS
    assert body["mode"] == "email" and body["email"] == "reader@example.test"
    assert body["state"] == "unconfirmed" and body["skip_confirmation_notification"] is False
    assert body["components"] == [org_a.ids["component"]] and body["secret"] is None
    assert actions(org_a, body["id"]) == ["subscriber.created"]

    assert run_jobs() == 1
    [message] = mail.messages
    assert message["To"] == "reader@example.test" and "Acme" in message["Subject"]
    link = link_of(message)
    assert link in message.get_body(("html",)).get_content()

    shown = web.get(path_of(link), headers={"Host": org_a.host})
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Confirm subscription" in page and "reader@example.test" in page
    assert shown.headers["Cache-Control"] == "no-store" and shown.headers["Referrer-Policy"] == "no-referrer"
    assert stored(org_a, body["id"]).confirmed_at is None

    confirmed = web.post(path_of(link), headers={"Host": org_a.host})
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.get_data(as_text=True)
    assert stored(org_a, body["id"]).state is SubscriberState.ACTIVE
    assert actions(org_a, body["id"]) == ["subscriber.created", "subscriber.confirmed"]
    got = admin_client.get(url(org_a, f"/{body['id']}"), headers=auth(org_a)).get_json()
    assert got["state"] == "active" and got["skip_confirmation_notification"] is False

    again = web.post(path_of(link), headers={"Host": org_a.host})
    assert again.status_code == 200 and "Already confirmed" in again.get_data(as_text=True)
    assert actions(org_a, body["id"]).count("subscriber.confirmed") == 1


def test_a_tampered_expired_or_foreign_confirmation_link_confirms_nothing(
    admin_client, web, org_a, org_b, mail, run_jobs, monkeypatch
):
    body = create(admin_client, org_a, email="late@example.test")
    with monkeypatch.context() as clock:
        clock.setattr(TimestampSigner, "get_timestamp", lambda self: int(utcnow().timestamp()) - 49 * 3600)
        run_jobs()
    expired = path_of(link_of(mail.messages[0]))
    tampered = expired[:-3] + ("xyz" if not expired.endswith("xyz") else "abc")
    for path, words in (
        (expired, "expired"),
        (tampered, "not valid"),
        ("/subscriptions/confirm/%00", "not valid"),
    ):
        for method in (web.get, web.post):
            response = method(path, headers={"Host": org_a.host})
            assert response.status_code == 400 and words in response.get_data(as_text=True)
    # A link of page A, opened on page B's host, names no subscription there.
    create(admin_client, org_a, email="fresh@example.test")
    run_jobs()
    fresh = path_of(link_of(mail.messages[1]))
    assert web.post(fresh, headers={"Host": org_b.host}).status_code == 400
    with tenant_session(org_a.tenant_id) as s:
        assert s.scalars(select(Subscriber.confirmed_at).where(Subscriber.id == body["id"])).one() is None
        assert all(
            confirmed is None
            for confirmed in s.scalars(
                select(Subscriber.confirmed_at).where(
                    Subscriber.email.in_(["late@example.test", "fresh@example.test"])
                )
            )
        )


def test_an_unsubscribed_subscriber_cannot_confirm_with_an_old_link(admin_client, web, org_a, mail, run_jobs):
    body = create(admin_client, org_a, email="gone@example.test")
    run_jobs()
    link = path_of(link_of(mail.messages[0]))
    assert admin_client.delete(url(org_a, f"/{body['id']}"), headers=auth(org_a)).status_code == 200
    response = web.post(link, headers={"Host": org_a.host})
    assert response.status_code == 409 and "unsubscribed" in response.get_data(as_text=True)
    assert stored(org_a, body["id"]).confirmed_at is None


def test_skip_confirmation_notification_activates_at_once_without_mail(admin_client, org_a, mail, run_jobs):
    body = create(admin_client, org_a, email="known@example.test", skip_confirmation_notification=True)
    assert body["state"] == "active" and body["skip_confirmation_notification"] is True
    assert run_jobs() == 0 and mail.messages == []
    assert stored(org_a, body["id"]).confirmed_at is not None


# --- SMS, webhook, Slack, Teams --------------------------------------------------------------------


def test_an_sms_subscriber_is_texted_a_six_digit_code_through_twilio(admin_client, org_a, twilio, run_jobs):
    body = create(admin_client, org_a, phone_number="(415) 555-2671", phone_country="US")
    assert body["mode"] == "sms" and body["phone_number"] == PHONE and body["phone_country"] == "US"
    assert body["display_phone_number"] == "+1 415-555-2671" and body["state"] == "unconfirmed"
    assert run_jobs() == 1
    [sent] = twilio.messages
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.form["To"] == PHONE and sent.form["From"] == SENDER
    assert re.search(r"\b\d{6}\b", sent.form["Body"]) and "Acme" in sent.form["Body"]
    assert sent.authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    code = twilio.codes()[0]
    assert stored(org_a, body["id"]).confirmation_code_hash == hash_code(body["id"], code)


def test_a_webhook_subscriber_is_active_at_once_and_its_secret_is_shown_only_when_created(
    admin_client, org_a, mail, run_jobs
):
    body = create(
        admin_client, org_a, endpoint="https://hooks.example.test/status", email="oncall@example.test"
    )
    assert body["mode"] == "webhook" and body["state"] == "active"
    assert body["endpoint"] == "https://hooks.example.test/status" and body["email"] == "oncall@example.test"
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"])
    assert body["secret"] == stored(org_a, body["id"]).secret
    assert admin_client.get(url(org_a, f"/{body['id']}"), headers=auth(org_a)).get_json()["secret"] is None
    assert all(item["secret"] is None for item in listed(admin_client, org_a, type="webhook"))
    assert run_jobs() == 0 and mail.messages == []


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_slack_and_teams_subscribers_are_created_with_an_explicit_type(admin_client, org_a, kind):
    body = create(admin_client, org_a, type=kind, endpoint=f"https://hooks.{kind}.test/incoming/x")
    assert body["mode"] == kind and body["state"] == "active" and body["secret"] is None
    assert [item["id"] for item in listed(admin_client, org_a, type=kind)] == [body["id"]]
    missing = create(admin_client, org_a, 422, type=kind, email="x@example.test")
    assert missing["field"] == "subscriber.endpoint"


def test_a_page_access_user_binds_the_subscription_to_that_viewer(admin_client, org_a):
    body = create(admin_client, org_a, email="viewer-sub@example.test", page_access_user=org_a.ids["viewer"])
    assert body["page_access_user_id"] == org_a.ids["viewer"]
    assert stored(org_a, body["id"]).viewer_id == org_a.ids["viewer"]


# --- bad input -------------------------------------------------------------------------------------


def _second_page_viewer(org: Any) -> str:
    with tenant_session(org.tenant_id) as s:
        page = Page(name="Second page")
        s.add(page)
        s.flush()
        viewer = Viewer(page_id=page.id, email="elsewhere@example.test")
        s.add(viewer)
        s.commit()
        return viewer.id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address"}, "subscriber.email"),
        ({"email": ""}, "subscriber.email"),
        ({}, "subscriber.email"),
        ({"phone_number": "12", "phone_country": "US"}, "subscriber.phone_number"),
        ({"phone_number": "+1 555 0100 999999"}, "subscriber.phone_number"),
        ({"endpoint": "ftp://hooks.example.test/x"}, "subscriber.endpoint"),
        ({"endpoint": "https://user:pw@hooks.example.test/x"}, "subscriber.endpoint"),
        ({"endpoint": "http://[::1"}, "subscriber.endpoint"),
        ({"endpoint": "https://hooks.example.test/a b"}, "subscriber.endpoint"),
        ({"endpoint": "https://hooks.example.test/x", "email": "bad contact"}, "subscriber.email"),
        ({"email": "a@example.test", "component_ids": ["nosuchcompon"]}, "subscriber.component_ids"),
        ({"email": "a@example.test", "component_ids": []}, "subscriber.component_ids"),
        ({"email": "a@example.test", "type": "pigeon"}, "subscriber.type"),
        ({"email": "a@example.test", "page_access_user": "nosuchviewer"}, "subscriber.page_access_user"),
        (
            {"email": "a@example.test", "skip_confirmation_notification": "maybe"},
            "subscriber.skip_confirmation_notification",
        ),
        ({"email": 12}, "subscriber.email"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(admin_client, org_a, fields, field):
    before = settled(admin_client, org_a)
    body = create(admin_client, org_a, 422, **fields)
    assert body["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_another_pages_or_organizations_viewer_is_refused(admin_client, org_a, org_b):
    elsewhere = _second_page_viewer(org_a)
    before = settled(admin_client, org_a)
    for viewer_id in (elsewhere, org_b.ids["viewer"]):
        body = create(admin_client, org_a, 422, email="a@example.test", page_access_user=viewer_id)
        assert body["field"] == "subscriber.page_access_user"
    assert fingerprint(org_a.tenant_id) == before


def test_another_organizations_component_is_unknown(admin_client, org_a, org_b):
    before = settled(admin_client, org_a)
    body = create(admin_client, org_a, 422, email="a@example.test", component_ids=[org_b.ids["component"]])
    assert body["field"] == "subscriber.component_ids"
    assert fingerprint(org_a.tenant_id) == before


def test_a_current_subscription_of_the_same_address_is_a_conflict(admin_client, org_a):
    before = settled(admin_client, org_a)
    response = admin_client.post(
        url(org_a), json={"subscriber": {"email": "READER@acme.test"}}, headers=auth(org_a)
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["field"] == "subscriber.email" and org_a.ids["subscriber"] in body["message"]
    assert fingerprint(org_a.tenant_id) == before
    # Once unsubscribed, the address may subscribe again.
    admin_client.delete(url(org_a, f"/{org_a.ids['subscriber']}"), headers=auth(org_a))
    assert create(admin_client, org_a, email="reader@acme.test")["state"] == "unconfirmed"


def test_a_form_encoded_subscriber_is_accepted(admin_client, org_a):
    response = admin_client.post(
        url(org_a),
        data={
            "subscriber[email]": "form@example.test",
            "subscriber[skip_confirmation_notification]": "true",
            "subscriber[component_ids][]": [org_a.ids["component"], org_a.ids["component_web"]],
        },
        headers=auth(org_a),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "active"
    assert body["components"] == sorted([org_a.ids["component"], org_a.ids["component_web"]])


# --- lists and counts ------------------------------------------------------------------------------


@pytest.fixture
def population(admin_client, org_a) -> dict[str, str]:
    """Subscribers of A in every state: the factory's active reader plus these."""
    ids = {"reader": org_a.ids["subscriber"]}
    ids["alpha"] = create(
        admin_client, org_a, email="alpha@example.test", skip_confirmation_notification=True
    )["id"]
    ids["zulu"] = create(admin_client, org_a, email="zulu@example.test", skip_confirmation_notification=True)[
        "id"
    ]
    ids["pending"] = create(admin_client, org_a, email="pending@example.test")["id"]
    ids["sms"] = create(admin_client, org_a, phone_number=PHONE, skip_confirmation_notification=True)["id"]
    ids["hook"] = create(admin_client, org_a, endpoint="https://hooks.example.test/alpha")["id"]
    ids["sick"] = create(admin_client, org_a, email="sick@example.test", skip_confirmation_notification=True)[
        "id"
    ]
    ids["gone"] = create(admin_client, org_a, email="gone@example.test", skip_confirmation_notification=True)[
        "id"
    ]
    with tenant_session(org_a.tenant_id) as s:
        sick = s.get(Subscriber, ids["sick"])
        sick.quarantined_at = utcnow() - timedelta(days=1)
        sick.purge_at = utcnow() + timedelta(days=29)
        s.commit()
    admin_client.delete(url(org_a, f"/{ids['gone']}"), headers=auth(org_a))
    return ids


def test_the_list_shows_active_subscribers_by_address_unless_asked_otherwise(admin_client, org_a, population):
    ids = population
    names = {value: key for key, value in ids.items()}
    active = [names[item["id"]] for item in listed(admin_client, org_a)]
    # By address: emails, the phone number and the webhook's URL sort together.
    assert active == ["sms", "alpha", "hook", "reader", "zulu"]
    assert [names[i["id"]] for i in listed(admin_client, org_a, sort_direction="desc")] == active[::-1]
    assert [names[i["id"]] for i in listed(admin_client, org_a, state="unconfirmed")] == ["pending"]
    assert [names[i["id"]] for i in listed(admin_client, org_a, state="quarantined")] == ["sick"]
    assert [names[i["id"]] for i in listed(admin_client, org_a, state="unsubscribed")] == ["gone"]
    everyone = {names[i["id"]] for i in listed(admin_client, org_a, state="all")}
    assert everyone == {"reader", "alpha", "zulu", "pending", "sms", "hook", "sick"}
    quarantined = listed(admin_client, org_a, state="quarantined")[0]
    assert quarantined["state"] == "quarantined" and quarantined["quarantined_at"] and quarantined["purge_at"]


def test_the_list_filters_by_type_and_searches_addresses(admin_client, org_a, population):
    ids = population
    names = {value: key for key, value in ids.items()}
    assert [names[i["id"]] for i in listed(admin_client, org_a, type="sms")] == ["sms"]
    assert [names[i["id"]] for i in listed(admin_client, org_a, type="webhook")] == ["hook"]
    assert listed(admin_client, org_a, type="integration_partner") == []
    assert {names[i["id"]] for i in listed(admin_client, org_a, q="ALPHA", state="all")} == {"alpha", "hook"}
    assert [names[i["id"]] for i in listed(admin_client, org_a, q="415 555")] == ["sms"]
    assert listed(admin_client, org_a, q="100%") == []
    names[
        create(admin_client, org_a, email="aalpha@example.test", skip_confirmation_notification=True)["id"]
    ] = "aalpha"
    by_address = listed(admin_client, org_a, q="alpha@example.test")
    assert [names[i["id"]] for i in by_address] == ["aalpha", "alpha"]
    relevant = listed(admin_client, org_a, q="alpha@example.test", sort_field="relevance")
    assert [names[i["id"]] for i in relevant] == ["alpha", "aalpha"]
    by_prefix = listed(admin_client, org_a, q="https://hooks", sort_field="relevance", state="all")
    assert [names[i["id"]] for i in by_prefix] == ["hook"]


def test_the_list_sorts_by_creation_and_quarantine_time(admin_client, org_a, population):
    ids = population
    names = {value: key for key, value in ids.items()}
    created = [names[i["id"]] for i in listed(admin_client, org_a, sort_field="created_at", state="all")]
    assert created == ["reader", "alpha", "zulu", "pending", "sms", "hook", "sick"]
    newest = [
        names[i["id"]]
        for i in listed(admin_client, org_a, sort_field="created_at", sort_direction="desc", state="all")
    ]
    assert newest == created[::-1]
    by_quarantine = listed(admin_client, org_a, sort_field="quarantined_at", state="all")
    assert names[by_quarantine[0]["id"]] == "sick"


def test_the_list_is_paged_from_zero_with_limit_or_per_page(admin_client, org_a, population):
    everyone = [i["id"] for i in listed(admin_client, org_a, state="all", sort_field="created_at")]
    first = [i["id"] for i in listed(admin_client, org_a, state="all", sort_field="created_at", limit=3)]
    second = [
        i["id"] for i in listed(admin_client, org_a, state="all", sort_field="created_at", limit=3, page=1)
    ]
    third = [
        i["id"] for i in listed(admin_client, org_a, state="all", sort_field="created_at", per_page=3, page=2)
    ]
    assert first + second + third == everyone and len(third) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "asleep"}, "state"),
        ({"type": "pigeon"}, "type"),
        ({"sort_field": "relevance"}, "sort_field"),
        ({"sort_field": "name"}, "sort_field"),
        ({"sort_direction": "up"}, "sort_direction"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": "-1"}, "page"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(admin_client, org_a, params, field):
    response = admin_client.get(url(org_a), query_string=params, headers=auth(org_a))
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_counts_by_type_and_the_histogram_by_state(admin_client, org_a, population):
    def count(**params: str) -> dict[str, int]:
        response = admin_client.get(url(org_a, "/count"), query_string=params, headers=auth(org_a))
        assert response.status_code == 200
        return response.get_json()

    zero = {"email": 0, "sms": 0, "webhook": 0, "integration_partner": 0, "slack": 0, "teams": 0}
    assert count() == {**zero, "email": 3, "sms": 1, "webhook": 1}
    assert count(state="all") == {**zero, "email": 5, "sms": 1, "webhook": 1}
    assert count(state="unconfirmed") == {**zero, "email": 1}
    assert count(type="email", state="quarantined") == {**zero, "email": 1}
    assert count(type="sms") == {**zero, "sms": 1}
    assert count(type="integration_partner") == zero

    response = admin_client.get(url(org_a, "/histogram_by_state"), headers=auth(org_a))
    assert response.status_code == 200
    nothing = {"active": 0, "unconfirmed": 0, "quarantined": 0, "total": 0}
    assert response.get_json() == {
        "email": {"active": 3, "unconfirmed": 1, "quarantined": 1, "total": 5},
        "sms": {**nothing, "active": 1, "total": 1},
        "webhook": {**nothing, "active": 1, "total": 1},
        "integration_partner": nothing,
        "slack": nothing,
        "teams": nothing,
    }


def test_the_unsubscribed_list_is_newest_first_and_paged(admin_client, org_a, population):
    admin_client.delete(url(org_a, f"/{population['zulu']}"), headers=auth(org_a))
    names = {value: key for key, value in population.items()}
    assert [names[i["id"]] for i in listed(admin_client, org_a, "/unsubscribed")] == ["zulu", "gone"]
    assert [names[i["id"]] for i in listed(admin_client, org_a, "/unsubscribed", per_page=1, page=2)] == [
        "gone"
    ]
    assert all(i["state"] == "unsubscribed" for i in listed(admin_client, org_a, "/unsubscribed"))


# --- one subscriber --------------------------------------------------------------------------------


def test_deleting_unsubscribes_and_mails_a_notice_unless_skipped(admin_client, org_a, mail, run_jobs):
    response = admin_client.delete(url(org_a, f"/{org_a.ids['subscriber']}"), headers=auth(org_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == org_a.ids["subscriber"] and body["state"] == "unsubscribed"
    assert stored(org_a, body["id"]).unsubscribed_at is not None
    assert actions(org_a, body["id"])[-1] == "subscriber.unsubscribed"
    run_jobs()
    [notice] = mail.messages
    assert notice["To"] == "reader@acme.test" and "unsubscribed" in notice["Subject"]
    # Deleting again changes nothing and tells no one again.
    again = admin_client.delete(url(org_a, f"/{org_a.ids['subscriber']}"), headers=auth(org_a))
    assert again.status_code == 200 and again.get_json()["state"] == "unsubscribed"
    assert run_jobs() == 0

    quiet = create(admin_client, org_a, email="quiet@example.test", skip_confirmation_notification=True)
    admin_client.delete(
        url(org_a, f"/{quiet['id']}"),
        query_string={"skip_unsubscription_notification": "true"},
        headers=auth(org_a),
    )
    assert run_jobs() == 0 and len(mail.messages) == 1


def test_patching_components_chooses_them_and_leaving_them_out_follows_the_whole_page(admin_client, org_a):
    subscriber_url = url(org_a, f"/{org_a.ids['subscriber']}")
    both = [org_a.ids["component"], org_a.ids["component_web"]]
    response = admin_client.patch(subscriber_url, json={"component_ids": both}, headers=auth(org_a))
    assert response.status_code == 200 and response.get_json()["components"] == sorted(both)
    enveloped = {"subscriber": {"component_ids": [org_a.ids["component_web"]]}}
    response = admin_client.patch(subscriber_url, json=enveloped, headers=auth(org_a))
    assert response.get_json()["components"] == [org_a.ids["component_web"]]
    assert actions(org_a, org_a.ids["subscriber"]).count("subscriber.components_updated") == 2
    response = admin_client.patch(subscriber_url, json={}, headers=auth(org_a))
    assert response.status_code == 200 and response.get_json()["components"] == []
    before = settled(admin_client, org_a)
    for bad, field in (
        ({"component_ids": []}, "component_ids"),
        ({"component_ids": ["nosuchcompon"]}, "component_ids"),
        ({"subscriber": {"component_ids": ["nosuchcompon"]}}, "subscriber.component_ids"),
    ):
        response = admin_client.patch(subscriber_url, json=bad, headers=auth(org_a))
        assert response.status_code == 422 and response.get_json()["field"] == field
    assert fingerprint(org_a.tenant_id) == before


def test_resending_one_confirmation_mails_a_new_link_and_a_confirmed_subscriber_is_a_conflict(
    admin_client, org_a, mail, run_jobs
):
    body = create(admin_client, org_a, email="twice@example.test")
    response = admin_client.post(url(org_a, f"/{body['id']}/resend_confirmation"), headers=auth(org_a))
    assert response.status_code == 201 and response.get_data() == b""
    assert run_jobs() == 2
    assert [m["To"] for m in mail.messages] == ["twice@example.test"] * 2
    assert actions(org_a, body["id"]) == ["subscriber.created", "subscriber.confirmation_sent"]
    before = settled(admin_client, org_a)
    response = admin_client.post(
        url(org_a, f"/{org_a.ids['subscriber']}/resend_confirmation"), headers=auth(org_a)
    )
    assert response.status_code == 409 and "confirmed already" in response.get_json()["message"]
    assert fingerprint(org_a.tenant_id) == before


# --- bulk changes ----------------------------------------------------------------------------------


def test_bulk_unsubscribe_takes_ids_as_text_or_list_and_filters_by_type(
    admin_client, org_a, population, mail, run_jobs
):
    ids = population
    run_jobs()
    mail.messages.clear()
    response = admin_client.post(
        url(org_a, "/unsubscribe"),
        json={
            "subscribers": f"{ids['alpha']}, {ids['sms']}",
            "type": "email",
            "skip_unsubscription_notification": True,
        },
        headers=auth(org_a),
    )
    assert response.status_code == 201 and response.get_data() == b""
    assert stored(org_a, ids["alpha"]).state is SubscriberState.UNSUBSCRIBED
    assert stored(org_a, ids["sms"]).state is SubscriberState.ACTIVE
    response = admin_client.post(
        url(org_a, "/unsubscribe"), json={"subscribers": [ids["sms"], ids["zulu"]]}, headers=auth(org_a)
    )
    assert response.status_code == 201
    assert stored(org_a, ids["sms"]).state is SubscriberState.UNSUBSCRIBED
    run_jobs()
    assert [m["To"] for m in mail.messages if "unsubscribed" in m["Subject"]] == ["zulu@example.test"]


def test_bulk_unsubscribe_of_all_takes_the_state_asked_and_refuses_more_than_100(
    admin_client, org_a, population
):
    ids = population
    response = admin_client.post(
        url(org_a, "/unsubscribe"), json={"subscribers": "all", "state": "unconfirmed"}, headers=auth(org_a)
    )
    assert response.status_code == 201
    assert stored(org_a, ids["pending"]).state is SubscriberState.UNSUBSCRIBED
    assert stored(org_a, ids["alpha"]).state is SubscriberState.ACTIVE
    with tenant_session(org_a.tenant_id) as s:
        s.add_all(
            Subscriber(
                page_id=org_a.page_id,
                channel=Channel.EMAIL,
                email=f"bulk{n}@example.test",
                confirmed_at=utcnow(),
            )
            for n in range(100)
        )
        s.commit()
    before = settled(admin_client, org_a)
    response = admin_client.post(url(org_a, "/unsubscribe"), json={"subscribers": "all"}, headers=auth(org_a))
    assert response.status_code == 422 and response.get_json()["field"] == "subscribers"
    assert fingerprint(org_a.tenant_id) == before


def test_bulk_reactivate_brings_back_the_quarantined_and_the_listed_unsubscribed(
    admin_client, org_a, population
):
    ids = population
    response = admin_client.post(url(org_a, "/reactivate"), json={"subscribers": "all"}, headers=auth(org_a))
    assert response.status_code == 201 and response.get_data() == b""
    sick = stored(org_a, ids["sick"])
    assert sick.state is SubscriberState.ACTIVE and sick.purge_at is None
    assert stored(org_a, ids["gone"]).state is SubscriberState.UNSUBSCRIBED
    response = admin_client.post(
        url(org_a, "/reactivate"), json={"subscribers": ids["gone"], "type": "sms"}, headers=auth(org_a)
    )
    assert response.status_code == 201 and stored(org_a, ids["gone"]).state is SubscriberState.UNSUBSCRIBED
    response = admin_client.post(
        url(org_a, "/reactivate"), json={"subscribers": [ids["gone"]]}, headers=auth(org_a)
    )
    assert response.status_code == 201 and stored(org_a, ids["gone"]).state is SubscriberState.ACTIVE
    assert actions(org_a, ids["gone"])[-1] == "subscriber.reactivated"


def test_bulk_resend_reaches_only_unconfirmed_subscribers(admin_client, org_a, population, mail, run_jobs):
    ids = population
    run_jobs()
    mail.messages.clear()
    other = create(admin_client, org_a, email="other@example.test")["id"]
    run_jobs()
    mail.messages.clear()
    response = admin_client.post(
        url(org_a, "/resend_confirmation"),
        json={"subscribers": [ids["pending"], ids["alpha"]]},
        headers=auth(org_a),
    )
    assert response.status_code == 201
    run_jobs()
    assert [m["To"] for m in mail.messages] == ["pending@example.test"]
    mail.messages.clear()
    response = admin_client.post(
        url(org_a, "/resend_confirmation"), json={"subscribers": "all"}, headers=auth(org_a)
    )
    assert response.status_code == 201
    run_jobs()
    assert sorted(m["To"] for m in mail.messages) == ["other@example.test", "pending@example.test"]
    assert actions(org_a, other)[-1] == "subscriber.confirmation_sent"


@pytest.mark.parametrize("path", ["/unsubscribe", "/reactivate", "/resend_confirmation"])
@pytest.mark.parametrize(
    "payload",
    [{}, {"subscribers": ""}, {"subscribers": 5}, {"subscribers": ["nosuchsubsc"]}, {"subscribers": "a,b,%"}],
    ids=["missing", "empty", "number", "unknown", "malformed"],
)
def test_bulk_changes_refuse_bad_lists_and_write_nothing(admin_client, org_a, path, payload):
    before = settled(admin_client, org_a)
    response = admin_client.post(url(org_a, path), json=payload, headers=auth(org_a))
    assert response.status_code == 422 and response.get_json()["field"] == "subscribers"
    assert fingerprint(org_a.tenant_id) == before


def test_bulk_changes_refuse_more_than_100_ids(admin_client, org_a):
    ids = ",".join(f"id{n:010d}" for n in range(101))
    response = admin_client.post(url(org_a, "/unsubscribe"), json={"subscribers": ids}, headers=auth(org_a))
    assert response.status_code == 422 and "at most 100" in response.get_json()["message"]


# --- subscribers of one incident -------------------------------------------------------------------


def test_incident_subscribers_are_created_listed_reconfirmed_and_unsubscribed(
    admin_client, org_a, mail, run_jobs
):
    base = f"/v1/pages/{org_a.page_id}/incidents/{org_a.ids['incident']}/subscribers"
    response = admin_client.post(
        base, json={"subscriber": {"email": "watcher@example.test"}}, headers=auth(org_a)
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["incident_id"] == org_a.ids["incident"] and body["state"] == "unconfirmed"
    run_jobs()
    assert "Acme outage" in mail.messages[0].get_body(("plain",)).get_content()

    listed_ids = [i["id"] for i in admin_client.get(base, headers=auth(org_a)).get_json()]
    assert listed_ids == [body["id"]]
    # Page lists and counts are of the page's own subscribers, not those of single incidents.
    assert body["id"] not in [i["id"] for i in listed(admin_client, org_a, state="all")]
    got = admin_client.get(f"{base}/{body['id']}", headers=auth(org_a))
    assert got.status_code == 200 and got.get_json()["email"] == "watcher@example.test"
    resent = admin_client.post(f"{base}/{body['id']}/resend_confirmation", headers=auth(org_a))
    assert resent.status_code == 201
    run_jobs()
    assert len(mail.messages) == 2

    duplicate = admin_client.post(
        base, json={"subscriber": {"email": "watcher@example.test"}}, headers=auth(org_a)
    )
    assert duplicate.status_code == 409
    deleted = admin_client.delete(f"{base}/{body['id']}", headers=auth(org_a))
    assert deleted.status_code == 200 and deleted.get_json()["state"] == "unsubscribed"
    assert admin_client.get(base, headers=auth(org_a)).get_json() == []

    sms = admin_client.post(
        base,
        json={"subscriber": {"phone_number": PHONE, "skip_confirmation_notification": True}},
        headers=auth(org_a),
    )
    assert sms.status_code == 201 and sms.get_json()["state"] == "active"


def test_a_page_subscriber_is_not_found_under_an_incident(admin_client, org_a):
    base = f"/v1/pages/{org_a.page_id}/incidents/{org_a.ids['incident']}/subscribers"
    response = admin_client.get(f"{base}/{org_a.ids['subscriber']}", headers=auth(org_a))
    assert response.status_code == 404


def test_an_incident_subscriber_needs_an_email_or_a_phone_number(admin_client, org_a):
    base = f"/v1/pages/{org_a.page_id}/incidents/{org_a.ids['incident']}/subscribers"
    before = settled(admin_client, org_a)
    response = admin_client.post(
        base, json={"subscriber": {"endpoint": "https://hooks.example.test/x"}}, headers=auth(org_a)
    )
    assert response.status_code == 422 and response.get_json()["field"] == "subscriber.email"
    assert fingerprint(org_a.tenant_id) == before


# --- isolation -------------------------------------------------------------------------------------


def test_another_organizations_ids_are_404_and_change_nothing(admin_client, org_a, org_b):
    sub_b, incident_b = org_b.ids["subscriber"], org_b.ids["incident"]
    incident_a = org_a.ids["incident"]
    before_a, before_b = settled(admin_client, org_a), fingerprint(org_b.tenant_id)
    requests = [
        ("GET", url(org_a, f"/{sub_b}"), None),
        ("PATCH", url(org_a, f"/{sub_b}"), {"component_ids": [org_a.ids["component"]]}),
        ("DELETE", url(org_a, f"/{sub_b}"), None),
        ("POST", url(org_a, f"/{sub_b}/resend_confirmation"), None),
        ("GET", f"/v1/pages/{org_b.page_id}/subscribers", None),
        ("POST", f"/v1/pages/{org_b.page_id}/subscribers", {"subscriber": {"email": "x@example.test"}}),
        ("GET", f"/v1/pages/{org_b.page_id}/subscribers/count", None),
        ("GET", f"/v1/pages/{org_b.page_id}/subscribers/histogram_by_state", None),
        ("POST", f"/v1/pages/{org_b.page_id}/subscribers/unsubscribe", {"subscribers": "all"}),
        ("GET", f"/v1/pages/{org_a.page_id}/incidents/{incident_b}/subscribers", None),
        (
            "POST",
            f"/v1/pages/{org_a.page_id}/incidents/{incident_b}/subscribers",
            {"subscriber": {"email": "x@e.test"}},
        ),
        ("GET", f"/v1/pages/{org_a.page_id}/incidents/{incident_a}/subscribers/{sub_b}", None),
        ("DELETE", f"/v1/pages/{org_a.page_id}/incidents/{incident_a}/subscribers/{sub_b}", None),
        (
            "POST",
            f"/v1/pages/{org_a.page_id}/incidents/{incident_a}/subscribers/{sub_b}/resend_confirmation",
            None,
        ),
    ]
    for method, path, payload in requests:
        response = admin_client.open(path, method=method, json=payload, headers=auth(org_a))
        assert response.status_code == 404, (method, path, response.get_json())
    response = admin_client.post(
        url(org_a, "/unsubscribe"), json={"subscribers": [sub_b]}, headers=auth(org_a)
    )
    assert response.status_code == 422
    assert fingerprint(org_a.tenant_id) == before_a and fingerprint(org_b.tenant_id) == before_b


def test_the_openapi_document_describes_every_subscriber_operation(admin_client):
    document = admin_client.get("/v1/openapi.json").get_json()
    paths = document["paths"]
    assert set(paths["/pages/{page_id}/subscribers"]) == {"get", "post"}
    assert set(paths["/pages/{page_id}/subscribers/{subscriber_id}"]) == {"get", "patch", "delete"}
    assert paths["/pages/{page_id}/subscribers/unsubscribe"]["post"]["responses"]["201"] == {
        "description": "Done; no body."
    }
    schemas = document["components"]["schemas"]
    assert set(schemas["Subscriber"]["required"]) == SUBSCRIBER_KEYS
    assert schemas["Subscriber"]["additionalProperties"] is False
    assert set(schemas["SubscriberCountByType"]["properties"]) == {
        "email",
        "sms",
        "webhook",
        "integration_partner",
        "slack",
        "teams",
    }
    assert "SubscriberCountByTypeAndState" in schemas


def test_the_free_plan_has_no_sms_subscribers(admin_client, org_a, twilio, run_jobs):
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "free"
        s.commit()
    response = admin_client.post(
        url(org_a), json={"subscriber": {"phone_number": "+14155552671"}}, headers=auth(org_a)
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "subscriber.phone_number"
    assert "plan" in response.get_json()["message"]
    run_jobs()
    assert twilio.messages == []


def test_a_confirmation_is_resent_at_most_three_times_an_hour(admin_client, org_a, mail, run_jobs):
    created = create(admin_client, org_a, email="thrice@example.com")
    resend = url(org_a, f"/{created['id']}/resend_confirmation")
    statuses = [admin_client.post(resend, headers=auth(org_a)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = admin_client.post(resend, headers=auth(org_a))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    run_jobs()
    assert len([m for m in mail.messages if "thrice@example.com" in m["To"]]) == 4
