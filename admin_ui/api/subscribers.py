"""Subscribers: the page's and those of single incidents, their counts, double opt-in and bulk changes.

Statuspage's `type` of a subscriber is our channel (`mode` in the object): email, sms, webhook,
slack, teams. `integration_partner` is accepted wherever Statuspage accepts it and matches no
subscriber here. Email and SMS subscribers confirm by double opt-in (a link, a six-digit code)
unless `skip_confirmation_notification` activates them at once; webhook, Slack and Teams
subscribers are active at once. A webhook's signing secret is shown once, in the 201 answer
that created it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin_ui.api.body import ApiError, Fields, envelope, page_size, query, request_data
from admin_ui.api.common import commit, current_page, on_page, paged, rename_fields
from admin_ui.api.incidents import load_incident
from admin_ui.api.spec import (
    DATE_TIME,
    NULLABLE_DATE_TIME,
    PAGE_ID,
    PAGINATION,
    Param,
    array_of,
    nullable,
    operation,
    ref,
    schema,
)
from status_platform.db.session import db
from tenants.audiences.models import Viewer
from tenants.incidents.models import Incident
from tenants.pages.snapshot import iso
from tenants.subscribers.models import Channel, Subscriber, SubscriberState
from tenants.subscribers.queries import (
    COUNTED_STATES,
    SortField,
    StateFilter,
    count_by_channel,
    histogram_by_state,
    page_subscribers,
    sorted_subscribers,
)
from tenants.subscribers.schemas import ADDRESS_FIELDS, CONFIRMED_CHANNELS, display_phone
from tenants.subscribers.services import (
    add_subscriber,
    reactivate_subscriber,
    request_confirmation,
    unsubscribe_subscriber,
    update_subscriber_components,
    was_confirmed_without_message,
)

TAG = "Subscribers"
ID_RE = re.compile(r"^[a-z0-9]{1,32}$")
MODES = [channel.value for channel in Channel]
INTEGRATION_PARTNER = "integration_partner"
# Statuspage's order of the types in counts.
TYPES = ["email", "sms", "webhook", INTEGRATION_PARTNER, "slack", "teams"]
MAX_BULK = 100
MAX_ID = 64

_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID}

SUBSCRIBER = schema(
    "Subscriber",
    {
        "id": {"type": "string"},
        "mode": {"type": "string", "enum": MODES, "description": "The channel: Statuspage's type."},
        "email": nullable(
            "string", description="An email subscriber's address, or a webhook's contact for failures."
        ),
        "endpoint": nullable("string", description="The URL of a webhook, Slack or Teams subscriber."),
        "phone_number": nullable("string", description="An SMS subscriber's number, in E.164 form."),
        "phone_country": nullable("string", description="The number's two-letter country code."),
        "display_phone_number": nullable("string", description="The number as people write it."),
        "obfuscated_channel_name": nullable(
            "string", description="Always null: Slack subscribers are incoming webhooks here."
        ),
        "workspace_name": nullable(
            "string", description="Always null: Slack subscribers are incoming webhooks here."
        ),
        "skip_confirmation_notification": {
            "type": "boolean",
            "description": "True when the subscriber was active from the start, without a confirmation "
            "message.",
        },
        "quarantined_at": NULLABLE_DATE_TIME,
        "purge_at": NULLABLE_DATE_TIME,
        "components": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The components followed; empty: the whole page, components added later included.",
        },
        "page_access_user_id": nullable("string"),
        "created_at": DATE_TIME,
        "state": {"type": "string", "enum": [state.value for state in SubscriberState]},
        "incident_id": nullable(
            "string", description="Set for a subscription to one incident (or maintenance) only."
        ),
        "secret": nullable(
            "string",
            description="A webhook's HMAC-SHA256 signing secret: present only in the 201 answer that "
            "created the webhook subscriber, null everywhere else.",
        ),
    },
)

_COUNT = {"type": "integer", "minimum": 0}
schema("SubscriberCountByType", {name: _COUNT for name in TYPES})
schema(
    "SubscriberCountByState",
    {"active": _COUNT, "unconfirmed": _COUNT, "quarantined": _COUNT, "total": _COUNT},
)
schema("SubscriberCountByTypeAndState", {name: ref("SubscriberCountByState") for name in TYPES})

TYPE_DOC = "Only subscribers of this type (integration_partner matches none)."
STATE_VALUES = [state.value for state in StateFilter]
STATE_DOC = "Only subscribers in this state (default active); all: every state but unsubscribed."
LIST_PARAMS = (
    PAGE_ID,
    Param(
        "q",
        "query",
        {"type": "string", "maxLength": 255},
        "Search the email address, endpoint and phone number (a phone number also by its digits).",
    ),
    Param("type", "query", {"type": "string", "enum": TYPES}, TYPE_DOC),
    Param("state", "query", {"type": "string", "enum": STATE_VALUES, "default": "active"}, STATE_DOC),
    Param(
        "limit",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 100},
        "Subscribers per page (at most 100); `per_page` is the same.",
    ),
    Param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 100}),
    Param(
        "page",
        "query",
        {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
        "The page of results, from 0 as on Statuspage: page n skips n × limit subscribers.",
    ),
    Param(
        "sort_field",
        "query",
        {"type": "string", "enum": [field.value for field in SortField], "default": "primary"},
        "primary: the address; created_at; quarantined_at (never quarantined last); relevance: exact "
        "matches of q first, then those starting with it (only with q).",
    ),
    Param("sort_direction", "query", {"type": "string", "enum": ["asc", "desc"], "default": "asc"}),
)
COUNT_PARAMS = (
    PAGE_ID,
    Param("type", "query", {"type": "string", "enum": TYPES}, TYPE_DOC + " Other types count 0."),
    Param("state", "query", {"type": "string", "enum": STATE_VALUES, "default": "active"}, STATE_DOC),
)
SKIP_NOTICE = Param(
    "skip_unsubscription_notification",
    "query",
    {"type": "boolean"},
    "When true, a confirmed email subscriber is not told by email that they were unsubscribed.",
)

_ADDRESS_PROPERTIES: dict[str, Any] = {
    "email": {"type": "string", "maxLength": 320, "description": "Email subscribers; a webhook's contact."},
    "phone_number": {
        "type": "string",
        "maxLength": 40,
        "description": "SMS subscribers, as dialled from phone_country.",
    },
    "phone_country": {"type": "string", "maxLength": 2, "description": "Two-letter country of phone_number."},
    "skip_confirmation_notification": {
        "type": "boolean",
        "description": "True: active at once, no confirmation message (email and SMS).",
    },
}
CREATE_BODY = {
    "type": "object",
    "properties": {
        "subscriber": {
            "type": "object",
            "properties": {
                **_ADDRESS_PROPERTIES,
                "endpoint": {
                    "type": "string",
                    "maxLength": 2000,
                    "description": "Webhook, Slack or Teams subscribers: an http(s) URL.",
                },
                "type": {
                    "type": "string",
                    "enum": MODES,
                    "description": "The channel. Optional for email, sms and webhook (told by the fields "
                    "given: endpoint, then phone_number, then email); required for slack and teams, whose "
                    "endpoint is the incoming-webhook URL.",
                },
                "page_access_user": {**_ID, "description": "The id of the page access user it belongs to."},
                "component_ids": {
                    "type": "array",
                    "items": _ID,
                    "minItems": 1,
                    "description": "The components to follow; leave it out for the whole page.",
                },
            },
        }
    },
    "required": ["subscriber"],
}
INCIDENT_CREATE_BODY = {
    "type": "object",
    "properties": {"subscriber": {"type": "object", "properties": _ADDRESS_PROPERTIES}},
    "required": ["subscriber"],
}
_COMPONENT_IDS = {
    "type": "array",
    "items": _ID,
    "minItems": 1,
    "description": "The components to follow; leave it out to follow the whole page.",
}
PATCH_BODY = {
    "type": "object",
    "properties": {
        "component_ids": _COMPONENT_IDS,
        "subscriber": {"type": "object", "properties": {"component_ids": _COMPONENT_IDS}},
    },
}
_SUBSCRIBERS = {
    "anyOf": [
        {"type": "string", "maxLength": 2000},
        {"type": "array", "items": _ID, "maxItems": MAX_BULK},
    ],
    "description": f'Ids, comma-separated or as a list (at most {MAX_BULK}), or "all".',
}
_BULK_TYPE = {"type": "string", "enum": TYPES, "description": TYPE_DOC}
UNSUBSCRIBE_BODY = {
    "type": "object",
    "properties": {
        "subscribers": _SUBSCRIBERS,
        "type": _BULK_TYPE,
        "state": {
            "type": "string",
            "enum": ["active", "unconfirmed", "quarantined", "all"],
            "description": 'Only subscribers in this state; with "all" subscribers it is active unless '
            f'given. "all" is refused when more than {MAX_BULK} subscribers match.',
        },
        "skip_unsubscription_notification": {"type": "boolean"},
    },
    "required": ["subscribers"],
}
REACTIVATE_BODY = {
    "type": "object",
    "properties": {"subscribers": _SUBSCRIBERS, "type": _BULK_TYPE},
    "required": ["subscribers"],
    "description": 'Reactivates the unsubscribed or quarantined subscribers listed; "all": every '
    "quarantined one.",
}
RESEND_BODY = {
    "type": "object",
    "properties": {"subscribers": _SUBSCRIBERS},
    "required": ["subscribers"],
    "description": 'Resends to the unconfirmed email and SMS subscribers listed; "all": every unconfirmed '
    "email subscriber of the page.",
}


# --- objects ---------------------------------------------------------------------------------------


def subscriber_json(subscriber: Subscriber, *, with_secret: bool = False) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "mode": subscriber.channel.value,
        "email": subscriber.email,
        "endpoint": subscriber.endpoint,
        "phone_number": subscriber.phone_number,
        "phone_country": subscriber.phone_country,
        "display_phone_number": display_phone(subscriber.phone_number),
        "obfuscated_channel_name": None,
        "workspace_name": None,
        "skip_confirmation_notification": was_confirmed_without_message(subscriber),
        "quarantined_at": iso(subscriber.quarantined_at),
        "purge_at": iso(subscriber.purge_at),
        "components": sorted(link.component_id for link in subscriber.component_links),
        "page_access_user_id": subscriber.viewer_id,
        "created_at": iso(subscriber.created_at),
        "state": subscriber.state.value,
        "incident_id": subscriber.incident_id,
        "secret": subscriber.secret if with_secret else None,
    }


def _load_subscriber(subscriber_id: str, *, incident: Incident | None = None) -> Subscriber:
    message = "There is no subscriber with this id here."
    found = on_page(Subscriber, subscriber_id, message=message, field="subscriber_id")
    if incident is not None and found.incident_id != incident.id:
        raise ApiError(404, message, field="subscriber_id")
    return found


def _channels(value: str | None) -> list[Channel] | None:
    """The channels a Statuspage `type` selects (None: all of them)."""
    if value is None:
        return None
    return [] if value == INTEGRATION_PARTNER else [Channel(value)]


def _type(fields: Fields) -> str | None:
    value = fields.raw("type")
    if value is None:
        return None
    if value not in TYPES:
        raise ApiError(
            fields.status,
            f"{fields.path('type')} must be one of {', '.join(TYPES)}; got {value!r}.",
            field=fields.path("type"),
        )
    return str(value)


def _check_ids(ids: list[str], *, field: str) -> list[str]:
    for item in ids:
        if not ID_RE.match(item):
            raise ApiError(422, f"Unknown id: {item!r}.", field=field)
    return ids


# --- the page's subscribers ------------------------------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/subscribers",
    summary="List the page's subscribers",
    tag=TAG,
    params=LIST_PARAMS,
    responses={200: array_of("Subscriber")},
)
def list_subscribers() -> list[dict[str, Any]]:
    args = query()
    q = args.text("q", max_length=255)
    if q is not None and "\x00" in q:
        raise ApiError(400, "q must not contain NUL characters.", field="q")
    q = (q or "").strip() or None
    state = args.choice("state", StateFilter, default=StateFilter.ACTIVE)
    sort_field = args.choice("sort_field", SortField, default=SortField.PRIMARY)
    if sort_field is SortField.RELEVANCE and q is None:
        raise ApiError(400, "sort_field relevance needs a search text in q.", field="sort_field")
    direction = args.raw("sort_direction", "asc")
    if direction not in ("asc", "desc"):
        raise ApiError(400, f"sort_direction must be asc or desc; got {direction!r}.", field="sort_direction")
    size = page_size(args, "limit", default=page_size(args, "per_page"))
    number = args.integer("page", minimum=0, maximum=1_000_000, default=0)
    statement = page_subscribers(current_page().id, channels=_channels(_type(args)), state=state, q=q)
    statement = sorted_subscribers(statement, sort_field=sort_field, descending=direction == "desc", q=q)
    rows = db.scalars(statement.limit(size).offset(number * size))
    return [subscriber_json(subscriber) for subscriber in rows]


def _create(*, incident: Incident | None) -> tuple[dict[str, Any], int]:
    page = current_page()
    fields = envelope("subscriber")
    rename_fields(components="component_ids")
    email = fields.text("email", max_length=320)
    phone_number = fields.text("phone_number", max_length=40)
    phone_country = fields.text("phone_country", max_length=2)
    skip = fields.boolean("skip_confirmation_notification", default=False)
    endpoint = component_ids = viewer = None
    channel: Channel | None = None
    if incident is None:
        endpoint = fields.text("endpoint", max_length=2000)
        channel = fields.choice("type", Channel)
        component_ids = fields.ids("component_ids")
        if component_ids is not None:
            if not component_ids:
                raise ApiError(
                    422,
                    "subscriber.component_ids must list at least one component; leave it out to follow "
                    "the whole page.",
                    field="subscriber.component_ids",
                )
            _check_ids(component_ids, field="subscriber.component_ids")
        viewer_id = fields.text("page_access_user", max_length=MAX_ID)
        if viewer_id is not None:
            viewer = db.get(Viewer, viewer_id) if ID_RE.match(viewer_id) else None
            if viewer is None or viewer.page_id != page.id:
                raise ApiError(
                    422,
                    "There is no page access user with this id on this page.",
                    field="subscriber.page_access_user",
                )
    if channel is None:
        channel = (
            Channel.WEBHOOK
            if endpoint is not None
            else Channel.SMS
            if phone_number is not None
            else Channel.EMAIL
        )
    field = ADDRESS_FIELDS[channel]
    address = {"email": email, "phone_number": phone_number, "endpoint": endpoint}[field]
    if address is None or not address.strip():
        needed = "email or phone_number" if incident is not None else "email, phone_number or endpoint"
        raise ApiError(422, f"subscriber.{field} is required (give {needed}).", field=f"subscriber.{field}")
    subscriber = add_subscriber(
        db,
        page,
        channel=channel,
        address=address,
        actor=g.actor,
        component_ids=component_ids or (),
        contact_email=email if channel is Channel.WEBHOOK else None,
        confirmed=skip,
        phone_country=phone_country,
        incident=incident,
        viewer=viewer,
    )
    commit()
    return subscriber_json(subscriber, with_secret=True), 201


@operation(
    "POST",
    "/pages/<page_id>/subscribers",
    summary="Create a subscriber",
    tag=TAG,
    params=(PAGE_ID,),
    body=CREATE_BODY,
    responses={201: ref("Subscriber")},
)
def create_subscriber() -> tuple[dict[str, Any], int]:
    return _create(incident=None)


@operation(
    "GET",
    "/pages/<page_id>/subscribers/count",
    summary="Count the page's subscribers by type",
    tag=TAG,
    params=COUNT_PARAMS,
    responses={200: ref("SubscriberCountByType")},
)
def count_subscribers() -> dict[str, int]:
    args = query()
    state = args.choice("state", StateFilter, default=StateFilter.ACTIVE)
    kind = _type(args)
    if kind == INTEGRATION_PARTNER:
        return dict.fromkeys(TYPES, 0)
    counts = count_by_channel(db, current_page().id, channel=Channel(kind) if kind else None, state=state)
    return {name: counts[Channel(name)] if name != INTEGRATION_PARTNER else 0 for name in TYPES}


@operation(
    "GET",
    "/pages/<page_id>/subscribers/histogram_by_state",
    summary="Count the page's subscribers by type, then by state",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("SubscriberCountByTypeAndState")},
)
def subscriber_histogram() -> dict[str, dict[str, int]]:
    histogram = histogram_by_state(db, current_page().id)
    result: dict[str, dict[str, int]] = {}
    for name in TYPES:
        counts = dict.fromkeys(COUNTED_STATES, 0) if name == INTEGRATION_PARTNER else histogram[Channel(name)]
        result[name] = {state.value: counts[state] for state in COUNTED_STATES}
        result[name]["total"] = sum(counts.values())
    return result


@operation(
    "GET",
    "/pages/<page_id>/subscribers/unsubscribed",
    summary="List the page's unsubscribed subscribers, latest first",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Subscriber")},
)
def list_unsubscribed() -> list[dict[str, Any]]:
    statement = page_subscribers(current_page().id, state=StateFilter.UNSUBSCRIBED).order_by(
        Subscriber.unsubscribed_at.desc(), Subscriber.id
    )
    return [subscriber_json(subscriber) for subscriber in paged(statement)]


# --- bulk changes ----------------------------------------------------------------------------------


def _bulk_fields() -> Fields:
    fields = Fields(request_data(), prefix="")
    fields.status = 422  # a bad field of the body, not of the query string
    return fields


def _named_subscribers(fields: Fields) -> list[Subscriber] | None:
    """The subscribers the body's `subscribers` lists, in its order; None for "all"."""
    value = fields.raw("subscribers")
    if value == "all":
        return None
    if isinstance(value, str):
        ids = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        ids = [item.strip() for item in value if item.strip()]
    else:
        raise ApiError(
            422, 'subscribers must be ids (comma-separated or a list) or "all".', field="subscribers"
        )
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ApiError(
            422, 'subscribers must name at least one subscriber, or be "all".', field="subscribers"
        )
    if len(ids) > MAX_BULK:
        raise ApiError(422, f"subscribers may list at most {MAX_BULK} ids at once.", field="subscribers")
    _check_ids(ids, field="subscribers")
    found = {
        subscriber.id: subscriber
        for subscriber in db.scalars(
            select(Subscriber)
            .where(Subscriber.id.in_(ids), Subscriber.page_id == current_page().id)
            .options(selectinload(Subscriber.component_links))
        )
    }
    for item in ids:
        if item not in found:
            raise ApiError(422, f"There is no subscriber {item} on this page.", field="subscribers")
    return [found[item] for item in ids]


