"""Page access groups (our audiences) and page access users (our viewers), and what they see.

Visibility is given by group only: a group is given components, a user sees the union of the
components of its active groups. Statuspage also gives components to single users; here
`GET /page_access_users/{id}/components` answers that union, and the writes of a user's
components (and of a component's users) are refused with 422, naming the field, saying that
components are given to page access groups. Groups have no metrics: `metric_ids` is always
empty, and a group sent with metrics is refused.
"""

from __future__ import annotations

from typing import Any

from flask import g

from admin_ui.api.body import ApiError, Fields, envelope, invalid, query, request_data
from admin_ui.api.common import commit, current_page, on_page, paged, rename_fields
from admin_ui.api.components import load_component
from admin_ui.api.serializers import component_json
from admin_ui.api.spec import (
    DATE_TIME,
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
from tenants.audiences import queries, services
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.schemas import EMAIL_MAX_LENGTH, EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH
from tenants.pages.snapshot import iso

GROUPS_TAG = "Page access groups"
USERS_TAG = "Page access users"
COMPONENTS_TAG = "Components"

_IDS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}}
_STRINGS = {"type": "array", "items": {"type": "string"}}

GROUP = schema(
    "PageAccessGroup",
    {
        "id": {"type": "string"},
        "page_id": {"type": "string"},
        "name": {"type": "string"},
        "page_access_user_ids": _STRINGS,
        "external_identifier": nullable("string"),
        "metric_ids": {
            **_STRINGS,
            "maxItems": 0,
            "description": "Always empty: groups give components only.",
        },
        "component_ids": _STRINGS,
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "is_active": {"type": "boolean", "description": "A deactivated group gives its users nothing."},
    },
)

USER = schema(
    "PageAccessUser",
    {
        "id": {"type": "string"},
        "page_id": {"type": "string"},
        "email": {"type": "string"},
        "external_login": nullable("string"),
        "page_access_group_id": nullable("string", description="The user's first group (oldest), if any."),
        "page_access_group_ids": _STRINGS,
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "is_active": {"type": "boolean", "description": "A deactivated user cannot sign in."},
    },
)


def _group_body(*, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LENGTH},
        "external_identifier": {
            "type": ["string", "null"],
            "maxLength": EXTERNAL_ID_MAX_LENGTH,
            "description": "The identity provider's group this group stands for.",
        },
        "component_ids": {**_IDS, "description": "The components the group's users see (replaces the list)."},
        "metric_ids": {**_IDS, "maxItems": 0, "description": "Must be empty: there are no metrics."},
        "page_access_user_ids": {**_IDS, "description": "The group's users (replaces the list)."},
        "is_active": {"type": "boolean", "description": "False deactivates the group, true reactivates it."},
    }
    inner: dict[str, Any] = {"type": "object", "properties": fields}
    if creating:
        inner["required"] = ["name"]
    return {"type": "object", "properties": {"page_access_group": inner}, "required": ["page_access_group"]}


def _user_body(*, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "email": {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
        "external_login": {
            "type": ["string", "null"],
            "maxLength": EXTERNAL_ID_MAX_LENGTH,
            "description": 'The identity provider\'s login of the user (typically its "uid").',
        },
        "page_access_group_id": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 64,
            "description": "One group of the user (added to page_access_group_ids).",
        },
        "page_access_group_ids": {**_IDS, "description": "The user's groups (replaces the list)."},
        "is_active": {"type": "boolean", "description": "False deactivates the user (ending its sessions)."},
    }
    if creating:
        fields["subscribe_to_components"] = {
            "type": "boolean",
            "description": "Also subscribe the user by email to what it may see.",
        }
    inner: dict[str, Any] = {"type": "object", "properties": fields}
    if creating:
        inner["required"] = ["email"]
    return {"type": "object", "properties": {"page_access_user": inner}, "required": ["page_access_user"]}


def _ids_body(name: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {**_IDS, "description": description}},
        "required": [name],
    }


