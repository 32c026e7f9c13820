"""What each role may write; every service checks its actor here before it writes anything.

viewer: reads only; editor: components, incidents, maintenance, templates; admin: also
subscribers, audiences, pages and their settings, incident types, API keys, the team and the
audit log; owner: also billing, ownership and deleting the organization.
"""

from __future__ import annotations

from status_platform.errors import PermissionDenied
from status_platform.identity.actor import Actor
from status_platform.tenancy.models import Role

# The minimum role of each area of writes (the admin's routes declare the same minimums).
STATUS_WRITERS = Role.EDITOR
PAGE_ADMINS = Role.ADMIN
TEAM_ADMINS = Role.ADMIN
OWNERS = Role.OWNER


def can(actor: Actor, minimum: Role) -> bool:
    """True when `actor` may perform a write that needs `minimum`."""
    if actor.is_system:
        return True
    return actor.role is not None and actor.role.at_least(minimum)


def require_role(actor: Actor, minimum: Role, action: str) -> None:
    """Raise PermissionDenied, naming what was refused, unless `actor` has at least `minimum`."""
    if not can(actor, minimum):
        held = actor.role.value if actor.role is not None else "no role"
        raise PermissionDenied(
            f"Your role ({held}) cannot {action}; that needs the {minimum.value} role or above."
        )
