"""The organization's incident types: list, add, rename and recolour, reorder, retire and restore."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.forms import errors_of, page_number, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import PAGE_ADMINS
from tenants.incidents import queries, services
from tenants.incidents.models import IncidentType

bp = Blueprint("incident_types", __name__, url_prefix="/incident-types")

NEW = "new"


def _type(type_id: str) -> IncidentType:
    # Incident types belong to the organization; the session sees only this one's.
    incident_type = db.get(IncidentType, type_id)
    if incident_type is None:
        abort(404)
    return incident_type


def _index(errors: dict[str, str] | None = None, failed: str | None = None) -> str:
    search = request.args.get("q", "").strip()
    number = page_number()
    types, has_more = queries.search_incident_types(db, text=search, number=number)
    ordered = services.ordered_incident_types(db)
    return render_template(
        "admin/incident_types/index.html",
        types=types,
        has_more=has_more,
        number=number,
        search=search,
        args=request.args,
        usage=queries.type_usage(db),
        ends=(ordered[0].id, ordered[-1].id) if ordered else ("", ""),
        errors=errors or {},
        failed=failed,
        posted=request.form if request.method == "POST" else {},
    )


@bp.get("/")
def index() -> str:
    return _index()


@bp.post("/")
@requires(PAGE_ADMINS)
def create() -> Response | str:
    try:
        incident_type = services.create_incident_type(
            db, name=text("name"), color=text("color"), actor=g.actor
        )
    except DomainError as error:
        db.rollback()
        return _index(errors_of(error), NEW)
    db.commit()
    flash(f"Added the incident type {incident_type.name}.")
    return redirect(url_for(".index"))


@bp.post("/<type_id>")
@requires(PAGE_ADMINS)
def update(type_id: str) -> Response | str:
    incident_type = _type(type_id)
    try:
        services.update_incident_type(
            db, incident_type, name=text("name"), color=text("color"), actor=g.actor
        )
    except DomainError as error:
        db.rollback()
        return _index(errors_of(error), type_id)
    db.commit()
    flash(f"Saved the incident type {incident_type.name}.")
    return redirect(url_for(".index"))


@bp.post("/<type_id>/move")
@requires(PAGE_ADMINS)
def move(type_id: str) -> Response:
    offset = {"up": -1, "down": 1}.get(text("direction"), 0)
    services.move_incident_type(db, _type(type_id), offset=offset, actor=g.actor)
    db.commit()
    return redirect(url_for(".index"))


def _switch(type_id: str, write: Callable[..., bool], message: str) -> Response:
    """Apply the service `write` to the type; flash `message` with its {name} when it changed anything."""
    incident_type = _type(type_id)
    if write(db, incident_type, actor=g.actor):
        flash(message.format(name=incident_type.name))
    db.commit()
    return redirect(url_for(".index"))


@bp.post("/<type_id>/retire")
@requires(PAGE_ADMINS)
def retire(type_id: str) -> Response:
    return _switch(
        type_id,
        services.retire_incident_type,
        "Retired the incident type {name}: new incidents no longer offer it.",
    )


@bp.post("/<type_id>/restore")
@requires(PAGE_ADMINS)
def restore(type_id: str) -> Response:
    return _switch(type_id, services.restore_incident_type, "Restored the incident type {name}.")
