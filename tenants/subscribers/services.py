"""Writes of subscribers: adding, double opt-in, unsubscribing, reactivating, choosing components.

Every function works in the session's organization, calls `require_role` first (a visitor
acting on their own subscription acts as the system), records an audit event, flushes and
never commits. Confirmation mail and SMS are sent by jobs once the caller commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from status_platform import ratelimit
from status_platform.errors import Conflict, TooManyRequests, ValidationError
from status_platform.identity.actor import SYSTEM, Actor
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.jobs.enqueue import enqueue_after_commit
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from tenants.audiences.models import Viewer
from tenants.audiences.visibility import EVERYTHING, Sight, readers_of, sight_of_viewer, visible_components
from tenants.audit.services import record_event
from tenants.incidents.models import Incident
from tenants.incidents.services import load_components
from tenants.pages.models import Page, PageVisibility
from tenants.subscribers.confirmation import code_matches, send_confirmation, send_unsubscribed_notice
from tenants.subscribers.csv_io import ImportRow
from tenants.subscribers.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Subscriber,
    SubscriberComponent,
    SubscriberState,
)
from tenants.subscribers.queries import subscribed_addresses
from tenants.subscribers.schemas import (
    ADDRESS_FIELDS,
    CONFIRMED_CHANNELS,
    check_channel_allowed,
    clean_address,
)

# Wrong SMS codes allowed per subscriber in the window: six digits must not be guessable.
CODE_ATTEMPTS = ratelimit.Limit("subscriber-sms-code", attempts=5, window_seconds=900)
# Confirmations sent again to one subscriber, and SMS confirmations of one organization, per hour:
# each text costs the platform money, and a key must not turn into a way to text strangers.
RESENDS = ratelimit.Limit("subscriber-confirmation-resend", attempts=3, window_seconds=3600)
SMS_CONFIRMATIONS = ratelimit.Limit("organization-sms-confirmations", attempts=200, window_seconds=3600)
# What a reader choosing for themselves is told of a component it may not see: the same as of an
# id that names no component, so it learns nothing of what it may not see.
AS_UNKNOWN = "Choose components of this page only."


class AlreadySubscribed(Conflict):
    """The address already has a current subscription on the page: `subscriber_id` is it."""

    def __init__(self, message: str, *, field: str | None, subscriber_id: str) -> None:
        super().__init__(message, field=field)
        self.subscriber_id = subscriber_id


def _address_condition(channel: Channel, columns: dict[str, str]) -> sa.ColumnElement[bool]:
    if channel is Channel.EMAIL:
        return sa.func.lower(Subscriber.email) == columns["email"].lower()
    if channel is Channel.SMS:
        return Subscriber.phone_number == columns["phone_number"]
    return Subscriber.endpoint == columns["endpoint"]


def _refuse_duplicate(
    session: Session,
    page_id: str,
    channel: Channel,
    columns: dict[str, str],
    *,
    incident_id: str | None,
    exclude_id: str | None = None,
) -> None:
    """Conflict when the page already has a current (not unsubscribed) subscription for the address."""
    statement = select(Subscriber).where(
        Subscriber.page_id == page_id,
        Subscriber.channel == channel,
        _address_condition(channel, columns),
        Subscriber.unsubscribed_at.is_(None),
        Subscriber.incident_id.is_(None) if incident_id is None else Subscriber.incident_id == incident_id,
    )
    if exclude_id is not None:
        statement = statement.where(Subscriber.id != exclude_id)
    existing = session.scalars(statement.limit(1)).first()
    if existing is None:
        return
    what = "this incident" if incident_id else "this page"
    hint = {
        SubscriberState.UNCONFIRMED: "it awaits confirmation; resend the confirmation instead",
        SubscriberState.QUARANTINED: "it is quarantined; reactivate it instead",
    }.get(existing.state, "update it instead")
    raise AlreadySubscribed(
        f"{existing.address} is already subscribed to {what} (subscriber {existing.id}): {hint}.",
        field=ADDRESS_FIELDS[channel],
        subscriber_id=existing.id,
    )


def add_subscriber(
    session: Session,
    page: Page,
    *,
    channel: Channel,
    address: str,
    actor: Actor,
    component_ids: Sequence[str] = (),
    contact_email: str | None = None,
    confirmed: bool = False,
    phone_country: str | None = None,
    incident: Incident | None = None,
    viewer: Viewer | None = None,
    sight: Sight | None = None,
) -> Subscriber:
    """Add a subscriber to `page` (or only to `incident`, one of the page's incidents).

    Email and SMS subscribers get the double opt-in (a link by email, a six-digit code by SMS)
    from a job once the transaction commits, unless `confirmed` says they are confirmed already (staff
    adding someone knowingly; no message is sent). Webhook, Slack and Teams subscribers are
    active at once. No `component_ids` means every component; `viewer` binds the subscription
    to what that private client may see. The components must be among those the subscription
    may see: `sight` is that of the reader subscribing themselves (the public's for an
    anonymous visitor), to whom a component it may not see is as unknown as a made-up one;
    staff adding someone give none: a viewer's subscription then follows what the viewer may
    see, an unbound one no hidden component. Staff need the admin role; a visitor subscribing
    themselves acts as the system.

    Raises ValidationError (bad address, a channel the page switched off, an unknown component,
    a component the subscription may not see, an unknown or deactivated viewer) or Conflict (the
    address is already subscribed), writing nothing. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "add subscribers")
    check_channel_allowed(page, channel, for_incident=incident is not None)
    if channel is Channel.SMS:
        _check_sms_allowed(session, page.tenant_id)
    columns = clean_address(channel, address, phone_country=phone_country)
    if channel is Channel.WEBHOOK and contact_email:
        columns["email"] = clean_address(Channel.EMAIL, contact_email)["email"]
    if incident is not None and incident.page_id != page.id:
        raise ValidationError("This incident is not on this page.", field="incident")
    if viewer is not None and viewer.page_id != page.id:
        raise ValidationError("This page access user belongs to another page.", field="page_access_user")
    if viewer is not None and not viewer.is_active:
        raise ValidationError("This page access user is deactivated.", field="page_access_user")
    if incident is not None and component_ids:
        raise ValidationError(
            "A subscription to one incident follows that incident, not components.", field="components"
        )
    if sight is not None:
        # Checked before the ids are looked up: what the reader may not see, it may not learn exists.
        _refuse_unseen(session, page.id, sight, component_ids, message=AS_UNKNOWN)
    components = load_components(session, page.id, list(component_ids))
    if sight is None:
        # Staff choosing: a viewer's subscription may follow what that viewer may see; an
        # unbound one any component shown to some reader (never a hidden one).
        own = sight_of_viewer(session, viewer.id) if viewer is not None else EVERYTHING
        _refuse_unseen(session, page.id, own, [c.id for c in components])
    _refuse_duplicate(session, page.id, channel, columns, incident_id=incident.id if incident else None)
    now = utcnow()
    needs_confirmation = channel in CONFIRMED_CHANNELS and not confirmed
    subscriber = Subscriber(
        page_id=page.id,
        channel=channel,
        secret=secrets.token_hex(32) if channel is Channel.WEBHOOK else None,
        incident_id=incident.id if incident is not None else None,
        viewer_id=viewer.id if viewer is not None else None,
        # Confirmed in the same instant as created: activated without a confirmation message.
        created_at=now,
        confirmed_at=None if needs_confirmation else now,
        **columns,
    )
    session.add(subscriber)
    session.flush()
    for component in components:
        subscriber.component_links.append(SubscriberComponent(component_id=component.id))
    record_event(
        session,
        actor,
        "subscriber.created",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=page.id,
        summary=f"Added {channel.value} subscriber" + (f" to incident {incident.name}" if incident else ""),
        after={
            "channel": channel.value,
            "incident_id": subscriber.incident_id,
            "confirmed": not needs_confirmation,
        },
    )
    if needs_confirmation:
        _send_confirmation(session, subscriber)
    session.flush()
    return subscriber