GROUP_CREATE_BODY = _group_body(creating=True)
GROUP_UPDATE_BODY = _group_body(creating=False)
USER_CREATE_BODY = _user_body(creating=True)
USER_UPDATE_BODY = _user_body(creating=False)
COMPONENT_IDS_BODY = _ids_body("component_ids", "Component ids of this page.")
GROUP_IDS_BODY = _ids_body("page_access_group_ids", "Page access group ids of this page.")
USER_IDS_BODY = _ids_body("page_access_user_ids", "Page access user ids of this page.")
EMAIL_FILTER = Param(
    "email", "query", {"type": "string", "maxLength": EMAIL_MAX_LENGTH}, "Only the user of this address."
)
# The writes that Statuspage allows on single users answer only this refusal.
REFUSED = {422: ref("ErrorEntity")}
USER_COMPONENTS_REFUSAL = (
    "Components are given to page access groups, not to single users: a user sees the components "
    "of its groups. Put the user in a group (page_access_group_ids), or change a group's components "
    "(/page_access_groups/{id}/components)."
)


# --- serializing -------------------------------------------------------------------------------


def group_json(audience: Audience, component_ids: list[str], viewer_ids: list[str]) -> dict[str, Any]:
    return {
        "id": audience.id,
        "page_id": audience.page_id,
        "name": audience.name,
        "page_access_user_ids": viewer_ids,
        "external_identifier": audience.external_identifier,
        "metric_ids": [],
        "component_ids": component_ids,
        "created_at": iso(audience.created_at),
        "updated_at": iso(audience.updated_at),
        "is_active": audience.is_active,
    }


def user_json(viewer: Viewer, audience_ids: list[str]) -> dict[str, Any]:
    return {
        "id": viewer.id,
        "page_id": viewer.page_id,
        "email": viewer.email,
        "external_login": viewer.external_login,
        "page_access_group_id": audience_ids[0] if audience_ids else None,
        "page_access_group_ids": audience_ids,
        "created_at": iso(viewer.created_at),
        "updated_at": iso(viewer.updated_at),
        "is_active": viewer.is_active,
    }


def _groups_json(audiences: list[Audience]) -> list[dict[str, Any]]:
    ids = [audience.id for audience in audiences]
    components = queries.component_ids_by_audience(db, ids)
    viewers = queries.viewer_ids_by_audience(db, ids)
    return [group_json(a, components.get(a.id, []), viewers.get(a.id, [])) for a in audiences]


def _users_json(viewers: list[Viewer]) -> list[dict[str, Any]]:
    audiences = queries.audience_ids_by_viewer(db, [viewer.id for viewer in viewers])
    return [user_json(viewer, audiences.get(viewer.id, [])) for viewer in viewers]


def _group_out(audience: Audience) -> dict[str, Any]:
    db.refresh(audience)
    return _groups_json([audience])[0]


def _user_out(viewer: Viewer) -> dict[str, Any]:
    db.refresh(viewer)
    return _users_json([viewer])[0]


# --- loading -----------------------------------------------------------------------------------


def _audience(audience_id: str) -> Audience:
    return on_page(
        Audience,
        audience_id,
        message="There is no page access group with this id on this page.",
        field="page_access_group_id",
    )


def _viewer(viewer_id: str) -> Viewer:
    return on_page(
        Viewer,
        viewer_id,
        message="There is no page access user with this id on this page.",
        field="page_access_user_id",
    )


def _body_ids(name: str) -> list[str]:
    """The list of ids `name` at the top of the body (`{"component_ids": [...]}`); required."""
    fields = Fields(request_data(), prefix="")
    fields.status = 422  # a field of the body, not of the query string
    ids = fields.ids(name)
    if ids is None:
        raise invalid(f"{name} is required: a list of ids.", field=name)
    return list(ids)


# --- page access groups ------------------------------------------------------------------------


def _group_changes(fields: Fields, *, creating: bool) -> dict[str, Any]:
    """The group's fields of the body, as keyword arguments of the audience services."""
    metric_ids = fields.ids("metric_ids", default=[])
    if metric_ids:
        raise invalid(
            "This platform has no metrics: page access groups give components only. "
            "Send metric_ids empty, or leave it out.",
            field=fields.path("metric_ids"),
        )
    rename_fields(viewer_ids="page_access_user_ids")
    changes: dict[str, Any] = {}
    if creating or fields.has("name"):
        changes["name"] = fields.text("name", max_length=NAME_MAX_LENGTH, required=creating)
    if fields.has("external_identifier"):
        changes["external_identifier"] = fields.text("external_identifier", max_length=EXTERNAL_ID_MAX_LENGTH)
    if fields.has("component_ids"):
        changes["component_ids"] = fields.ids("component_ids", default=[])
    if fields.has("page_access_user_ids"):
        changes["viewer_ids"] = fields.ids("page_access_user_ids", default=[])
    return changes


