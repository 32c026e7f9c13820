"""Input rules of scheduled maintenance shared by the admin forms and the management API."""

from __future__ import annotations

from datetime import datetime

from status_platform.errors import ValidationError
from status_platform.validation import clean_local_datetime
from tenants.incidents.models import MAINTENANCE_STATUSES, IncidentStatus

# A window moves forward only: Scheduled -> In progress -> Verifying -> Completed.
_ORDER = {status: position for position, status in enumerate(MAINTENANCE_STATUSES)}


def clean_local_window(starts: object, ends: object, zone: str) -> tuple[datetime, datetime]:
    """Start and end as typed in the page's zone ('2027-01-12T09:00') -> UTC-aware, end after start."""
    scheduled_for = clean_local_datetime(starts, zone, field="scheduled_for", label="Start")
    scheduled_until = clean_local_datetime(ends, zone, field="scheduled_until", label="End")
    check_window(scheduled_for, scheduled_until)
    return scheduled_for, scheduled_until


def check_window(scheduled_for: datetime, scheduled_until: datetime, *, now: datetime | None = None) -> None:
    """The window ends after it starts; with `now`, it also must not have ended already."""
    if scheduled_until <= scheduled_for:
        raise ValidationError("The window must end after it starts.", field="scheduled_until")
    if now is not None and scheduled_until <= now:
        raise ValidationError("The window must not end in the past.", field="scheduled_until")


def clean_maintenance_status(value: object, *, field: str = "status") -> IncidentStatus | None:
    """A maintenance status ('in_progress'), or None when left empty (a message without a new status)."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        return None
    try:
        status = IncidentStatus(raw)
    except ValueError:
        status = None
    if status not in _ORDER:
        names = ", ".join(s.value for s in MAINTENANCE_STATUSES)
        raise ValidationError(f"The status must be one of {names}.", field=field)
    return status


def check_transition(current: IncidentStatus, new: IncidentStatus, *, field: str = "status") -> None:
    """Refuse a step back, or completing or verifying a window that never started."""
    if new == current:
        return
    if current is IncidentStatus.COMPLETED:
        raise ValidationError("This window is completed; post a message without a new status.", field=field)
    if _ORDER[new] < _ORDER[current]:
        raise ValidationError(
            f"A window moves forward only; it is {current.label.lower()} already.", field=field
        )
    if current is IncidentStatus.SCHEDULED and new is not IncidentStatus.IN_PROGRESS:
        raise ValidationError(
            "Start the window first (In progress); cancel it instead if it will not happen.", field=field
        )


def next_statuses(current: IncidentStatus) -> list[IncidentStatus]:
    """The statuses an update may give a window now, its current one first."""
    if current is IncidentStatus.COMPLETED:
        return [current]
    if current is IncidentStatus.SCHEDULED:
        return [current, IncidentStatus.IN_PROGRESS]
    return [s for s in MAINTENANCE_STATUSES if _ORDER[s] >= _ORDER[current]]
