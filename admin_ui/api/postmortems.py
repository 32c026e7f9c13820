"""Postmortems of incidents: read, write, publish, revert to a draft and delete, as Statuspage's API does.

An incident keeps one postmortem text. It is the draft until it is published; once published,
the public page shows it and a new save changes the public text at once. So `body_draft` is
always the text, and `body` is the same text while it is published (null before).
"""

from __future__ import annotations

from typing import Any

from flask import g

from admin_ui.api.body import ApiError, envelope, invalid
from admin_ui.api.common import commit, rename_fields
from admin_ui.api.incidents import load_incident
from admin_ui.api.spec import NULLABLE_DATE_TIME, PAGE_ID, nullable, operation, ref, schema
from status_platform.db.session import db
from tenants.incidents.models import Incident
from tenants.incidents.services import (
    MAX_POSTMORTEM,
    delete_postmortem,
    publish_postmortem,
    save_postmortem,
    unpublish_postmortem,
)
from tenants.pages.snapshot import iso

TAG = "Postmortems"
PATH = "/pages/<page_id>/incidents/<incident_id>/postmortem"
NO_TWITTER = "The platform does not post to Twitter: send false or leave notify_twitter out."

POSTMORTEM = schema(
    "Postmortem",
    {
        "preview_key": {"type": "null", "description": "Always null: drafts have no preview links."},
        "body": nullable("string", description="The published text (Markdown); null while it is a draft."),
        "body_updated_at": nullable(
            "string", format="date-time", description="When the public text last changed."
        ),
        "body_draft": {"type": "string", "description": "The text (Markdown), published or not."},
        "body_draft_updated_at": nullable("string", format="date-time", description="When it was saved."),
        "published_at": NULLABLE_DATE_TIME,
        "notify_subscribers": {
            "type": "boolean",
            "description": "Whether subscribers were told of the postmortem (at most once per incident).",
        },
        "notify_twitter": {"type": "boolean", "enum": [False], "description": "Always false: no Twitter."},
        "custom_tweet": {"type": "null", "description": "Always null: no Twitter."},
    },
)

SAVE_BODY = {
    "type": "object",
    "properties": {
        "postmortem": {
            "type": "object",
            "properties": {
                "body_draft": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_POSTMORTEM,
                    "description": "The text (Markdown); a published postmortem shows it at once.",
                }
            },
            "required": ["body_draft"],
        }
    },
    "required": ["postmortem"],
}
PUBLISH_BODY = {
    "type": "object",
    "properties": {
        "postmortem": {
            "type": "object",
            "properties": {
                "notify_subscribers": {
                    "type": "boolean",
                    "default": False,
                    "description": "Tell the subscribers (only the first time the postmortem is published).",
                },
                "notify_twitter": {"type": "boolean", "enum": [False], "description": NO_TWITTER},
                "custom_tweet": {
                    "type": ["string", "null"],
                    "maxLength": 280,
                    "description": "Accepted and not kept: nothing is posted to Twitter.",
                },
            },
        }
    },
}


def postmortem_json(incident: Incident) -> dict[str, Any]:
    published = incident.postmortem_published_at is not None
    saved, shown = incident.postmortem_body_updated_at, incident.postmortem_published_at
    # The public text last changed when it was published, or when it was saved after that.
    public_since = max(saved, shown) if saved is not None and shown is not None else shown
    return {
        "preview_key": None,
        "body": incident.postmortem_body if published else None,
        "body_updated_at": iso(public_since),
        "body_draft": incident.postmortem_body or "",
        "body_draft_updated_at": iso(saved),
        "published_at": iso(shown),
        "notify_subscribers": incident.postmortem_notified_subscribers,
        "notify_twitter": False,
        "custom_tweet": None,
    }


def _with_postmortem(incident_id: str) -> Incident:
    incident = load_incident(incident_id)
    if not incident.postmortem_body and incident.postmortem_published_at is None:
        raise ApiError(404, "This incident has no postmortem; write one with PUT …/postmortem.")
    return incident


@operation(
    "GET",
    PATH,
    summary="Get an incident's postmortem",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("Postmortem")},
)
def get_postmortem(incident_id: str) -> dict[str, Any]:
    return postmortem_json(_with_postmortem(incident_id))


@operation(
    "PUT",
    PATH,
    summary="Write an incident's postmortem (a draft until it is published)",
    tag=TAG,
    params=(PAGE_ID,),
    body=SAVE_BODY,
    responses={200: ref("Postmortem")},
)
def put_postmortem(incident_id: str) -> dict[str, Any]:
    incident = load_incident(incident_id)
    fields = envelope("postmortem")
    rename_fields(postmortem_body="body_draft")
    body = fields.text("body_draft", max_length=MAX_POSTMORTEM, required=True)
    save_postmortem(db, incident, actor=g.actor, body=body)
    commit()
    return postmortem_json(incident)


@operation(
    "DELETE",
    PATH,
    summary="Delete an incident's postmortem (published or not)",
    tag=TAG,
    params=(PAGE_ID,),
    responses={204: None},
)
def delete_incident_postmortem(incident_id: str) -> tuple[str, int]:
    incident = _with_postmortem(incident_id)
    delete_postmortem(db, incident, actor=g.actor)
    commit()
    return "", 204


@operation(
    "PUT",
    f"{PATH}/publish",
    summary="Publish an incident's postmortem on the public page",
    tag=TAG,
    params=(PAGE_ID,),
    body=PUBLISH_BODY,
    responses={200: ref("Postmortem")},
)
def publish_incident_postmortem(incident_id: str) -> dict[str, Any]:
    incident = load_incident(incident_id)
    fields = envelope("postmortem", required=False)
    rename_fields(postmortem_body="body_draft")
    notify = fields.boolean("notify_subscribers", default=False)
    if fields.boolean("notify_twitter", default=False):
        raise invalid(NO_TWITTER, field=fields.path("notify_twitter"))
    fields.text("custom_tweet", max_length=280)
    publish_postmortem(db, incident, actor=g.actor, notify=notify)
    commit()
    return postmortem_json(incident)


@operation(
    "PUT",
    f"{PATH}/revert",
    summary="Take an incident's postmortem off the public page; it becomes a draft again",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("Postmortem")},
)
def revert_postmortem(incident_id: str) -> dict[str, Any]:
    incident = _with_postmortem(incident_id)
    unpublish_postmortem(db, incident, actor=g.actor)
    commit()
    return postmortem_json(incident)
