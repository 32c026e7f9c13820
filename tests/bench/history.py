"""A long history for the benchmarks: resolved past incidents, five a day going back from 30 days ago."""

from __future__ import annotations

import time
from datetime import timedelta


def add_past_incidents(tenant_id: str, page_id: str, count: int) -> float:
    """Add `count` backfilled, resolved incidents to the page; returns the seconds it took."""
    from status_platform.db.session import tenant_session
    from status_platform.identity.actor import SYSTEM
    from status_platform.timeutil import utcnow
    from tenants.incidents.models import IncidentStatus
    from tenants.incidents.services import open_incident, post_update
    from tenants.pages.models import Page

    started = time.perf_counter()
    with tenant_session(tenant_id) as s:
        page = s.get(Page, page_id)
        for i in range(count):
            at = utcnow() - timedelta(days=30 + i // 5, hours=i % 5)
            incident = open_incident(
                s, page, name=f"Past incident {i}", body="Looking", actor=SYSTEM, backfill_at=at
            )
            post_update(
                s,
                incident,
                actor=SYSTEM,
                status=IncidentStatus.RESOLVED,
                body="Fixed",
                display_at=at + timedelta(minutes=40),
            )
            if i % 200 == 199:
                s.commit()
        s.commit()
    return time.perf_counter() - started
