"""Uptime monitors attached to components, and the results of their checks."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from status_platform.db.base import (
    Base,
    CreatedAt,
    PublicId,
    Str255,
    TenantScoped,
    UpdatedAt,
    enum_type,
    tenant_fk,
)


class MonitorKind(enum.StrEnum):
    HTTP = "http"
    TCP = "tcp"
    KEYWORD = "keyword"


class Monitor(TenantScoped, Base):
    __tablename__ = "monitors"
    __tenant_table_args__ = (tenant_fk(["page_id"], "pages"), tenant_fk(["component_id"], "components"))

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    component_id: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[Str255]
    kind: Mapped[MonitorKind] = mapped_column(enum_type(MonitorKind), default=MonitorKind.HTTP)
    target: Mapped[str] = mapped_column(sa.String(2000))
    http_method: Mapped[str] = mapped_column(sa.String(8), default="GET")
    expected_status: Mapped[int] = mapped_column(default=200)
    keyword: Mapped[str | None] = mapped_column(sa.String(255))
    interval_seconds: Mapped[int] = mapped_column(default=60)
    timeout_seconds: Mapped[int] = mapped_column(default=10)
    failure_threshold: Mapped[int] = mapped_column(default=3)
    degraded_latency_ms: Mapped[int | None]
    is_enabled: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_checked_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class MonitorCheck(TenantScoped, Base):
    __tablename__ = "monitor_checks"
    __tenant_table_args__ = (
        tenant_fk(["monitor_id"], "monitors"),
        sa.Index(None, "tenant_id", "monitor_id", "checked_at"),
    )

    id: Mapped[PublicId]
    monitor_id: Mapped[str] = mapped_column(sa.String(12))
    checked_at: Mapped[datetime]
    is_up: Mapped[bool]
    latency_ms: Mapped[int | None]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(1000))
