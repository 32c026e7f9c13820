"""The Page model: one public (or private) status page of an organization."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from status_platform.db.base import (
    Base,
    CreatedAt,
    PublicId,
    Str255,
    TenantScoped,
    UpdatedAt,
    enum_type,
    tenant_join,
)
from status_platform.tenancy.models import PageRoute

if TYPE_CHECKING:
    from tenants.components.models import Component, ComponentGroup


class PageVisibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    AUDIENCE_SPECIFIC = "audience_specific"


class Page(TenantScoped, Base):
    __tablename__ = "pages"

    id: Mapped[PublicId]
    name: Mapped[Str255]
    headline: Mapped[str] = mapped_column(sa.String(255), default="")
    page_description: Mapped[str] = mapped_column(sa.Text, default="")
    support_url: Mapped[str] = mapped_column(sa.String(500), default="")
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    visibility: Mapped[PageVisibility] = mapped_column(
        enum_type(PageVisibility), default=PageVisibility.PUBLIC
    )
    is_search_indexed: Mapped[bool] = mapped_column(default=True)

    # Subscriptions and feeds
    allow_page_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_incident_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_email_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_sms_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_webhook_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_slack_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_teams_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_rss_atom_feeds: Mapped[bool] = mapped_column(default=True)
    notifications_from_name: Mapped[str] = mapped_column(sa.String(255), default="")
    notifications_from_email: Mapped[str] = mapped_column(sa.String(320), default="")
    notifications_email_footer: Mapped[str] = mapped_column(sa.Text, default="")

    # Branding
    brand_color: Mapped[str] = mapped_column(sa.String(7), default="#2c6fbb")
    css_colors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    custom_css: Mapped[str] = mapped_column(sa.Text, default="")
    logo_data: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    logo_content_type: Mapped[str | None] = mapped_column(sa.String(64))
    logo_updated_at: Mapped[datetime | None]

    # What the page shows
    history_days: Mapped[int] = mapped_column(default=15)
    upcoming_maintenance_days: Mapped[int] = mapped_column(default=7)
    maintenance_reminder_minutes: Mapped[int] = mapped_column(default=60)

    # Viewer single sign-on (private and audience-specific pages)
    viewer_oidc_issuer: Mapped[str | None] = mapped_column(sa.String(500))
    viewer_oidc_client_id: Mapped[str | None] = mapped_column(sa.String(255))
    viewer_oidc_client_secret: Mapped[str | None] = mapped_column(sa.String(500))
    viewer_oidc_audience_claim: Mapped[str | None] = mapped_column(sa.String(100))
    viewer_oidc_is_enabled: Mapped[bool] = mapped_column(default=False)

    # Bumped by every write that changes what the page shows; keys the public snapshot.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    route: Mapped[PageRoute] = relationship(
        PageRoute, primaryjoin="Page.id == foreign(PageRoute.page_id)", uselist=False, viewonly=True
    )
    components: Mapped[list[Component]] = relationship(
        "Component",
        primaryjoin=tenant_join("Page", "Component", "page_id"),
        order_by="Component.position",
        viewonly=True,
    )
    groups: Mapped[list[ComponentGroup]] = relationship(
        "ComponentGroup",
        primaryjoin=tenant_join("Page", "ComponentGroup", "page_id"),
        order_by="ComponentGroup.position",
        viewonly=True,
    )
