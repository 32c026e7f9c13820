"""Small parts every resource of the API uses: times on the wire, lists by page, the one commit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import g
from sqlalchemy import Select

from admin_ui.api.body import pagination
from status_platform.db.session import db
from tenants.pages.models import Page


def iso(value: datetime | None) -> str | None:
    """Statuspage's timestamps: UTC with milliseconds and a Z (`2024-06-07T01:00:17.309Z`)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def current_page() -> Page:
    """The page of the path, loaded (and scope-checked) before the view ran."""
    return g.page  # type: ignore[no-any-return]


def paged(statement: Select[Any]) -> list[Any]:
    """One page of `statement`'s rows, by the request's `page` and `per_page` (at most 100)."""
    number, per_page = pagination()
    return list(db.scalars(statement.limit(per_page).offset((number - 1) * per_page)))


def commit() -> None:
    """The request's one commit: the services flushed; jobs are enqueued after it."""
    db.commit()


def rename_fields(**renames: str) -> None:
    """Name a service's fields as the API does in refusals (`started_at` is `backfill_date`)."""
    g.field_names = renames
