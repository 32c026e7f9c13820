"""Input rules of components shared by the admin forms and the management API."""

from __future__ import annotations

from datetime import date

from status_platform.errors import ValidationError
from tenants.components.models import ComponentStatus


def clean_status(value: object, *, field: str = "status") -> ComponentStatus:
    try:
        return ComponentStatus(str(value or "").strip())
    except ValueError:
        names = ", ".join(s.value for s in ComponentStatus)
        raise ValidationError(f"The status must be one of {names}.", field=field) from None


def clean_start_date(value: object, *, field: str = "start_date") -> date | None:
    """An optional 'YYYY-MM-DD': the day the component's uptime starts counting."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("The start date must be a date like 2027-01-31.", field=field) from None
    if day.year < 2000:
        raise ValidationError("The start date must be in the year 2000 or later.", field=field)
    return day
