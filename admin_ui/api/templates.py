"""Incident templates: list and create (Statuspage's two operations), and get, update and delete one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin_ui.api.body import Fields, envelope, invalid
from admin_ui.api.common import commit, current_page, on_page, paged, rename_fields
from admin_ui.api.serializers import component_json
from admin_ui.api.spec import (
    DATE_TIME,
    PAGE_ID,
    PAGINATION,
    array_of,
    operation,
    ref,
    schema,
)
from status_platform.db.session import db
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    IncidentKind,
    IncidentStatus,
    Template,
)
from tenants.incidents.services import MAX_BODY, create_template, delete_template, update_template
from tenants.pages.snapshot import iso

TAG = "Incident templates"
TEMPLATE_STATUSES = (*INCIDENT_STATUSES, *MAINTENANCE_STATUSES)
NO_GROUPS = (
    "Templates are not sorted into template groups here, so a template has no group: "
    "send null or leave group_id out."
)
NO_TWITTER = "The platform does not post to Twitter, so a template cannot preselect a tweet: send false."

TEMPLATE = schema(
    "IncidentTemplate",
    {
        "id": {"type": "string"},
        "name": {"type": "string", "description": "The template's name in the list of templates."},
        "title": {"type": "string", "description": "The title it gives the incident or maintenance."},
        "body": {"type": "string", "description": "The message it gives the update (Markdown)."},
        "group_id": {"type": "null", "description": "Always null: there are no template groups."},
        "update_status": {
            "type": ["string", "null"],
            "enum": [*(status.value for status in TEMPLATE_STATUSES), None],
            "description": "The status it moves the incident or maintenance to; null keeps the current one.",
        },
        "should_tweet": {"type": "boolean", "enum": [False], "description": "Always false: no Twitter."},
        "should_send_notifications": {"type": "boolean"},
        "components": {**array_of("Component"), "description": "The components it names."},
        "kind": {
            "type": "string",
            "enum": [kind.value for kind in IncidentKind],
            "description": "Whether it writes incidents or maintenance windows.",
        },
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
    },
)

_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "title": {"type": "string", "minLength": 1, "maxLength": 255},
    "body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY},
    "group_id": {"type": "null", "description": NO_GROUPS},
    "update_status": {
        "type": ["string", "null"],
        "enum": [*(status.value for status in TEMPLATE_STATUSES), None],
        "description": "One of the statuses of the template's kind; null keeps the current status.",
    },
    "should_tweet": {"type": "boolean", "enum": [False], "description": NO_TWITTER},
    "should_send_notifications": {"type": "boolean", "default": True},
    "component_ids": {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 64},
        "description": "Components of this page the template names.",
    },
    "kind": {"type": "string", "enum": [kind.value for kind in IncidentKind], "default": "incident"},
}
CREATE_BODY = {
    "type": "object",
    "properties": {
        "template": {"type": "object", "properties": _FIELDS, "required": ["name", "title", "body"]},
    },
    "required": ["template"],
}
UPDATE_BODY = {
    "type": "object",
    "properties": {"template": {"type": "object", "properties": _FIELDS}},
    "required": ["template"],
}


def _components_by_template(templates: list[Template]) -> dict[str, list[Component]]:
    """Each template's components in the page's order: one statement for all the templates."""
    ids = {link.component_id for template in templates for link in template.components}
    if not ids:
        return {template.id: [] for template in templates}
    found = list(
        db.scalars(
            select(Component)
            .where(Component.id.in_(ids))
            .order_by(Component.position, Component.created_at, Component.id)
        )
    )
    return {
        template.id: [c for c in found if c.id in {link.component_id for link in template.components}]
        for template in templates
    }


def template_json(template: Template, components: list[Component]) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "title": template.title,
        "body": template.body,
        "group_id": None,
        "update_status": template.update_status.value if template.update_status else None,
        "should_tweet": False,
        "should_send_notifications": template.should_send_notifications,
        "components": [component_json(component) for component in components],
        "kind": template.kind.value,
        "created_at": iso(template.created_at),
        "updated_at": iso(template.updated_at),
    }


def _one_json(template: Template) -> dict[str, Any]:
    return template_json(template, _components_by_template([template])[template.id])


def _template(template_id: str) -> Template:
    return on_page(
        Template,
        template_id,
        message="There is no incident template with this id on this page.",
        field="template_id",
    )


def _refuse_unsupported(fields: Fields) -> None:
    group_id = fields.raw("group_id")
    if group_id not in (None, ""):
        raise invalid(NO_GROUPS, field=fields.path("group_id"))
    if fields.boolean("should_tweet", default=False):
        raise invalid(NO_TWITTER, field=fields.path("should_tweet"))


def _update_status(fields: Fields, default: IncidentStatus | None) -> IncidentStatus | None:
    if not fields.has("update_status"):
        return default
    if fields.raw("update_status") == "":  # a form cannot send null
        return None
    status: IncidentStatus = fields.choice("update_status", IncidentStatus, allowed=TEMPLATE_STATUSES)
    return status


@operation(
    "GET",
    "/pages/<page_id>/incident_templates",
    summary="List the page's incident templates",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("IncidentTemplate")},
)
def list_incident_templates() -> list[dict[str, Any]]:
    templates = paged(
        select(Template)
        .where(Template.page_id == current_page().id)
        .options(selectinload(Template.components))
        .order_by(sa.func.lower(Template.name), Template.id)
    )
    components = _components_by_template(templates)
    return [template_json(template, components[template.id]) for template in templates]


@operation(
    "POST",
    "/pages/<page_id>/incident_templates",
    summary="Create an incident template",
    tag=TAG,
    params=(PAGE_ID,),
    body=CREATE_BODY,
    responses={201: ref("IncidentTemplate")},
)
def create_incident_template() -> tuple[dict[str, Any], int]:
    fields = envelope("template")
    rename_fields(components="component_ids")
    _refuse_unsupported(fields)
    template = create_template(
        db,
        current_page(),
        actor=g.actor,
        kind=fields.choice("kind", IncidentKind, default=IncidentKind.INCIDENT),
        name=fields.text("name", required=True),
        title=fields.text("title", required=True),
        body=fields.text("body", max_length=MAX_BODY, required=True),
        update_status=_update_status(fields, None),
        should_send_notifications=fields.boolean("should_send_notifications", default=True),
        components=dict.fromkeys(fields.ids("component_ids", default=[])),
    )
    commit()
    return _one_json(template), 201


@operation(
    "GET",
    "/pages/<page_id>/incident_templates/<template_id>",
    summary="Get an incident template",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("IncidentTemplate")},
)
def get_incident_template(template_id: str) -> dict[str, Any]:
    return _one_json(_template(template_id))


def _update(template_id: str) -> dict[str, Any]:
    template = _template(template_id)
    fields = envelope("template")
    rename_fields(components="component_ids")
    _refuse_unsupported(fields)
    # Statuses the template gives its components (set in the admin) stay with the components kept.
    statuses: dict[str, ComponentStatus | None] = {
        link.component_id: link.status for link in template.components
    }
    if fields.has("component_ids"):
        statuses = {cid: statuses.get(cid) for cid in fields.ids("component_ids", default=[])}
    update_template(
        db,
        template,
        actor=g.actor,
        kind=fields.choice("kind", IncidentKind, default=template.kind),
        name=fields.text("name", required=True) if fields.has("name") else template.name,
        title=fields.text("title", required=True) if fields.has("title") else template.title,
        body=fields.text("body", max_length=MAX_BODY, required=True) if fields.has("body") else template.body,
        update_status=_update_status(fields, template.update_status),
        should_send_notifications=fields.boolean(
            "should_send_notifications", default=template.should_send_notifications
        ),
        components=statuses,
    )
    commit()
    return _one_json(template)


@operation(
    "PATCH",
    "/pages/<page_id>/incident_templates/<template_id>",
    summary="Update an incident template (the fields sent)",
    tag=TAG,
    params=(PAGE_ID,),
    body=UPDATE_BODY,
    responses={200: ref("IncidentTemplate")},
)
def patch_incident_template(template_id: str) -> dict[str, Any]:
    return _update(template_id)


@operation(
    "PUT",
    "/pages/<page_id>/incident_templates/<template_id>",
    summary="Update an incident template (the fields sent, as PATCH)",
    tag=TAG,
    params=(PAGE_ID,),
    body=UPDATE_BODY,
    responses={200: ref("IncidentTemplate")},
)
def put_incident_template(template_id: str) -> dict[str, Any]:
    return _update(template_id)


@operation(
    "DELETE",
    "/pages/<page_id>/incident_templates/<template_id>",
    summary="Delete an incident template; answers the deleted template",
    tag=TAG,
    params=(PAGE_ID,),
    responses={200: ref("IncidentTemplate")},
)
def delete_incident_template(template_id: str) -> dict[str, Any]:
    template = _template(template_id)
    deleted = _one_json(template)
    delete_template(db, template, actor=g.actor)
    commit()
    return deleted
