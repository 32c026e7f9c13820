"""The subscriber manager of a page: list, add, import and export, each subscriber's deliveries, and
the delivery log of every notice. Admins and owners only: subscribers' addresses are personal data.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, flag, page_number, text
from admin_ui.tenant import requires, restrict_reads
from admin_ui.uploads import CsvImport
from status_platform.db.session import db
from status_platform.errors import DomainError, ValidationError
from status_platform.identity.permissions import PAGE_ADMINS
from status_platform.timeutil import utcnow
from tenants.incidents.queries import component_layout
from tenants.subscribers import csv_io, queries, services
from tenants.subscribers.models import Channel, NotificationEvent, Subscriber
from tenants.subscribers.queries import StateFilter, SubscriberCriteria
from tenants.subscribers.schemas import ADDRESS_FIELDS, CONFIRMED_CHANNELS, display_phone

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")
events_bp = Blueprint("notifications", __name__, url_prefix="/notifications")

FORBIDDEN = "Subscribers and their notifications are managed by admins and owners."
restrict_reads(bp, PAGE_ADMINS, FORBIDDEN)
restrict_reads(events_bp, PAGE_ADMINS, FORBIDDEN)

CHANNEL_LABELS = {
    Channel.EMAIL: "Email",
    Channel.SMS: "SMS",
    Channel.WEBHOOK: "Webhook",
    Channel.SLACK: "Slack",
    Channel.TEAMS: "Microsoft Teams",
}
STATE_LABELS = {
    StateFilter.ALL: "All current",
    StateFilter.ACTIVE: "Active",
    StateFilter.UNCONFIRMED: "Unconfirmed",
    StateFilter.QUARANTINED: "Quarantined",
    StateFilter.UNSUBSCRIBED: "Unsubscribed",
}


def _subscriber(subscriber_id: str) -> Subscriber:
    subscriber = db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.page_id != g.page.id:
        abort(404)
    return subscriber


def _event(event_id: str) -> NotificationEvent:
    event = db.get(NotificationEvent, event_id)
    if event is None or event.page_id != g.page.id:
        abort(404)
    return event


def primary_address(subscriber: Subscriber) -> str:
    """The address a subscriber is reached at on its channel, a phone number as people write it."""
    if subscriber.channel is Channel.SMS:
        return display_phone(subscriber.phone_number) or ""
    return subscriber.address


def _template_globals() -> dict[str, Any]:
    return {
        "channel_labels": CHANNEL_LABELS,
        "state_labels": STATE_LABELS,
        "primary_address": primary_address,
        "zone": g.page.time_zone,
    }


# --- the list ---------------------------------------------------------------------------------------


def _component_options() -> list[tuple[str, str]]:
    options = [("", "Any subscription"), (queries.WHOLE_PAGE, "Whole page")]
    for item in component_layout(db, g.page.id):
        for component in item["components"]:
            prefix = f"{item['group'].name} › " if item["group"] else ""
            options.append((component.id, prefix + component.name))
    return options


def _criteria(errors: dict[str, str], component_options: list[tuple[str, str]]) -> SubscriberCriteria:
    """The list's filters from the query string; a value that is not one of the choices is marked."""
    args = request.args
    channel = state = None
    raw_channel = args.get("channel", "").strip()
    if raw_channel:
        try:
            channel = Channel(raw_channel)
        except ValueError:
            errors["channel"] = "Choose one of the channels."
    try:
        state = StateFilter(args.get("state", "").strip() or StateFilter.ALL.value)
    except ValueError:
        errors["state"] = "Choose one of the states."
    component_id = args.get("component", "").strip() or None
    if component_id and component_id not in {value for value, _ in component_options}:
        errors["component"] = "Choose one of this page's components."
        component_id = None
    return SubscriberCriteria(
        q=args.get("q", "").strip()[:200],
        channel=channel,
        state=state or StateFilter.ALL,
        component_id=component_id,
    )


@bp.get("/")
def index() -> tuple[str, int]:
    errors: dict[str, str] = {}
    component_options = _component_options()
    criteria = _criteria(errors, component_options)
    number = page_number()
    rows, has_more = queries.list_subscribers(db, g.page.id, criteria, page=number)
    html = render_template(
        "admin/subscribers/index.html",
        rows=rows,
        has_more=has_more,
        number=number,
        criteria=criteria,
        counts=queries.count_by_state(db, g.page.id, criteria),
        component_options=component_options,
        channel_filter_options=[("", "Any channel")]
        + [(channel.value, label) for channel, label in CHANNEL_LABELS.items()],
        state_options=[(state.value, label) for state, label in STATE_LABELS.items()],
        args=request.args,
        errors=errors,
        **_template_globals(),
    )
    return html, 400 if errors else 200


