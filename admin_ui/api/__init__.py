"""The management API under /v1, compatible with Statuspage's Manage API v1.

Every request names its key (`Authorization: OAuth <key>`, `Bearer <key>` or `?api_key=`); the
key decides the organization the request's database session is bound to, the pages it may
reach (all, or one) and whether it may write. Then the key's rate is counted (429 with
Retry-After past it), a POST's Idempotency-Key is claimed, and the page in the path is loaded
(another organization's page, or a page outside the key's scope, is 404). Views parse the
envelope, call the same services as the admin screens, commit, and return bare objects.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from sqlalchemy import update
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from admin_ui.api import idempotency
from admin_ui.api.body import ApiError
from admin_ui.api.spec import bp, openapi_document, operation_for
from status_platform import ratelimit
from status_platform.db.session import db, rebind_request_session
from status_platform.errors import DomainError, TooManyRequests
from status_platform.identity.actor import Actor
from status_platform.identity.apikeys import find_api_key
from status_platform.identity.models import ApiKey
from status_platform.tenancy.models import Role
from status_platform.timeutil import utcnow
from tenants.pages.models import Page

# A key's last use is written at most this often (not on every request).
LAST_USED_RESOLUTION_SECONDS = 60
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
# Requests without a valid key, per address: each costs a lookup, and none is counted against a key.
FAILED_KEYS = ratelimit.Limit("api-bad-key", attempts=120, window_seconds=60)


def error_response(status: int, message: str, *, field: str | None = None) -> Response:
    """Statuspage's ErrorEntity: `message`, and `error` for the clients that read that key."""
    body: dict[str, Any] = {"message": message, "error": message}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    return response


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() in ("oauth", "bearer", "token") and secret.strip():
            return secret.strip()
        return None
    return request.args.get("api_key") or None


@bp.url_value_preprocessor
def _pull_page_id(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.page_id = (values or {}).pop("page_id", None)


@bp.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    address = request.remote_addr or "unknown"
    wait_seconds = ratelimit.seconds_left(FAILED_KEYS, address)
    if wait_seconds:
        response = error_response(429, f"Too many requests with bad API keys; retry in {wait_seconds} s.")
        response.headers["Retry-After"] = str(wait_seconds)
        return response
    secret = _presented_key()
    api_key = find_api_key(db, secret) if secret else None
    if api_key is None:
        ratelimit.hit(FAILED_KEYS, address)
        response = error_response(
            401,
            "Give a valid API key: `Authorization: OAuth <key>`, `Authorization: Bearer <key>` or ?api_key=."
            if secret is None
            else "This API key is unknown or was revoked.",
        )
        response.headers["WWW-Authenticate"] = 'OAuth realm="management API"'
        return response
    wait = ratelimit.throttle(
        ratelimit.Rate(
            "api-key",
            per_minute=int(current_app.config["API_REQUESTS_PER_MINUTE"]),
            burst=int(current_app.config["API_BURST"]),
        ),
        api_key.id,
    )
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        response = error_response(429, f"Rate limit exceeded for this API key; retry in {seconds} s.")
        response.headers["Retry-After"] = str(seconds)
        return response
    now = utcnow()
    last_used = api_key.last_used_at
    if last_used is None or (now - last_used.replace(tzinfo=now.tzinfo)).total_seconds() >= (
        LAST_USED_RESOLUTION_SECONDS
    ):
        db.execute(update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
        db.commit()
    g.api_key_id, g.key_page_id, g.key_read_only = api_key.id, api_key.page_id, api_key.is_read_only
    rebind_request_session(api_key.tenant_id)
    g.actor = Actor(
        label=f"API key {api_key.name} ({api_key.prefix}…)",
        api_key_id=api_key.id,
        ip_address=request.remote_addr,
        role=Role.ADMIN,
    )
    op = operation_for(request.endpoint, request.method)
    if (op is None or op.write) and request.method not in ("GET", "HEAD", "OPTIONS") and g.key_read_only:
        return error_response(403, "This API key is read-only: it cannot make changes.")
    if g.page_id is not None:
        page = db.get(Page, g.page_id)
        if page is None or (g.key_page_id is not None and page.id != g.key_page_id):
            return error_response(404, "There is no page with this id for this API key.", field="page_id")
        g.page = page
    claim = idempotency.begin(api_key.id)
    if isinstance(claim, Response):
        return claim
    g.idempotency_claim = claim
    return None


@bp.after_request
def _finish(response: Response) -> Response:
    claim = g.pop("idempotency_claim", None)
    if claim is not None:
        idempotency.finish(claim, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _field_name(field: str | None) -> str | None:
    """A service's field name as the API calls it (`name` of an incident is `incident.name`)."""
    if not field or "." in field or field == "page_id":
        return field
    renames: dict[str, str] = g.get("field_names") or {}
    field = renames.get(field, field)
    envelope = g.get("envelope")
    return f"{envelope}.{field}" if envelope and "." not in field else field


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    db.rollback()
    field = error.field if isinstance(error, ApiError) else _field_name(error.field)
    response = error_response(error.status_code, error.message, field=field)
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def json_http_error(error: HTTPException) -> Response:
    """A routing or HTTP error (unknown path, wrong method, body too large) as an ErrorEntity."""
    code = error.code or 500
    messages = {
        404: "There is no such endpoint or object.",
        405: f"{request.method} is not allowed here.",
        413: "The body is too large.",
    }
    response = error_response(code, messages.get(code, error.description or error.name))
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    # Routing errors never reach the blueprint's after_request, which sets this on the rest.
    response.headers["Cache-Control"] = "no-store"
    return response


def is_api_request() -> bool:
    return request.path == "/v1" or request.path.startswith("/v1/")


class _JsonSuffix:
    """`/v1/pages/<id>/incidents.json` is `/v1/pages/<id>/incidents` (Statuspage serves both)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1/") and path.endswith(".json"):
            environ["PATH_INFO"] = path[: -len(".json")]
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    """Serve the API on `app`: its blueprint, without CSRF (keys, not cookies), JSON errors."""
    from admin_ui.api import routes  # noqa: F401  (registers every operation)

    app.register_blueprint(bp)
    app.wsgi_app = _JsonSuffix(app.wsgi_app)  # type: ignore[method-assign]


@bp.get("/openapi")
def openapi() -> Response:
    """This API's OpenAPI 3.1 document (also at /v1/openapi.json)."""
    settings = current_app.config["SETTINGS"]
    response = jsonify(openapi_document(settings.admin_url("/v1")))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
