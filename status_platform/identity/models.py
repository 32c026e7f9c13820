"""Platform tables of identity: staff users and management API keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from status_platform.db.base import Base, CreatedAt, PublicId, Str255, UpdatedAt

if TYPE_CHECKING:
    from status_platform.tenancy.models import Membership, Tenant


class User(Base):
    """A staff person, one global identity that may belong to several organizations."""

    __tablename__ = "users"

    id: Mapped[PublicId]
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Part of every session cookie: bumping it (password change, "sign out everywhere")
    # ends every session of the user at its next request.
    session_version: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # flask-login's protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiKey(Base):
    """A management API key of one organization, optionally limited to one page and to reads.

    Only a SHA-256 of the key is stored (keys are long random strings, so a slow hash adds
    nothing); `prefix` lets staff recognise a key in lists.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "page_id"], ["pages.tenant_id", "pages.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[PublicId]
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[str | None] = mapped_column(sa.String(12))
    name: Mapped[Str255]
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    is_read_only: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[CreatedAt]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    tenant: Mapped[Tenant] = relationship()
