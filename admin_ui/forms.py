"""Reading admin form posts: text, checkboxes, component statuses, and domain errors as field errors."""

from __future__ import annotations

from flask import request

from status_platform.errors import DomainError, ValidationError
from status_platform.validation import safe_path as safe_path  # the admin imports it from here
from tenants.components.models import ComponentStatus


def text(name: str, default: str = "") -> str:
    return request.form.get(name, default)


def flag(name: str, default: bool = False) -> bool:
    """A checkbox: on when sent; off when its form was sent without it; else `default`."""
    if name in request.form:
        return request.form.get(name) in {"1", "on", "true", "yes"}
    if f"{name}__present" in request.form:
        return False
    return default


def component_changes(prefix: str = "component:") -> dict[str, ComponentStatus]:
    """The component statuses a form sets (`component:<id>` = status; empty means untouched)."""
    changes: dict[str, ComponentStatus] = {}
    for key, value in request.form.items():
        if not key.startswith(prefix) or not value:
            continue
        try:
            changes[key.removeprefix(prefix)] = ComponentStatus(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a component status.", field="components") from None
    return changes


def errors_of(error: DomainError) -> dict[str, str]:
    """A domain error as the {field: message} a form template marks (unnamed fields: '_form')."""
    return {error.field or "_form": error.message}


def page_number(name: str = "p") -> int:
    """The page of a paged list asked for in the query string (1 when absent or not a number)."""
    raw = request.args.get(name, "")
    return min(int(raw), 100_000) if raw.isdigit() and int(raw) > 0 else 1