def _refuse_unseen(
    session: Session,
    page_id: str,
    sight: Sight,
    component_ids: Sequence[str],
    *,
    message: str = "Choose components this subscriber may see.",
) -> None:
    """ValidationError (field `components`) when `sight` may not see one of `component_ids`: a
    subscription follows only what it may be told of (no hidden component, and an audience's
    only through that audience)."""
    if not component_ids:
        return
    _, visible = visible_components(session, page_id, sight)
    seen = {component.id for component in visible}
    if any(component_id not in seen for component_id in component_ids):
        raise ValidationError(message, field="components")


def was_confirmed_without_message(subscriber: Subscriber) -> bool:
    """True when the subscriber was active from the start (no confirmation was asked of them)."""
    return subscriber.confirmed_at is not None and subscriber.confirmed_at == subscriber.created_at


def _check_sms_allowed(session: Session, tenant_id: str) -> None:
    plan = plan_of(session, tenant_id)
    if not plan.allows_sms:
        raise ValidationError(
            f"The {plan.name} plan does not include SMS notifications; change plans to use them.",
            field="phone_number",
        )


def _send_confirmation(session: Session, subscriber: Subscriber) -> None:
    if subscriber.channel is Channel.SMS:
        wait = ratelimit.attempt(SMS_CONFIRMATIONS, subscriber.tenant_id)
        if wait:
            raise TooManyRequests(
                "This organization has sent as many SMS confirmations as allowed this hour. "
                + ratelimit.try_again_in(wait),
                retry_after=wait,
            )
    # The job builds the link (or the SMS code) itself, so no secret waits in the queue.
    enqueue_after_commit(
        session, send_confirmation, subscriber.tenant_id, subscriber.id, queue="notifications", retries=3
    )


