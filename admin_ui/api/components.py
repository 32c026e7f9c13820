"""Components and component groups of a page: list, create, get, update (status, group, order), delete."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import g
from sqlalchemy import select

from admin_ui.api.body import Fields, envelope, invalid, pagination, request_data
from admin_ui.api.common import commit, current_page, on_page, paged
from admin_ui.api.serializers import COMPONENT_STATUSES, component_json, group_json
from admin_ui.api.spec import PAGE_ID, PAGINATION, array_of, operation, ref
from status_platform.db.session import db
from tenants.components import services
from tenants.components.models import Component, ComponentGroup, ComponentStatus, ComponentVisibility
from tenants.components.schemas import clean_start_date

COMPONENTS_TAG = "Components"
GROUPS_TAG = "Component groups"
NAME_MAX = 255
DESCRIPTION_MAX = 2000
# Ids are short base36 strings; anything else cannot name an object and is never looked up.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

_POSITION = {
    "type": "integer",
    "minimum": 1,
    "maximum": 100000,
    "description": "Moves the object to this place, from 1 (a component within its group or the top "
    "level, a group among the top level); a place past the end moves it last.",
}


def _component_fields(*, create: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "description": {"type": ["string", "null"], "maxLength": DESCRIPTION_MAX},
        "status": {
            "type": "string",
            "enum": [*COMPONENT_STATUSES, ""],
            "description": "An empty string leaves the status as it is (operational for a new component). "
            "A change is recorded in the component's history and shown on the public page.",
        },
        "group_id": {
            "type": ["string", "null"],
            "maxLength": 64,
            "description": "A group of this page; null (or an empty string) puts the component at the top "
            "level. A component moved to another group goes to its end.",
        },
        "showcase": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "start_date": {"type": ["string", "null"], "format": "date", "description": "From 2000-01-01."},
        "visibility": {
            "type": "string",
            "enum": [v.value for v in ComponentVisibility],
            "description": "public, audience (shown only to an audience's viewers) or hidden.",
        },
    }
    if not create:
        properties["position"] = _POSITION
    inner: dict[str, Any] = {"type": "object", "properties": properties}
    if create:
        inner["required"] = ["name"]
    return {"type": "object", "properties": {"component": inner}, "required": ["component"]}


def _group_body(*, create: bool) -> dict[str, Any]:
    description = {
        "type": ["string", "null"],
        "maxLength": DESCRIPTION_MAX,
        "description": "The group's description (Statuspage sends it beside the envelope; inside works too).",
    }
    properties: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "description": description,
        "components": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 64},
            "description": "The group's components, in order: components taken from another group leave it; "
            "members left out move to the end of the top level.",
        },
    }
    if not create:
        properties["position"] = _POSITION
    inner: dict[str, Any] = {"type": "object", "properties": properties}
    body: dict[str, Any] = {
        "type": "object",
        "properties": {"description": description, "component_group": inner},
    }
    if create:
        inner["required"] = ["name", "components"]
        body["required"] = ["component_group"]
    else:
        body["description"] = "Give `component_group`, the outer `description`, or both."
    return body


COMPONENT_CREATE_BODY = _component_fields(create=True)
COMPONENT_UPDATE_BODY = _component_fields(create=False)
GROUP_CREATE_BODY = _group_body(create=True)
GROUP_UPDATE_BODY = _group_body(create=False)


def _is_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


def load_component(component_id: str) -> Component:
    """The path's component of the path's page, else 404."""
    return on_page(
        Component,
        component_id,
        message="There is no component with this id on this page.",
        field="component_id",
    )


def _group(group_id: str) -> ComponentGroup:
    return on_page(
        ComponentGroup,
        group_id,
        message="There is no component group with this id on this page.",
        field="group_id",
    )


def _chosen_group(fields: Fields) -> ComponentGroup | None:
    group_id = fields.text("group_id", max_length=64)
    if not group_id:
        return None
    group = db.get(ComponentGroup, group_id) if _is_id(group_id) else None
    if group is None or group.page_id != current_page().id:
        raise invalid("There is no component group with this id on this page.", field=fields.path("group_id"))
    return group


def _status(fields: Fields) -> ComponentStatus | None:
    if fields.raw("status") == "":
        return None
    return fields.choice("status", ComponentStatus)


def _start_date(fields: Fields, default: date | None) -> date | None:
    if not fields.has("start_date"):
        return default
    day = fields.day("start_date")
    return clean_start_date(day.isoformat() if day is not None else None)


def _description(fields: Fields, default: str) -> str:
    if not fields.has("description"):
        return default
    return fields.text("description", max_length=DESCRIPTION_MAX) or ""


def _position(fields: Fields) -> int | None:
    return fields.integer("position", minimum=1, maximum=100000)


# --- components ----------------------------------------------------------------------------------


def _page_order(page_id: str) -> list[Component]:
    """The page's components as the public page shows them: top-level order, members in their group."""
    members: dict[str, list[Component]] = {}
    for component in db.scalars(
        select(Component)
        .where(Component.page_id == page_id, Component.group_id.is_not(None))
        .order_by(Component.position, Component.created_at, Component.id)
    ):
        members.setdefault(component.group_id or "", []).append(component)
    ordered: list[Component] = []
    for item in services.top_level_items(db, page_id):
        if isinstance(item, ComponentGroup):
            ordered.extend(members.get(item.id, []))
        else:
            ordered.append(item)
    return ordered