def _in_state(subscriber: Subscriber, state: StateFilter) -> bool:
    if state is StateFilter.ALL:
        return subscriber.unsubscribed_at is None
    return subscriber.state.value == state.value


@operation(
    "POST",
    "/pages/<page_id>/subscribers/unsubscribe",
    summary="Unsubscribe a list of subscribers",
    tag=TAG,
    params=(PAGE_ID,),
    body=UNSUBSCRIBE_BODY,
    responses={201: None},
)
def unsubscribe_subscribers() -> tuple[str, int]:
    fields = _bulk_fields()
    channels = _channels(_type(fields))
    state = fields.choice(
        "state",
        StateFilter,
        allowed=(StateFilter.ACTIVE, StateFilter.UNCONFIRMED, StateFilter.QUARANTINED, StateFilter.ALL),
    )
    notify = not fields.boolean("skip_unsubscription_notification", default=False)
    named = _named_subscribers(fields)
    if named is None:
        statement = page_subscribers(current_page().id, channels=channels, state=state or StateFilter.ACTIVE)
        chosen = list(db.scalars(statement.order_by(Subscriber.id).limit(MAX_BULK + 1)))
        if len(chosen) > MAX_BULK:
            raise ApiError(
                422,
                f'More than {MAX_BULK} subscribers match: "all" unsubscribes at most {MAX_BULK}. '
                "List their ids in batches instead.",
                field="subscribers",
            )
    else:
        chosen = [
            subscriber
            for subscriber in named
            if (channels is None or subscriber.channel in channels)
            and (state is None or _in_state(subscriber, state))
        ]
    for subscriber in chosen:
        unsubscribe_subscriber(db, subscriber, actor=g.actor, notify=notify)
    commit()
    return "", 201


