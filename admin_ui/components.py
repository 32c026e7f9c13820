"""Components and groups of a page: list, add, edit, move, delete, and one-click status changes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, flag, safe_path, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError, ValidationError
from status_platform.identity.permissions import STATUS_WRITERS
from tenants.components import services
from tenants.components.models import Component, ComponentGroup
from tenants.components.schemas import clean_start_date, clean_status

bp = Blueprint("components", __name__, url_prefix="/components")


def _component(component_id: str) -> Component:
    component = db.get(Component, component_id)
    if component is None or component.page_id != g.page.id:
        abort(404)
    return component


def _group(group_id: str) -> ComponentGroup:
    group = db.get(ComponentGroup, group_id)
    if group is None or group.page_id != g.page.id:
        abort(404)
    return group


def _chosen_group() -> ComponentGroup | None:
    group_id = text("group_id")
    if not group_id:
        return None
    group = db.get(ComponentGroup, group_id)
    if group is None or group.page_id != g.page.id:
        raise ValidationError("Choose one of this page's groups.", field="group_id")
    return group


def _groups() -> list[ComponentGroup]:
    return [item for item in services.top_level_items(db, g.page.id) if isinstance(item, ComponentGroup)]


@bp.get("/")
def index() -> str:
    return render_template("admin/components/index.html", items=services.top_level_items(db, g.page.id))


def _component_form(component: Component | None, errors: dict[str, str] | None = None) -> str:
    values = request.form if request.method == "POST" else None
    group_options = [("", "No group (top level)")] + [(group.id, group.name) for group in _groups()]
    return render_template(
        "admin/components/form.html",
        component=component,
        group_options=group_options,
        values=values,
        errors=errors or {},
    )


@bp.get("/new")
def new() -> str:
    return _component_form(None)


@bp.post("/")
@requires(STATUS_WRITERS)
def create() -> Response | str:
    try:
        component = services.create_component(
            db,
            g.page,
            name=text("name"),
            description=text("description"),
            group=_chosen_group(),
            is_showcased=flag("is_showcased", True),
            only_show_if_degraded=flag("only_show_if_degraded"),
            start_date=clean_start_date(text("start_date")),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _component_form(None, errors_of(error))
    db.commit()
    flash(f"Added the component {component.name}.")
    return redirect(url_for(".index"))


@bp.get("/<component_id>/edit")
def edit(component_id: str) -> str:
    return _component_form(_component(component_id))


@bp.post("/<component_id>")
@requires(STATUS_WRITERS)
def update(component_id: str) -> Response | str:
    component = _component(component_id)
    try:
        services.update_component(
            db,
            component,
            name=text("name"),
            description=text("description"),
            group=_chosen_group(),
            is_showcased=flag("is_showcased", component.is_showcased),
            only_show_if_degraded=flag("only_show_if_degraded", component.only_show_if_degraded),
            start_date=clean_start_date(text("start_date")),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _component_form(_component(component_id), errors_of(error))
    db.commit()
    flash(f"Saved the component {component.name}.")
    return redirect(url_for(".index"))


@bp.post("/<component_id>/status")
@requires(STATUS_WRITERS)
def set_status(component_id: str) -> Response:
    component = _component(component_id)
    status = clean_status(text("status"))
    changed = services.set_component_status(db, component, status, actor=g.actor)
    db.commit()
    if changed:
        flash(f"{component.name} is now {status.label}.")
    return redirect(_back(url_for("tenant.page.dashboard.show")))


@bp.post("/<component_id>/move")
@requires(STATUS_WRITERS)
def move(component_id: str) -> Response:
    services.move_item(db, _component(component_id), actor=g.actor, offset=_offset())
    db.commit()
    return redirect(url_for(".index"))


@bp.post("/<component_id>/delete")
@requires(STATUS_WRITERS)
def delete(component_id: str) -> Response:
    component = _component(component_id)
    name = component.name
    services.delete_component(db, component, actor=g.actor)
    db.commit()
    flash(f"Deleted the component {name}.")
    return redirect(url_for(".index"))


def _group_form(group: ComponentGroup | None, errors: dict[str, str] | None = None) -> str:
    values = request.form if request.method == "POST" else None
    return render_template(
        "admin/components/group_form.html", group=group, values=values, errors=errors or {}
    )


@bp.get("/groups/new")
def new_group() -> str:
    return _group_form(None)


@bp.post("/groups")
@requires(STATUS_WRITERS)
def create_group() -> Response | str:
    try:
        group = services.create_group(
            db, g.page, name=text("name"), description=text("description"), actor=g.actor
        )
    except DomainError as error:
        db.rollback()
        return _group_form(None, errors_of(error))
    db.commit()
    flash(f"Added the group {group.name}.")
    return redirect(url_for(".index"))


@bp.get("/groups/<group_id>/edit")
def edit_group(group_id: str) -> str:
    return _group_form(_group(group_id))


@bp.post("/groups/<group_id>")
@requires(STATUS_WRITERS)
def update_group(group_id: str) -> Response | str:
    group = _group(group_id)
    try:
        services.update_group(
            db,
            group,
            name=text("name"),
            description=text("description"),
            is_expanded_by_default=flag("is_expanded_by_default", group.is_expanded_by_default),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _group_form(_group(group_id), errors_of(error))
    db.commit()
    flash(f"Saved the group {group.name}.")
    return redirect(url_for(".index"))


@bp.post("/groups/<group_id>/move")
@requires(STATUS_WRITERS)
def move_group(group_id: str) -> Response:
    services.move_item(db, _group(group_id), actor=g.actor, offset=_offset())
    db.commit()
    return redirect(url_for(".index"))


@bp.post("/groups/<group_id>/delete")
@requires(STATUS_WRITERS)
def delete_group(group_id: str) -> Response:
    group = _group(group_id)
    name = group.name
    with_components = flag("delete_components")
    services.delete_group(db, group, actor=g.actor, delete_components=with_components)
    db.commit()
    flash(f"Deleted the group {name}" + (" and its components." if with_components else "."))
    return redirect(url_for(".index"))


def _offset() -> int:
    return {"up": -1, "down": 1}.get(text("direction"), 0)


def _back(default: str) -> str:
    return safe_path(text("next")) or default
