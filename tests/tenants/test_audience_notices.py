"""Notices name only what their recipient may see: public, audience and private-page subscribers.

Through the real pipeline (outbox, fan-out, RQ worker in burst mode), a real SMTP server
(aiosmtpd) and a loopback HTTP receiver standing in for webhook endpoints and Twilio. Every
captured message is searched, raw, for the names its recipient may not see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from email.message import EmailMessage
from urllib.parse import parse_qs, quote_plus

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.errors import ValidationError
from status_platform.tenancy.models import Tenant
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.services import (
    create_audience,
    create_viewer,
    deactivate_audience,
    set_viewer_audiences,
)
from tenants.audiences.visibility import PUBLIC, Sight, readers_of, visible_component_ids
from tenants.components.models import ComponentStatus, ComponentVisibility
from tenants.components.services import create_component, create_group
from tenants.incidents.models import Incident, IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.pages.models import Page, PageVisibility
from tenants.subscribers.fanout import eligible_subscribers, fan_out
from tenants.subscribers.links import Recipient
from tenants.subscribers.messages import load_notice, render_slack, render_teams
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EventKind,
    NotificationEvent,
    Subscriber,
)
from tenants.subscribers.services import add_subscriber
from tests.factories import ACTOR

SID = "AC" + "1" * 32
TWILIO_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture(autouse=True)
def _settings_active(admin_app) -> None:
    """Links are signed, and endpoints checked, with the active settings."""


@pytest.fixture
def channels(org_a, http_receiver, mail, worker_settings):
    """SMS through the receiver standing in for Twilio, on a plan that has SMS."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "startup"
        s.commit()
    http_receiver.body = json.dumps({"sid": "SM" + "2" * 32, "status": "queued"}).encode()
    worker_settings["settings"] = replace(
        worker_settings["settings"],
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_FROM="+15005550006",
        TWILIO_API_BASE=http_receiver.url,
    )
    return http_receiver


@dataclass
class Harbor:
    """A page with a public component, audience A's (in an audience-only group) and audience B's."""

    ids: dict[str, str]  # component and group ids by name
    audience_a: str
    audience_b: str
    viewer_a: str
    viewer_b: str


