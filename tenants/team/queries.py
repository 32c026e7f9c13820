"""Reads of an organization's team: its members, pending invitations and the seats they take.

Memberships and invitations are platform tables (not TenantScoped): every function here
filters them by the organization's id itself. Reads only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.identity.models import User
from status_platform.tenancy.models import Invitation, Membership, Role
from status_platform.timeutil import utcnow

PAGE_SIZE = 50


def is_pending(tenant_id: str) -> Any:
    """The condition of an invitation of `tenant_id` neither accepted, withdrawn nor run out."""
    return sa.and_(
        Invitation.tenant_id == tenant_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )


def seats_used(session: Session, tenant_id: str) -> int:
    """Members plus pending invitations: what the plan's `max_team_members` counts."""
    members = session.scalar(select(sa.func.count(Membership.id)).where(Membership.tenant_id == tenant_id))
    pending = session.scalar(select(sa.func.count(Invitation.id)).where(is_pending(tenant_id)))
    return int(members or 0) + int(pending or 0)


def list_members(
    session: Session, tenant_id: str, *, search: str = "", page: int = 1
) -> tuple[list[tuple[Membership, User]], bool]:
    """One page of the organization's members (owners first, then by email) and whether more follow."""
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id)
    )
    if search:
        query = query.where(
            sa.or_(
                User.email.icontains(search, autoescape=True), User.name.icontains(search, autoescape=True)
            )
        )
    rank = sa.case({role: -role.rank for role in Role}, value=Membership.role)
    rows = session.execute(
        query.order_by(rank, User.email).offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    pairs = [(membership, user) for membership, user in rows]
    return pairs[:PAGE_SIZE], len(pairs) > PAGE_SIZE


def list_invitations(
    session: Session, tenant_id: str, *, search: str = "", page: int = 1
) -> tuple[list[Invitation], bool]:
    """One page of invitations not accepted nor revoked (expired ones too, to resend), newest first."""
    query = select(Invitation).where(
        Invitation.tenant_id == tenant_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
    )
    if search:
        query = query.where(Invitation.email.icontains(search, autoescape=True))
    rows = list(
        session.scalars(
            query.order_by(Invitation.created_at.desc(), Invitation.id)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def membership_of(session: Session, tenant_id: str, user_id: str | None) -> Membership | None:
    """The membership of `user_id` in `tenant_id`, or None (also for a None user)."""
    if user_id is None:
        return None
    return session.scalar(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )
