"""What an organization's plan allows, read fresh for every check (a plan change shows at once)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.tenancy.models import Plan, Tenant


def plan_of(session: Session, tenant_id: str) -> Plan:
    """The plan of `tenant_id`, queried now rather than taken from a loaded organization."""
    return session.scalars(
        select(Plan).join(Tenant, Tenant.plan_code == Plan.code).where(Tenant.id == tenant_id)
    ).one()
