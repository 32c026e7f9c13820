"""The one WSGI entry: the platform host gets the admin app, page hosts the public app, others 404.

This module and the CLI are the kernel's composition root, the only places that import the
front-ends (an import-linter contract names them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Request, Response

from status_platform import cache
from status_platform.config import Settings
from status_platform.tenancy.resolve import PAGE_ADDRESS_KEY, HostResolver, normalize_host

# Asked by the reverse proxy (on-demand TLS) before it requests a certificate for a host.
TLS_ASK_PATH = "/_internal/tls-ask"


class HostRouter:
    def __init__(self, settings: Settings) -> None:
        import admin_ui
        import public_site

        self.settings = settings
        self.resolver = HostResolver(settings)
        self.admin_app = admin_ui.create_app(settings)
        self.public_app = public_site.create_app(settings, resolver=self.resolver)
        self._not_found = NotFound("There is no status page at this address.")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == TLS_ASK_PATH:
            return self._tls_ask(environ, start_response)
        host = normalize_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME"))
        if self.resolver.is_platform_host(host):
            return self.admin_app(environ, start_response)
        address = self.resolver.page_for_host(host)
        if address is None:
            return self._not_found(environ, start_response)
        environ[PAGE_ADDRESS_KEY] = address
        if cache.is_anonymous(environ):
            hit = cache.responses.get(cache.response_key(address.page_id, environ))
            if hit is not None:
                return self._from_cache(environ, start_response, *hit)
        return self.public_app(environ, start_response)

    @staticmethod
    def _from_cache(
        environ: dict[str, Any], start_response: Any, etag: str, headers: list[tuple[str, str]], body: bytes
    ) -> Iterable[bytes]:
        """A response the public app made from the current snapshot, as it made it (or a 304)."""
        if cache.etag_matches(environ, etag):
            keep = {"etag", "cache-control", "access-control-allow-origin"}
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() in keep])
            return []
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _tls_ask(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The reverse proxy's question before it obtains a certificate: do we serve this host?

        Answers only the proxy on this machine (loopback), 200 for the platform host and every
        page host (a slug under PAGES_DOMAIN or a verified custom domain), 404 otherwise.
        """
        request = Request(environ)
        if request.remote_addr not in ("127.0.0.1", "::1"):
            return self._not_found(environ, start_response)
        host = normalize_host(request.args.get("domain"))
        served = self.resolver.is_platform_host(host) or self.resolver.page_for_host(host) is not None
        response = Response("ok" if served else "unknown host", status=200 if served else 404)
        return response(environ, start_response)


def create_wsgi_app(settings: Settings | None = None) -> Any:
    """The application gunicorn serves; behind our own proxy, X-Forwarded-* are trusted."""
    settings = settings or Settings.from_env()
    app: Any = HostRouter(settings)
    if settings.PROXY_FIX_HOPS:
        hops = settings.PROXY_FIX_HOPS
        app = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    return app
