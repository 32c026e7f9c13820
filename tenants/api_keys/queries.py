"""Reads of management API keys, always of one organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.identity.models import ApiKey, User

PAGE_SIZE = 50


def keys_of(
    session: Session, tenant_id: str, *, search: str = "", page: int = 1
) -> tuple[list[tuple[ApiKey, str | None]], bool]:
    """One page of the organization's keys (live first, then newest), each with its creator's email.

    `search` matches the key's name or prefix. Also says whether more pages follow.
    """
    query = (
        select(ApiKey, User.email)
        .outerjoin(User, User.id == ApiKey.created_by_id)
        .where(ApiKey.tenant_id == tenant_id)
    )
    if search:
        query = query.where(
            ApiKey.name.icontains(search, autoescape=True) | ApiKey.prefix.startswith(search, autoescape=True)
        )
    rows = session.execute(
        query.order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    return [(key, email) for key, email in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def key_of(session: Session, tenant_id: str, key_id: str) -> ApiKey | None:
    """The organization's key `key_id`, or None (another organization's key looks the same)."""
    return session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id))
