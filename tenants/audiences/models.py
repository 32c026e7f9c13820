"""Audiences (one per private client) and viewers, the people who sign in to see them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from status_platform.db.base import (
    Base,
    CreatedAt,
    PublicId,
    Str255,
    TenantScoped,
    UpdatedAt,
    tenant_fk,
    tenant_join,
)


class Audience(TenantScoped, Base):
    """A group of viewers and the components they may see (Statuspage's page access group)."""

    __tablename__ = "audiences"
    __tenant_table_args__ = (tenant_fk(["page_id"], "pages"), sa.UniqueConstraint("page_id", "name"))

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[Str255]
    external_identifier: Mapped[str | None] = mapped_column(sa.String(255))
    # Viewers signing in with single sign-on join the audience whose domain their email has.
    email_domain: Mapped[str | None] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    component_links: Mapped[list[AudienceComponent]] = relationship(
        "AudienceComponent",
        primaryjoin=tenant_join("Audience", "AudienceComponent", "audience_id"),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    viewer_links: Mapped[list[AudienceViewer]] = relationship(
        "AudienceViewer",
        primaryjoin=tenant_join("Audience", "AudienceViewer", "audience_id"),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AudienceComponent(TenantScoped, Base):
    __tablename__ = "audience_components"
    __tenant_table_args__ = (
        tenant_fk(["audience_id"], "audiences"),
        tenant_fk(["component_id"], "components"),
        sa.UniqueConstraint("audience_id", "component_id"),
    )

    id: Mapped[PublicId]
    audience_id: Mapped[str] = mapped_column(sa.String(12))
    component_id: Mapped[str] = mapped_column(sa.String(12), index=True)


class Viewer(TenantScoped, Base):
    """A private client's account on one page (Statuspage's page access user)."""

    __tablename__ = "viewers"
    __tenant_table_args__ = (tenant_fk(["page_id"], "pages"), sa.UniqueConstraint("page_id", "email"))

    id: Mapped[PublicId]
    page_id: Mapped[str] = mapped_column(sa.String(12))
    email: Mapped[str] = mapped_column(sa.String(320))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    external_login: Mapped[str | None] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    # Secrets for the per-viewer feed URL and API token; stored hashed.
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    api_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    audience_links: Mapped[list[AudienceViewer]] = relationship(
        "AudienceViewer",
        primaryjoin=tenant_join("Viewer", "AudienceViewer", "viewer_id"),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AudienceViewer(TenantScoped, Base):
    __tablename__ = "audience_viewers"
    __tenant_table_args__ = (
        tenant_fk(["audience_id"], "audiences"),
        tenant_fk(["viewer_id"], "viewers"),
        sa.UniqueConstraint("audience_id", "viewer_id"),
    )

    id: Mapped[PublicId]
    audience_id: Mapped[str] = mapped_column(sa.String(12))
    viewer_id: Mapped[str] = mapped_column(sa.String(12), index=True)
