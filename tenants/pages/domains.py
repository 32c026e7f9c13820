"""A page's custom domain: set it, prove it with a DNS TXT record, remove it (its route kept in step).

The page answers on the domain only once it is verified (status_platform/tenancy/resolve.py);
any change of the domain starts the proof again. Only a verified domain is taken: a claim that
was never proved moves to the next page that asks for the domain, so nobody can hold a domain
they do not control.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta

import dns.exception
import dns.nameserver
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from status_platform.config import Settings
from status_platform.errors import Conflict, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.tenancy.models import DomainStatus, PageRoute, Plan
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from tenants.audit.services import record_event
from tenants.pages.models import Page
from tenants.pages.schemas import clean_custom_domain
from tenants.pages.services import bump_version, route_of

log = logging.getLogger(__name__)

CHALLENGE_LABEL = "_statusplatform-challenge"
CHALLENGE_PREFIX = "statusplatform-verification="
DNS_LIFETIME_SECONDS = 4.0
# How long the clock keeps looking for the TXT record of a claim (counted from its last change).
CLAIM_CHECK_DAYS = 7
STALE_CLAIM_REASON = f"The domain was not verified within {CLAIM_CHECK_DAYS} days; check again to retry."


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
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        host = socket.gethostbyname(host)
    return dns.nameserver.Do53Nameserver(host, port)


def make_resolver(
    nameservers: tuple[str, ...] = (), lifetime: float = DNS_LIFETIME_SECONDS
) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only `nameservers` ("host" or "host:port" each).

    ValueError for an entry that is not host[:port], OSError when its host name does not resolve.
    """
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


def _find_txt(name: str, settings: Settings, lifetime: float) -> list[str]:
    try:
        resolver = make_resolver(settings.DNS_NAMESERVERS, lifetime)
    except (ValueError, OSError) as error:
        # The platform's setting is at fault, not the customer's DNS: say so, keep the detail in the log.
        log.warning("DNS_NAMESERVERS %r cannot be used: %s", settings.DNS_NAMESERVERS, error)
        raise LookupFailed(
            "The platform's DNS servers are not set up correctly, so the record could not be looked up; "
            "try again later or tell the platform's support."
        ) from None
    return lookup_txt(name, resolver)


def domain_token(page_id: str, domain: str, settings: Settings) -> str:
    """The TXT record's token of page `page_id` for `domain`.

    Derived from the two and the platform's secret, so claiming the same domain again on the
    same page keeps the record the customer already added, and nobody can guess another's.
    """
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{page_id}:{domain}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def domain_taken(host: str) -> Conflict:
    """The error of a domain another page has proved (also what a view shows when the database says so)."""
    return Conflict(f"{host} is already used by another status page.", field="domain")


def domain_holder(session: Session, host: str, *, other_than: str) -> PageRoute | None:
    """The route of the page, other than page `other_than`, that claims `host`, in any organization."""
    return session.scalar(
        select(PageRoute).where(PageRoute.custom_domain == host, PageRoute.page_id != other_than)
    )


def _domain_state(route: PageRoute) -> dict[str, str | None]:
    return {
        "custom_domain": route.custom_domain,
        "domain_status": route.domain_status.value,
        "domain_failure_reason": route.domain_failure_reason,
    }


