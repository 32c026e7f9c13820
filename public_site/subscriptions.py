"""The subscriber's side of the double opt-in: the confirmation link's page and its Confirm button.

Mail scanners open links, so a GET only shows the subscription and a Confirm button; the POST
confirms. The token in the path is the secret (signed, for this page, good for 48 hours), so the
form needs no CSRF token of its own: a forged POST would need the token it could not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, Response, g, make_response, render_template

from public_site import documents
from status_platform.db.session import db
from status_platform.identity.actor import SYSTEM
from tenants.incidents.models import Incident
from tenants.pages.models import Page
from tenants.subscribers.confirmation import InvalidConfirmation, subscriber_id_from_token
from tenants.subscribers.models import Channel, Subscriber
from tenants.subscribers.services import confirm_subscriber

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_.-]{1,1000}$")


@dataclass(frozen=True)
class Lookup:
    subscriber: Subscriber | None
    problem: str | None = None


def _lookup(token: str) -> Lookup:
    page_id = g.page_address.page_id
    try:
        if not TOKEN_RE.match(token):
            raise InvalidConfirmation("This confirmation link is not valid. Check that you opened all of it.")
        subscriber_id = subscriber_id_from_token(token, page_id=page_id)
    except InvalidConfirmation as error:
        return Lookup(None, error.message)
    subscriber = db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.page_id != page_id:
        return Lookup(None, "This subscription no longer exists. Subscribe again to receive updates.")
    return Lookup(subscriber)


def _render(token: str, lookup: Lookup, *, just_confirmed: bool = False) -> Response:
    page = db.get(Page, g.page_address.page_id)
    subscriber = lookup.subscriber
    if subscriber is None:
        state, status = "invalid", 400
    elif subscriber.unsubscribed_at is not None:
        state, status = "cancelled", 409
    elif just_confirmed:
        state, status = "confirmed", 200
    elif subscriber.confirmed_at is not None:
        state, status = "already", 200
    else:
        state, status = "ask", 200
    incident_id = subscriber.incident_id if subscriber is not None else None
    incident = db.get(Incident, incident_id) if incident_id else None
    html = render_template(
        "public/subscriptions/confirm.html",
        state=state,
        problem=lookup.problem,
        token=token,
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
        address=subscriber.address if subscriber is not None else None,
        is_email=subscriber is not None and subscriber.channel is Channel.EMAIL,
        incident_name=incident.name if incident is not None else None,
    )
    response = make_response(html, status)
    # The token is a secret: never cached, never sent on to another site, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/confirm/<token>")
def confirm(token: str) -> Response:
    """Show what the link confirms, with a Confirm button; never confirms by itself."""
    return _render(token, _lookup(token))


@bp.post("/confirm/<token>")
def confirm_submit(token: str) -> Response:
    """Confirm the subscription the link names (idempotent: a second POST confirms nothing new)."""
    lookup = _lookup(token)
    subscriber = lookup.subscriber
    just_confirmed = False
    if subscriber is not None and subscriber.unsubscribed_at is None:
        just_confirmed = confirm_subscriber(db, subscriber, actor=SYSTEM)
        db.commit()
    return _render(token, lookup, just_confirmed=just_confirmed)
