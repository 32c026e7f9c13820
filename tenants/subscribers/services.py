"""Writes of subscribers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy.orm import Session

from status_platform.identity.actor import Actor
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.timeutil import utcnow
from tenants.audit.services import record_event
from tenants.incidents.services import load_components
from tenants.pages.models import Page
from tenants.subscribers.models import Channel, Subscriber, SubscriberComponent
from tenants.subscribers.schemas import clean_address


def add_subscriber(
    session: Session,
    page: Page,
    *,
    channel: Channel,
    address: str,
    actor: Actor,
    component_ids: Sequence[str] = (),
    contact_email: str | None = None,
    confirmed: bool = False,
    phone_country: str | None = None,
) -> Subscriber:
    """Add a subscriber to `page`; `confirmed` skips double opt-in (staff adding someone knowingly).

    No `component_ids` means every component. Staff need the admin role; a visitor subscribing
    themselves acts as the system. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "add subscribers")
    columns = clean_address(channel, address, phone_country=phone_country)
    if channel is Channel.WEBHOOK and contact_email:
        columns["email"] = clean_address(Channel.EMAIL, contact_email)["email"]
    components = load_components(session, page.id, list(component_ids))
    subscriber = Subscriber(
        page_id=page.id,
        channel=channel,
        secret=secrets.token_hex(32) if channel is Channel.WEBHOOK else None,
        confirmed_at=utcnow() if confirmed else None,
        **columns,
    )
    session.add(subscriber)
    session.flush()
    for component in components:
        subscriber.component_links.append(SubscriberComponent(component_id=component.id))
    record_event(
        session,
        actor,
        "subscriber.created",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=page.id,
        summary=f"Added {channel.value} subscriber",
    )
    session.flush()
    return subscriber
