"""The visitor's side of subscriptions: the sign-up forms, double opt-in, managing and cancelling.

The sign-up forms are part of the cached public pages, so they carry no per-visitor token;
their POSTs are protected from cross-site forgery by requiring the request to come from the
page's own origin (Origin, else Sec-Fetch-Site, else Referer). The pages reached from a message
(confirm, manage, unsubscribe) carry a signed token in the path: the token is the secret, so a
forged POST would need a token it could not know, and RFC 8058's one-click POST, sent by mail
clients without Origin or cookies, is accepted. Mail scanners open links, so a GET only shows
a page; every change is a POST.

Sign-ups are limited per client address and per target address, and answer the same whether an
email address or phone number is new or already subscribed: only the address itself learns it.

On private and audience-specific pages a signed-in viewer's subscription is bound to that viewer
(it is told of, and offered, only what the viewer may see); a private page takes no sign-up from
anyone not signed in, and an anonymous visitor of an audience-specific page may choose public
components only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from public_site import documents, viewers
from public_site.origin import is_same_origin
from status_platform import ratelimit
from status_platform.db.session import db
from status_platform.errors import DomainError, TooManyRequests, ValidationError
from status_platform.identity.actor import SYSTEM
from status_platform.tenancy.plans import plan_of
from tenants.audiences.visibility import PUBLIC, Sight, readers_of, visible_components
from tenants.incidents.models import Incident
from tenants.pages.models import Page, PageVisibility
from tenants.pages.snapshot import sections
from tenants.subscribers.confirmation import (
    InvalidConfirmation,
    code_entry_from_token,
    code_entry_token,
    subscriber_id_from_token,
    tell_already_subscribed,
)
from tenants.subscribers.links import InvalidManageLink, manage_url, subscriber_id_from_manage_token
from tenants.subscribers.models import Channel, Subscriber, SubscriberState
from tenants.subscribers.schemas import ADDRESS_FIELDS, clean_address, display_phone
from tenants.subscribers.services import (
    CODE_ATTEMPTS,
    SMS_CONFIRMATIONS,
    AlreadySubscribed,
    add_subscriber,
    confirm_subscriber,
    confirm_subscriber_code,
    reactivate_subscriber,
    request_confirmation,
    unsubscribe_subscriber,
    update_subscriber_components,
)

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_.-]{1,1000}$")
INCIDENT_ID_RE = re.compile(r"^[a-z0-9]{1,32}$")
CODE_RE = re.compile(r"^\d{6}$")

# A network signing up many addresses, and one address signed up again and again (each sign-up
# of an email address or phone number sends it a message).
SIGNUPS_PER_IP = ratelimit.Limit("public-signup-ip", attempts=10, window_seconds=600)
SIGNUPS_PER_ADDRESS = ratelimit.Limit("public-signup-address", attempts=3, window_seconds=3600)

CHANNEL_LABELS = {
    Channel.EMAIL: "Email",
    Channel.SMS: "SMS",
    Channel.WEBHOOK: "Webhook",
    Channel.SLACK: "Slack",
    Channel.TEAMS: "Teams",
}
FEEDS = "feeds"
_PAGE_FLAGS = {
    Channel.EMAIL: Page.allow_email_subscribers,
    Channel.SMS: Page.allow_sms_subscribers,
    Channel.WEBHOOK: Page.allow_webhook_subscribers,
    Channel.SLACK: Page.allow_slack_subscribers,
    Channel.TEAMS: Page.allow_teams_subscribers,
}
# The inputs of each channel's form, where a message about them is shown.
FORM_FIELDS = {
    Channel.EMAIL.value: ("email",),
    Channel.SMS.value: ("phone_number",),
    Channel.WEBHOOK.value: ("endpoint", "email"),
    Channel.SLACK.value: ("endpoint",),
    Channel.TEAMS.value: ("endpoint",),
}
# Statuspage's incident subscriptions: the channels that reach a person or a program directly.
INCIDENT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)
# The headers of a webhook notice, as the delivery sends them (tenants.subscribers.messages).
SIGNATURE_HEADER = "X-StatusPlatform-Signature"
TIMESTAMP_HEADER = "X-StatusPlatform-Timestamp"
DELIVERY_HEADER = "X-StatusPlatform-Delivery"
# A code page issued once its subscriber had confirmed was issued to a repeated sign-up: no code
# was sent for it, so every code typed there is wrong. Tokens count whole seconds, hence the margin.
_TOKEN_CLOCK_MARGIN = timedelta(seconds=1)


# --- the panel -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    key: str
    label: str


@dataclass(frozen=True)
class ComponentChoice:
    """One group of checkboxes: a component group's children, or a component outside any group."""

    group: str | None
    components: list[tuple[str, str]]  # (id, name)


