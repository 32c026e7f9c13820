"""Components, component groups, and each component's status history (the source of uptime)."""

from __future__ import annotations

import enum
from datetime import date, datetime

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


class ComponentStatus(enum.StrEnum):
    """Statuspage's five component statuses, best first; the order is the severity order."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def severity(self) -> int:
        return list(ComponentStatus).index(self)

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.UNDER_MAINTENANCE: "Under Maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded Performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial Outage",
    ComponentStatus.MAJOR_OUTAGE: "Major Outage",
}


class ComponentVisibility(enum.StrEnum):
    PUBLIC = "public"
    AUDIENCE = "audience"
    HIDDEN = "hidden"


class ComponentGroup(TenantScoped, Base):
    __tablename__ = "component_groups"
    __tenant_table_args__ = (tenant_fk(["page_id"], "pages"),)

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[Str255]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=1)
    visibility: Mapped[ComponentVisibility] = mapped_column(
        enum_type(ComponentVisibility), default=ComponentVisibility.PUBLIC
    )
    is_expanded_by_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    components: Mapped[list[Component]] = relationship(
        "Component",
        primaryjoin=tenant_join("ComponentGroup", "Component", "group_id"),
        back_populates="group",
        order_by="Component.position",
    )


class Component(TenantScoped, Base):
    __tablename__ = "components"
    __tenant_table_args__ = (
        tenant_fk(["page_id"], "pages"),
        # A group is emptied by its service before it is deleted: no silent ungrouping.
        tenant_fk(["group_id"], "component_groups", ondelete=None),
        sa.Index(None, "tenant_id", "page_id", "position"),
    )

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    group_id: Mapped[str | None] = mapped_column(sa.String(12))
    name: Mapped[Str255]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ComponentStatus] = mapped_column(
        enum_type(ComponentStatus), default=ComponentStatus.OPERATIONAL
    )
    position: Mapped[int] = mapped_column(default=1)
    visibility: Mapped[ComponentVisibility] = mapped_column(
        enum_type(ComponentVisibility), default=ComponentVisibility.PUBLIC
    )
    is_showcased: Mapped[bool] = mapped_column(default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    # Address of the component's automation mailbox (Statuspage's automation_email).
    automation_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    group: Mapped[ComponentGroup | None] = relationship(
        "ComponentGroup",
        primaryjoin=tenant_join("ComponentGroup", "Component", "group_id"),
        back_populates="components",
    )


class ComponentStatusChange(TenantScoped, Base):
    """One change of a component's status; uptime and the 90-day bars are computed from these."""

    __tablename__ = "component_status_changes"
    __tenant_table_args__ = (
        tenant_fk(["component_id"], "components"),
        sa.Index(None, "tenant_id", "component_id", "changed_at"),
    )

    id: Mapped[PublicId]
    component_id: Mapped[str] = mapped_column(sa.String(12))
    old_status: Mapped[ComponentStatus | None] = mapped_column(enum_type(ComponentStatus))
    new_status: Mapped[ComponentStatus] = mapped_column(enum_type(ComponentStatus))
    changed_at: Mapped[datetime]
    # History outlives the incident that caused it, hence a plain nullable reference.
    incident_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("incidents.id", ondelete="SET NULL")
    )
