"""The demo organization "Acme", built through the same services staff use.

Its page is audience-specific: anonymous visitors see the public components, and each retailer
client signs in to see its own stores as well. The demo viewers, buyer@northwind.test (audience
"Northwind Stores") and buyer@contoso.test (audience "Contoso Retail"), sign in at the page's
/login with the password "retail-demo-password".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from status_platform.identity.actor import Actor
from status_platform.timeutil import utcnow
from tenants.audiences.services import create_audience, create_viewer
from tenants.components.models import Component, ComponentStatus, ComponentVisibility
from tenants.components.services import create_component, create_group, set_component_status
from tenants.incidents.models import IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.maintenance.services import schedule_window
from tenants.organizations.services import NewOrganization, create_organization
from tenants.pages.models import Page
from tenants.pages.services import update_page_settings
from tenants.subscribers.models import Channel
from tenants.subscribers.services import add_subscriber

DEMO_NAME = "Acme"
DEMO_SLUG = "acme"
DEMO_OWNER_EMAIL = "owner@acme.test"
DEMO_OWNER_PASSWORD = "acme-demo-password"
ACTOR = Actor(label="demo seed", is_system=True)
# Each retailer sees only its own sites: (audience, email domain, its audience-only components).
RETAILERS = (
    ("Northwind Stores", "northwind.test", ("Northwind checkout", "Northwind store sync")),
    ("Contoso Retail", "contoso.test", ("Contoso checkout", "Contoso loyalty cards")),
)
DEMO_VIEWER_PASSWORD = "retail-demo-password"


@dataclass(frozen=True)
class PastIncident:
    title: str
    days_ago: int
    hour: int
    component: str
    status: ComponentStatus
    minutes: int
    updates: tuple[tuple[IncidentStatus, int, str], ...]  # (status, minutes after start, message)


PAST_INCIDENTS = (
    PastIncident(
        "Dashboard unavailable",
        41,
        14,
        "Dashboard",
        ComponentStatus.MAJOR_OUTAGE,
        25,
        (
            (IncidentStatus.INVESTIGATING, 0, "The dashboard is not loading. We are investigating."),
            (
                IncidentStatus.IDENTIFIED,
                9,
                "A failed deployment left the dashboard without its assets. Rolling back.",
            ),
            (IncidentStatus.RESOLVED, 25, "The rollback is complete and the dashboard is available again."),
        ),
    ),
    PastIncident(
        "Delayed webhook deliveries",
        12,
        8,
        "Webhooks",
        ComponentStatus.DEGRADED_PERFORMANCE,
        130,
        (
            (IncidentStatus.INVESTIGATING, 0, "Webhook deliveries are delayed by up to 20 minutes."),
            (
                IncidentStatus.MONITORING,
                70,
                "We added capacity to the delivery workers; the backlog is draining.",
            ),
            (IncidentStatus.RESOLVED, 130, "All delayed webhooks have been delivered."),
        ),
    ),
    PastIncident(
        "Elevated error rates on the REST API",
        3,
        17,
        "REST API",
        ComponentStatus.PARTIAL_OUTAGE,
        47,
        (
            (
                IncidentStatus.INVESTIGATING,
                0,
                "Some API requests fail with **HTTP 503**. We are looking into it.",
            ),
            (
                IncidentStatus.IDENTIFIED,
                12,
                "One database replica stopped answering; traffic is being moved off it.",
            ),
            (IncidentStatus.MONITORING, 31, "Error rates are back to normal. We are watching closely."),
            (IncidentStatus.RESOLVED, 47, "This incident has been resolved. A postmortem will follow."),
        ),
    ),
)


def _at(now: datetime, days_ago: int, hour: int) -> datetime:
    return (now - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_demo(session: Session) -> NewOrganization:
    """Create the Acme organization with components, history, an open incident, maintenance and subscribers.

    `session` must be bound to a fresh tenant id, as for create_organization. Flushes, never commits.
    """
    now = utcnow()
    org = create_organization(
        session,
        name=DEMO_NAME,
        slug=DEMO_SLUG,
        owner_email=DEMO_OWNER_EMAIL,
        owner_password=DEMO_OWNER_PASSWORD,
        actor=ACTOR,
        page_name="Acme Cloud",
    )
    # The demo shows every channel, SMS included, which the free plan does not have.
    org.tenant.plan_code = "business"
    session.flush()
    page = org.page
    page.headline = "Live status of Acme Cloud's services"
    components = _seed_components(session, page, since=now - timedelta(days=100))
    for past in PAST_INCIDENTS:
        _seed_past_incident(session, page, components, past, now)

    open_incident(
        session,
        page,
        name="Slow dashboard loading for some users",
        actor=ACTOR,
        status=IncidentStatus.INVESTIGATING,
        body="Some customers in Europe see the dashboard load slowly. We are investigating.",
        components={components["Dashboard"].id: ComponentStatus.DEGRADED_PERFORMANCE},
        deliver_notifications=False,
    )

    starts = _at(now, -3, 2)
    schedule_window(
        session,
        page,
        name="Database upgrade",
        actor=ACTOR,
        scheduled_for=starts,
        scheduled_until=starts + timedelta(hours=2),
        body="We are upgrading our primary database. The API and dashboard may be read-only for minutes.",
        component_ids=[components["REST API"].id, components["Dashboard"].id],
        deliver_notifications=False,
    )
    for address in ("ops@globex.test", "cto@initech.test", "alerts@hooli.test"):
        add_subscriber(session, page, channel=Channel.EMAIL, address=address, confirmed=True, actor=ACTOR)
    add_subscriber(session, page, channel=Channel.EMAIL, address="pending@umbrella.test", actor=ACTOR)
    add_subscriber(
        session,
        page,
        channel=Channel.EMAIL,
        address="api-watch@globex.test",
        confirmed=True,
        component_ids=[components["REST API"].id],
        actor=ACTOR,
    )
    add_subscriber(
        session,
        page,
        channel=Channel.WEBHOOK,
        address="https://hooks.initech.test/statuspage",
        contact_email="oncall@initech.test",
        confirmed=True,
        actor=ACTOR,
    )
    add_subscriber(session, page, channel=Channel.SMS, address="+14155552671", confirmed=True, actor=ACTOR)
    _seed_audiences(session, page, since=now - timedelta(days=100))
    session.flush()
    return org


def _seed_audiences(session: Session, page: Page, *, since: datetime) -> None:
    """Two retailer clients, each with its own stores (audience-only) and one viewer."""
    update_page_settings(session, page, actor=ACTOR, visibility="audience_specific")
    for name, domain, sites in RETAILERS:
        group = create_group(session, page, name=f"{name} sites", actor=ACTOR)
        components = [
            create_component(
                session,
                page,
                name=site,
                group=group,
                visibility=ComponentVisibility.AUDIENCE,
                actor=ACTOR,
                start_date=since.date(),
                created_at=since,
            )
            for site in sites
        ]
        audience = create_audience(
            session,
            page,
            actor=ACTOR,
            name=name,
            email_domain=domain,
            component_ids=[c.id for c in components],
        )
        create_viewer(
            session,
            page,
            actor=ACTOR,
            email=f"buyer@{domain}",
            audience_ids=[audience.id],
            password=DEMO_VIEWER_PASSWORD,
        )


def _seed_components(session: Session, page: Page, *, since: datetime) -> dict[str, Component]:
    api = create_group(
        session, page, name="API", description="Programmatic access to Acme Cloud", actor=ACTOR
    )
    web = create_group(
        session, page, name="Web", description="The dashboard and the public website", actor=ACTOR
    )
    specs: list[tuple[str, str, object]] = [
        ("REST API", "The v2 REST API at api.acme.test", api),
        ("Webhooks", "Outgoing event webhooks", api),
        ("Authentication", "Sign-in, tokens and single sign-on", api),
        ("Dashboard", "The web dashboard at app.acme.test", web),
        ("Marketing site", "www.acme.test", web),
        ("Email delivery", "Transactional email sent on your behalf", None),
        ("CDN", "Static assets and downloads", None),
    ]
    components = {}
    for name, description, group in specs:
        components[name] = create_component(
            session,
            page,
            name=name,
            description=description,
            group=group,
            actor=ACTOR,  # type: ignore[arg-type]
            start_date=since.date(),
            created_at=since,
        )
    return components


def _seed_past_incident(
    session: Session, page: Page, components: dict[str, Component], past: PastIncident, now: datetime
) -> None:
    start = _at(now, past.days_ago, past.hour)
    component = components[past.component]
    first_status, _, first_body = past.updates[0]
    incident = open_incident(
        session,
        page,
        name=past.title,
        actor=ACTOR,
        status=first_status,
        body=first_body,
        components={component.id: past.status},
        backfill_at=start,
    )
    for status, minutes, body in past.updates[1:]:
        changes = {component.id: ComponentStatus.OPERATIONAL} if status is IncidentStatus.RESOLVED else None
        post_update(
            session,
            incident,
            actor=ACTOR,
            status=status,
            body=body,
            components=changes,
            display_at=start + timedelta(minutes=minutes),
            deliver_notifications=False,
        )
    # The component's own history, which uptime is computed from.
    set_component_status(
        session,
        component,
        past.status,
        actor=ACTOR,
        incident_id=incident.id,
        at=start,
        deliver_notifications=False,
    )
    set_component_status(
        session,
        component,
        ComponentStatus.OPERATIONAL,
        actor=ACTOR,
        incident_id=incident.id,
        at=start + timedelta(minutes=past.minutes),
        deliver_notifications=False,
    )