@dataclass(frozen=True)
class Panel:
    """What the "Subscribe to updates" panel offers: a tab per allowed channel, then the feeds.

    On a private page a visitor who is not signed in is asked to sign in instead of shown the
    forms (`must_sign_in`); on an audience-specific page the forms offer public components and
    `sign_in_url` tells clients where to sign in for theirs. A signed-in viewer's feeds are on
    its account page (`account_url`); a private page has no public feed.
    """

    tabs: list[Tab]
    choices: list[ComponentChoice] = field(default_factory=list)
    incident_id: str | None = None
    sign_in_url: str | None = None
    must_sign_in: bool = False
    account_url: str | None = None
    public_feeds: bool = True

    @property
    def channels(self) -> list[str]:
        return [tab.key for tab in self.tabs if tab.key != FEEDS]


def _allowed_channels(*, for_incident: bool) -> tuple[list[Channel], PageVisibility] | None:
    """The channels the page takes sign-ups on, and the page's visibility (None when the database
    cannot be asked)."""
    page_id = g.page_address.page_id
    try:
        row = db.execute(
            select(
                Page.visibility,
                Page.allow_page_subscribers,
                Page.allow_incident_subscribers,
                *_PAGE_FLAGS.values(),
            ).where(Page.id == page_id)
        ).one_or_none()
        if row is None:
            return [], PageVisibility.PUBLIC
        visibility, page_wide, incident_wide, *flags = row
        allowed = [channel for channel, on in zip(_PAGE_FLAGS, flags, strict=True) if on]
        if Channel.SMS in allowed and not plan_of(db, g.page_address.tenant_id).allows_sms:
            allowed.remove(Channel.SMS)
    except SQLAlchemyError:
        # The cached page is still served while the database is down; it then links to the form.
        with contextlib.suppress(SQLAlchemyError):
            db.rollback()
        return None
    if for_incident:
        allowed = [channel for channel in allowed if channel in INCIDENT_CHANNELS] if incident_wide else []
    elif not page_wide:
        allowed = []
    return allowed, PageVisibility(visibility)


def component_choices(layout: Iterable[dict[str, Any]]) -> list[ComponentChoice]:
    """Checkbox groups from the page's layout (`sections(...)["layout"]`), in display order."""
    choices: list[ComponentChoice] = []
    loose: list[tuple[str, str]] = []
    for item in layout:
        if "group" in item:
            if loose:
                choices.append(ComponentChoice(None, loose))
                loose = []
            children = [(c["id"], c["name"]) for c in item["children"]]
            if children:
                choices.append(ComponentChoice(item["group"]["name"], children))
        else:
            loose.append((item["component"]["id"], item["component"]["name"]))
    if loose:
        choices.append(ComponentChoice(None, loose))
    return choices


