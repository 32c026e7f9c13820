"""Input rules of incidents, templates and incident types shared by the admin forms and the API."""

from __future__ import annotations

from status_platform.errors import ValidationError
from status_platform.validation import clean_color, clean_text
from tenants.incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    Impact,
    IncidentKind,
    IncidentStatus,
)

# The impacts a person may choose; "maintenance" belongs to maintenance windows only.
CHOSEN_IMPACTS = (Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)
DERIVED = "derived"


def statuses_of(kind: IncidentKind) -> tuple[IncidentStatus, ...]:
    """The lifecycle of `kind`, in order."""
    return MAINTENANCE_STATUSES if kind is IncidentKind.MAINTENANCE else INCIDENT_STATUSES


def clean_incident_status(
    value: object, *, kind: IncidentKind = IncidentKind.INCIDENT, field: str = "status"
) -> IncidentStatus:
    """One of `kind`'s statuses by its wire value ('investigating', 'in_progress', ...)."""
    raw = "" if value is None else str(value).strip()
    allowed = statuses_of(kind)
    if not raw:
        raise ValidationError("Choose a status.", field=field)
    try:
        status = IncidentStatus(raw)
    except ValueError:
        status = None
    if status not in allowed:
        names = ", ".join(s.label for s in allowed)
        raise ValidationError(f"The status must be one of {names}.", field=field)
    return status


def clean_optional_status(
    value: object, *, kind: IncidentKind, field: str = "update_status"
) -> IncidentStatus | None:
    """A status of `kind`, or None when left empty (a template that keeps the current status)."""
    raw = "" if value is None else str(value).strip()
    return clean_incident_status(raw, kind=kind, field=field) if raw else None


def clean_impact_choice(value: object, *, field: str = "impact") -> Impact | None:
    """A chosen impact, or None for 'derived from the components' (also when left empty)."""
    raw = "" if value is None else str(value).strip()
    if raw in ("", DERIVED):
        return None
    try:
        impact = Impact(raw)
    except ValueError:
        impact = None
    if impact not in CHOSEN_IMPACTS:
        names = ", ".join(i.value for i in CHOSEN_IMPACTS)
        raise ValidationError(
            f"The impact must be derived from the components or one of {names}.", field=field
        )
    return impact


def clean_kind(value: object, *, field: str = "kind") -> IncidentKind:
    raw = "" if value is None else str(value).strip()
    try:
        return IncidentKind(raw)
    except ValueError:
        raise ValidationError("Choose incident or maintenance.", field=field) from None


def clean_type_name(value: object, *, field: str = "name") -> str:
    return clean_text(value, field=field, label="Type name", max_length=100)


def clean_type_color(value: object, *, field: str = "color") -> str:
    return clean_color(value, field=field, label="Colour")
