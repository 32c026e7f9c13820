"""Every platform model in one import, for the metadata (Alembic, tests)."""

from status_platform.identity.models import ApiKey, User
from status_platform.tenancy.models import BillingEvent, Invitation, Membership, PageRoute, Plan, Tenant

__all__ = ["ApiKey", "BillingEvent", "Invitation", "Membership", "PageRoute", "Plan", "Tenant", "User"]