@bp.app_template_global()
def subscribe_panel(snapshot: dict[str, Any], incident_id: str | None = None) -> Panel | None:
    """The panel of the page (or of one incident), for the page's templates; None if unknown now.

    Read when a page is rendered, which happens once per page version and reader (anonymous
    visitors share one rendering): a change of the page's settings bumps the version.
    """
    found = _allowed_channels(for_incident=incident_id is not None)
    if found is None:
        return None
    allowed, visibility = found
    tabs = [Tab(channel.value, CHANNEL_LABELS[channel]) for channel in allowed]
    restricted = visibility is not PageVisibility.PUBLIC
    viewer = viewers.current_viewer() if restricted else None
    private = visibility is PageVisibility.PRIVATE
    sign_in_url = url_for("viewers.login") if restricted and viewer is None else None
    if private and viewer is None:
        return Panel(tabs, incident_id=incident_id, sign_in_url=sign_in_url, must_sign_in=True)
    if incident_id is not None:
        return Panel(tabs, incident_id=incident_id, sign_in_url=sign_in_url)
    account_url = url_for("viewers.account") if viewer is not None else None
    if snapshot["_page"]["allow_feeds"] and (account_url or not private):
        tabs.append(Tab(FEEDS, "Feeds"))
    # The snapshot is the reader's own (its sight's), so its layout lists what the reader may see.
    choices = component_choices(sections(snapshot, hide_quiet=False)["layout"])
    return Panel(tabs, choices, sign_in_url=sign_in_url, account_url=account_url, public_feeds=not private)


# --- requests --------------------------------------------------------------------------------------


def shown_address(subscriber: Subscriber) -> str:
    """Where the subscription is delivered (a webhook's URL, not its contact's address).

    An endpoint is shown as its scheme and host only: Slack and Teams incoming-webhook URLs are
    credentials, and the manage link travels in every message to a shared channel.
    """
    if subscriber.channel is Channel.SMS:
        return display_phone(subscriber.phone_number) or ""
    if subscriber.channel is Channel.EMAIL:
        return subscriber.email or ""
    parts = urlsplit(subscriber.endpoint or "")
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else ""


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _private(
    html: str, status: int = 200, headers: dict[str, str] | None = None, *, referrer: str = "no-referrer"
) -> Response:
    """A response for one visitor: never cached, never passed on to another site, never indexed.

    A page whose form posts back to an origin-checked route says `referrer="same-origin"`:
    under `no-referrer` browsers send `Origin: null` (and over plain HTTP no Sec-Fetch-Site),
    which would leave its own form indistinguishable from a forged one. `same-origin` still
    sends nothing to other sites.
    """
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = referrer
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _notice(title: str, message: str, status: int, *, headers: dict[str, str] | None = None) -> Response:
    page = db.get(Page, g.page_address.page_id)
    html = render_template(
        "public/subscriptions/notice.html",
        title=title,
        message=message,
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
    )
    return _private(html, status, headers)


def _sign_in_first() -> Response:
    page = db.get(Page, g.page_address.page_id)
    html = render_template(
        "public/subscriptions/notice.html",
        title="Sign in to subscribe",
        message="This status page is private: sign in first, then subscribe to the updates you may see.",
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
        sign_in_url=url_for("viewers.login", next=url_for("subscriptions.new")),
    )
    return _private(html, 401)


def _cross_site() -> Response:
    return _notice(
        "This form was sent from another site",
        "For your safety, subscriptions are only accepted from this status page's own forms. "
        "Open the status page and subscribe there.",
        403,
    )


def _too_many(message: str, wait: int) -> Response:
    return _notice("Too many sign-ups", message, 429, headers={"Retry-After": str(max(1, wait))})


def _public_incident(incident_id: str) -> Incident:
    """One of the page's incidents as visitors see it (a 404 for one they cannot see)."""
    if not INCIDENT_ID_RE.match(incident_id):
        abort(404)
    documents.incident(incident_id)
    incident = db.get(Incident, incident_id)
    if incident is None or incident.page_id != g.page_address.page_id:
        abort(404)
    return incident


def _form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: form.get(name, "")[:2000] for name in ("email", "phone_number", "endpoint")
    }
    values["components"] = form.getlist("components")
    return values