@operation(
    "POST",
    "/pages/<page_id>/subscribers/reactivate",
    summary="Reactivate a list of subscribers",
    tag=TAG,
    params=(PAGE_ID,),
    body=REACTIVATE_BODY,
    responses={201: None},
)
def reactivate_subscribers() -> tuple[str, int]:
    fields = _bulk_fields()
    channels = _channels(_type(fields))
    named = _named_subscribers(fields)
    if named is None:
        chosen = list(
            db.scalars(
                page_subscribers(
                    current_page().id, channels=channels, state=StateFilter.QUARANTINED
                ).order_by(Subscriber.id)
            )
        )
    else:
        chosen = [subscriber for subscriber in named if channels is None or subscriber.channel in channels]
    for subscriber in chosen:
        reactivate_subscriber(db, subscriber, actor=g.actor)
    commit()
    return "", 201


@operation(
    "POST",
    "/pages/<page_id>/subscribers/resend_confirmation",
    summary="Resend confirmations to a list of subscribers",
    tag=TAG,
    params=(PAGE_ID,),
    body=RESEND_BODY,
    responses={201: None},
)
def resend_confirmations() -> tuple[str, int]:
    fields = _bulk_fields()
    named = _named_subscribers(fields)
    if named is None:
        chosen = list(
            db.scalars(
                page_subscribers(
                    current_page().id, channels=[Channel.EMAIL], state=StateFilter.UNCONFIRMED
                ).order_by(Subscriber.id)
            )
        )
    else:
        chosen = [
            subscriber
            for subscriber in named
            if subscriber.channel in CONFIRMED_CHANNELS
            and subscriber.confirmed_at is None
            and subscriber.unsubscribed_at is None
        ]
    for subscriber in chosen:
        request_confirmation(db, subscriber, actor=g.actor)
    commit()
    return "", 201


