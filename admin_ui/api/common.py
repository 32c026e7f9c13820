"""Small parts every resource of the API uses: times on the wire, lists by page, the one commit."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Protocol, TypeVar

from flask import g
from sqlalchemy import Select

from admin_ui.api.body import ApiError, pagination
from status_platform.db.session import db
from tenants.pages.models import Page


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def current_page() -> Page:
    """The page of the path, loaded (and scope-checked) before the view ran."""
    return g.page  # type: ignore[no-any-return]


class _OnAPage(Protocol):
    page_id: str


T = TypeVar("T", bound=_OnAPage)
# What an id in a path may look like; anything else cannot name an object (and costs no query).
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def on_page(model: type[T], object_id: str, *, message: str, field: str) -> T:
    """The `model` object `object_id` of the path's page; 404 with `message` naming `field` otherwise.

    The session sees only the key's organization, so another organization's object is missing
    like one that never was; another page's of the same organization is refused here.
    """
    found = db.get(model, object_id) if _ID.fullmatch(object_id) else None
    if found is None or found.page_id != current_page().id:
        raise ApiError(404, message, field=field)
    return found


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
