"""Each page's dashboard: overall status, components, open incidents, maintenance, subscribers, notices."""

from __future__ import annotations

from status_platform.db.session import tenant_session
from tenants.pages.models import Page
from tenants.subscribers.models import Channel
from tenants.subscribers.services import add_subscriber
from tests.factories import ACTOR


def _dashboard(client, org) -> str:
    response = client.get(f"/t/{org.slug}/p/{org.page_id}/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_dashboard_shows_what_the_public_page_shows(staff_client, org_a):
    page = _dashboard(staff_client, org_a)
    # a major outage of one component, and the open incident's critical impact
    assert 'data-testid="overall-status">Major System Outage<' in page
    assert f"{org_a.name} outage" in page and "Identified" in page  # the open incident, its status
    assert f"{org_a.name} upgrade" in page  # the scheduled window
    assert f'href="http://{org_a.host}/"' in page  # the public page
    assert "Create incident" in page and "Schedule maintenance" in page


def test_the_dashboard_counts_subscribers_by_channel_and_state(staff_client, org_a):
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        add_subscriber(s, page, channel=Channel.EMAIL, address="new@acme.test", actor=ACTOR)
        add_subscriber(
            s, page, channel=Channel.WEBHOOK, address="https://hooks.acme.test/x", actor=ACTOR, confirmed=True
        )
        s.commit()
    html = _dashboard(staff_client, org_a)
    assert "<td>Email</td><td>1</td><td>1</td>" in html
    assert "<td>Webhook</td><td>1</td><td>0</td>" in html


def test_the_dashboard_lists_the_last_notifications_with_their_deliveries(staff_client, org_a):
    from sqlalchemy import select

    from tenants.subscribers.models import Delivery, DeliveryStatus, EventKind, NotificationEvent

    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        created = s.scalars(
            select(NotificationEvent).where(NotificationEvent.kind == EventKind.INCIDENT_CREATED)
        ).one()
        for i, status in enumerate((DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.FAILED)):
            reader = add_subscriber(s, page, channel=Channel.EMAIL, address=f"r{i}@acme.test", actor=ACTOR)
            s.add(
                Delivery(event_id=created.id, subscriber_id=reader.id, channel=Channel.EMAIL, status=status)
            )
        s.commit()
    html = _dashboard(staff_client, org_a)
    row = html[html.index(f"Incident created: {org_a.name} outage") :]
    assert row[: row.index("</tr>")].count("2 sent, 1 failed") == 1


def test_a_viewer_sees_statuses_as_words_without_controls(client_as, org_a):
    html = _dashboard(client_as("viewer"), org_a)
    assert "Create incident" not in html and "data-autosubmit" not in html
    assert 'class="status-major_outage">Major Outage' in html


def test_an_organization_with_several_pages_gets_an_overview(staff_client, org_a):
    from status_platform.identity.actor import Actor
    from status_platform.tenancy.models import Role, Tenant
    from tenants.pages.services import create_page

    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.flush()
        create_page(s, name="Acme EU", slug="acme-eu", actor=Actor(label="t", role=Role.OWNER))
        s.commit()
    html = staff_client.get(f"/t/{org_a.slug}/").get_data(as_text=True)
    assert "Acme EU" in html and "All Systems Operational" in html and org_a.name in html


def test_the_markdown_preview_is_sanitized(staff_client, org_a):
    from tests.conftest import post_form

    response = post_form(
        staff_client, f"/t/{org_a.slug}/preview", {"body": "**Fixed** <script>alert(1)</script>"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>Fixed</strong>" in html and "<script" not in html
