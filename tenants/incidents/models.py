"""Incidents and scheduled maintenance, their updates, affected components, types and templates.

Maintenance is an Incident of kind ``maintenance`` (as in Statuspage's API, where both are
incidents): one timeline model, one set of updates, one set of notifications.
"""

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
    Str255,
    TenantScoped,
    UpdatedAt,
    enum_type,
    tenant_fk,
    tenant_join,
)
from tenants.components.models import Component, ComponentStatus


class IncidentKind(enum.StrEnum):
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"


class IncidentStatus(enum.StrEnum):
    """Both lifecycles, with Statuspage's wire values."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUSES


INCIDENT_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
)
MAINTENANCE_STATUSES = (
    IncidentStatus.SCHEDULED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.VERIFYING,
    IncidentStatus.COMPLETED,
)
CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, IncidentStatus.COMPLETED})


class Impact(enum.StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"

    @property
    def severity(self) -> int:
        return _IMPACT_SEVERITY[self]


_IMPACT_SEVERITY = {
    Impact.NONE: 0,
    Impact.MAINTENANCE: 1,
    Impact.MINOR: 2,
    Impact.MAJOR: 3,
    Impact.CRITICAL: 4,
}


class IncidentType(TenantScoped, Base):
    """A classification of incidents; each organization starts with Minor and Major."""

    __tablename__ = "incident_types"

    id: Mapped[PublicId]
    name: Mapped[str] = mapped_column(sa.String(100))
    color: Mapped[str] = mapped_column(sa.String(7), default="#f1c40f")
    position: Mapped[int] = mapped_column(default=1)
    is_retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Incident(TenantScoped, Base):
    __tablename__ = "incidents"
    __tenant_table_args__ = (
        tenant_fk(["page_id"], "pages"),
        tenant_fk(["incident_type_id"], "incident_types", ondelete=None),
        sa.Index(None, "tenant_id", "page_id", "kind", "status"),
        sa.Index(None, "tenant_id", "page_id", "started_at"),
        sa.Index(None, "kind", "status", "scheduled_for"),
    )

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    kind: Mapped[IncidentKind] = mapped_column(enum_type(IncidentKind), default=IncidentKind.INCIDENT)
    name: Mapped[Str255]
    status: Mapped[IncidentStatus] = mapped_column(enum_type(IncidentStatus))
    impact: Mapped[Impact] = mapped_column(enum_type(Impact), default=Impact.NONE)
    impact_override: Mapped[Impact | None] = mapped_column(enum_type(Impact))
    incident_type_id: Mapped[str | None] = mapped_column(sa.String(12))
    is_backfilled: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    monitoring_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    # Scheduled maintenance
    scheduled_for: Mapped[datetime | None]
    scheduled_until: Mapped[datetime | None]
    scheduled_remind_prior: Mapped[bool] = mapped_column(default=True)
    scheduled_reminded_at: Mapped[datetime | None]
    scheduled_auto_in_progress: Mapped[bool] = mapped_column(default=True)
    scheduled_auto_completed: Mapped[bool] = mapped_column(default=True)
    auto_transition_to_maintenance_state: Mapped[bool] = mapped_column(default=True)
    auto_transition_to_operational_state: Mapped[bool] = mapped_column(default=True)
    auto_transition_deliver_notifications_at_start: Mapped[bool] = mapped_column(default=True)
    auto_transition_deliver_notifications_at_end: Mapped[bool] = mapped_column(default=True)
    cancelled_at: Mapped[datetime | None]

    reminder_intervals: Mapped[str | None] = mapped_column(sa.String(100))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    # Postmortem
    postmortem_body: Mapped[str | None] = mapped_column(sa.Text)
    postmortem_body_updated_at: Mapped[datetime | None]
    postmortem_published_at: Mapped[datetime | None]
    postmortem_is_ignored: Mapped[bool] = mapped_column(default=False)
    postmortem_notified_subscribers: Mapped[bool] = mapped_column(default=False)

    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    updates: Mapped[list[IncidentUpdate]] = relationship(
        "IncidentUpdate",
        primaryjoin=tenant_join("Incident", "IncidentUpdate", "incident_id"),
        back_populates="incident",
        order_by="IncidentUpdate.display_at.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    affected: Mapped[list[IncidentComponent]] = relationship(
        "IncidentComponent",
        primaryjoin=tenant_join("Incident", "IncidentComponent", "incident_id"),
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    incident_type: Mapped[IncidentType | None] = relationship(
        IncidentType, primaryjoin=tenant_join("IncidentType", "Incident", "incident_type_id")
    )

    @property
    def is_open(self) -> bool:
        return not self.status.is_closed and self.cancelled_at is None


class IncidentComponent(TenantScoped, Base):
    """A component affected by an incident (or covered by a maintenance window)."""

    __tablename__ = "incident_components"
    __tenant_table_args__ = (
        tenant_fk(["incident_id"], "incidents"),
        tenant_fk(["component_id"], "components"),
        sa.UniqueConstraint("incident_id", "component_id"),
    )

    id: Mapped[PublicId]
    incident_id: Mapped[str] = mapped_column(sa.String(12))
    component_id: Mapped[str] = mapped_column(sa.String(12), index=True)

    incident: Mapped[Incident] = relationship(
        Incident,
        primaryjoin=tenant_join("Incident", "IncidentComponent", "incident_id"),
        back_populates="affected",
    )
    component: Mapped[Component] = relationship(
        Component, primaryjoin=tenant_join("Component", "IncidentComponent", "component_id")
    )


class IncidentUpdate(TenantScoped, Base):
    __tablename__ = "incident_updates"
    __tenant_table_args__ = (
        tenant_fk(["incident_id"], "incidents"),
        sa.Index(None, "tenant_id", "incident_id", "display_at"),
    )

    id: Mapped[PublicId]
    incident_id: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[IncidentStatus] = mapped_column(enum_type(IncidentStatus))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    display_at: Mapped[datetime]
    deliver_notifications: Mapped[bool] = mapped_column(default=True)
    author_user_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    incident: Mapped[Incident] = relationship(
        Incident,
        primaryjoin=tenant_join("Incident", "IncidentUpdate", "incident_id"),
        back_populates="updates",
    )
    component_changes: Mapped[list[IncidentUpdateComponent]] = relationship(
        "IncidentUpdateComponent",
        primaryjoin=tenant_join("IncidentUpdate", "IncidentUpdateComponent", "update_id"),
        back_populates="update",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class IncidentUpdateComponent(TenantScoped, Base):
    """A component status change recorded by an update (Statuspage's affected_components)."""

    __tablename__ = "incident_update_components"
    __tenant_table_args__ = (tenant_fk(["update_id"], "incident_updates"),)

    id: Mapped[PublicId]
    update_id: Mapped[str] = mapped_column(sa.String(12))
    # The timeline keeps the component's name even after the component is deleted.
    component_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("components.id", ondelete="SET NULL"), index=True
    )
    component_name: Mapped[Str255]
    old_status: Mapped[ComponentStatus | None] = mapped_column(enum_type(ComponentStatus))
    new_status: Mapped[ComponentStatus] = mapped_column(enum_type(ComponentStatus))

    update: Mapped[IncidentUpdate] = relationship(
        IncidentUpdate,
        primaryjoin=tenant_join("IncidentUpdate", "IncidentUpdateComponent", "update_id"),
        back_populates="component_changes",
    )


class Template(TenantScoped, Base):
    """A prepared incident or maintenance message, filled into the forms in one click."""

    __tablename__ = "templates"
    __tenant_table_args__ = (tenant_fk(["page_id"], "pages"),)

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    kind: Mapped[IncidentKind] = mapped_column(enum_type(IncidentKind), default=IncidentKind.INCIDENT)
    name: Mapped[Str255]
    title: Mapped[Str255]
    body: Mapped[str] = mapped_column(sa.Text, default="")
    update_status: Mapped[IncidentStatus | None] = mapped_column(enum_type(IncidentStatus))
    should_send_notifications: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    components: Mapped[list[TemplateComponent]] = relationship(
        "TemplateComponent",
        primaryjoin=tenant_join("Template", "TemplateComponent", "template_id"),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TemplateComponent(TenantScoped, Base):
    __tablename__ = "template_components"
    __tenant_table_args__ = (
        tenant_fk(["template_id"], "templates"),
        tenant_fk(["component_id"], "components"),
        sa.UniqueConstraint("template_id", "component_id"),
    )

    id: Mapped[PublicId]
    template_id: Mapped[str] = mapped_column(sa.String(12))
    component_id: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[ComponentStatus | None] = mapped_column(enum_type(ComponentStatus))
