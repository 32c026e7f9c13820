"""Views of the public status page."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, g, render_template
from werkzeug.exceptions import HTTPException

from status_platform.db.session import db
from tenants.pages.queries import page_overview

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    overview = page_overview(db, g.page_address.page_id)
    if overview is None:
        abort(404)
    settings = current_app.config["SETTINGS"]
    page_url = settings.page_url(g.page_address.slug)
    return render_template("public/index.html", overview=overview, page=overview.page, page_url=page_url)


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(404)
    def _not_found(error: HTTPException) -> tuple[str, int]:
        return render_template(
            "public/error.html", code=404, title="Page not found", message="There is nothing at this address."
        ), 404
