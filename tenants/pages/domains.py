"""A page's custom domain: set it, prove it with a DNS TXT record, remove it (its route kept in step).

The page answers on the domain only once it is verified (status_platform/tenancy/resolve.py);
any change of the domain starts the proof again.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.config import Settings
from status_platform.errors import Conflict, NotFound, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.tenancy.models import DomainStatus, PageRoute, Plan
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from tenants.audit.services import record_event
from tenants.pages.models import Page
from tenants.pages.schemas import clean_custom_domain
from tenants.pages.services import bump_version

CHALLENGE_LABEL = "_statusplatform-challenge"
CHALLENGE_PREFIX = "statusplatform-verification="
DNS_LIFETIME_SECONDS = 4.0


@dataclass(frozen=True)
class DnsRecords:
    """The two records a customer adds at their DNS provider."""

    cname_name: str
    cname_target: str
    txt_name: str
    txt_value: str


def records_for(route: PageRoute, settings: Settings) -> DnsRecords | None:
    """The CNAME that sends the domain's visitors to the page and the TXT record that proves it."""
    if not route.custom_domain or not route.domain_token:
        return None
    return DnsRecords(
        cname_name=route.custom_domain,
        cname_target=f"{route.slug}.{settings.PAGES_DOMAIN}",
        txt_name=f"{CHALLENGE_LABEL}.{route.custom_domain}",
        txt_value=f"{CHALLENGE_PREFIX}{route.domain_token}",
    )


class LookupFailed(Exception):
    """A TXT lookup that gave no answer; the message says why, for the person who set the domain."""


