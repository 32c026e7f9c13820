"""The public app served on page hosts: the status page and everything visitors read."""

from __future__ import annotations

from flask import Flask, abort, g, render_template, request
from werkzeug.exceptions import HTTPException

from status_platform.app import build_app
from status_platform.config import Settings
from status_platform.db.session import rebind_request_session
from status_platform.tenancy.resolve import PAGE_ADDRESS_KEY, HostResolver, PageAddress, normalize_host


def create_app(settings: Settings, *, resolver: HostResolver | None = None) -> Flask:
    from public_site.api_v2 import bp as api_bp
    from public_site.feeds import bp as feeds_bp
    from public_site.formatting import FILTERS
    from public_site.subscriptions import bp as subscriptions_bp
    from public_site.views import bp as pages_bp
    from public_site.views import register_error_pages
    from public_site.widgets import bp as widgets_bp

    app = build_app(
        __name__,
        settings,
        blueprints=[pages_bp, api_bp, feeds_bp, widgets_bp, subscriptions_bp],
        session_cookie_name="sp_page_session",
    )
    app.jinja_env.filters.update(FILTERS)
    resolver = resolver or HostResolver(settings)

    @app.before_request
    def _resolve_page() -> None:
        # The host router has usually resolved the page already; asked directly, resolve it here.
        address: PageAddress | None = request.environ.get(PAGE_ADDRESS_KEY)
        if address is None:
            address = resolver.page_for_host(normalize_host(request.host))
        if address is None:
            abort(404)
        g.page_address = address
        rebind_request_session(address.tenant_id)

    @app.errorhandler(403)
    def _private(error: HTTPException) -> tuple[str, int]:
        return render_template("public/private.html"), 403

    register_error_pages(app)
    return app
