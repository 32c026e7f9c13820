"""The staff app on the platform host: sign-in, then every screen under /t/<tenant_slug>/."""

from __future__ import annotations

from flask import Flask, render_template
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from status_platform.app import build_app
from status_platform.config import Settings
from status_platform.db.session import db
from status_platform.identity.models import User

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
    from admin_ui.auth import bp as auth_bp
    from admin_ui.routes import tenant_bp

    app = build_app(
        __name__,
        settings,
        blueprints=[auth_bp, tenant_bp],
        extensions=[login_manager, csrf],
        session_cookie_name="sp_admin_session",
    )

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "admin/error.html", code=400, message="The form expired. Go back, reload and try again."
        ), 400

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_template("admin/error.html", code=code, message=error.description), code

    return app