def _apply_active(target: Audience | Viewer, active: bool | None) -> None:
    """`is_active` of the body: false deactivates, true reactivates, absent changes nothing."""
    if active is None:
        return
    if isinstance(target, Audience):
        (services.reactivate_audience if active else services.deactivate_audience)(db, target, actor=g.actor)
    else:
        (services.reactivate_viewer if active else services.deactivate_viewer)(db, target, actor=g.actor)


@operation(
    "GET",
    "/pages/<page_id>/page_access_groups",
    summary="List page access groups",
    tag=GROUPS_TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("PageAccessGroup")},
)
def list_page_access_groups() -> list[dict[str, Any]]:
    return _groups_json(paged(queries.audiences_of(current_page().id)))


@operation(
    "POST",
    "/pages/<page_id>/page_access_groups",
    summary="Create a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_CREATE_BODY,
    responses={201: ref("PageAccessGroup")},
)
def create_page_access_group() -> tuple[dict[str, Any], int]:
    fields = envelope("page_access_group")
    changes = _group_changes(fields, creating=True)
    active = fields.boolean("is_active")
    audience = services.create_audience(db, current_page(), actor=g.actor, **changes)
    _apply_active(audience, active)
    commit()
    return _group_out(audience), 201


@operation(
    "GET",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>",
    summary="Get a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("PageAccessGroup")},
)
def get_page_access_group(page_access_group_id: str) -> dict[str, Any]:
    return _groups_json([_audience(page_access_group_id)])[0]


def _update_group(page_access_group_id: str) -> dict[str, Any]:
    audience = _audience(page_access_group_id)
    fields = envelope("page_access_group")
    changes = _group_changes(fields, creating=False)
    active = fields.boolean("is_active")
    services.update_audience(db, audience, actor=g.actor, **changes)
    _apply_active(audience, active)
    commit()
    return _group_out(audience)


@operation(
    "PATCH",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>",
    summary="Update a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_UPDATE_BODY,
    responses={200: ref("PageAccessGroup")},
)
def patch_page_access_group(page_access_group_id: str) -> dict[str, Any]:
    return _update_group(page_access_group_id)


@operation(
    "PUT",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>",
    summary="Update a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=GROUP_UPDATE_BODY,
    responses={200: ref("PageAccessGroup")},
)
def put_page_access_group(page_access_group_id: str) -> dict[str, Any]:
    return _update_group(page_access_group_id)


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>",
    summary="Remove a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("PageAccessGroup")},
)
def delete_page_access_group(page_access_group_id: str) -> dict[str, Any]:
    audience = _audience(page_access_group_id)
    body = _groups_json([audience])[0]
    services.delete_audience(db, audience, actor=g.actor)
    commit()
    return body


# --- a group's components ----------------------------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components",
    summary="List components for a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Component")},
)
def list_page_access_group_components(page_access_group_id: str) -> list[dict[str, Any]]:
    audience = _audience(page_access_group_id)
    return [component_json(component) for component in paged(queries.audience_components(audience.id))]


def _add_group_components(page_access_group_id: str) -> dict[str, Any]:
    audience = _audience(page_access_group_id)
    services.add_audience_components(db, audience, _body_ids("component_ids"), actor=g.actor)
    commit()
    return _group_out(audience)


@operation(
    "PATCH",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components",
    summary="Add components to page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses={200: ref("PageAccessGroup")},
)
def patch_page_access_group_components(page_access_group_id: str) -> dict[str, Any]:
    return _add_group_components(page_access_group_id)


@operation(
    "PUT",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components",
    summary="Add components to page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses={200: ref("PageAccessGroup")},
)
def put_page_access_group_components(page_access_group_id: str) -> dict[str, Any]:
    return _add_group_components(page_access_group_id)


