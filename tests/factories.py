"""Factories: a fully populated organization, with a row in every tenant table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from status_platform.db.session import tenant_session
from status_platform.identity.actor import Actor
from status_platform.identity.apikeys import issue_api_key
from status_platform.ids import new_id
from status_platform.tenancy.models import Invitation, Membership, Role
from status_platform.timeutil import utcnow
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.components.models import ComponentStatus
from tenants.components.services import create_component, create_group
from tenants.incidents.models import IncidentStatus, IncidentType, Template, TemplateComponent
from tenants.incidents.services import open_incident, post_update
from tenants.maintenance.services import schedule_window
from tenants.monitors.models import Monitor, MonitorCheck
from tenants.organizations.services import create_organization
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    FanoutStatus,
    NotificationEvent,
)
from tenants.subscribers.services import add_subscriber

ACTOR = Actor(label="test", is_system=True)
PASSWORD = "correct horse battery"


@dataclass
class Organization:
    tenant_id: str
    slug: str
    name: str
    owner_email: str
    owner_password: str
    page_id: str
    api_key: str
    ids: dict[str, str] = field(default_factory=dict)  # one id per kind of object

    @property
    def host(self) -> str:
        return f"{self.slug}.pages.test"


def make_organization(slug: str, name: str) -> Organization:
    """Create and commit an organization named `name` whose objects all carry `name` in their names."""
    tenant_id = new_id()
    with tenant_session(tenant_id) as s:
        org = create_organization(
            s, name=name, slug=slug, owner_email=f"owner@{slug}.test", owner_password=PASSWORD, actor=ACTOR
        )
        page = org.page
        group = create_group(s, page, name=f"{name} API", actor=ACTOR)
        api = create_component(s, page, name=f"{name} REST", group=group, actor=ACTOR)
        web = create_component(s, page, name=f"{name} Web", actor=ACTOR)
        incident = open_incident(
            s,
            page,
            name=f"{name} outage",
            actor=ACTOR,
            body=f"{name} is down",
            components={api.id: ComponentStatus.MAJOR_OUTAGE},
        )
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.IDENTIFIED, body=f"{name} cause found")
        start = utcnow() + timedelta(days=2)
        window = schedule_window(
            s,
            page,
            name=f"{name} upgrade",
            actor=ACTOR,
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            component_ids=[web.id],
        )
        subscriber = add_subscriber(
            s,
            page,
            channel=Channel.EMAIL,
            address=f"reader@{slug}.test",
            component_ids=[api.id],
            confirmed=True,
            actor=ACTOR,
        )
        audience = Audience(page_id=page.id, name=f"{name} client")
        viewer = Viewer(page_id=page.id, email=f"viewer@{slug}.test")
        s.add_all([audience, viewer])
        s.flush()
        s.add_all(
            [
                AudienceComponent(audience_id=audience.id, component_id=api.id),
                AudienceViewer(audience_id=audience.id, viewer_id=viewer.id),
            ]
        )
        template = Template(
            page_id=page.id, name=f"{name} template", title=f"{name} degraded", body="We are on it"
        )
        s.add(template)
        s.flush()
        s.add(TemplateComponent(template_id=template.id, component_id=api.id))
        monitor = Monitor(
            page_id=page.id, component_id=web.id, name=f"{name} ping", target="https://example.test/"
        )
        s.add(monitor)
        s.flush()
        s.add(MonitorCheck(monitor_id=monitor.id, checked_at=utcnow(), is_up=True, latency_ms=12))
        event = s.scalars(
            select(NotificationEvent).where(NotificationEvent.incident_id == incident.id)
        ).first()
        assert event is not None
        delivery = Delivery(
            event_id=event.id,
            subscriber_id=subscriber.id,
            channel=Channel.EMAIL,
            status=DeliveryStatus.SENT,
            attempts=1,
            sent_at=utcnow(),
        )
        s.add(delivery)
        s.flush()
        s.add(
            DeliveryAttempt(delivery_id=delivery.id, attempted_at=utcnow(), is_success=True, status_code=250)
        )
        key = issue_api_key(s, tenant_id=tenant_id, name=f"{name} key")
        invitation = Invitation(
            tenant_id=tenant_id,
            email=f"invited@{slug}.test",
            role=Role.EDITOR,
            expires_at=utcnow() + timedelta(days=7),
        )
        s.add(invitation)
        s.flush()
        membership = s.scalars(select(Membership).where(Membership.tenant_id == tenant_id)).one()
        incident_type = s.scalars(select(IncidentType).order_by(IncidentType.position)).first()
        assert incident_type is not None
        # The organization's history is settled: its notices went out long ago (one delivery
        # above is recorded as sent), so nothing of its making is fanned out in a test.
        s.execute(update(NotificationEvent).values(fanout_status=FanoutStatus.DONE, fanned_out_at=utcnow()))
        s.info.pop("pending_jobs", None)
        s.commit()
        return Organization(
            tenant_id=tenant_id,
            slug=slug,
            name=name,
            owner_email=f"owner@{slug}.test",
            owner_password=PASSWORD,
            page_id=page.id,
            api_key=key.secret,
            ids={
                "group": group.id,
                "component": api.id,
                "component_web": web.id,
                "incident": incident.id,
                "update": incident.updates[0].id,
                "type": incident_type.id,
                "member": membership.id,
                "invitation": invitation.id,
                "api_key": key.api_key.id,
                "maintenance": window.id,
                "maintenance_update": window.updates[0].id,
                "subscriber": subscriber.id,
                "audience": audience.id,
                "viewer": viewer.id,
                "template": template.id,
                "monitor": monitor.id,
                "event": event.id,
                "delivery": delivery.id,
            },
        )