# --- one subscriber --------------------------------------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/subscribers/<subscriber_id>",
    summary="Get a subscriber",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("Subscriber")},
)
def get_subscriber(subscriber_id: str) -> dict[str, Any]:
    return subscriber_json(_load_subscriber(subscriber_id))


@operation(
    "PATCH",
    "/pages/<page_id>/subscribers/<subscriber_id>",
    summary="Choose the components a subscriber follows",
    tag=TAG,
    params=(PAGE_ID,),
    body=PATCH_BODY,
    responses={200: ref("Subscriber")},
)
def update_subscriber(subscriber_id: str) -> dict[str, Any]:
    subscriber = _load_subscriber(subscriber_id)
    data = request_data()
    # Statuspage's body is `{"component_ids": [...]}`; the `subscriber` envelope is accepted too.
    fields = envelope("subscriber") if isinstance(data.get("subscriber"), dict) else _bulk_fields()
    rename_fields(components="component_ids")
    component_ids = fields.ids("component_ids")
    if component_ids is not None:
        if not component_ids:
            raise ApiError(
                422,
                f"{fields.path('component_ids')} must list at least one component; leave it out to follow "
                "the whole page.",
                field=fields.path("component_ids"),
            )
        _check_ids(component_ids, field=fields.path("component_ids"))
    update_subscriber_components(db, subscriber, actor=g.actor, component_ids=component_ids or [])
    commit()
    return subscriber_json(subscriber)