@operation(
    "POST",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components",
    summary="Replace components for a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses={201: ref("PageAccessGroup")},
)
def replace_page_access_group_components(page_access_group_id: str) -> tuple[dict[str, Any], int]:
    audience = _audience(page_access_group_id)
    services.set_audience_components(db, audience, _body_ids("component_ids"), actor=g.actor)
    commit()
    return _group_out(audience), 201


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components",
    summary="Delete components for a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses={200: ref("PageAccessGroup")},
)
def remove_page_access_group_components(page_access_group_id: str) -> dict[str, Any]:
    audience = _audience(page_access_group_id)
    services.remove_audience_components(db, audience, _body_ids("component_ids"), actor=g.actor)
    commit()
    return _group_out(audience)


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_groups/<page_access_group_id>/components/<component_id>",
    summary="Remove a component from a page access group",
    tag=GROUPS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("PageAccessGroup")},
)
def remove_page_access_group_component(page_access_group_id: str, component_id: str) -> dict[str, Any]:
    audience = _audience(page_access_group_id)
    component = load_component(component_id)
    services.remove_audience_components(db, audience, [component.id], actor=g.actor)
    commit()
    return _group_out(audience)


# --- page access users -------------------------------------------------------------------------


def _user_changes(fields: Fields, *, creating: bool) -> dict[str, Any]:
    """The user's fields of the body, as keyword arguments of the viewer services."""
    changes: dict[str, Any] = {}
    if creating or fields.has("email"):
        changes["email"] = fields.text("email", max_length=EMAIL_MAX_LENGTH, required=creating)
    if fields.has("external_login"):
        changes["external_login"] = fields.text("external_login", max_length=EXTERNAL_ID_MAX_LENGTH)
    one = fields.text("page_access_group_id", max_length=64)
    if fields.has("page_access_group_ids"):
        many = fields.ids("page_access_group_ids", default=[])
        changes["audience_ids"] = list(dict.fromkeys([one, *many] if one else many))
        rename_fields(audience_ids="page_access_group_ids")
    elif fields.has("page_access_group_id"):
        changes["audience_ids"] = [one] if one else []
        rename_fields(audience_ids="page_access_group_id")
    return changes


@operation(
    "GET",
    "/pages/<page_id>/page_access_users",
    summary="Get a list of page access users",
    tag=USERS_TAG,
    params=(PAGE_ID, EMAIL_FILTER, *PAGINATION),
    responses={200: array_of("PageAccessUser")},
)
def list_page_access_users() -> list[dict[str, Any]]:
    email = query().text("email", max_length=EMAIL_MAX_LENGTH)
    return _users_json(paged(queries.viewers_of(current_page().id, email=email or None)))


@operation(
    "POST",
    "/pages/<page_id>/page_access_users",
    summary="Add a page access user",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=USER_CREATE_BODY,
    responses={201: ref("PageAccessUser")},
)
def create_page_access_user() -> tuple[dict[str, Any], int]:
    fields = envelope("page_access_user")
    changes = _user_changes(fields, creating=True)
    subscribe = bool(fields.boolean("subscribe_to_components", default=False))
    active = fields.boolean("is_active")
    viewer = services.create_viewer(db, current_page(), actor=g.actor, subscribe=subscribe, **changes)
    _apply_active(viewer, active)
    commit()
    return _user_out(viewer), 201


@operation(
    "GET",
    "/pages/<page_id>/page_access_users/<page_access_user_id>",
    summary="Get page access user",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    responses={200: ref("PageAccessUser")},
)
def get_page_access_user(page_access_user_id: str) -> dict[str, Any]:
    return _users_json([_viewer(page_access_user_id)])[0]


def _update_user(page_access_user_id: str) -> dict[str, Any]:
    viewer = _viewer(page_access_user_id)
    fields = envelope("page_access_user")
    changes = _user_changes(fields, creating=False)
    active = fields.boolean("is_active")
    services.update_viewer(db, viewer, actor=g.actor, **changes)
    _apply_active(viewer, active)
    commit()
    return _user_out(viewer)


@operation(
    "PATCH",
    "/pages/<page_id>/page_access_users/<page_access_user_id>",
    summary="Update page access user",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=USER_UPDATE_BODY,
    responses={200: ref("PageAccessUser")},
)
def patch_page_access_user(page_access_user_id: str) -> dict[str, Any]:
    return _update_user(page_access_user_id)


@operation(
    "PUT",
    "/pages/<page_id>/page_access_users/<page_access_user_id>",
    summary="Update page access user",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=USER_UPDATE_BODY,
    responses={200: ref("PageAccessUser")},
)
def put_page_access_user(page_access_user_id: str) -> dict[str, Any]:
    return _update_user(page_access_user_id)


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_users/<page_access_user_id>",
    summary="Delete page access user",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    responses={204: None},
)
def delete_page_access_user(page_access_user_id: str) -> tuple[str, int]:
    services.delete_viewer(db, _viewer(page_access_user_id), actor=g.actor)
    commit()
    return "", 204