@operation(
    "GET",
    "/pages/<page_id>/components",
    summary="List the page's components, in the public page's order",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Component")},
)
def list_components() -> list[dict[str, Any]]:
    number, per_page = pagination()
    start = (number - 1) * per_page
    return [component_json(c) for c in _page_order(current_page().id)[start : start + per_page]]


@operation(
    "POST",
    "/pages/<page_id>/components",
    summary="Create a component",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_CREATE_BODY,
    responses={201: ref("Component")},
)
def create_component() -> tuple[dict[str, Any], int]:
    fields = envelope("component")
    name = fields.text("name", max_length=NAME_MAX, required=True)
    description = _description(fields, "")
    status = _status(fields) or ComponentStatus.OPERATIONAL
    group = _chosen_group(fields)
    is_showcased = fields.boolean("showcase", default=True)
    only_show_if_degraded = fields.boolean("only_show_if_degraded", default=False)
    start_date = _start_date(fields, None)
    visibility = fields.choice("visibility", ComponentVisibility, default=ComponentVisibility.PUBLIC)
    component = services.create_component(
        db,
        current_page(),
        name=name,
        description=description,
        group=group,
        status=status,
        is_showcased=is_showcased,
        only_show_if_degraded=only_show_if_degraded,
        start_date=start_date,
        visibility=visibility,
        actor=g.actor,
    )
    commit()
    return component_json(component), 201


@operation(
    "GET",
    "/pages/<page_id>/components/<component_id>",
    summary="Get a component",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("Component")},
)
def get_component(component_id: str) -> dict[str, Any]:
    return component_json(load_component(component_id))


def _update_component(component_id: str) -> dict[str, Any]:
    """Change the fields given, keep the others; then the status, then the place (`position`)."""
    component = load_component(component_id)
    fields = envelope("component")
    name = fields.text("name", max_length=NAME_MAX, required=True) if fields.has("name") else component.name
    description = _description(fields, component.description)
    status = _status(fields)
    group = _chosen_group(fields) if fields.has("group_id") else component.group
    is_showcased = fields.boolean("showcase", default=component.is_showcased)
    only_show_if_degraded = fields.boolean("only_show_if_degraded", default=component.only_show_if_degraded)
    start_date = _start_date(fields, component.start_date)
    visibility = fields.choice("visibility", ComponentVisibility)
    position = _position(fields)
    services.update_component(
        db,
        component,
        name=name,
        description=description,
        group=group,
        is_showcased=is_showcased,
        only_show_if_degraded=only_show_if_degraded,
        start_date=start_date,
        visibility=visibility,
        actor=g.actor,
    )
    if status is not None:
        services.set_component_status(db, component, status, actor=g.actor)
    if position is not None:
        services.move_item_to(db, component, position=position, actor=g.actor)
    commit()
    return component_json(component)


@operation(
    "PATCH",
    "/pages/<page_id>/components/<component_id>",
    summary="Update a component (only the fields given); `position` reorders it",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_UPDATE_BODY,
    responses={200: ref("Component")},
)
def patch_component(component_id: str) -> dict[str, Any]:
    return _update_component(component_id)


@operation(
    "PUT",
    "/pages/<page_id>/components/<component_id>",
    summary="Update a component (as PATCH does, like Statuspage)",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_UPDATE_BODY,
    responses={200: ref("Component")},
)
def put_component(component_id: str) -> dict[str, Any]:
    return _update_component(component_id)


