"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from status_platform.db.base import Base, CreatedAt, PublicId, TenantScoped


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"
    __tenant_table_args__ = (sa.Index(None, "tenant_id", "created_at"),)

    id: Mapped[PublicId]
    # No foreign keys to what the event names: the log outlives deleted pages and objects.
    page_id: Mapped[str | None] = mapped_column(sa.String(12))
    actor_user_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    actor_api_key_id: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str] = mapped_column(sa.String(320), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[CreatedAt]
