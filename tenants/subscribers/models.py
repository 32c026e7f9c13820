"""Subscribers, the notification outbox (NotificationEvent), and one Delivery per event and subscriber."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from status_platform.db.base import (
    Base,
    CreatedAt,
    PublicId,
    TenantScoped,
    UpdatedAt,
    enum_type,
    tenant_fk,
    tenant_join,
)


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"


class SubscriberState(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"
    ACTIVE = "active"
    QUARANTINED = "quarantined"
    UNSUBSCRIBED = "unsubscribed"


class Subscriber(TenantScoped, Base):
    """Someone told of incidents and maintenance on one channel, for a page, components or an incident.

    No component links means the whole page. `incident_id` narrows the subscription to one
    incident; `viewer_id`/`audience_id` bind it to what a private client may see.
    """

    __tablename__ = "subscribers"
    __tenant_table_args__ = (
        tenant_fk(["page_id"], "pages"),
        tenant_fk(["incident_id"], "incidents"),
        tenant_fk(["viewer_id"], "viewers"),
        tenant_fk(["audience_id"], "audiences"),
        sa.Index(None, "tenant_id", "page_id", "channel", "confirmed_at"),
        sa.Index(None, "tenant_id", "page_id", "email"),
    )

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    phone_number: Mapped[str | None] = mapped_column(sa.String(20))
    phone_country: Mapped[str | None] = mapped_column(sa.String(2))
    endpoint: Mapped[str | None] = mapped_column(sa.String(2000))
    # Webhook signing secret (HMAC-SHA256), shown to the subscriber when they subscribe.
    secret: Mapped[str | None] = mapped_column(sa.String(64))
    confirmation_code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    incident_id: Mapped[str | None] = mapped_column(sa.String(12))
    viewer_id: Mapped[str | None] = mapped_column(sa.String(12))
    audience_id: Mapped[str | None] = mapped_column(sa.String(12))
    confirmed_at: Mapped[datetime | None]
    quarantined_at: Mapped[datetime | None]
    quarantine_reason: Mapped[str | None] = mapped_column(sa.String(500))
    unsubscribed_at: Mapped[datetime | None]
    purge_at: Mapped[datetime | None]
    last_notified_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    component_links: Mapped[list[SubscriberComponent]] = relationship(
        "SubscriberComponent",
        primaryjoin=tenant_join("Subscriber", "SubscriberComponent", "subscriber_id"),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def state(self) -> SubscriberState:
        if self.unsubscribed_at is not None:
            return SubscriberState.UNSUBSCRIBED
        if self.quarantined_at is not None:
            return SubscriberState.QUARANTINED
        if self.confirmed_at is None:
            return SubscriberState.UNCONFIRMED
        return SubscriberState.ACTIVE

    @property
    def address(self) -> str:
        """Where the channel reaches the subscriber (a webhook's URL, not its contact email)."""
        if self.channel is Channel.EMAIL:
            return self.email or ""
        if self.channel is Channel.SMS:
            return self.phone_number or ""
        return self.endpoint or ""


class SubscriberComponent(TenantScoped, Base):
    __tablename__ = "subscriber_components"
    __tenant_table_args__ = (
        tenant_fk(["subscriber_id"], "subscribers"),
        tenant_fk(["component_id"], "components"),
        sa.UniqueConstraint("subscriber_id", "component_id"),
    )

    id: Mapped[PublicId]
    subscriber_id: Mapped[str] = mapped_column(sa.String(12))
    component_id: Mapped[str] = mapped_column(sa.String(12), index=True)


class EventKind(enum.StrEnum):
    INCIDENT_CREATED = "incident_created"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_RESOLVED = "incident_resolved"
    POSTMORTEM_PUBLISHED = "postmortem_published"
    MAINTENANCE_SCHEDULED = "maintenance_scheduled"
    MAINTENANCE_REMINDER = "maintenance_reminder"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_UPDATED = "maintenance_updated"
    MAINTENANCE_COMPLETED = "maintenance_completed"
    MAINTENANCE_RESCHEDULED = "maintenance_rescheduled"
    MAINTENANCE_CANCELLED = "maintenance_cancelled"
    COMPONENT_UPDATED = "component_updated"


class FanoutStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"


class NotificationEvent(TenantScoped, Base):
    """The outbox: written in the transaction of the change it announces, fanned out after commit."""

    __tablename__ = "notification_events"
    __tenant_table_args__ = (
        tenant_fk(["page_id"], "pages"),
        tenant_fk(["incident_id"], "incidents"),
        sa.Index(None, "fanout_status", "created_at"),
    )

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    incident_id: Mapped[str | None] = mapped_column(sa.String(12))
    incident_update_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("incident_updates.id", ondelete="SET NULL")
    )
    component_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("components.id", ondelete="SET NULL")
    )
    # The components the notice is about, frozen at the time of the change (for the filters).
    component_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fanout_status: Mapped[FanoutStatus] = mapped_column(enum_type(FanoutStatus), default=FanoutStatus.PENDING)
    fanout_cursor: Mapped[str | None] = mapped_column(sa.String(12))
    fanned_out_at: Mapped[datetime | None]
    # When set, the event is not delivered before this time (maintenance reminders).
    not_before: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(TenantScoped, Base):
    """One notice to one subscriber; unique per (event, subscriber) so nothing is sent twice."""

    __tablename__ = "deliveries"
    __tenant_table_args__ = (
        tenant_fk(["event_id"], "notification_events"),
        tenant_fk(["subscriber_id"], "subscribers"),
        sa.UniqueConstraint("event_id", "subscriber_id"),
        sa.Index(None, "status", "next_attempt_at"),
        sa.Index(None, "tenant_id", "subscriber_id", "created_at"),
        # The delivery workers' claim: an organization's due rows of one channel.
        sa.Index(None, "tenant_id", "channel", "next_attempt_at"),
    )

    id: Mapped[PublicId]
    event_id: Mapped[str] = mapped_column(sa.String(12))
    subscriber_id: Mapped[str] = mapped_column(sa.String(12))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_status_code: Mapped[int | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        "DeliveryAttempt",
        primaryjoin=tenant_join("Delivery", "DeliveryAttempt", "delivery_id"),
        order_by="DeliveryAttempt.attempted_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DeliveryAttempt(TenantScoped, Base):
    __tablename__ = "delivery_attempts"
    __tenant_table_args__ = (
        tenant_fk(["delivery_id"], "deliveries"),
        sa.Index(None, "tenant_id", "delivery_id", "attempted_at"),
    )

    id: Mapped[PublicId]
    delivery_id: Mapped[str] = mapped_column(sa.String(12))
    attempted_at: Mapped[datetime]
    is_success: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    duration_ms: Mapped[int | None]