@operation(
    "DELETE",
    "/pages/<page_id>/components/<component_id>",
    summary="Delete a component (past incidents keep its name)",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    responses={204: None},
)
def delete_component(component_id: str) -> tuple[str, int]:
    services.delete_component(db, load_component(component_id), actor=g.actor)
    commit()
    return "", 204


# --- component groups ----------------------------------------------------------------------------


def _group_description(fields: Fields, default: str) -> str:
    """The description inside the envelope, else Statuspage's one beside it, else `default`."""
    if fields.has("description"):
        return fields.text("description", max_length=DESCRIPTION_MAX) or ""
    if "description" not in fields.outer:
        return default
    value = fields.outer["description"]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("description must be a string.", field="description")
    if len(value) > DESCRIPTION_MAX:
        raise invalid(
            f"description must be at most {DESCRIPTION_MAX} characters (it has {len(value)}).",
            field="description",
        )
    return value


def _members(fields: Fields) -> list[Component] | None:
    ids = fields.ids("components")
    if ids is None:
        return None
    page_id = current_page().id
    members = []
    for component_id in ids:
        component = db.get(Component, component_id) if _is_id(component_id) else None
        if component is None or component.page_id != page_id:
            raise invalid(
                f"There is no component {component_id!r} on this page.", field=fields.path("components")
            )
        members.append(component)
    return members


@operation(
    "GET",
    "/pages/<page_id>/component-groups",
    summary="List the page's component groups, in the public page's order",
    tag=GROUPS_TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("GroupComponent")},
)
def list_component_groups() -> list[dict[str, Any]]:
    statement = (
        select(ComponentGroup)
        .where(ComponentGroup.page_id == current_page().id)
        .order_by(ComponentGroup.position, ComponentGroup.created_at, ComponentGroup.id)
    )
    return [group_json(group) for group in paged(statement)]


@operation(
    "POST",
    "/pages/<page_id>/component-groups",
    summary="Create a component group with its components",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_CREATE_BODY,
    responses={201: ref("GroupComponent")},
)
def create_component_group() -> tuple[dict[str, Any], int]:
    fields = envelope("component_group")
    name = fields.text("name", max_length=NAME_MAX, required=True)
    description = _group_description(fields, "")
    if not fields.has("components"):
        raise invalid("component_group.components is required.", field=fields.path("components"))
    members = _members(fields) or []
    group = services.create_group(db, current_page(), name=name, description=description, actor=g.actor)
    services.set_group_components(db, group, members, actor=g.actor)
    commit()
    return group_json(group), 201


@operation(
    "GET",
    "/pages/<page_id>/component-groups/<group_id>",
    summary="Get a component group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("GroupComponent")},
)
def get_component_group(group_id: str) -> dict[str, Any]:
    return group_json(_group(group_id))


def _update_group(group_id: str) -> dict[str, Any]:
    """Change the fields given, keep the others; then the members, then the place (`position`)."""
    group = _group(group_id)
    fields = envelope("component_group", required="description" not in request_data())
    name = fields.text("name", max_length=NAME_MAX, required=True) if fields.has("name") else group.name
    description = _group_description(fields, group.description)
    members = _members(fields)
    position = _position(fields)
    services.update_group(
        db,
        group,
        name=name,
        description=description,
        is_expanded_by_default=group.is_expanded_by_default,
        actor=g.actor,
    )
    if members is not None:
        services.set_group_components(db, group, members, actor=g.actor)
    if position is not None:
        services.move_item_to(db, group, position=position, actor=g.actor)
    commit()
    return group_json(group)


@operation(
    "PATCH",
    "/pages/<page_id>/component-groups/<group_id>",
    summary="Update a component group (only the fields given); `position` reorders it",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_UPDATE_BODY,
    responses={200: ref("GroupComponent")},
)
def patch_component_group(group_id: str) -> dict[str, Any]:
    return _update_group(group_id)


@operation(
    "PUT",
    "/pages/<page_id>/component-groups/<group_id>",
    summary="Update a component group (as PATCH does, like Statuspage)",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_UPDATE_BODY,
    responses={200: ref("GroupComponent")},
)
def put_component_group(group_id: str) -> dict[str, Any]:
    return _update_group(group_id)


@operation(
    "DELETE",
    "/pages/<page_id>/component-groups/<group_id>",
    summary="Delete a component group; its components move to the end of the top level",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("GroupComponent")},
)
def delete_component_group(group_id: str) -> dict[str, Any]:
    group = _group(group_id)
    deleted = group_json(group)
    services.delete_group(db, group, actor=g.actor)
    commit()
    return deleted
