"""The request's view of its page: the snapshot and the history documents, with HTTP caching.

Every public representation reads these documents, never the database directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, g, request

from public_site import viewers
from status_platform import cache
from status_platform.app import SECURITY_HEADERS
from status_platform.cache import versioned_document
from status_platform.db.session import db
from tenants.pages.history import build_history, build_incident_document
from tenants.pages.snapshot import build_snapshot, page_version

PUBLIC_CACHE = "public, max-age=10, stale-while-revalidate=60, stale-if-error=86400"
PERSONAL_CACHE = "private, no-store"
SNAPSHOT_MAX_AGE = 60.0


def page_url() -> str:
    address = g.page_address
    settings = current_app.config["SETTINGS"]
    return settings.page_url(address.slug, address.custom_domain)


def _version() -> int | None:
    return page_version(db, g.page_address.page_id)


def snapshot() -> dict[str, Any]:
    """The page as this request's reader may see it (one snapshot per page version and audience set).

    Built at most once per version, served stale if the database is down. A private page shows
    nothing to a reader who is not signed in.
    """
    if "snapshot" not in g:
        page_id = g.page_address.page_id
        viewers.require_viewer_if_private()
        sight = viewers.current_sight()
        g.generation_seen = cache.generation(("page", page_id))
        document = versioned_document(
            ("page", page_id, sight.key),
            version_of=("page", page_id),
            current_version=_version,
            build=lambda: build_snapshot(db, page_id, page_url=page_url(), sight=sight),
        )
        if document is None:
            abort(404)
        g.snapshot = document
    return g.snapshot  # type: ignore[no-any-return]


def history(kind: str, first_month: str, months: int) -> dict[str, Any]:
    """Incidents (or maintenance) of `months` months ending with `first_month`, for the history page."""
    page_id = g.page_address.page_id
    viewers.require_viewer_if_private()
    sight = viewers.current_sight()
    document = versioned_document(
        ("history", page_id, sight.key, kind, first_month, str(months)),
        version_of=("page", page_id),
        current_version=_version,
        build=lambda: build_history(
            db, page_id, kind=kind, last_month=first_month, months=months, page_url=page_url(), sight=sight
        ),
        max_age=300,
    )
    if document is None:
        abort(404)
    return document


def incident(incident_id: str) -> dict[str, Any]:
    """One incident: from the snapshot when it is recent, else from its own cached document.

    404 when the reader may see none of its components.
    """
    found = snapshot()["incidents"].get(incident_id)
    if found is not None:
        return found  # type: ignore[no-any-return]
    page_id = g.page_address.page_id
    sight = viewers.current_sight()
    document = versioned_document(
        ("incident", page_id, sight.key, incident_id),
        version_of=("page", page_id),
        current_version=_version,
        build=lambda: build_incident_document(db, page_id, incident_id, page_url=page_url(), sight=sight),
        max_age=300,
    )
    if document is None:
        abort(404)
    return document["incident"]  # type: ignore[no-any-return]


def etag_for(*parts: object) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=10).hexdigest()
    return f'W/"{digest}"'


# Bytes already rendered in this process, by ETag: the same snapshot renders the same bytes.
_rendered: cache.LRU[str, bytes] = cache.LRU(1024)


def respond(
    render: Callable[[], str | bytes],
    *parts: object,
    content_type: str = "text/html; charset=utf-8",
    cors: bool = False,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A cacheable response: 304 when the client has it, else the bytes (rendered once per ETag).

    `parts` name the representation (with the snapshot's version and build time added), so a
    write or a rebuild changes the ETag.
    """
    document = g.get("snapshot") or {}
    personal = viewers.is_personal()
    viewer = viewers.current_viewer()
    tag = etag_for(
        g.page_address.page_id,
        request.path,
        request.query_string,
        document.get("_version"),
        document.get("_built"),
        viewers.current_sight().key,
        # A viewer's pages name the viewer (its header), so they are that viewer's bytes.
        viewer.id if viewer is not None else None,
        *parts,
    )
    headers = {
        "ETag": tag,
        "Cache-Control": PERSONAL_CACHE if personal else PUBLIC_CACHE,
        **(extra_headers or {}),
    }
    if personal:
        headers["X-Robots-Tag"] = "noindex, nofollow"
    if viewers.page_is_restricted():
        # Who asks decides what is shown: a browser or CDN must not answer a signed-in viewer
        # with the copy it kept of the anonymous page.
        headers["Vary"] = "Cookie, Authorization"
    if cors:
        headers["Access-Control-Allow-Origin"] = "*"
    if cache.etag_matches(request.environ, tag):
        return current_app.response_class(status=304, headers=headers)
    body = _rendered.get(tag)
    if body is None:
        rendered = render()
        body = rendered.encode() if isinstance(rendered, str) else rendered
        _rendered.put(tag, body)
    response = current_app.response_class(body, headers=headers, content_type=content_type)
    if document and not personal and cache.is_anonymous(request.environ):
        cache.responses.put(
            cache.response_key(g.page_address.page_id, request.environ),
            version_of=("page", g.page_address.page_id),
            generation_seen=g.generation_seen,
            expires_at=document["_built"] + SNAPSHOT_MAX_AGE,
            etag=tag,
            headers=[*response.headers.items(), *SECURITY_HEADERS],
            body=body,
        )
    return response