def _unsubscribe(subscriber: Subscriber) -> dict[str, Any]:
    skip = query().boolean("skip_unsubscription_notification", default=False)
    unsubscribe_subscriber(db, subscriber, actor=g.actor, notify=not skip)
    commit()
    return subscriber_json(subscriber)


@operation(
    "DELETE",
    "/pages/<page_id>/subscribers/<subscriber_id>",
    summary="Unsubscribe a subscriber",
    tag=TAG,
    params=(PAGE_ID, SKIP_NOTICE),
    responses={200: ref("Subscriber")},
)
def delete_subscriber(subscriber_id: str) -> dict[str, Any]:
    return _unsubscribe(_load_subscriber(subscriber_id))


@operation(
    "POST",
    "/pages/<page_id>/subscribers/<subscriber_id>/resend_confirmation",
    summary="Resend the confirmation to a subscriber",
    tag=TAG,
    params=(PAGE_ID,),
    responses={201: None},
)
def resend_confirmation(subscriber_id: str) -> tuple[str, int]:
    request_confirmation(db, _load_subscriber(subscriber_id), actor=g.actor)
    commit()
    return "", 201


# --- subscribers of one incident -------------------------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/incidents/<incident_id>/subscribers",
    summary="List the subscribers of an incident",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Subscriber")},
)
def list_incident_subscribers(incident_id: str) -> list[dict[str, Any]]:
    incident = load_incident(incident_id)
    statement = page_subscribers(current_page().id, state=StateFilter.ALL, incident_id=incident.id).order_by(
        Subscriber.created_at, Subscriber.id
    )
    return [subscriber_json(subscriber) for subscriber in paged(statement)]


