"""The public app served on page hosts: the status page and everything visitors read."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, url_for
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
    from public_site.viewer_sso import bp as viewer_sso_bp
    from public_site.viewers import PERSONAL_HEADERS, InvalidToken, SignInRequired
    from public_site.viewers import bp as viewers_bp
    from public_site.views import bp as pages_bp
    from public_site.views import register_error_pages
    from public_site.widgets import bp as widgets_bp

    app = build_app(
        __name__,
        settings,
        blueprints=[pages_bp, api_bp, feeds_bp, widgets_bp, subscriptions_bp, viewers_bp, viewer_sso_bp],
        session_cookie_name="sp_page_session",
    )
    app.jinja_env.filters.update(FILTERS)
    # A viewer's session (the only thing the page host's cookie holds) lasts two weeks at most.
    # counted from the sign-in: the cookie is not sent again with every page a viewer reads.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=14)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
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

    @app.errorhandler(SignInRequired)
    @app.errorhandler(InvalidToken)
    def _sign_in_required(error: HTTPException) -> Response | tuple[Response | str, int, dict[str, str]]:
        """A private page asks for a sign-in: pages go to the sign-in form, machines get a 401."""
        headers = dict(PERSONAL_HEADERS)
        if request.path.startswith("/api/"):
            response = jsonify({"error": error.description})
            return response, 401, {**headers, "WWW-Authenticate": 'Bearer realm="status page"'}
        if request.method == "GET" and "." not in request.path.rsplit("/", 1)[-1]:
            target = request.full_path.rstrip("?") if request.query_string else request.path
            response = redirect(url_for("viewers.login") + "?next=" + quote(target, safe="/"))
            response.headers.update(headers)
            return response  # type: ignore[return-value]
        return render_template("public/private.html"), 401, headers

    register_error_pages(app)
    return app