# --- a user's components: those of its groups --------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components",
    summary="Get components for page access user (those of its active groups)",
    tag=USERS_TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Component")},
)
def list_page_access_user_components(page_access_user_id: str) -> list[dict[str, Any]]:
    viewer = _viewer(page_access_user_id)
    return [component_json(component) for component in paged(queries.viewer_components(viewer.id))]


def _refuse_user_components(page_access_user_id: str, component_id: str | None = None) -> ApiError:
    _viewer(page_access_user_id)
    if component_id is not None:
        load_component(component_id)
    return invalid(USER_COMPONENTS_REFUSAL, field="component_ids")


@operation(
    "PATCH",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components",
    summary="Add components for page access user: refused, components are given to groups",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses=REFUSED,
)
def patch_page_access_user_components(page_access_user_id: str) -> None:
    raise _refuse_user_components(page_access_user_id)


@operation(
    "PUT",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components",
    summary="Add components for page access user: refused, components are given to groups",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses=REFUSED,
)
def put_page_access_user_components(page_access_user_id: str) -> None:
    raise _refuse_user_components(page_access_user_id)


@operation(
    "POST",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components",
    summary="Replace components for page access user: refused, components are given to groups",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses=REFUSED,
)
def replace_page_access_user_components(page_access_user_id: str) -> None:
    raise _refuse_user_components(page_access_user_id)


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components",
    summary="Remove components for page access user: refused, components are given to groups",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    body=COMPONENT_IDS_BODY,
    responses=REFUSED,
)
def remove_page_access_user_components(page_access_user_id: str) -> None:
    raise _refuse_user_components(page_access_user_id)


@operation(
    "DELETE",
    "/pages/<page_id>/page_access_users/<page_access_user_id>/components/<component_id>",
    summary="Remove component for page access user: refused, components are given to groups",
    tag=USERS_TAG,
    params=(PAGE_ID,),
    responses=REFUSED,
)
def remove_page_access_user_component(page_access_user_id: str, component_id: str) -> None:
    raise _refuse_user_components(page_access_user_id, component_id)


# --- a component's groups and users ------------------------------------------------------------


@operation(
    "POST",
    "/pages/<page_id>/components/<component_id>/page_access_groups",
    summary="Add page access groups to a component",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=GROUP_IDS_BODY,
    responses={201: ref("Component")},
)
def add_component_page_access_groups(component_id: str) -> tuple[dict[str, Any], int]:
    component = load_component(component_id)
    rename_fields(audience_ids="page_access_group_ids")
    services.add_component_to_audiences(db, component, _body_ids("page_access_group_ids"), actor=g.actor)
    commit()
    db.refresh(component)
    return component_json(component), 201


@operation(
    "DELETE",
    "/pages/<page_id>/components/<component_id>/page_access_groups",
    summary="Remove page access groups from a component",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=GROUP_IDS_BODY,
    responses={200: ref("Component")},
)
def remove_component_page_access_groups(component_id: str) -> dict[str, Any]:
    component = load_component(component_id)
    rename_fields(audience_ids="page_access_group_ids")
    services.remove_component_from_audiences(db, component, _body_ids("page_access_group_ids"), actor=g.actor)
    commit()
    db.refresh(component)
    return component_json(component)


def _refuse_component_users(component_id: str) -> ApiError:
    load_component(component_id)
    return invalid(
        "Components are given to page access groups, not to single users: add the component to the "
        "users' groups (/components/{id}/page_access_groups), or put the users in a group that has it.",
        field="page_access_user_ids",
    )


@operation(
    "POST",
    "/pages/<page_id>/components/<component_id>/page_access_users",
    summary="Add page access users to a component: refused, components are given to groups",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=USER_IDS_BODY,
    responses=REFUSED,
)
def add_component_page_access_users(component_id: str) -> None:
    raise _refuse_component_users(component_id)


@operation(
    "DELETE",
    "/pages/<page_id>/components/<component_id>/page_access_users",
    summary="Remove page access users from a component: refused, components are given to groups",
    tag=COMPONENTS_TAG,
    params=(PAGE_ID,),
    body=USER_IDS_BODY,
    responses=REFUSED,
)
def remove_component_page_access_users(component_id: str) -> None:
    raise _refuse_component_users(component_id)
