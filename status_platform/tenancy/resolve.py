"""Find what a request's Host is for: the platform host, one page, or nothing (404)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from status_platform.config import Settings
from status_platform.db.session import platform_session
from status_platform.tenancy.models import DomainStatus, PageRoute, Tenant

# Where the host router leaves the resolved page for the public app.
PAGE_ADDRESS_KEY = "statusplatform.page"


@dataclass(frozen=True)
class PageAddress:
    """The page a host serves."""

    tenant_id: str
    page_id: str
    slug: str
    custom_domain: str | None


def normalize_host(raw: str | None) -> str | None:
    """'Status.Acme.COM.:443' -> 'status.acme.com'; None when it cannot be a page's hostname.

    The port is ignored; IP literals never name a page.
    """
    if not raw:
        return None
    host = raw.strip().lower()
    if host.startswith("["):
        return None
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    host = host.rstrip(".")
    if not host or ":" in host or "/" in host or " " in host:
        return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


class HostResolver:
    """Resolves hosts to pages with a short in-process cache (negative answers included).

    A change of slug or domain is seen by every process within HOST_CACHE_SECONDS. When the
    database cannot be reached, the last answer for a host is used however old it is, so pages
    keep being served from their snapshots during an outage.
    """

    def __init__(self, settings: Settings) -> None:
        self.platform_host = normalize_host(settings.PLATFORM_HOST)
        self.pages_suffix = "." + (normalize_host(settings.PAGES_DOMAIN) or "")
        self.ttl = settings.HOST_CACHE_SECONDS
        self._cache: dict[str, tuple[float, PageAddress | None]] = {}
        self._lock = threading.Lock()

    def is_platform_host(self, host: str | None) -> bool:
        return host is not None and host == self.platform_host

    def page_for_host(self, host: str | None) -> PageAddress | None:
        if host is None or self.is_platform_host(host):
            return None
        with self._lock:
            hit = self._cache.get(host)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            address = self._lookup(host)
        except (OperationalError, InterfaceError):
            if hit is None:
                raise
            return hit[1]
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()  # a flood of made-up hosts must not grow memory
            self._cache[host] = (time.monotonic() + self.ttl, address)
        return address

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _lookup(self, host: str) -> PageAddress | None:
        if host.endswith(self.pages_suffix):
            slug = host.removesuffix(self.pages_suffix)
            if not slug or "." in slug:
                return None
            condition = PageRoute.slug == slug
        else:
            condition = (PageRoute.custom_domain == host) & (PageRoute.domain_status == DomainStatus.VERIFIED)
        with platform_session() as session:
            row = session.execute(
                select(
                    PageRoute.tenant_id,
                    PageRoute.page_id,
                    PageRoute.slug,
                    PageRoute.custom_domain,
                    PageRoute.domain_status,
                )
                .join(Tenant, Tenant.id == PageRoute.tenant_id)
                .where(condition, Tenant.is_active)
            ).first()
        if row is None:
            return None
        # A domain not yet verified is not the page's address: links keep to the subdomain.
        verified = row.custom_domain if row.domain_status == DomainStatus.VERIFIED else None
        return PageAddress(row.tenant_id, row.page_id, row.slug, verified)