@bp.get("/export.csv")
def export() -> Response:
    errors: dict[str, str] = {}
    criteria = _criteria(errors, _component_options())
    if errors:
        abort(400, next(iter(errors.values())))
    body = csv_io.export_csv(queries.export_subscribers(db, g.page.id, criteria))
    name = re.sub(r"[^a-z0-9]+", "-", g.page.name.lower()).strip("-") or "page"
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="subscribers-{name}-{utcnow():%Y-%m-%d}.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- adding by hand -----------------------------------------------------------------------------------


def _new_form(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    values = request.form if request.method == "POST" else {}
    return render_template(
        "admin/subscribers/new.html",
        values=values,
        chosen=set(request.form.getlist("component_ids")) if request.method == "POST" else set(),
        send_confirmation=flag("send_confirmation", True),
        layout=component_layout(db, g.page.id),
        channel_options=[(channel.value, CHANNEL_LABELS[channel]) for channel in Channel],
        errors=errors or {},
        **_template_globals(),
    ), status


@bp.get("/new")
def new() -> tuple[str, int]:
    return _new_form()


def _chosen_channel() -> Channel:
    try:
        return Channel(text("channel", Channel.EMAIL.value))
    except ValueError:
        raise ValidationError("Choose one of the channels.", field="channel") from None


@bp.post("/")
@requires(PAGE_ADMINS)
def create() -> Response | tuple[str, int]:
    try:
        channel = _chosen_channel()
        field = ADDRESS_FIELDS[channel]
        address = text(field).strip()
        if not address:
            what = {"email": "email address", "phone_number": "phone number", "endpoint": "URL"}[field]
            raise ValidationError(
                f"Enter the {what} to send {CHANNEL_LABELS[channel]} notices to.", field=field
            )
        contact = text("email").strip() or None
        subscriber = services.add_subscriber(
            db,
            g.page,
            channel=channel,
            address=address,
            actor=g.actor,
            component_ids=request.form.getlist("component_ids"),
            contact_email=contact if channel is Channel.WEBHOOK else None,
            confirmed=not flag("send_confirmation", True),
            phone_country=text("phone_country").strip() or None,
        )
        if channel is Channel.WEBHOOK and contact is None:
            # Checked last, so the URL's own errors come first; the rollback below drops the row.
            raise ValidationError(
                "Enter an email address to tell if the webhook keeps failing.", field="email"
            )
    except DomainError as error:
        db.rollback()
        return _new_form(errors_of(error), error.status_code)
    db.commit()
    if subscriber.confirmed_at is None:
        flash(
            f"Added {primary_address(subscriber)}. A confirmation is on its way; "
            "it becomes active once confirmed."
        )
    else:
        flash(f"Added {primary_address(subscriber)}, active at once.")
    if subscriber.secret:
        # The signing secret is shown in this response only: never in a flash message (a cookie).
        return _show(subscriber, secret=subscriber.secret)
    return redirect(url_for(".show", subscriber_id=subscriber.id))


# --- one subscriber -----------------------------------------------------------------------------------


def _show(
    subscriber: Subscriber,
    *,
    secret: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    number = page_number()
    deliveries, has_more = queries.subscriber_deliveries(db, subscriber.id, page=number)
    return render_template(
        "admin/subscribers/show.html",
        subscriber=subscriber,
        row=queries.subscriber_row(db, subscriber),
        delivery_count=queries.delivery_count(db, subscriber.id),
        deliveries=deliveries,
        has_more=has_more,
        number=number,
        secret=secret,
        can_resend=subscriber.channel in CONFIRMED_CHANNELS
        and subscriber.confirmed_at is None
        and subscriber.unsubscribed_at is None,
        args=request.args,
        errors=errors or {},
        **_template_globals(),
    ), status


@bp.get("/<subscriber_id>")
def show(subscriber_id: str) -> tuple[str, int]:
    return _show(_subscriber(subscriber_id))


def _after(subscriber: Subscriber, error: DomainError) -> tuple[str, int]:
    db.rollback()
    return _show(_subscriber(subscriber.id), errors={"_form": error.message}, status=error.status_code)


@bp.post("/<subscriber_id>/reactivate")
@requires(PAGE_ADMINS)
def reactivate(subscriber_id: str) -> Response | tuple[str, int]:
    subscriber = _subscriber(subscriber_id)
    try:
        changed = services.reactivate_subscriber(db, subscriber, actor=g.actor)
    except DomainError as error:
        return _after(subscriber, error)
    db.commit()
    if changed:
        flash(f"Reactivated {primary_address(subscriber)}; it receives notifications again.")
    return redirect(url_for(".show", subscriber_id=subscriber.id))


@bp.post("/<subscriber_id>/resend")
@requires(PAGE_ADMINS)
def resend(subscriber_id: str) -> Response | tuple[str, int]:
    subscriber = _subscriber(subscriber_id)
    try:
        services.request_confirmation(db, subscriber, actor=g.actor)
    except DomainError as error:
        return _after(subscriber, error)
    db.commit()
    what = "a new code by SMS" if subscriber.channel is Channel.SMS else "a new confirmation link"
    flash(f"Sent {primary_address(subscriber)} {what}; earlier ones no longer work.")
    return redirect(url_for(".show", subscriber_id=subscriber.id))


@bp.post("/<subscriber_id>/unsubscribe")
@requires(PAGE_ADMINS)
def unsubscribe(subscriber_id: str) -> Response | tuple[str, int]:
    subscriber = _subscriber(subscriber_id)
    try:
        changed = services.unsubscribe_subscriber(db, subscriber, actor=g.actor, notify=flag("notify"))
    except DomainError as error:
        return _after(subscriber, error)
    db.commit()
    if changed:
        flash(f"Unsubscribed {primary_address(subscriber)}; nothing more is sent to it.")
    return redirect(url_for(".show", subscriber_id=subscriber.id))


@bp.post("/<subscriber_id>/delete")
@requires(PAGE_ADMINS)
def delete(subscriber_id: str) -> Response | tuple[str, int]:
    subscriber = _subscriber(subscriber_id)
    address = primary_address(subscriber)
    try:
        removed = services.remove_subscriber(db, subscriber, actor=g.actor)
    except DomainError as error:
        return _after(subscriber, error)
    db.commit()
    flash(f"Removed {address} and its {removed} deliver{'y' if removed == 1 else 'ies'}.")
    return redirect(url_for(".index"))


# --- import -----------------------------------------------------------------------------------------


IMPORT = CsvImport(
    "subscriber-import",
    csv_io.preview_import,
    templates="admin/subscribers",
    form_context=_template_globals,
    preview_context=lambda: {"send_confirmation": flag("send_confirmation", True), **_template_globals()},
)


@bp.get("/import")
def import_form() -> tuple[str, int]:
    return IMPORT.form()


@bp.post("/import/preview")
@requires(PAGE_ADMINS)
def preview() -> tuple[str, int]:
    try:
        checked, token = IMPORT.check_posted()
    except DomainError as error:
        return IMPORT.form(errors_of(error), error.status_code)
    return IMPORT.preview_page(checked, token)


@bp.post("/import")
@requires(PAGE_ADMINS)
def run_import() -> Response | tuple[str, int]:
    token = text("token")
    try:
        checked = IMPORT.check_kept(token)
    except DomainError as error:
        return IMPORT.form(errors_of(error), error.status_code)
    confirmed = not flag("send_confirmation", True)
    try:
        added = services.import_subscribers(db, g.page, checked.valid, actor=g.actor, confirmed=confirmed)
    except DomainError as error:
        db.rollback()
        return IMPORT.preview_page(checked, token, {"_form": error.message}, error.status_code)
    db.commit()
    IMPORT.drop(token)
    asked = sum(1 for subscriber in added if subscriber.confirmed_at is None)
    message = f"Imported {len(added)} subscriber{'' if len(added) == 1 else 's'}."
    if checked.invalid:
        message += (
            f" {len(checked.invalid)} line{'' if len(checked.invalid) == 1 else 's'} could not be added."
        )
    if asked:
        message += f" {asked} confirmation{'' if asked == 1 else 's'} on the way."
    flash(message)
    return redirect(url_for(".index"))


# --- the delivery log ------------------------------------------------------------------------------


@events_bp.get("/", endpoint="index")
def events() -> str:
    number = page_number()
    log, has_more = queries.delivery_log(db, g.page.id, page=number)
    return render_template(
        "admin/subscribers/events.html",
        log=log,
        has_more=has_more,
        number=number,
        args=request.args,
        **_template_globals(),
    )


@events_bp.get("/<event_id>", endpoint="show")
def event(event_id: str) -> str:
    event = _event(event_id)
    number = page_number()
    failures, has_more = queries.failed_deliveries(db, event.id, page=number)
    return render_template(
        "admin/subscribers/event.html",
        summary=queries.event_deliveries(db, event),
        failures=failures,
        has_more=has_more,
        number=number,
        args=request.args,
        **_template_globals(),
    )


__all__ = ["bp", "events_bp"]