def build_harbor(org) -> Harbor:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        page.visibility = PageVisibility.AUDIENCE_SPECIFIC
        harbor = create_component(s, page, name="Harbor", actor=ACTOR)
        quay = create_group(s, page, name="Alpha Quay", actor=ACTOR)
        quay.visibility = ComponentVisibility.AUDIENCE
        alpha = create_component(
            s, page, name="Alpha Dock", group=quay, visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        bravo = create_component(
            s, page, name="Bravo Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
        )
        audience_a = create_audience(s, page, actor=ACTOR, name="Alpha shipping", component_ids=[alpha.id])
        audience_b = create_audience(s, page, actor=ACTOR, name="Bravo shipping", component_ids=[bravo.id])
        viewer_a = create_viewer(s, page, actor=ACTOR, email="va@alpha.test", audience_ids=[audience_a.id])
        viewer_b = create_viewer(s, page, actor=ACTOR, email="vb@bravo.test", audience_ids=[audience_b.id])
        s.commit()
        return Harbor(
            ids={
                "Harbor": harbor.id,
                "Alpha Quay": quay.id,
                "Alpha Dock": alpha.id,
                "Bravo Dock": bravo.id,
            },
            audience_a=audience_a.id,
            audience_b=audience_b.id,
            viewer_a=viewer_a.id,
            viewer_b=viewer_b.id,
        )


def subscribe(
    org, channel: Channel, address: str, *, audience_id=None, viewer_id=None, contact=None, components=()
) -> str:
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        subscriber = add_subscriber(
            s,
            page,
            channel=channel,
            address=address,
            confirmed=True,
            contact_email=contact,
            component_ids=list(components),
            viewer=s.get(Viewer, viewer_id) if viewer_id else None,
            actor=ACTOR,
        )
        subscriber.audience_id = audience_id
        s.commit()
        return subscriber.id


def created_event(session, incident_id: str) -> str:
    return session.scalar(
        select(NotificationEvent.id).where(
            NotificationEvent.incident_id == incident_id, NotificationEvent.kind == EventKind.INCIDENT_CREATED
        )
    )


def _header(request, name: str) -> str:
    return {key.lower(): value for key, value in request.headers.items()}.get(name.lower(), "")


def mail_texts(message: EmailMessage) -> list[str]:
    """The raw message (headers and both parts, as sent) and each part decoded."""
    plain = message.get_body(("plain",))
    markup = message.get_body(("html",))
    assert plain is not None and markup is not None
    return [message.as_bytes().decode(), plain.get_content(), markup.get_content()]


def sms_texts(request) -> list[str]:
    body = parse_qs(request.body.decode())["Body"][0]
    return [request.body.decode(), body]


def webhook_texts(request) -> list[str]:
    return [request.body.decode()]


def names_in(texts: list[str], names) -> set[str]:
    """Which of `names` appear anywhere in `texts` (as is, or form-encoded as an SMS carries them)."""
    return {name for name in names if any(name in text or quote_plus(name) in text for text in texts)}


EVERY_NAME = ("Harbor", "Alpha Quay", "Alpha Dock", "Bravo Dock")
SEES = {
    "public": {"Harbor"},
    "alpha": {"Harbor", "Alpha Quay", "Alpha Dock"},
    "bravo": {"Harbor", "Bravo Dock"},
}


def test_each_recipient_is_told_only_of_the_components_it_may_see_on_every_channel(
    org_a, channels, mail, run_jobs, connection, worker_settings
):
    receiver = channels
    run_jobs()
    place = build_harbor(org_a)
    ids = place.ids
    binding = {
        "public": {},
        "alpha": {"audience_id": place.audience_a},
        "bravo": {"viewer_id": place.viewer_b},
    }
    for who, bound in binding.items():
        subscribe(org_a, Channel.EMAIL, f"{who}@example.com", **bound)
        subscribe(org_a, Channel.WEBHOOK, f"{receiver.url}/hook/{who}", contact="ops@example.com", **bound)
    subscribe(org_a, Channel.SMS, "+14155550101")
    subscribe(org_a, Channel.SMS, "+14155550102", audience_id=place.audience_a)
    subscribe(org_a, Channel.SMS, "+14155550103", viewer_id=place.viewer_b)
    phones = {"public": "+14155550101", "alpha": "+14155550102", "bravo": "+14155550103"}
    # A viewer's subscription follows only what the viewer may see.
    with pytest.raises(ValidationError, match="may see"):
        subscribe(
            org_a, Channel.EMAIL, "nosy@example.com", viewer_id=place.viewer_b, components=[ids["Alpha Dock"]]
        )
    subscribe(org_a, Channel.EMAIL, "va@example.com", viewer_id=place.viewer_a)
    run_jobs()
    mail.messages.clear()
    receiver.requests.clear()
    # What each subscriber may read, for a whole batch in a fixed number of statements.
    with tenant_session(org_a.tenant_id) as s:
        bindings = s.execute(select(Subscriber.id, Subscriber.audience_id, Subscriber.viewer_id)).all()
        statements: list[str] = []

        def counted(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        sa.event.listen(connection, "before_cursor_execute", counted)
        readers = readers_of(s, bindings)
        sa.event.remove(connection, "before_cursor_execute", counted)
        assert len(statements) <= 2 and len(readers) == len(bindings) == 11
        sights = {(r.sight.audience_ids, r.bound) for r in readers.values()}
        assert sights == {
            (frozenset(), False),
            (frozenset({place.audience_a}), True),
            (frozenset({place.audience_b}), True),
        }

    with tenant_session(org_a.tenant_id) as s:
        incident = open_incident(
            s,
            s.get(Page, org_a.page_id),
            name="Tidal surge",
            actor=ACTOR,
            body="Crews are on it.",
            components={
                ids["Harbor"]: ComponentStatus.MAJOR_OUTAGE,
                ids["Alpha Dock"]: ComponentStatus.PARTIAL_OUTAGE,
                ids["Bravo Dock"]: ComponentStatus.DEGRADED_PERFORMANCE,
            },
        )
        s.commit()
        surge = incident.id
    run_jobs()

    def mails(address: str) -> list[EmailMessage]:
        return [m for m in mail.messages if m["To"] == address]

    def hooks(who: str, kind: str | None = None) -> list:
        found = [r for r in receiver.requests if r.path == f"/hook/{who}"]
        return [r for r in found if kind is None or _header(r, "X-StatusPlatform-Event") == kind]

    def texts_to(phone: str) -> list:
        return [
            r
            for r in receiver.requests
            if r.path == TWILIO_PATH and parse_qs(r.body.decode())["To"] == [phone]
        ]

    for who, sees in SEES.items():
        hidden_ids = {ids[name] for name in EVERY_NAME if name not in sees}
        (email,) = mails(f"{who}@example.com")
        assert "Tidal surge" in email["Subject"]
        assert names_in(mail_texts(email), EVERY_NAME) == sees, who
        (hook,) = hooks(who, "incident_created")
        payload = json.loads(hook.body)["incident"]
        leaves = {ids[name] for name in sees if name != "Alpha Quay"}
        assert {c["id"] for c in payload["components"]} == leaves, who
        assert {a["code"] for u in payload["incident_updates"] for a in u["affected_components"]} == leaves
        assert names_in(webhook_texts(hook), EVERY_NAME) == sees, who
        # Every request to the endpoint (the component changes' too) names nothing it may not see.
        for request in hooks(who):
            assert names_in(webhook_texts(request), EVERY_NAME) <= sees, (who, request.body)
            assert not any(hidden.encode() in request.body for hidden in hidden_ids), who
        (text,) = texts_to(phones[who])
        assert "Tidal surge" in sms_texts(text)[1]
        assert names_in(sms_texts(text), EVERY_NAME) == set(), who
    # The viewer of A, bound through its viewer, reads as audience A does.
    (va_mail,) = mails("va@example.com")
    assert names_in(mail_texts(va_mail), EVERY_NAME) == SEES["alpha"]
    # Slack and Teams render the same narrowed notice.
    with tenant_session(org_a.tenant_id) as s:
        event = s.get(NotificationEvent, created_event(s, surge))
        for sight, sees in (
            (PUBLIC, SEES["public"]),
            (Sight(audience_ids=frozenset({place.audience_a})), SEES["alpha"]),
            (Sight(audience_ids=frozenset({place.audience_b})), SEES["bravo"]),
        ):
            notice = load_notice(s, event, worker_settings["settings"], sight=sight)
            reader = Recipient("del000000001", "sub000000001", Channel.SLACK, None, None, None, None, None, 1)
            for body in (render_slack(notice, reader), render_teams(notice, reader)):
                assert names_in([body.decode()], EVERY_NAME) == sees, (sight, body)

    # A viewer removed from A after the fan-out, before the delivery: its notice about A's
    # component alone is not sent; audience A still hears of it.
    mail.messages.clear()
    receiver.requests.clear()
    with tenant_session(org_a.tenant_id) as s:
        lock = open_incident(
            s,
            s.get(Page, org_a.page_id),
            name="Lock gate jammed",
            actor=ACTOR,
            body="Gate 3.",
            components={ids["Alpha Dock"]: ComponentStatus.MAJOR_OUTAGE},
        )
        s.commit()
        event_id = created_event(s, lock.id)
    fan_out(org_a.tenant_id, event_id)
    with tenant_session(org_a.tenant_id) as s:
        set_viewer_audiences(s, s.get(Viewer, place.viewer_a), [], actor=ACTOR)
        s.commit()
    run_jobs()
    assert mails("va@example.com") == []
    assert [m["To"] for m in mail.messages] == ["alpha@example.com"]
    assert names_in(mail_texts(mail.messages[0]), EVERY_NAME) == SEES["alpha"] - {"Harbor"}
    with tenant_session(org_a.tenant_id) as s:
        va_subscriber = s.scalar(select(Subscriber.id).where(Subscriber.email == "va@example.com"))
        delivery = s.scalar(
            select(Delivery).where(Delivery.event_id == event_id, Delivery.subscriber_id == va_subscriber)
        )
        assert delivery.status is DeliveryStatus.CANCELLED
        assert delivery.last_error == "the subscriber may not see what it announced"

    # Audience A deactivated: the next notice tells its subscribers of the public component alone,
    # and the viewer removed from A reads as the public does; B is told of its own as before.
    mail.messages.clear()
    receiver.requests.clear()
    with tenant_session(org_a.tenant_id) as s:
        deactivate_audience(s, s.get(Audience, place.audience_a), actor=ACTOR)
        post_update(s, s.get(Incident, surge), actor=ACTOR, status=IncidentStatus.IDENTIFIED, body="Seawall.")
        s.commit()
    run_jobs()
    for address, sees in (
        ("alpha@example.com", SEES["public"]),
        ("va@example.com", SEES["public"]),
        ("public@example.com", SEES["public"]),
        ("bravo@example.com", SEES["bravo"]),
    ):
        (email,) = mails(address)
        assert "Identified" in email["Subject"]
        assert names_in(mail_texts(email), EVERY_NAME) == sees, address
    (hook,) = hooks("alpha", "incident_updated")
    assert names_in(webhook_texts(hook), EVERY_NAME) == {"Harbor"}
    assert ids["Alpha Dock"].encode() not in hook.body


def test_a_private_page_tells_only_subscribers_bound_to_a_viewer_or_an_audience(
    org_a, mail, http_receiver, run_jobs
):
    run_jobs()
    with tenant_session(org_a.tenant_id) as s:
        audience_id = s.scalar(select(Audience.id).where(Audience.name == "Acme client"))
        viewer_id = s.scalar(select(Viewer.id).where(Viewer.email == f"viewer@{org_a.slug}.test"))
    anyone = subscribe(org_a, Channel.EMAIL, "anyone@example.com")
    by_viewer = subscribe(org_a, Channel.EMAIL, "client@example.com", viewer_id=viewer_id)
    by_audience = subscribe(
        org_a,
        Channel.WEBHOOK,
        f"{http_receiver.url}/client",
        audience_id=audience_id,
        contact="ops@example.com",
    )
    components = {
        org_a.ids["component"]: ComponentStatus.MAJOR_OUTAGE,
        org_a.ids["component_web"]: ComponentStatus.PARTIAL_OUTAGE,
    }
    with tenant_session(org_a.tenant_id) as s:
        incident = open_incident(
            s, s.get(Page, org_a.page_id), name="Storm", actor=ACTOR, body="Wind.", components=components
        )
        s.commit()
        incident_id = incident.id
        event_id = created_event(s, incident_id)
    # Fanned out while the page was public, then the page made private: the delivery checks again.
    fan_out(org_a.tenant_id, event_id)
    with tenant_session(org_a.tenant_id) as s:
        s.get(Page, org_a.page_id).visibility = PageVisibility.PRIVATE
        s.commit()
    run_jobs()
    told = {m["To"] for m in mail.messages}
    assert told == {"client@example.com"}  # neither anyone@ nor the factory's unbound reader@
    assert [
        r.path for r in http_receiver.requests if "incident" in r.headers.get("X-StatusPlatform-Event", "")
    ] == ["/client"]
    with tenant_session(org_a.tenant_id) as s:
        refused = s.scalar(
            select(Delivery).where(Delivery.event_id == event_id, Delivery.subscriber_id == anyone)
        )
        assert refused.status is DeliveryStatus.CANCELLED
        assert "private" in refused.last_error

    # Once private, the fan-out itself leaves the unbound subscribers out.
    mail.messages.clear()
    with tenant_session(org_a.tenant_id) as s:
        post_update(
            s, s.get(Incident, incident_id), actor=ACTOR, status=IncidentStatus.RESOLVED, body="Calm."
        )
        s.commit()
        resolved = s.scalar(
            select(NotificationEvent.id).where(
                NotificationEvent.incident_id == incident_id,
                NotificationEvent.kind == EventKind.INCIDENT_RESOLVED,
            )
        )
    run_jobs()
    assert {m["To"] for m in mail.messages} == {"client@example.com"}
    with tenant_session(org_a.tenant_id) as s:
        reached = set(s.scalars(select(Delivery.subscriber_id).where(Delivery.event_id == resolved)))
    assert reached == {by_viewer, by_audience}


# Who hears of what, by subscriber and page visibility: "Open" is public, "Dock" audience A's,
# "Bay" audience B's; Z is an inactive audience holding both; viewer V is in A, viewer W (an
# inactive one) in A, viewer X in no audience. On a private page only the bound hear anything.
READERS = {
    "audience only": ({"audience": "A"}, "Open Dock", "Open Dock"),
    "viewer only": ({"viewer": "V"}, "Open Dock", "Open Dock"),
    "audience and viewer": ({"audience": "B", "viewer": "V"}, "Open Dock Bay", "Open Dock Bay"),
    "viewer of no audience": ({"viewer": "X"}, "Open", "Open"),
    "inactive audience": ({"audience": "Z"}, "Open", ""),
    "inactive audience, viewer": ({"audience": "Z", "viewer": "V"}, "Open Dock", "Open Dock"),
    "inactive viewer": ({"audience": "B", "viewer": "W"}, "", ""),
    "neither": ({}, "Open", ""),
}


def test_the_fan_out_and_the_delivery_read_a_subscriber_by_the_same_rule(org_a, connection):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        components = {
            "Open": create_component(s, page, name="Open Water", actor=ACTOR).id,
            "Dock": create_component(
                s, page, name="Dry Dock", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
            ).id,
            "Bay": create_component(
                s, page, name="Loading Bay", visibility=ComponentVisibility.AUDIENCE, actor=ACTOR
            ).id,
        }
        audiences = {
            "A": create_audience(s, page, actor=ACTOR, name="Dock users", component_ids=[components["Dock"]]),
            "B": create_audience(s, page, actor=ACTOR, name="Bay users", component_ids=[components["Bay"]]),
            "Z": create_audience(
                s, page, actor=ACTOR, name="Former", component_ids=[components["Dock"], components["Bay"]]
            ),
        }
        deactivate_audience(s, audiences["Z"], actor=ACTOR)
        viewers = {
            "V": create_viewer(s, page, actor=ACTOR, email="v@dock.test", audience_ids=[audiences["A"].id]),
            "W": create_viewer(s, page, actor=ACTOR, email="w@dock.test", audience_ids=[audiences["A"].id]),
            "X": create_viewer(s, page, actor=ACTOR, email="x@dock.test"),
        }
        viewers["W"].is_active = False
        by_name: dict[str, str] = {}
        for number, (name, (binding, _, _)) in enumerate(READERS.items()):
            subscriber = add_subscriber(
                s, page, channel=Channel.EMAIL, address=f"r{number}@example.com", confirmed=True, actor=ACTOR
            )
            subscriber.audience_id = audiences[binding["audience"]].id if "audience" in binding else None
            subscriber.viewer_id = viewers[binding["viewer"]].id if "viewer" in binding else None
            by_name[subscriber.id] = name
        s.flush()
        subscribers = list(s.scalars(select(Subscriber).where(Subscriber.id.in_(by_name))))
        statements: list[str] = []

        def counted(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        sa.event.listen(connection, "before_cursor_execute", counted)
        readers = readers_of(s, subscribers)
        sa.event.remove(connection, "before_cursor_execute", counted)
        assert len(statements) <= 2

        for visibility in PageVisibility:
            page.visibility = visibility
            s.flush()
            private = visibility is PageVisibility.PRIVATE
            for label, component_id in components.items():
                event = NotificationEvent(
                    page_id=page.id, kind=EventKind.INCIDENT_CREATED, component_ids=[component_id]
                )
                fanned = {
                    by_name[sid] for sid, _ in s.execute(eligible_subscribers(event)).all() if sid in by_name
                }
                delivered = {
                    by_name[sid]
                    for sid, reader in readers.items()
                    if reader.may_read(page_is_private=private)
                    and component_id in visible_component_ids(s, page.id, reader.sight)
                }
                expected = {
                    name
                    for name, (_, elsewhere, on_private) in READERS.items()
                    if label in (on_private if private else elsewhere).split()
                }
                assert fanned == delivered == expected, (visibility, label)
        # Bound: its sight holds an audience, or it has an active viewer; yet an inactive
        # viewer's subscriber hears nothing, its own audience's notices neither.
        assert {by_name[sid] for sid, r in readers.items() if r.bound} == {
            name for name, (_, _, on_private) in READERS.items() if on_private
        } | {"inactive viewer"}
        assert [by_name[sid] for sid, r in readers.items() if r.silenced] == ["inactive viewer"]
        assert {by_name[sid]: r.sight for sid, r in readers.items()}["audience and viewer"] == Sight(
            audience_ids=frozenset({audiences["A"].id, audiences["B"].id})
        )
