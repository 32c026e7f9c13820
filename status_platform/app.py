"""The shared Flask app factory; each front-end calls build_app() with its own parts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response

from status_platform.config import Settings, activate
from status_platform.db import session as db_session
from status_platform.jobs import queues


def build_app(
    import_name: str,
    settings: Settings,
    *,
    blueprints: Iterable[Blueprint] = (),
    extensions: Iterable[Any] = (),
    session_cookie_name: str,
) -> Flask:
    """A Flask app with the database session, Redis and security headers wired in."""
    activate(settings)
    app = Flask(import_name)  # the templates/ and static/ of the calling front-end
    app.config.from_mapping(settings.flask_config())
    app.config["SESSION_COOKIE_NAME"] = session_cookie_name
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db_session.init_app(app)
    queues.configure(settings)
    for extension in extensions:
        extension.init_app(app)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.after_request(_security_headers)
    return app


# Added to every response of both apps (and kept with responses served from the public cache).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response