def _form_page(
    snapshot: dict[str, Any],
    *,
    active: str | None,
    incident: Incident | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    panel = subscribe_panel(snapshot, incident.id if incident is not None else None)
    errors = dict(errors or {})
    if panel is not None and active not in [tab.key for tab in panel.tabs]:
        active = panel.tabs[0].key if panel.tabs else None
    shown = set(FORM_FIELDS.get(active or "", ()))
    if panel is not None and panel.choices and incident is None:
        shown.add("components")
    # A message for a field the page does not show (a channel switched off) is said above the forms.
    misplaced = [message for name, message in errors.items() if name != "_form" and name not in shown]
    if misplaced:
        errors = {name: message for name, message in errors.items() if name in shown}
        errors["_form"] = " ".join(misplaced)
    return render_template(
        "public/subscriptions/new.html",
        s=snapshot,
        page_url=documents.page_url(),
        panel=panel,
        active=active,
        incident=incident,
        values=values or {},
        errors=errors,
    )


@bp.get("/new")
def new() -> Response:
    """The sign-up forms on a page of their own (the header panel's tabs link here without script)."""
    snapshot = documents.snapshot()
    incident_id = request.args.get("incident")
    incident = _public_incident(incident_id) if incident_id else None
    active = request.args.get("channel")
    return documents.respond(
        lambda: _form_page(snapshot, active=active, incident=incident),
        "subscribe",
    )


def _address_of(channel: Channel, form: MultiDict[str, str]) -> tuple[str, str | None]:
    """The address typed for `channel`, and a webhook's email for failure notices."""
    address = form.get(ADDRESS_FIELDS[channel], "").strip()
    if not address:
        what = {
            Channel.EMAIL: "your email address",
            Channel.SMS: "your phone number",
            Channel.WEBHOOK: "the URL to notify",
            Channel.SLACK: "the Slack incoming-webhook URL",
            Channel.TEAMS: "the Teams incoming-webhook URL",
        }[channel]
        raise ValidationError(f"Enter {what}.", field=ADDRESS_FIELDS[channel])
    if channel is not Channel.WEBHOOK:
        return address, None
    contact = form.get("email", "").strip()
    if not contact:
        raise ValidationError("Enter an email address to tell if the webhook keeps failing.", field="email")
    return address, contact


def _limit_subject(channel: Channel, address: str) -> str:
    """The target address as the limit counts it: one person's address however it is written."""
    if channel in (Channel.EMAIL, Channel.SMS):
        # Cheap and offline; URLs are checked (with a DNS lookup) once, by the service.
        return next(iter(clean_address(channel, address).values()))
    return address


@bp.post("")
def create() -> Response:
    """Subscribe from the forms: validate, limit, add through the service, commit, show what is next.

    A signed-in viewer's subscription is bound to the viewer; a private page refuses visitors who
    are not signed in.
    """
    if viewers.page_is_private() and viewers.current_viewer() is None:
        return _sign_in_first()
    snapshot = documents.snapshot()
    if not is_same_origin():
        return _cross_site()
    form = request.form
    incident_id = form.get("incident") or None
    incident = _public_incident(incident_id) if incident_id else None
    try:
        channel = Channel(form.get("channel", ""))
    except ValueError:
        html = _form_page(
            snapshot,
            active=None,
            incident=incident,
            errors={"_form": "Choose how you want to receive updates."},
        )
        return _private(html, 400)
    wait = ratelimit.attempt(SIGNUPS_PER_IP, _client_ip())
    if wait:
        return _too_many(f"Too many sign-ups from your network. {ratelimit.try_again_in(wait)}", wait)
    page = db.get(Page, g.page_address.page_id)
    if page is None:
        abort(404)
    values = _form_values(form)
    counted: str | None = None  # the address attempt counted, given back if the sign-up is refused
    try:
        address, contact = _address_of(channel, form)
        components = [] if incident is not None else values["components"]
        subject = _limit_subject(channel, address)
        counted = f"{page.id}:{channel.value}:{subject}"
        wait = ratelimit.attempt(SIGNUPS_PER_ADDRESS, counted)
        if wait:
            return _too_many(
                f"This address was signed up several times lately. {ratelimit.try_again_in(wait)}", wait
            )
        subscriber = add_subscriber(
            db,
            page,
            channel=channel,
            address=address,
            actor=SYSTEM,
            component_ids=components,
            contact_email=contact,
            incident=incident,
            viewer=viewers.current_viewer(),
            sight=viewers.current_sight(),
        )
        db.commit()
    except AlreadySubscribed as duplicate:
        db.rollback()
        return _signed_up_again(snapshot, page, channel, address, duplicate.subscriber_id, incident, values)
    except TooManyRequests as error:
        db.rollback()
        return _too_many(error.message, error.retry_after)
    except DomainError as error:
        db.rollback()
        if counted is not None and isinstance(error, ValidationError):
            # Refused as typed, nothing was sent to the address: correcting the form is no new sign-up.
            ratelimit.forgive(SIGNUPS_PER_ADDRESS, counted)
        html = _form_page(
            snapshot,
            active=channel.value,
            incident=incident,
            values=values,
            errors={error.field or "_form": error.message},
        )
        return _private(html, 422 if isinstance(error, ValidationError) else error.status_code)
    return _signed_up(snapshot, page, subscriber)


def _signed_up(
    snapshot: dict[str, Any], page: Page, subscriber: Subscriber, *, reactivated: bool = False
) -> Response:
    """What a sign-up shows. A reactivated endpoint keeps its signing secret, which is not shown
    again: whoever typed the URL need not be the one who received the secret."""
    if subscriber.channel is Channel.SMS:
        token = code_entry_token(subscriber.id, page.id)
        return redirect(url_for("subscriptions.code", token=token), 303)
    if subscriber.channel is Channel.EMAIL:
        return _check_inbox(snapshot, page, subscriber.address, subscriber.incident_id)
    html = render_template(
        "public/subscriptions/added.html",
        s=snapshot,
        page_url=documents.page_url(),
        channel=subscriber.channel.value,
        label=CHANNEL_LABELS[subscriber.channel],
        address=shown_address(subscriber),
        secret=None if reactivated else subscriber.secret,
        reactivated=reactivated,
        incident_name=_incident_name(subscriber.incident_id),
        manage_link=manage_url(documents.page_url(), subscriber.id, page.id),
        headers={
            "signature": SIGNATURE_HEADER,
            "timestamp": TIMESTAMP_HEADER,
            "delivery": DELIVERY_HEADER,
        },
    )
    return _private(html, 200)


def _check_inbox(snapshot: dict[str, Any], page: Page, address: str, incident_id: str | None) -> Response:
    html = render_template(
        "public/subscriptions/sent.html",
        s=snapshot,
        page_url=documents.page_url(),
        address=address,
        incident_name=_incident_name(incident_id),
    )
    return _private(html, 200)


def _incident_name(incident_id: str | None) -> str | None:
    incident = db.get(Incident, incident_id) if incident_id else None
    return incident.name if incident is not None else None


def _signed_up_again(
    snapshot: dict[str, Any],
    page: Page,
    channel: Channel,
    address: str,
    subscriber_id: str,
    incident: Incident | None,
    values: dict[str, Any],
) -> Response:
    """A sign-up of an address already subscribed (and not unsubscribed): `subscriber_id`, as the
    service found it.

    Email and SMS answer exactly as for a new address, so the form cannot be used to learn who
    follows the page: the address itself is sent its confirmation again (when still unconfirmed)
    or a note with its manage link (when active). Endpoints have no such secret to keep.
    """
    existing = db.get(Subscriber, subscriber_id)
    if existing is not None and existing.unsubscribed_at is not None:
        existing = None  # unsubscribed since the service's check
    if channel not in (Channel.EMAIL, Channel.SMS):
        if existing is not None and existing.state is SubscriberState.QUARANTINED:
            # Subscribing a quarantined endpoint again is how its owner brings it back.
            reactivate_subscriber(db, existing, actor=SYSTEM)
            db.commit()
            return _signed_up(snapshot, page, existing, reactivated=True)
        what = "this incident" if incident is not None else page.name
        html = _form_page(
            snapshot,
            active=channel.value,
            incident=incident,
            values=values,
            errors={"endpoint": f"This URL is already subscribed to {what}."},
        )
        return _private(html, 409)
    if channel is Channel.SMS:
        wait = ratelimit.seconds_left(SMS_CONFIRMATIONS, page.tenant_id)
        if wait:
            # What a new number gets while the organization's texts are used up.
            return _too_many(
                "This organization has sent as many SMS confirmations as allowed this hour. "
                + ratelimit.try_again_in(wait),
                wait,
            )
    if existing is not None:
        if existing.state is SubscriberState.UNCONFIRMED:
            try:
                request_confirmation(db, existing, actor=SYSTEM)
            except DomainError:
                # Resends have limits of their own; over them the answer must still not differ.
                db.rollback()
        elif existing.state is SubscriberState.ACTIVE and (
            channel is Channel.EMAIL or not ratelimit.attempt(SMS_CONFIRMATIONS, page.tenant_id)
        ):
            tell_already_subscribed(db, existing)
        db.commit()
    if channel is Channel.EMAIL:
        return _check_inbox(
            snapshot,
            page,
            clean_address(channel, address)["email"],  # as a new address's page shows it
            incident.id if incident is not None else None,
        )
    if existing is None:
        # Unsubscribed between the service's check and this one: the next try subscribes it.
        html = _form_page(
            snapshot,
            active=channel.value,
            incident=incident,
            values=values,
            errors={"_form": "Something changed while you subscribed; send the form again."},
        )
        return _private(html, 409)
    return redirect(url_for("subscriptions.code", token=code_entry_token(existing.id, page.id)), 303)


# --- the SMS code ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeLookup:
    subscriber: Subscriber | None
    problem: str | None = None
    # The page was issued once the subscriber had confirmed (to a repeated sign-up of the number).
    issued_after_confirmation: bool = False


def _code_lookup(token: str) -> CodeLookup:
    page_id = g.page_address.page_id
    try:
        if not TOKEN_RE.match(token):
            raise InvalidConfirmation("This address is not valid. Check that you opened all of it.")
        subscriber_id, issued_at = code_entry_from_token(token, page_id=page_id)
    except InvalidConfirmation as error:
        return CodeLookup(None, error.message)
    subscriber = db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.page_id != page_id or subscriber.channel is not Channel.SMS:
        return CodeLookup(None, "This subscription no longer exists. Subscribe again to receive updates.")
    confirmed_at = subscriber.confirmed_at
    return CodeLookup(
        subscriber,
        issued_after_confirmation=confirmed_at is not None
        and confirmed_at <= issued_at + _TOKEN_CLOCK_MARGIN,
    )


def _render_code(
    token: str,
    lookup: CodeLookup,
    *,
    just_confirmed: bool = False,
    code: str = "",
    error: str | None = None,
) -> Response:
    subscriber = lookup.subscriber
    if subscriber is None:
        state, status = "invalid", 400
    elif subscriber.unsubscribed_at is not None:
        state, status = "cancelled", 409
    elif just_confirmed or (subscriber.confirmed_at is not None and not lookup.issued_after_confirmation):
        state, status = "confirmed", 200
    else:
        state, status = "ask", 422 if error else 200
    page = db.get(Page, g.page_address.page_id)
    html = render_template(
        "public/subscriptions/code.html",
        state=state,
        problem=lookup.problem,
        token=token,
        code=code,
        error=error,
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
        phone=display_phone(subscriber.phone_number) if subscriber is not None else None,
        incident_name=_incident_name(subscriber.incident_id) if subscriber is not None else None,
        manage_link=manage_url(documents.page_url(), subscriber.id, subscriber.page_id)
        if state == "confirmed" and subscriber is not None
        else None,
    )
    return _private(html, status, referrer="same-origin")


@bp.get("/code/<token>")
def code(token: str) -> Response:
    """Ask for the six-digit code texted to the number just subscribed."""
    return _render_code(token, _code_lookup(token))


@bp.post("/code/<token>")
def code_submit(token: str) -> Response:
    """Confirm with the texted code: a wrong one shows the form again (five tries per window)."""
    if not is_same_origin():
        return _cross_site()
    lookup = _code_lookup(token)
    subscriber = lookup.subscriber
    typed = request.form.get("code", "").strip()[:20]
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return _render_code(token, lookup)
    if subscriber.confirmed_at is not None and not lookup.issued_after_confirmation:
        return _render_code(token, lookup)
    if not CODE_RE.match(typed):
        return _render_code(
            token, lookup, code=typed, error="Enter the six digits of the code we texted you."
        )
    try:
        if lookup.issued_after_confirmation:
            # No code was sent for this page: every guess is wrong, and counted like one.
            _refuse_code(subscriber)
        just_confirmed = confirm_subscriber_code(db, subscriber, typed, actor=SYSTEM)
        db.commit()
    except DomainError as error:
        db.rollback()
        return _render_code(token, lookup, code=typed, error=error.message)
    return _render_code(token, lookup, just_confirmed=just_confirmed)


def _refuse_code(subscriber: Subscriber) -> None:
    tries = ratelimit.hit(CODE_ATTEMPTS, subscriber.id)
    if tries > CODE_ATTEMPTS.attempts:
        wait = ratelimit.seconds_left(CODE_ATTEMPTS, subscriber.id) or CODE_ATTEMPTS.window_seconds
        raise ValidationError(f"Too many tries. {ratelimit.try_again_in(wait)}", field="code")
    raise ValidationError("This code is not right. Check the latest text message we sent.", field="code")


# --- the confirmation link -------------------------------------------------------------------------


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
    return _private(html, status)


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


# --- managing and cancelling -----------------------------------------------------------------------


@dataclass(frozen=True)
class ManageLookup:
    subscriber: Subscriber | None
    problem: str | None = None
    # A genuine link of this page whose subscription has been deleted since.
    gone: bool = False


def _manage_lookup(token: str) -> ManageLookup:
    page_id = g.page_address.page_id
    try:
        if not TOKEN_RE.match(token):
            raise InvalidManageLink("This link is not valid. Check that you opened all of it.")
        subscriber_id = subscriber_id_from_manage_token(token, page_id=page_id)
    except InvalidManageLink as error:
        return ManageLookup(None, error.message)
    subscriber = db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.page_id != page_id:
        return ManageLookup(
            None, "This subscription no longer exists: nothing more is sent to it.", gone=True
        )
    return ManageLookup(subscriber)


def _sight_of(subscriber: Subscriber) -> Sight | None:
    """What the subscription may see of its page; None for nothing at all (see `readers_of`)."""
    reader = readers_of(db, [subscriber])[subscriber.id]
    page = db.get(Page, subscriber.page_id)
    if page is None or not reader.may_read(page_is_private=page.visibility is PageVisibility.PRIVATE):
        return None
    return reader.sight


def _page_choices(subscriber: Subscriber) -> list[ComponentChoice]:
    """The components the subscription may see as checkbox groups, read from the database."""
    sight = _sight_of(subscriber)
    if sight is None:
        return []
    groups, components = visible_components(db, subscriber.page_id, sight)
    by_group: dict[str, list[tuple[str, str]]] = {}
    layout: list[tuple[int, ComponentChoice | tuple[str, str]]] = []
    for component in sorted(components, key=lambda c: c.position):
        if component.group_id:
            by_group.setdefault(component.group_id, []).append((component.id, component.name))
        else:
            layout.append((component.position, (component.id, component.name)))
    for group in groups:
        if by_group.get(group.id):
            layout.append((group.position, ComponentChoice(group.name, by_group[group.id])))
    choices: list[ComponentChoice] = []
    for _, item in sorted(layout, key=lambda pair: pair[0]):
        if isinstance(item, ComponentChoice):
            choices.append(item)
        elif choices and choices[-1].group is None:
            choices[-1].components.append(item)
        else:
            choices.append(ComponentChoice(None, [item]))
    return choices


def _render_manage(
    token: str,
    lookup: ManageLookup,
    *,
    saved: bool = False,
    selected: Sequence[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int | None = None,
) -> Response:
    subscriber = lookup.subscriber
    page = db.get(Page, g.page_address.page_id)
    context: dict[str, Any] = {}
    if subscriber is not None:
        choices = _page_choices(subscriber) if subscriber.incident_id is None else []
        if errors and "components" in errors and not choices:
            # No components are offered to mark: the refusal is the form's.
            errors = {"_form": errors["components"]}
        names = {component_id: name for choice in choices for component_id, name in choice.components}
        following = [link.component_id for link in subscriber.component_links]
        context = {
            "channel": CHANNEL_LABELS[subscriber.channel],
            "address": shown_address(subscriber),
            "state": subscriber.state.value,
            "incident_name": _incident_name(subscriber.incident_id),
            "choices": choices,
            "following": [
                names.get(component_id, "A component no longer shown") for component_id in following
            ],
            "selected": list(selected) if selected is not None else following,
        }
    html = render_template(
        "public/subscriptions/manage.html",
        token=token,
        problem=lookup.problem,
        found=subscriber is not None,
        saved=saved,
        errors=errors or {},
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
        **context,
    )
    if status is None:
        status = 200 if subscriber is not None else 404 if lookup.gone else 400
    return _private(html, status, referrer="same-origin")


@bp.get("/manage/<token>")
def manage(token: str) -> Response:
    """The subscription a notice's manage link names: what it follows, and forms to change or cancel it."""
    return _render_manage(token, _manage_lookup(token))


@bp.post("/manage/<token>")
def manage_update(token: str) -> Response:
    """Choose the components the subscription follows (none: the whole page)."""
    if not is_same_origin():
        return _cross_site()
    lookup = _manage_lookup(token)
    subscriber = lookup.subscriber
    if subscriber is None:
        return _render_manage(token, lookup)
    wanted = request.form.getlist("components")
    if subscriber.unsubscribed_at is not None:
        return _render_manage(
            token,
            lookup,
            errors={"_form": "This subscription was cancelled: subscribe again instead."},
            status=409,
        )
    try:
        update_subscriber_components(
            db, subscriber, actor=SYSTEM, component_ids=wanted, sight=_sight_of(subscriber) or PUBLIC
        )
        db.commit()
    except DomainError as error:
        db.rollback()
        return _render_manage(
            token, lookup, selected=wanted, errors={error.field or "_form": error.message}, status=422
        )
    return _render_manage(token, lookup, saved=True)


def _render_unsubscribe(token: str, lookup: ManageLookup) -> Response:
    subscriber = lookup.subscriber
    page = db.get(Page, g.page_address.page_id)
    if subscriber is None:
        # A deleted subscription gets nothing any more, which is what unsubscribing asks.
        state, status = ("gone", 200) if lookup.gone else ("invalid", 400)
    elif subscriber.unsubscribed_at is not None:
        state, status = "unsubscribed", 200
    else:
        state, status = "ask", 200
    html = render_template(
        "public/subscriptions/unsubscribe.html",
        state=state,
        problem=lookup.problem,
        token=token,
        page_name=page.name if page is not None else "this page",
        page_url=documents.page_url(),
        channel=CHANNEL_LABELS[subscriber.channel] if subscriber is not None else None,
        address=shown_address(subscriber) if subscriber is not None else None,
        incident_name=_incident_name(subscriber.incident_id) if subscriber is not None else None,
    )
    return _private(html, status)


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str) -> Response:
    """Show an Unsubscribe button; a GET (a mail scanner following the link) never unsubscribes."""
    return _render_unsubscribe(token, _manage_lookup(token))


@bp.post("/unsubscribe/<token>")
def unsubscribe_submit(token: str) -> Response:
    """Unsubscribe (idempotent), from the button or the RFC 8058 one-click POST of a mail client.

    The one-click POST (body `List-Unsubscribe=One-Click`) comes from the mail provider's
    servers with no Origin and no cookies, so no origin is required here: the token is the secret.
    """
    lookup = _manage_lookup(token)
    if lookup.subscriber is not None:
        unsubscribe_subscriber(db, lookup.subscriber, actor=SYSTEM)
        db.commit()
    return _render_unsubscribe(token, lookup)
