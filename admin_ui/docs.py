"""The platform's public documentation pages, readable without signing in: webhook notifications.

Every webhook payload links here (`meta.documentation`), so the page is for the subscribers of
any status page, not for staff: it says what is sent, when, how it is signed, and what the
platform does when an endpoint does not answer. The numbers on it come from the delivery code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from flask import Blueprint, current_app, make_response, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from status_platform.config import Settings
from status_platform.egress import TOTAL_TIMEOUT
from tenants.pages.models import Page
from tenants.subscribers.delivery import (
    MAX_ATTEMPTS,
    QUARANTINE_FAILURES,
    QUARANTINE_PURGE,
    QUARANTINE_WINDOW,
    RETRY_CAP,
    retry_delay,
)
from tenants.subscribers.messages import WEBHOOK_DOCUMENTATION_PATH, channel_receives
from tenants.subscribers.models import Channel, EventKind

bp = Blueprint("docs", __name__, url_prefix="/docs")

# What makes the platform send each kind of notice, in the words a subscriber reads.
EVENT_DESCRIPTIONS: dict[EventKind, str] = {
    EventKind.INCIDENT_CREATED: "An incident is opened on the page.",
    EventKind.INCIDENT_UPDATED: "An update (a new status, a new message) is posted to an open incident.",
    EventKind.INCIDENT_RESOLVED: "An incident is resolved.",
    EventKind.POSTMORTEM_PUBLISHED: "An incident's postmortem is published; its text is in postmortem_body.",
    EventKind.MAINTENANCE_SCHEDULED: "A maintenance window is scheduled.",
    EventKind.MAINTENANCE_REMINDER: (
        "A window that asks for a reminder starts soon ({minutes} minutes before, unless the page chose "
        "another lead time)."
    ),
    EventKind.MAINTENANCE_STARTED: "A window starts, by hand or at its scheduled time.",
    EventKind.MAINTENANCE_UPDATED: "An update is posted to a window.",
    EventKind.MAINTENANCE_COMPLETED: "A window is completed.",
    EventKind.MAINTENANCE_RESCHEDULED: "A window's start or end is moved.",
    EventKind.MAINTENANCE_CANCELLED: "A window is cancelled.",
    EventKind.COMPONENT_UPDATED: (
        "A component's status changes (a new name, description or position sends nothing)."
    ),
}


@dataclass(frozen=True)
class EventRow:
    """One line of the table of notices: the Event header's value, when it is sent, its payload key."""

    kind: str
    description: str
    payload: str


@dataclass(frozen=True)
class Retry:
    """One retry of a failed delivery: which attempt it is and how long after the previous one."""

    attempt: int
    wait: str


class _Nominal(random.Random):
    """The middle of the jitter, so the schedule shown is the one the jitter spreads around."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def duration(seconds: float) -> str:
    """90 -> '1 min 30 s', 600 -> '10 min', 20 -> '20 s', 3600 -> '1 hour'."""
    hours, part = divmod(round(seconds), 3600)
    if hours and not part:
        return f"{hours} hour" + ("" if hours == 1 else "s")
    minutes, rest = divmod(round(seconds), 60)
    parts = ([f"{minutes} min"] if minutes else []) + ([f"{rest} s"] if rest or not minutes else [])
    return " ".join(parts)


def event_rows() -> list[EventRow]:
    """Every kind of notice a webhook receives, in the order of EventKind."""
    # A page's reminder lead time starts at the column's default; the page may choose another.
    default_minutes = Page.__table__.c.maintenance_reminder_minutes.default.arg
    return [
        EventRow(
            kind=kind.value,
            description=EVENT_DESCRIPTIONS[kind].format(minutes=default_minutes),
            payload="component_update" if kind is EventKind.COMPONENT_UPDATED else "incident",
        )
        for kind in EventKind
        if channel_receives(kind, Channel.WEBHOOK)
    ]


def retry_schedule(settings: Settings) -> list[Retry]:
    """The retries of a webhook delivery after its first attempt fails, with their nominal waits."""
    nominal = _Nominal()
    return [
        Retry(attempt=attempts + 1, wait=duration(retry_delay(attempts, settings, rng=nominal)))
        for attempts in range(1, MAX_ATTEMPTS[Channel.WEBHOOK])
    ]


@bp.get("/webhooks")
def webhooks() -> Response:
    """What a webhook subscriber receives and how to check it; no sign-in needed."""
    settings: Settings = current_app.config["SETTINGS"]
    html = render_template(
        "admin/docs/webhooks.html",
        documentation_url=settings.admin_url(WEBHOOK_DOCUMENTATION_PATH),
        events=event_rows(),
        retries=retry_schedule(settings),
        max_attempts=MAX_ATTEMPTS[Channel.WEBHOOK],
        retry_base=duration(settings.DELIVERY_RETRY_BASE_SECONDS),
        retry_cap=duration(RETRY_CAP),
        timeout=duration(TOTAL_TIMEOUT),
        quarantine_failures=QUARANTINE_FAILURES,
        quarantine_window=duration(QUARANTINE_WINDOW.total_seconds()),
        purge_days=QUARANTINE_PURGE.days,
    )
    response = make_response(html)
    # Signed out, the page is the same for every reader and shared caches may keep it a while;
    # signed in, its header names the member, so only their browser may.
    response.headers["Cache-Control"] = (
        "private, no-cache" if current_user.is_authenticated else "public, max-age=3600"
    )
    return response
