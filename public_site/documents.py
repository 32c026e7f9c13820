"""The request's view of its page: the snapshot and the history documents, with HTTP caching.

Every public representation reads these documents, never the database directly.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, abort, current_app, g, request

from status_platform.cache import versioned_document
from status_platform.db.session import db
from tenants.pages.history import build_history, build_incident_document
from tenants.pages.snapshot import build_snapshot, page_version

PUBLIC_CACHE = "public, max-age=10, stale-while-revalidate=60, stale-if-error=86400"


def page_url() -> str:
    address = g.page_address
    settings = current_app.config["SETTINGS"]
    return settings.page_url(address.slug, address.custom_domain)


def _version() -> int | None:
    return page_version(db, g.page_address.page_id)


def snapshot() -> dict[str, Any]:
    """The page's snapshot (built at most once per version, served stale if the database is down)."""
    if "snapshot" not in g:
        page_id = g.page_address.page_id
        document = versioned_document(
            ("page", page_id),
            current_version=_version,
            build=lambda: build_snapshot(db, page_id, page_url=page_url()),
        )
        if document is None:
            abort(404)
        if document["_page"]["visibility"] == "private":
            abort(403)  # nothing of a private page is shown to visitors who are not signed in
        g.snapshot = document
    return g.snapshot  # type: ignore[no-any-return]


def history(kind: str, first_month: str, months: int) -> dict[str, Any]:
    """Incidents (or maintenance) of `months` months ending with `first_month`, for the history page."""
    page_id = g.page_address.page_id
    document = versioned_document(
        ("history", page_id, kind, first_month, str(months)),
        current_version=_version,
        build=lambda: build_history(
            db, page_id, kind=kind, last_month=first_month, months=months, page_url=page_url()
        ),
        max_age=300,
    )
    if document is None:
        abort(404)
    return document


def incident(incident_id: str) -> dict[str, Any]:
    """One incident: from the snapshot when it is recent, else from its own cached document."""
    found = snapshot()["incidents"].get(incident_id)
    if found is not None:
        return found  # type: ignore[no-any-return]
    page_id = g.page_address.page_id
    document = versioned_document(
        ("incident", page_id, incident_id),
        current_version=_version,
        build=lambda: build_incident_document(db, page_id, incident_id, page_url=page_url()),
        max_age=300,
    )
    if document is None:
        abort(404)
    return document["incident"]  # type: ignore[no-any-return]


def etag_for(*parts: object) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=10).hexdigest()
    return f'W/"{digest}"'


def cacheable(response: Response, *parts: object) -> Response:
    """Public caching headers, a weak ETag over `parts`, and 304 when the client has it already."""
    document = g.get("snapshot") or {}
    tag = etag_for(
        request.path, request.query_string, document.get("_version"), document.get("_built"), *parts
    )
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Vary"] = "Accept-Encoding"
    if tag in _if_none_match():
        not_modified = current_app.response_class(status=304)
        not_modified.headers["ETag"] = tag
        not_modified.headers["Cache-Control"] = PUBLIC_CACHE
        for name in ("Access-Control-Allow-Origin",):
            if name in response.headers:
                not_modified.headers[name] = response.headers[name]
        return not_modified
    return response


def _if_none_match() -> set[str]:
    raw = request.headers.get("If-None-Match", "")
    if len(raw) > 2000:
        return set()  # a malformed or absurd header is simply not a match
    return {part.strip() for part in raw.split(",") if part.strip()}