def request_confirmation(session: Session, subscriber: Subscriber, *, actor: Actor) -> None:
    """Send the double opt-in again: a new link by email, a new code by SMS (the old code stops working).

    Raises Conflict when there is nothing to confirm: the subscriber is confirmed already,
    unsubscribed, or on a channel without confirmation. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "send subscription confirmations")
    if subscriber.unsubscribed_at is not None:
        raise Conflict("This subscriber has unsubscribed: reactivate them first.")
    if subscriber.channel not in CONFIRMED_CHANNELS:
        raise Conflict(f"{subscriber.channel.value} subscribers need no confirmation.")
    if subscriber.confirmed_at is not None:
        raise Conflict("This subscriber has confirmed already.")
    if subscriber.channel is Channel.SMS:
        _check_sms_allowed(session, subscriber.tenant_id)
    wait = ratelimit.attempt(RESENDS, subscriber.id)
    if wait:
        raise TooManyRequests(
            "This subscriber was sent a confirmation several times this hour. "
            + ratelimit.try_again_in(wait),
            retry_after=wait,
        )
    _send_confirmation(session, subscriber)
    record_event(
        session,
        actor,
        "subscriber.confirmation_sent",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary=f"Sent the {subscriber.channel.value} confirmation again",
    )
    session.flush()


def confirm_subscriber(session: Session, subscriber: Subscriber, *, actor: Actor = SYSTEM) -> bool:
    """Confirm the subscription (the subscriber followed their link or entered their code).

    Idempotent: returns False, changing nothing, when it was confirmed already. Raises
    Conflict for an unsubscribed subscriber. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "confirm subscribers")
    if subscriber.unsubscribed_at is not None:
        raise Conflict("This subscription was cancelled. Subscribe again to receive updates.")
    if subscriber.confirmed_at is not None:
        return False
    subscriber.confirmed_at = utcnow()
    subscriber.confirmation_code_hash = None
    record_event(
        session,
        actor,
        "subscriber.confirmed",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary=f"Confirmed {subscriber.channel.value} subscription",
    )
    session.flush()
    return True


def confirm_subscriber_code(
    session: Session, subscriber: Subscriber, code: str, *, actor: Actor = SYSTEM
) -> bool:
    """Confirm an SMS subscriber with the six-digit code texted to them.

    At most CODE_ATTEMPTS tries per subscriber in its window, right or wrong. Raises
    ValidationError (field `code`) for a wrong code or too many tries, Conflict as
    confirm_subscriber does. Idempotent like confirm_subscriber. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "confirm subscribers")
    if subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        return False
    # Counted first, and refused when the count cannot be kept: six digits fall to unlimited guesses.
    tries = ratelimit.hit(CODE_ATTEMPTS, subscriber.id)
    if tries == 0:
        raise ValidationError("Codes cannot be checked right now; try again in a minute.", field="code")
    if tries > CODE_ATTEMPTS.attempts:
        wait = ratelimit.seconds_left(CODE_ATTEMPTS, subscriber.id) or CODE_ATTEMPTS.window_seconds
        raise ValidationError(f"Too many tries. {ratelimit.try_again_in(wait)}", field="code")
    if not code_matches(subscriber.id, code, subscriber.confirmation_code_hash):
        raise ValidationError("This code is not right. Check the latest text message we sent.", field="code")
    return confirm_subscriber(session, subscriber, actor=actor)


def unsubscribe_subscriber(
    session: Session, subscriber: Subscriber, *, actor: Actor, notify: bool = False
) -> bool:
    """Unsubscribe: nothing more is sent to the subscriber, and their pending deliveries are cancelled.

    With `notify`, a confirmed email subscriber is told by email. Idempotent: returns False,
    changing nothing, when they had unsubscribed already. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "unsubscribe subscribers")
    if subscriber.unsubscribed_at is not None:
        return False
    subscriber.unsubscribed_at = utcnow()
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, last_error="The subscriber unsubscribed.")
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        actor,
        "subscriber.unsubscribed",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary=f"Unsubscribed {subscriber.channel.value} subscriber",
    )
    if notify and subscriber.channel is Channel.EMAIL and subscriber.email and subscriber.confirmed_at:
        enqueue_after_commit(
            session,
            send_unsubscribed_notice,
            subscriber.tenant_id,
            subscriber.id,
            queue="notifications",
            retries=3,
        )
    session.flush()
    return True


