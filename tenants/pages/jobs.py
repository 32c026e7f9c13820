"""Jobs of pages: the clock's re-check of custom domains still waiting for their DNS record."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from status_platform.config import active_settings
from status_platform.db.session import sweep_session, tenant_session
from status_platform.identity.actor import SYSTEM
from status_platform.jobs.clock import periodic
from status_platform.jobs.enqueue import enqueue_now
from status_platform.tenancy.models import DomainStatus, PageRoute
from status_platform.timeutil import utcnow
from tenants.pages.domains import (
    CLAIM_CHECK_DAYS,
    STALE_CLAIM_REASON,
    claim_is_stale,
    expire_domain_claim,
    verify_custom_domain,
)
from tenants.pages.models import Page

log = logging.getLogger(__name__)
UNVERIFIED = (DomainStatus.PENDING, DomainStatus.FAILED)


@periodic(900)
def sweep_unverified_domains() -> int:
    """Across organizations, enqueue a DNS re-check of every custom domain not verified yet.

    Claims unchanged for CLAIM_CHECK_DAYS are enqueued once more, to be marked stale, and then
    left alone until someone checks them again: nobody's abandoned claim is looked up forever.
    """
    cutoff = utcnow() - timedelta(days=CLAIM_CHECK_DAYS)
    with sweep_session() as session:
        rows = session.execute(
            select(PageRoute.tenant_id, PageRoute.page_id).where(
                PageRoute.custom_domain.is_not(None),
                PageRoute.domain_status.in_(UNVERIFIED),
                or_(
                    PageRoute.updated_at >= cutoff,
                    PageRoute.domain_failure_reason.is_distinct_from(STALE_CLAIM_REASON),
                ),
            )
        ).all()
    for tenant_id, page_id in rows:
        enqueue_now(recheck_domain, tenant_id, page_id)
    return len(rows)


def recheck_domain(tenant_id: str, page_id: str) -> bool:
    """Look for the TXT record of `page_id`'s domain again; True once verified.

    A miss leaves the state as it is (only the check time and the reason change), so a
    customer who adds the record late is verified without pressing "Check now". A claim whose
    route has not changed for CLAIM_CHECK_DAYS is not looked up: it is marked failed as stale
    (expire_domain_claim). A missing page or a domain already verified or removed is done.
    Idempotent.
    """
    with tenant_session(tenant_id) as session:
        page = session.get(Page, page_id)
        route = session.get(PageRoute, page_id)
        if page is None or route is None or not route.custom_domain or route.domain_status not in UNVERIFIED:
            return False
        if claim_is_stale(route):
            if expire_domain_claim(session, page, actor=SYSTEM):
                log.info(
                    "tenant=%s stopped re-checking the stale domain claim of page %s", tenant_id, page_id
                )
            session.commit()
            return False
        verified = verify_custom_domain(
            session, page, actor=SYSTEM, settings=active_settings(), keep_status_on_miss=True
        )
        session.commit()
    if verified:
        log.info("tenant=%s verified the custom domain of page %s", tenant_id, page_id)
    return verified
