"""The signed links every notice carries: manage a subscription, or cancel it in one click.

The token names the subscriber and its page and never expires (a message read a year later must
still let its reader leave), so it is the only secret the public manage and unsubscribe routes
need. A GET of either link only shows a page; changes are made by a POST (mail scanners follow
links, RFC 8058 one-click unsubscribe is a POST).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from status_platform.config import active_settings
from status_platform.errors import DomainError
from tenants.subscribers.models import Channel

MANAGE_SALT = "subscriber-manage"
# The public app's routes (public_site.subscriptions): the manage page and the one-click POST.
MANAGE_PATH = "/subscriptions/manage/{token}"
UNSUBSCRIBE_PATH = "/subscriptions/unsubscribe/{token}"


class InvalidManageLink(DomainError):
    """A manage or unsubscribe link that is forged or names no subscription of this page."""

    status_code = 400


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(active_settings().SECRET_KEY, salt=MANAGE_SALT)


def manage_token(subscriber_id: str, page_id: str) -> str:
    """The signed token of a subscriber's manage and unsubscribe links."""
    return str(_serializer().dumps([subscriber_id, page_id]))


def subscriber_id_from_manage_token(token: str, *, page_id: str) -> str:
    """The subscriber a manage link names, if the link is genuine and of `page_id`; reads nothing."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise InvalidManageLink("This link is not valid. Check that you opened all of it.") from None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not all(isinstance(part, str) for part in data)
        or data[1] != page_id
    ):
        raise InvalidManageLink("This link is not for this status page.")
    return str(data[0])


def manage_url(page_url: str, subscriber_id: str, page_id: str) -> str:
    """The page where a subscriber chooses components or unsubscribes (`page_url` without a slash)."""
    return page_url + MANAGE_PATH.format(token=manage_token(subscriber_id, page_id))


def unsubscribe_url(page_url: str, subscriber_id: str, page_id: str) -> str:
    """The one-click unsubscribe URL (List-Unsubscribe, webhook `meta.unsubscribe`): POST cancels."""
    return page_url + UNSUBSCRIBE_PATH.format(token=manage_token(subscriber_id, page_id))


@dataclass(frozen=True, slots=True)
class Recipient:
    """One claimed delivery and the subscriber it goes to: what the senders and renderers need.

    A plain value (no ORM object), so a batch of thousands costs little to build and render.
    """

    delivery_id: str
    subscriber_id: str
    channel: Channel
    email: str | None
    phone_number: str | None
    endpoint: str | None
    secret: str | None
    incident_id: str | None
    attempts: int