def _reset(route: PageRoute, domain: str | None, token: str | None, reason: str | None = None) -> None:
    route.custom_domain = domain
    route.domain_status = DomainStatus.PENDING if domain else DomainStatus.NONE
    route.domain_token = token if domain else None
    route.domain_verified_at = None
    route.domain_checked_at = None
    route.domain_failure_reason = reason


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

    The domain is cleaned (schemas.clean_custom_domain) and allowed by the organization's plan
    (ValidationError, field `domain`). A domain another page has verified is a Conflict; one
    another page only claims (pending or failed) moves to this page, and that page's route is
    left without a domain and with a reason saying so (its organization's audit log is not
    written: a session writes only its own tenant's). The same domain again changes nothing;
    the token is domain_token(page, domain), so a domain claimed again asks for the same TXT
    record. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "change the page's custom domain")
    _check_plan(session, page)
    host = clean_custom_domain(
        domain, pages_domain=settings.PAGES_DOMAIN, platform_host=settings.PLATFORM_HOST
    )
    route = route_of(session, page)
    if host == route.custom_domain:
        return route
    holder = domain_holder(session, host, other_than=page.id)
    if holder is not None and holder.domain_status is DomainStatus.VERIFIED:
        raise domain_taken(host)
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    if holder is not None:
        _reset(
            holder,
            None,
            None,
            reason=(
                f"Another page claimed {host} without proof yet, and this page had not proved it "
                "either, so the domain moved there. Add it again and keep its TXT record in place "
                "to prove it is yours."
            ),
        )
        # The domain is unique: the other page lets go of it before this one takes it.
        session.flush()
    _reset(route, host, domain_token(page.id, host, settings))
    session.flush()
    record_event(
        session,
        actor,
        "page.domain_set",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=(
            f"Set the custom domain of page {page.name!r} to {host} (waiting for its DNS record)"
            + ("; another page's unproved claim of it was released" if holder is not None else "")
        ),
        before=before,
        after=_domain_state(route) | ({"released_unproved_claim": True} if holder is not None else {}),
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
    seconds. A TXT answer without the page's value marks the domain failed with the reason: the
    proof is gone. A lookup that gets no answer (a timeout, no such name, no TXT record, a DNS
    server error, DNS_NAMESERVERS unusable) fails a domain not verified yet, but a verified one
    stays verified, with the reason kept as a warning: a DNS hiccup must not take a live page
    off its domain. `keep_status_on_miss` is the clock's periodic re-check: it only ever
    promotes, and it leaves updated_at (the claim's age, see recheck_domain) as it is. The check
    time is always recorded; an audit event when the state or the reason changes.
    ValidationError when the page has no domain. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "verify the page's custom domain")
    route = route_of(session, page)
    records = records_for(route, settings)
    if records is None:
        raise ValidationError("Add a custom domain first.", field="domain")
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    now = utcnow()
    no_answer = False
    try:
        found = _find_txt(records.txt_name, settings, lifetime)
    except LookupFailed as error:
        reason: str | None = str(error)
        no_answer = True
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
        if not keep_status_on_miss and not (no_answer and was_verified):
            route.domain_status = DomainStatus.FAILED
            route.domain_verified_at = None
    if keep_status_on_miss:
        flag_modified(route, "updated_at")  # written as it is, so the column's onupdate leaves it
    session.flush()
    after = _domain_state(route)
    if after != before:
        if reason is None:
            action = "page.domain_verified"
            summary = f"Verified {route.custom_domain} for page {page.name!r}"
        elif route.has_verified_domain:
            action = "page.domain_check_failed"
            summary = (
                f"Could not check {route.custom_domain} for page {page.name!r}; it stays verified: {reason}"
            )
        else:
            action = "page.domain_check_failed"
            summary = f"{route.custom_domain} for page {page.name!r} is not verified: {reason}"
        record_event(
            session,
            actor,
            action,
            object_type="page",
            object_id=page.id,
            page_id=page.id,
            summary=summary[:500],
            before=before,
            after=after,
        )
    if was_verified != route.has_verified_domain:
        bump_version(session, page.id)
    return reason is None


def claim_is_stale(route: PageRoute) -> bool:
    """Whether the clock has looked for this claim's record long enough (CLAIM_CHECK_DAYS unchanged)."""
    return route.updated_at < utcnow() - timedelta(days=CLAIM_CHECK_DAYS)


def expire_domain_claim(session: Session, page: Page, *, actor: Actor) -> bool:
    """Stop the clock's re-checks of a claim not verified within CLAIM_CHECK_DAYS; True when marked.

    The domain is marked failed with STALE_CLAIM_REASON and stays claimed until another page
    asks for it; "Check now" (verify_custom_domain) renews the claim. updated_at is left as it
    is, so the claim stays stale. False (nothing written) for a verified, removed, recent or
    already expired claim: idempotent. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "verify the page's custom domain")
    route = route_of(session, page)
    if (
        not route.custom_domain
        or route.domain_status is DomainStatus.VERIFIED
        or not claim_is_stale(route)
        or (route.domain_status is DomainStatus.FAILED and route.domain_failure_reason == STALE_CLAIM_REASON)
    ):
        return False
    before = _domain_state(route)
    route.domain_status = DomainStatus.FAILED
    route.domain_failure_reason = STALE_CLAIM_REASON
    flag_modified(route, "updated_at")
    session.flush()
    record_event(
        session,
        actor,
        "page.domain_check_failed",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"{route.custom_domain} for page {page.name!r} is not verified: {STALE_CLAIM_REASON}",
        before=before,
        after=_domain_state(route),
    )
    return True


def remove_custom_domain(session: Session, page: Page, *, actor: Actor) -> bool:
    """Stop serving `page` on its custom domain; False (nothing written) when it has none."""
    require_role(actor, PAGE_ADMINS, "remove the page's custom domain")
    route = route_of(session, page)
    if not route.custom_domain:
        return False
    before = _domain_state(route)
    was_verified = route.has_verified_domain
    domain = route.custom_domain
    _reset(route, None, None)
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
