"""Where a POST to a page host came from: forms of the public site accept only their own page's."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def _authority(url: str) -> str | None:
    """'host[:port]' of an origin or URL, the port only when not the scheme's default."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname.lower() + (f":{port}" if port and port != default else "")


def is_same_origin() -> bool:
    """Whether the POST was sent by a page of this host.

    The scheme is not compared: behind a proxy terminating TLS the app may see plain HTTP.
    A page sent with `Referrer-Policy: no-referrer` makes browsers send `Origin: null`; then
    Sec-Fetch-Site speaks for them.
    """
    own = _authority(request.host_url)
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return _authority(origin) == own
    site = request.headers.get("Sec-Fetch-Site")
    if site:
        return site == "same-origin"
    referer = request.headers.get("Referer")
    return bool(referer) and _authority(referer) == own
