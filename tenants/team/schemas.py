"""Input validation of the team screens (and of any API that manages members)."""

from __future__ import annotations

from status_platform.errors import ValidationError
from status_platform.tenancy.models import Role

ROLE_LABELS = {
    Role.VIEWER: "Viewer: sees everything, changes nothing",
    Role.EDITOR: "Editor: components, incidents, maintenance, templates",
    Role.ADMIN: "Admin: also subscribers, pages, settings and the team",
    Role.OWNER: "Owner: also billing, ownership and deleting the organization",
}


def clean_role(value: object, *, field: str = "role") -> Role:
    """'editor' -> Role.EDITOR; anything else is a ValidationError on `field`."""
    raw = "" if value is None else str(value).strip().lower()
    try:
        return Role(raw)
    except ValueError:
        raise ValidationError("Choose a role: viewer, editor, admin or owner.", field=field) from None
