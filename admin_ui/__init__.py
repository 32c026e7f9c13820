"""The staff app on the platform host: sign-up and sign-in, then every screen under /t/<tenant_slug>/."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from status_platform.app import build_app
from status_platform.config import Settings
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.models import User
from status_platform.tenancy.models import Role

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "basic"
csrf = CSRFProtect()


@login_manager.user_loader
def _load_user(cookie_id: str) -> User | None:
    # The cookie carries the session version: bumping it ends every session of the user.
    user_id, _, version = cookie_id.partition(":")
    user = db.scalar(select(User).where(User.id == user_id, User.is_active.is_(True)))
    if user is None or str(user.session_version) != version:
        return None
    return user


def create_app(settings: Settings) -> Flask:
    from admin_ui import api, formatting
    from admin_ui.auth import bp as auth_bp
    from admin_ui.docs import bp as docs_bp
    from admin_ui.routes import nav_pages, tenant_bp
    from admin_ui.sso import bp as sso_bp
    from admin_ui.tenant import role_at_least

    app = build_app(
        __name__,
        settings,
        blueprints=[auth_bp, docs_bp, tenant_bp, sso_bp],
        extensions=[login_manager, csrf],
        session_cookie_name="sp_admin_session",
    )
    api.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates by key, never by cookie
    app.jinja_env.filters.update(formatting.FILTERS)
    app.jinja_env.globals.update(
        nav_pages=nav_pages, role_at_least=role_at_least, Role=Role, time_zones=formatting.time_zones
    )

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "admin/error.html", code=400, message="The form expired. Go back, reload and try again."
        ), 400

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> tuple[str, int]:
        # A refusal no form catches (a role that may not, an object that is gone).
        return render_template("admin/error.html", code=error.status_code, message=error.message), (
            error.status_code
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if api.is_api_request():
            return api.json_http_error(error)
        code = error.code or 500
        return render_template("admin/error.html", code=code, message=error.description), code

    @app.after_request
    def _no_store(response):  # type: ignore[no-untyped-def]
        # Staff screens carry private data: never kept by a shared cache or the back button.
        if g.get("tenant") is not None:
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    return app