@operation(
    "POST",
    "/pages/<page_id>/incidents/<incident_id>/subscribers",
    summary="Subscribe someone to one incident",
    tag=TAG,
    params=(PAGE_ID,),
    body=INCIDENT_CREATE_BODY,
    responses={201: ref("Subscriber")},
)
def create_incident_subscriber(incident_id: str) -> tuple[dict[str, Any], int]:
    return _create(incident=load_incident(incident_id))


@operation(
    "GET",
    "/pages/<page_id>/incidents/<incident_id>/subscribers/<subscriber_id>",
    summary="Get a subscriber of an incident",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("Subscriber")},
)
def get_incident_subscriber(incident_id: str, subscriber_id: str) -> dict[str, Any]:
    return subscriber_json(_load_subscriber(subscriber_id, incident=load_incident(incident_id)))


@operation(
    "DELETE",
    "/pages/<page_id>/incidents/<incident_id>/subscribers/<subscriber_id>",
    summary="Unsubscribe a subscriber of an incident",
    tag=TAG,
    params=(PAGE_ID, SKIP_NOTICE),
    responses={200: ref("Subscriber")},
)
def delete_incident_subscriber(incident_id: str, subscriber_id: str) -> dict[str, Any]:
    return _unsubscribe(_load_subscriber(subscriber_id, incident=load_incident(incident_id)))


@operation(
    "POST",
    "/pages/<page_id>/incidents/<incident_id>/subscribers/<subscriber_id>/resend_confirmation",
    summary="Resend the confirmation to a subscriber of an incident",
    tag=TAG,
    params=(PAGE_ID,),
    responses={201: None},
)
def resend_incident_confirmation(incident_id: str, subscriber_id: str) -> tuple[str, int]:
    subscriber = _load_subscriber(subscriber_id, incident=load_incident(incident_id))
    request_confirmation(db, subscriber, actor=g.actor)
    commit()
    return "", 201
