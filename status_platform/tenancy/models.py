"""Platform tables of tenancy: organizations, memberships, invitations, plans, and page routes.

None of these is TenantScoped: they are read before a tenant is known (host resolution, login,
API-key lookup) and carry no customer content.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from status_platform.db.base import Base, CreatedAt, PublicId, Str255, UpdatedAt, enum_type

if TYPE_CHECKING:
    from status_platform.config import Settings
    from status_platform.identity.models import User


class Role(enum.StrEnum):
    """Roles within an organization, weakest first."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class DomainStatus(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class SubscriptionStatus(enum.StrEnum):
    """Stripe's subscription states, plus "free" for an organization without a subscription."""

    FREE = "free"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    INCOMPLETE = "incomplete"


class Plan(Base):
    """What an organization may use; matched to a Stripe price."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[Str255]
    monthly_price_cents: Mapped[int] = mapped_column(default=0)
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(255))
    max_pages: Mapped[int] = mapped_column(default=1)
    max_components: Mapped[int] = mapped_column(default=25)
    max_subscribers: Mapped[int] = mapped_column(default=250)
    max_team_members: Mapped[int] = mapped_column(default=3)
    allows_custom_domain: Mapped[bool] = mapped_column(default=False)
    allows_audiences: Mapped[bool] = mapped_column(default=False)
    allows_sso: Mapped[bool] = mapped_column(default=False)
    allows_sms: Mapped[bool] = mapped_column(default=False)
    is_public: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class Tenant(Base):
    """An organization: the customer account that owns pages, staff and everything else."""

    __tablename__ = "tenants"

    id: Mapped[PublicId]
    name: Mapped[Str255]
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    plan_code: Mapped[str] = mapped_column(sa.ForeignKey("plans.code"), default="free")
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    subscription_status: Mapped[SubscriptionStatus] = mapped_column(
        enum_type(SubscriptionStatus), default=SubscriptionStatus.FREE
    )
    current_period_end: Mapped[datetime | None]
    # Staff single sign-on (OIDC), optional per organization.
    sso_issuer: Mapped[str | None] = mapped_column(sa.String(500))
    sso_client_id: Mapped[str | None] = mapped_column(sa.String(255))
    sso_client_secret: Mapped[str | None] = mapped_column(sa.String(500))
    sso_is_enabled: Mapped[bool] = mapped_column(default=False)
    sso_is_required: Mapped[bool] = mapped_column(default=False)
    sso_jit_domain: Mapped[str | None] = mapped_column(sa.String(255))
    sso_jit_role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.VIEWER)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    plan: Mapped[Plan] = relationship(lazy="joined")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", passive_deletes=True
    )
    routes: Mapped[list[PageRoute]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """A user's role in one organization; a user may belong to several."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[PublicId]
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role))
    created_at: Mapped[CreatedAt]

    tenant: Mapped[Tenant] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class Invitation(Base):
    """A pending invitation to join an organization; accepted through a signed, expiring link."""

    __tablename__ = "invitations"

    id: Mapped[PublicId]
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[Str255]
    role: Mapped[Role] = mapped_column(enum_type(Role))
    invited_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PageRoute(Base):
    """Where a page is served: its slug under PAGES_DOMAIN and, once verified, a custom domain.

    Host resolution reads this table before any tenant is bound, so it lives on the platform
    side; the page services keep it in step with the page in the same transaction.
    """

    __tablename__ = "page_routes"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"], ["pages.tenant_id", "pages.id"], ondelete="CASCADE"
        ),
    )

    page_id: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    custom_domain: Mapped[str | None] = mapped_column(sa.String(253), unique=True)
    domain_status: Mapped[DomainStatus] = mapped_column(enum_type(DomainStatus), default=DomainStatus.NONE)
    domain_token: Mapped[str | None] = mapped_column(sa.String(64))
    domain_verified_at: Mapped[datetime | None]
    domain_checked_at: Mapped[datetime | None]
    domain_failure_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    tenant: Mapped[Tenant] = relationship(back_populates="routes")

    @property
    def has_verified_domain(self) -> bool:
        return bool(self.custom_domain) and self.domain_status is DomainStatus.VERIFIED

    def public_url(self, settings: Settings) -> str:
        """The page's public address: its verified custom domain, else its subdomain."""
        return settings.page_url(self.slug, self.custom_domain if self.has_verified_domain else None)


class BillingEvent(Base):
    """A Stripe webhook event, recorded once so a redelivery is not applied twice."""

    __tablename__ = "billing_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="SET NULL"), index=True
    )
    event_type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[CreatedAt]


# Memberships and invitations name User: registering it here lets mappers configure whatever
# a process imports first (a worker may import only the job's module).
from status_platform.identity import models as _identity_models  # noqa: E402, F401
