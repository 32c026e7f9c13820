"""Management API keys: made once, shown once, stored as a hash, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.identity.models import ApiKey

KEY_PREFIX = "sp_"


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # the only time the key exists in clear


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(
    session: Session,
    *,
    tenant_id: str,
    name: str,
    page_id: str | None = None,
    is_read_only: bool = False,
    created_by_id: str | None = None,
) -> IssuedKey:
    """Create a key for `tenant_id` and return it with its secret; flushes, never commits."""
    secret = KEY_PREFIX + secrets.token_urlsafe(30)
    api_key = ApiKey(
        tenant_id=tenant_id,
        page_id=page_id,
        name=name,
        prefix=secret[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(secret),
        is_read_only=is_read_only,
        created_by_id=created_by_id,
    )
    session.add(api_key)
    session.flush()
    return IssuedKey(api_key, secret)


def find_api_key(session: Session, secret: str) -> ApiKey | None:
    """The live (not revoked, organization active) key for `secret`, or None."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if api_key is None or api_key.revoked_at is not None or not api_key.tenant.is_active:
        return None
    return api_key