def _nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    host, port = entry.strip(), 53
    if host.startswith("["):  # [::1]:5353
        host, _, rest = host[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif host.count(":") == 1:
        host, raw_port = host.split(":")
        port = int(raw_port)
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        host = socket.gethostbyname(host)
    return dns.nameserver.Do53Nameserver(host, port)


def make_resolver(
    nameservers: tuple[str, ...] = (), lifetime: float = DNS_LIFETIME_SECONDS
) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only `nameservers` ("host" or "host:port" each)."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [_nameserver(entry) for entry in nameservers]
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = lifetime
    resolver.lifetime = lifetime
    return resolver


def lookup_txt(name: str, resolver: dns.resolver.Resolver) -> list[str]:
    """The TXT strings at `name` (each record's parts joined); LookupFailed with a reason otherwise."""
    try:
        answer = resolver.resolve(name, "TXT", search=False)
    except dns.resolver.NXDOMAIN:
        raise LookupFailed(f"No TXT record was found: {name} does not exist in DNS yet.") from None
    except dns.resolver.NoAnswer:
        raise LookupFailed(f"{name} exists in DNS but has no TXT record.") from None
    except dns.exception.Timeout:
        raise LookupFailed(f"The DNS lookup of {name} timed out; try again in a few minutes.") from None
    except dns.resolver.NoNameservers:
        raise LookupFailed(f"No DNS server could answer for {name}; check the domain's DNS setup.") from None
    except (dns.exception.DNSException, OSError) as error:
        raise LookupFailed(f"The DNS lookup of {name} failed ({error}).") from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def _route_of(session: Session, page: Page) -> PageRoute:
    route = session.get(PageRoute, page.id)
    if route is None:
        raise NotFound("This page has no address any more.")
    return route


def _domain_state(route: PageRoute) -> dict[str, str | None]:
    return {
        "custom_domain": route.custom_domain,
        "domain_status": route.domain_status.value,
        "domain_failure_reason": route.domain_failure_reason,
    }


def _reset(route: PageRoute, domain: str | None) -> None:
    route.custom_domain = domain
    route.domain_status = DomainStatus.PENDING if domain else DomainStatus.NONE
    route.domain_token = secrets.token_urlsafe(24) if domain else None
    route.domain_verified_at = None
    route.domain_checked_at = None
    route.domain_failure_reason = None


def _check_plan(session: Session, page: Page) -> None:
    plan = plan_of(session, page.tenant_id)
    if plan.allows_custom_domain:
        return
    cheapest = session.scalar(
        select(Plan.name)
        .where(Plan.allows_custom_domain.is_(True), Plan.is_public.is_(True))
        .order_by(Plan.position)
        .limit(1)
    )
    upgrade = f"the {cheapest} plan or above" if cheapest else "a plan with custom domains"
    raise ValidationError(
        f"The {plan.name} plan does not include a custom domain; change to {upgrade} to use one.",
        field="domain",
    )


def set_custom_domain(
    session: Session, page: Page, domain: str, *, actor: Actor, settings: Settings
) -> PageRoute:
    """Give `page` a custom domain, pending until its TXT record is found (verify_custom_domain).

    The domain is cleaned (schemas.clean_custom_domain) and must be free on the whole platform
    (Conflict) and allowed by the organization's plan (ValidationError, field `domain`). The
    same domain again changes nothing; a new one gets a new token and starts over. Flushes,
    never commits.
    """
    require_role(actor, PAGE_ADMINS, "change the page's custom domain")
    _check_plan(session, page)
    host = clean_custom_domain(
        domain, pages_domain=settings.PAGES_DOMAIN, platform_host=settings.PLATFORM_HOST
    )
    route = _route_of(session, page)
    if host == route.custom_domain:
        return route
    taken = session.scalar(
        select(
            select(PageRoute.page_id)
            .where(PageRoute.custom_domain == host, PageRoute.page_id != page.id)
            .exists()
        )
    )
    if taken:
        raise Conflict(f"{host} is already used by another status page.", field="domain")
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    _reset(route, host)
    session.flush()
    record_event(
        session,
        actor,
        "page.domain_set",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Set the custom domain of page {page.name!r} to {host} (waiting for its DNS record)",
        before=before,
        after=_domain_state(route),
    )
    if was_verified:
        bump_version(session, page.id)
    return route


def verify_custom_domain(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    settings: Settings,
    keep_status_on_miss: bool = False,
    lifetime: float = DNS_LIFETIME_SECONDS,
) -> bool:
    """Look for the page's TXT challenge now; True when found (the domain is then verified).

    Asks settings.DNS_NAMESERVERS when set, else the system's resolver, for at most `lifetime`
    seconds. A miss marks the domain failed with the reason, unless `keep_status_on_miss` (the
    periodic re-check, which only ever promotes). The check time is always recorded; an audit
    event when the state or the reason changes. ValidationError when the page has no domain.
    Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "verify the page's custom domain")
    route = _route_of(session, page)
    records = records_for(route, settings)
    if records is None:
        raise ValidationError("Add a custom domain first.", field="domain")
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    now = utcnow()
    try:
        found = lookup_txt(records.txt_name, make_resolver(settings.DNS_NAMESERVERS, lifetime))
    except LookupFailed as error:
        reason = str(error)
        found = None
    else:
        reason = None
        if records.txt_value not in found:
            shown = ", ".join(repr(value[:80]) for value in found[:3])
            reason = (
                f"The TXT record at {records.txt_name} does not hold {records.txt_value} "
                f"(found {shown}). DNS changes can take a while to show."
            )
    route.domain_checked_at = now
    if reason is None:
        if route.domain_status is not DomainStatus.VERIFIED:
            route.domain_verified_at = now
        route.domain_status = DomainStatus.VERIFIED
        route.domain_failure_reason = None
    else:
        route.domain_failure_reason = reason[:500]
        if not keep_status_on_miss:
            route.domain_status = DomainStatus.FAILED
            route.domain_verified_at = None
    session.flush()
    after = _domain_state(route)
    if after != before:
        verified = route.domain_status is DomainStatus.VERIFIED
        record_event(
            session,
            actor,
            "page.domain_verified" if verified else "page.domain_check_failed",
            object_type="page",
            object_id=page.id,
            page_id=page.id,
            summary=(
                f"Verified {route.custom_domain} for page {page.name!r}"
                if verified
                else f"{route.custom_domain} for page {page.name!r} is not verified: {reason}"
            )[:500],
            before=before,
            after=after,
        )
    if was_verified != route.has_verified_domain:
        bump_version(session, page.id)
    return reason is None


def remove_custom_domain(session: Session, page: Page, *, actor: Actor) -> bool:
    """Stop serving `page` on its custom domain; False (nothing written) when it has none."""
    require_role(actor, PAGE_ADMINS, "remove the page's custom domain")
    route = _route_of(session, page)
    if not route.custom_domain:
        return False
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    domain = route.custom_domain
    _reset(route, None)
    session.flush()
    record_event(
        session,
        actor,
        "page.domain_removed",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Removed the custom domain {domain} of page {page.name!r}",
        before=before,
        after=_domain_state(route),
    )
    if was_verified:
        bump_version(session, page.id)
    return True