def reactivate_subscriber(session: Session, subscriber: Subscriber, *, actor: Actor) -> bool:
    """Make an unsubscribed or quarantined subscriber current again (quarantine and purge date cleared).

    Confirmation is kept as it was: an unconfirmed subscriber still has to confirm. Idempotent:
    returns False, changing nothing, for a subscriber that is neither. Raises Conflict when the
    address has been subscribed again since. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "reactivate subscribers")
    if subscriber.unsubscribed_at is None and subscriber.quarantined_at is None:
        return False
    if subscriber.unsubscribed_at is not None:
        columns = {
            key: value
            for key in ("email", "phone_number", "endpoint")
            if (value := getattr(subscriber, key)) is not None
        }
        _refuse_duplicate(
            session,
            subscriber.page_id,
            subscriber.channel,
            columns,
            incident_id=subscriber.incident_id,
            exclude_id=subscriber.id,
        )
    before = {"state": subscriber.state.value}
    subscriber.unsubscribed_at = None
    subscriber.quarantined_at = None
    subscriber.quarantine_reason = None
    subscriber.purge_at = None
    record_event(
        session,
        actor,
        "subscriber.reactivated",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary=f"Reactivated {subscriber.channel.value} subscriber",
        before=before,
        after={"state": subscriber.state.value},
    )
    session.flush()
    return True


def update_subscriber_components(
    session: Session,
    subscriber: Subscriber,
    *,
    actor: Actor,
    component_ids: Sequence[str],
    sight: Sight | None = None,
) -> None:
    """Choose the components the subscriber follows; none means the whole page (components added later too).

    The components must be among those the subscriber may see (`readers_of`); one that hears
    nothing of its page (its viewer deactivated, or not bound to a client of a private page)
    may follow none. `sight` is that of the reader choosing for themselves (the subscription's
    own, through its manage link), to whom a component it may not see is as unknown as a
    made-up one; staff give none: a bound subscriber then follows what it may see, an unbound
    one no hidden component. Raises ValidationError (field `components`) for an unknown
    component, one the subscriber may not see, or a subscription to one incident. Flushes,
    never commits.
    """
    require_role(actor, PAGE_ADMINS, "change what subscribers follow")
    if subscriber.incident_id is not None:
        raise ValidationError(
            "A subscription to one incident follows that incident, not components.", field="components"
        )
    if not component_ids:
        wanted: list[str] = []
    else:
        reader = readers_of(session, [subscriber])[subscriber.id]
        page = session.get(Page, subscriber.page_id)
        if page is None or not reader.may_read(page_is_private=page.visibility is PageVisibility.PRIVATE):
            raise ValidationError(
                "This subscription is told nothing of this page, so it cannot follow components.",
                field="components",
            )
        if sight is not None:
            _refuse_unseen(session, subscriber.page_id, sight, component_ids, message=AS_UNKNOWN)
        wanted = [c.id for c in load_components(session, subscriber.page_id, list(component_ids))]
        if sight is None:
            is_bound = subscriber.viewer_id is not None or subscriber.audience_id is not None
            _refuse_unseen(session, subscriber.page_id, reader.sight if is_bound else EVERYTHING, wanted)
    current = {link.component_id: link for link in subscriber.component_links}
    before = sorted(current)
    for component_id, link in current.items():
        if component_id not in wanted:
            subscriber.component_links.remove(link)
    for component_id in wanted:
        if component_id not in current:
            subscriber.component_links.append(SubscriberComponent(component_id=component_id))
    if sorted(wanted) == before:
        return
    record_event(
        session,
        actor,
        "subscriber.components_updated",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary="Changed the components a subscriber follows",
        before={"component_ids": before},
        after={"component_ids": sorted(wanted)},
    )
    session.flush()


def remove_subscriber(session: Session, subscriber: Subscriber, *, actor: Actor) -> int:
    """Delete the subscriber, what it follows, and its deliveries with their attempts; returns how many
    deliveries went with it.

    Unlike unsubscribing, nothing of the subscription is kept: this is how someone's address is
    erased, so the audit event names the channel and the counts but not the address. Another
    organization's subscriber is not found by the session. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "remove subscribers")
    deliveries = select(Delivery.id).where(Delivery.subscriber_id == subscriber.id)
    delivery_count = int(session.scalar(select(sa.func.count()).select_from(deliveries.subquery())) or 0)
    record_event(
        session,
        actor,
        "subscriber.deleted",
        object_type="subscriber",
        object_id=subscriber.id,
        page_id=subscriber.page_id,
        summary=f"Removed {subscriber.channel.value} subscriber and its {delivery_count} deliveries",
        before={
            "channel": subscriber.channel.value,
            "state": subscriber.state.value,
            "incident_id": subscriber.incident_id,
            "deliveries": delivery_count,
        },
    )
    session.execute(
        delete(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(deliveries))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Delivery)
        .where(Delivery.subscriber_id == subscriber.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(subscriber)
    session.flush()
    return delivery_count


def _import_columns(row: ImportRow) -> tuple[Channel, dict[str, str]]:
    """The channel and subscriber columns of an import row, checked again."""
    if not row.is_valid or row.channel is None:
        raise ValidationError(f"Line {row.line} cannot be imported: {row.error}", field="file")
    columns = clean_address(row.channel, row.address)
    if row.channel is Channel.WEBHOOK:
        if not row.contact_email:
            raise ValidationError(f"Line {row.line}: a webhook needs a contact email.", field="file")
        columns["email"] = clean_address(Channel.EMAIL, row.contact_email)["email"]
    return row.channel, columns


def import_subscribers(
    session: Session, page: Page, rows: Sequence[ImportRow], *, actor: Actor, confirmed: bool
) -> list[Subscriber]:
    """Add the subscribers of checked import rows (csv_io.preview_import) to the whole page, all or none.

    Each row is checked again (the channel allowed, the address, the components, repeats, and
    addresses subscribed meanwhile), so nothing is added twice. With `confirmed`, email and SMS
    subscribers are active at once; without, each gets the double opt-in once the caller commits.
    One audit event records the count. Raises ValidationError for an empty list or a row that
    cannot be added, before writing anything; TooManyRequests when the SMS confirmations exceed
    the organization's hourly limit (the caller rolls back). Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "import subscribers")
    if not rows:
        raise ValidationError("There is no subscriber to import.", field="file")
    checked = [_import_columns(row) for row in rows]
    channels = {channel for channel, _ in checked}
    for channel in sorted(channels):
        check_channel_allowed(page, channel, for_incident=False)
    if Channel.SMS in channels:
        _check_sms_allowed(session, page.tenant_id)
    load_components(session, page.id, sorted({cid for row in rows for cid in row.component_ids}))
    seen: set[tuple[Channel | None, str]] = set()
    for row in rows:
        if row.key in seen:
            raise ValidationError(f"Line {row.line} repeats an earlier line.", field="file")
        seen.add(row.key)
    for channel in sorted(channels):
        field = ADDRESS_FIELDS[channel]
        addresses = [columns[field] for row_channel, columns in checked if row_channel is channel]
        taken = subscribed_addresses(session, page.id, channel, addresses)
        if taken:
            raise Conflict(
                f"{sorted(taken)[0]} has been subscribed since the preview; check the file again.",
                field="file",
            )
    now = utcnow()
    subscribers = [
        Subscriber(
            page_id=page.id,
            channel=channel,
            secret=secrets.token_hex(32) if channel is Channel.WEBHOOK else None,
            created_at=now,
            confirmed_at=None if channel in CONFIRMED_CHANNELS and not confirmed else now,
            **columns,
        )
        for channel, columns in checked
    ]
    session.add_all(subscribers)
    session.flush()
    session.add_all(
        SubscriberComponent(subscriber_id=subscriber.id, component_id=component_id)
        for subscriber, row in zip(subscribers, rows, strict=True)
        for component_id in row.component_ids
    )
    by_channel: dict[str, int] = {}
    for subscriber in subscribers:
        by_channel[subscriber.channel.value] = by_channel.get(subscriber.channel.value, 0) + 1
        if subscriber.confirmed_at is None:
            _send_confirmation(session, subscriber)
    record_event(
        session,
        actor,
        "subscriber.imported",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Imported {len(subscribers)} subscribers from a CSV file",
        after={"count": len(subscribers), "channels": by_channel, "confirmed": confirmed},
    )
    session.flush()
    return subscribers
