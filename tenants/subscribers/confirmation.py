"""Double opt-in: signed confirmation links for email, hashed six-digit codes for SMS, their messages
and the jobs that send them once the subscription is committed; also the note to an address that
signs up again while already subscribed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy.orm import Session

from status_platform.config import Settings, active_settings
from status_platform.db.session import tenant_session
from status_platform.errors import DomainError
from status_platform.jobs.enqueue import enqueue_after_commit
from status_platform.mail.outgoing import build_message, send_messages
from status_platform.sms import send_sms
from tenants.incidents.models import Incident
from tenants.pages.models import Page
from tenants.pages.services import route_of
from tenants.subscribers.links import manage_url
from tenants.subscribers.models import Channel, Subscriber, SubscriberState

CONFIRMATION_HOURS = 48
CONFIRMATION_SALT = "subscriber-confirmation"
CODE_SALT = b"subscriber-sms-code"
# The page where a visitor who just subscribed by SMS types their code. Its token has a salt of
# its own: whoever holds it (the visitor, who may have typed someone else's number) must still
# need the code, which a confirmation link's token would let them skip.
CODE_ENTRY_SALT = "subscriber-code-entry"
# The public app's route that shows the Confirm button (public_site.subscriptions.confirm).
CONFIRM_PATH = "/subscriptions/confirm/{token}"


class InvalidConfirmation(DomainError):
    """A confirmation link that is forged, expired or names no subscription of this page."""

    status_code = 400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(active_settings().SECRET_KEY, salt=CONFIRMATION_SALT)


def confirmation_token(subscriber_id: str, page_id: str) -> str:
    """The signed token of a confirmation link, good for CONFIRMATION_HOURS."""
    return str(_serializer().dumps({"subscriber": subscriber_id, "page": page_id}))


def subscriber_id_from_token(token: str, *, page_id: str) -> str:
    """The subscriber a confirmation link names, if the link is genuine, recent and of `page_id`.

    Raises InvalidConfirmation otherwise; reads nothing.
    """
    try:
        data = _serializer().loads(token, max_age=CONFIRMATION_HOURS * 3600)
    except SignatureExpired:
        raise InvalidConfirmation(
            f"This confirmation link has expired (links work for {CONFIRMATION_HOURS} hours). "
            "Subscribe again to get a new one."
        ) from None
    except BadSignature:
        raise InvalidConfirmation(
            "This confirmation link is not valid. Check that you opened all of it."
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("page") != page_id
        or not isinstance(data.get("subscriber"), str)
    ):
        raise InvalidConfirmation("This confirmation link is not for this status page.")
    return str(data["subscriber"])


def code_entry_token(subscriber_id: str, page_id: str) -> str:
    """The signed token of the code-entry page shown after an SMS sign-up, good for CONFIRMATION_HOURS.

    It names the pending subscriber but confirms nothing by itself: only the texted code does.
    """
    serializer = URLSafeTimedSerializer(active_settings().SECRET_KEY, salt=CODE_ENTRY_SALT)
    return str(serializer.dumps({"subscriber": subscriber_id, "page": page_id}))


def code_entry_from_token(token: str, *, page_id: str) -> tuple[str, datetime]:
    """The subscriber a code-entry token names, and when the token was issued (UTC).

    Raises InvalidConfirmation for a forged, expired or foreign token; reads nothing.
    """
    serializer = URLSafeTimedSerializer(active_settings().SECRET_KEY, salt=CODE_ENTRY_SALT)
    try:
        data, issued_at = serializer.loads(token, max_age=CONFIRMATION_HOURS * 3600, return_timestamp=True)
    except SignatureExpired:
        raise InvalidConfirmation(
            f"This page has expired (it works for {CONFIRMATION_HOURS} hours). "
            "Subscribe again to get a new code."
        ) from None
    except BadSignature:
        raise InvalidConfirmation("This address is not valid. Check that you opened all of it.") from None
    if (
        not isinstance(data, dict)
        or data.get("page") != page_id
        or not isinstance(data.get("subscriber"), str)
    ):
        raise InvalidConfirmation("This address is not for this status page.")
    return str(data["subscriber"]), issued_at.astimezone(UTC)


def new_code() -> str:
    """A random six-digit code (leading zeros kept)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_code(subscriber_id: str, code: str) -> str:
    """The stored form of an SMS code: keyed, and bound to its subscriber (64 hex characters)."""
    key = hashlib.sha256(CODE_SALT + active_settings().SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{subscriber_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(subscriber_id: str, code: str, stored: str | None) -> bool:
    if not stored:
        return False
    return hmac.compare_digest(hash_code(subscriber_id, code.strip()), stored)


@dataclass(frozen=True)
class SubscriberMail:
    subject: str
    text: str
    html: str


def confirmation_mail(*, page_name: str, link: str, incident_name: str | None = None) -> SubscriberMail:
    """The double opt-in message for an email subscriber."""
    what = (
        f"updates of the incident “{incident_name}”" if incident_name else "incident and maintenance updates"
    )
    subject = f"Confirm your subscription to {page_name} status"
    text = (
        f"Someone, hopefully you, asked to receive {what} from the {page_name} status page "
        "at this address.\n\n"
        f"Confirm the subscription here:\n{link}\n\n"
        f"The link works for {CONFIRMATION_HOURS} hours. If you did not ask for this, ignore this "
        "message: nothing will be sent to you.\n"
    )
    html = (
        f"<p>Someone, hopefully you, asked to receive {escape(what)} from the "
        f"<strong>{escape(page_name)}</strong> status page at this address.</p>"
        f'<p><a href="{escape(link)}">Confirm the subscription</a></p>'
        f"<p>The link works for {CONFIRMATION_HOURS} hours. If you did not ask for this, ignore this "
        "message: nothing will be sent to you.</p>"
    )
    return SubscriberMail(subject=subject, text=text, html=html)


def confirmation_sms(*, page_name: str, code: str, link: str) -> str:
    """The text carrying an SMS subscriber's code, and the link that confirms without it."""
    return (
        f"{code} is your code to confirm {page_name} status updates by SMS, or open {link} to confirm. "
        "Reply STOP to opt out."
    )


def unsubscribed_mail(*, page_name: str, page_url: str) -> SubscriberMail:
    """The notice telling an email subscriber that they will receive no more updates."""
    subject = f"You are unsubscribed from {page_name} status"
    text = (
        f"You will no longer receive incident and maintenance updates from the {page_name} status page.\n\n"
        f"You can still follow it at {page_url}\n"
    )
    html = (
        f"<p>You will no longer receive incident and maintenance updates from the "
        f"<strong>{escape(page_name)}</strong> status page.</p>"
        f'<p>You can still follow it at <a href="{escape(page_url)}">{escape(page_url)}</a>.</p>'
    )
    return SubscriberMail(subject=subject, text=text, html=html)


def already_subscribed_mail(
    *, page_name: str, manage_link: str, incident_name: str | None = None
) -> SubscriberMail:
    """The answer to someone subscribing an address that already receives the page's updates."""
    what = (
        f"updates of the incident “{incident_name}”" if incident_name else "incident and maintenance updates"
    )
    subject = f"You are already subscribed to {page_name} status"
    text = (
        f"Someone, hopefully you, asked to receive {what} from the {page_name} status page at this "
        "address. You are already subscribed, so nothing has changed.\n\n"
        f"Manage your subscription (choose components, or unsubscribe):\n{manage_link}\n"
    )
    html = (
        f"<p>Someone, hopefully you, asked to receive {escape(what)} from the "
        f"<strong>{escape(page_name)}</strong> status page at this address. You are already "
        "subscribed, so nothing has changed.</p>"
        f'<p><a href="{escape(manage_link)}">Manage your subscription</a> '
        "(choose components, or unsubscribe).</p>"
    )
    return SubscriberMail(subject=subject, text=text, html=html)


def already_subscribed_sms(*, page_name: str, manage_link: str) -> str:
    """The text answering a sign-up of a number that already receives the page's updates."""
    return f"You already receive {page_name} status updates by SMS. Manage or stop them: {manage_link}"


# --- jobs ------------------------------------------------------------------------------------------


def page_public_url(session: Session, page: Page, settings: Settings) -> str:
    """The page's public address: its verified custom domain, else its subdomain."""
    route = route_of(session, page)
    return route.public_url(settings)


def send_confirmation(tenant_id: str, subscriber_id: str) -> None:
    """Job: send the double opt-in to a subscriber still awaiting it (a missing or settled one: done).

    Email gets a link to the page's own host; SMS a new six-digit code, whose hash is committed
    before the text goes out (a retry sends a newer code, and only the newest one works).
    """
    settings = active_settings()
    with tenant_session(tenant_id) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if (
            subscriber is None
            or subscriber.confirmed_at is not None
            or subscriber.unsubscribed_at is not None
        ):
            return
        page = session.get(Page, subscriber.page_id)
        if page is None:
            return
        link = page_public_url(session, page, settings) + CONFIRM_PATH.format(
            token=confirmation_token(subscriber.id, page.id)
        )
        if subscriber.channel is Channel.EMAIL and subscriber.email:
            incident = session.get(Incident, subscriber.incident_id) if subscriber.incident_id else None
            mail = confirmation_mail(
                page_name=page.name, link=link, incident_name=incident.name if incident is not None else None
            )
            message = build_message(
                settings, to=subscriber.email, subject=mail.subject, text=mail.text, html=mail.html
            )
            send_messages(settings, [message])
        elif subscriber.channel is Channel.SMS and subscriber.phone_number:
            code = new_code()
            subscriber.confirmation_code_hash = hash_code(subscriber.id, code)
            to, body = subscriber.phone_number, confirmation_sms(page_name=page.name, code=code, link=link)
            session.commit()
            send_sms(settings, to=to, body=body)


def send_unsubscribed_notice(tenant_id: str, subscriber_id: str) -> None:
    """Job: tell an email subscriber they are unsubscribed (not if they have been reactivated since)."""
    settings = active_settings()
    with tenant_session(tenant_id) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.unsubscribed_at is None or not subscriber.email:
            return
        page = session.get(Page, subscriber.page_id)
        if page is None:
            return
        mail = unsubscribed_mail(page_name=page.name, page_url=page_public_url(session, page, settings))
        message = build_message(
            settings, to=subscriber.email, subject=mail.subject, text=mail.text, html=mail.html
        )
        send_messages(settings, [message])


def tell_already_subscribed(session: Session, subscriber: Subscriber) -> None:
    """Once `session` commits, send an active subscriber who signed up again its manage link.

    Writes nothing; the caller limits how often an address may be signed up.
    """
    enqueue_after_commit(
        session,
        send_already_subscribed,
        subscriber.tenant_id,
        subscriber.id,
        queue="notifications",
        retries=3,
    )


def send_already_subscribed(tenant_id: str, subscriber_id: str) -> None:
    """Job: tell an active email or SMS subscriber who signed up again where to manage their subscription.

    The sign-up form answers the same whether an address is new or not, so the news that it was
    subscribed already goes only to the address itself. A subscriber no longer active: done.
    """
    settings = active_settings()
    with tenant_session(tenant_id) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.state is not SubscriberState.ACTIVE:
            return
        page = session.get(Page, subscriber.page_id)
        if page is None:
            return
        link = manage_url(page_public_url(session, page, settings), subscriber.id, page.id)
        if subscriber.channel is Channel.EMAIL and subscriber.email:
            incident = session.get(Incident, subscriber.incident_id) if subscriber.incident_id else None
            mail = already_subscribed_mail(
                page_name=page.name,
                manage_link=link,
                incident_name=incident.name if incident is not None else None,
            )
            message = build_message(
                settings, to=subscriber.email, subject=mail.subject, text=mail.text, html=mail.html
            )
            send_messages(settings, [message])
        elif subscriber.channel is Channel.SMS and subscriber.phone_number:
            send_sms(
                settings,
                to=subscriber.phone_number,
                body=already_subscribed_sms(page_name=page.name, manage_link=link),
            )
