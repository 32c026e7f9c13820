"""Audiences of a page (one per private client) and their viewers: lists, forms, invitations, CSV
import, the viewers' single sign-on, and the warning when one incident spans several audiences.

Admins and owners only: viewers' addresses are personal data, and audiences decide who sees what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_ui.dashboard import page_url
from admin_ui.forms import errors_of, flag, page_number, text
from admin_ui.tenant import requires, restrict_reads
from admin_ui.uploads import CsvImport
from status_platform.db.session import db
from status_platform.errors import DomainError, ValidationError
from status_platform.identity.permissions import PAGE_ADMINS
from status_platform.tenancy.models import PageRoute
from status_platform.tenancy.plans import plan_of
from tenants.audiences import csv_io, queries, services
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.queries import ViewerState
from tenants.components.models import Component, ComponentGroup
from tenants.incidents.models import Incident, IncidentComponent
from tenants.incidents.queries import component_layout
from tenants.pages.models import PageVisibility

bp = Blueprint("audiences", __name__, url_prefix="/audiences")
viewers_bp = Blueprint("viewers", __name__, url_prefix="/viewers")

FORBIDDEN = "Audiences and viewers are managed by admins and owners."
restrict_reads(bp, PAGE_ADMINS, FORBIDDEN)
restrict_reads(viewers_bp, PAGE_ADMINS, FORBIDDEN)

VIEWER_STATE_LABELS = {
    ViewerState.ALL: "All",
    ViewerState.ACTIVE: "Active",
    ViewerState.INACTIVE: "Deactivated",
    ViewerState.NEVER_SIGNED_IN: "Never signed in",
}
# The services name the list fields by id; the forms mark the fieldset of the choices.
_FIELD_OF = {"component_ids": "components", "audience_ids": "audiences"}


def _form_errors(error: DomainError) -> dict[str, str]:
    errors = errors_of(error)
    return {_FIELD_OF.get(name, name): message for name, message in errors.items()}


def _audience(audience_id: str) -> Audience:
    audience = db.get(Audience, audience_id)
    if audience is None or audience.page_id != g.page.id:
        abort(404)
    return audience


def _viewer(viewer_id: str) -> Viewer:
    viewer = db.get(Viewer, viewer_id)
    if viewer is None or viewer.page_id != g.page.id:
        abort(404)
    return viewer


def _plan_refusal() -> str | None:
    """Why new audiences and viewers cannot be added on this organization's plan, or None."""
    plan = plan_of(db, g.tenant.id)
    if plan.allows_audiences:
        return None
    return f"The {plan.name} plan does not include audiences and viewer sign-in; change plans to use them."


def _public_url() -> str:
    return page_url(db.get(PageRoute, g.page.id))


def _visibility_note() -> str | None:
    """What the page's visibility means for its audiences, when they do not show yet."""
    if g.page.visibility is PageVisibility.PUBLIC:
        return (
            "This page is public: nobody signs in, so audience-only components are shown to no one. "
            "Make it private or audience-specific in the page's settings to let viewers sign in."
        )
    return None


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- an incident that spans audiences ----------------------------------------------------------


def component_audiences() -> dict[str, list[str]]:
    """For the incident and maintenance forms: each component's active audiences, by name."""
    return dict(queries.audience_names_by_component(db, g.page.id))


def span_warning(component_ids: Iterable[str], *, subject: str = "This incident") -> str | None:
    """The warning staff get when one notice names components of several audiences, else None.

    Every member of each of those audiences reads the notice's title and messages (only the
    components differ), so a title naming one client is read by the others.
    """
    names = queries.audiences_spanned(db, g.page.id, component_ids)
    if len(names) < 2:
        return None
    readers = "both audiences" if len(names) == 2 else f"all {len(names)} audiences"
    return f"{subject} names components of {_and(names)}; its title and messages are shown to {readers}."


def flash_span_warning(incident: Incident, *, subject: str = "This incident") -> None:
    """After saving an incident or maintenance window: the span warning, as it now stands, if any."""
    affected = db.scalars(
        select(IncidentComponent.component_id).where(IncidentComponent.incident_id == incident.id)
    )
    warning = span_warning(affected, subject=subject)
    if warning:
        flash(warning, "warning")


# --- audiences -----------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    q = request.args.get("q", "").strip()[:200]
    number = page_number()
    rows, has_more = queries.list_audiences(db, g.page.id, q=q, page=number)
    return render_template(
        "admin/audiences/index.html",
        rows=rows,
        has_more=has_more,
        number=number,
        q=q,
        args=request.args,
        plan_refusal=_plan_refusal(),
        visibility_note=_visibility_note(),
        page=g.page,
    )


def _posted_component_ids() -> list[str]:
    """The components ticked, each ticked group standing for every component it has now."""
    chosen = [value for value in request.form.getlist("component_ids") if value]
    group_ids = [value for value in request.form.getlist("group_ids") if value]
    if group_ids:
        groups = {
            group.id: group
            for group in db.scalars(
                select(ComponentGroup).where(
                    ComponentGroup.id.in_(group_ids), ComponentGroup.page_id == g.page.id
                )
            )
        }
        unknown = [group_id for group_id in group_ids if group_id not in groups]
        if unknown:
            raise ValidationError(f"There is no group {unknown[0]!r} on this page.", field="component_ids")
        chosen += list(
            db.scalars(
                select(Component.id)
                .where(Component.group_id.in_(list(groups)))
                .order_by(Component.position, Component.created_at, Component.id)
            )
        )
    return list(dict.fromkeys(chosen))


def _audience_form(
    audience: Audience | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    if request.method == "POST" and "name" in request.form:
        values: Any = request.form
        chosen = set(request.form.getlist("component_ids"))
        chosen_groups = set(request.form.getlist("group_ids"))
    elif audience is not None:
        values = {
            "name": audience.name,
            "external_identifier": audience.external_identifier or "",
            "email_domain": audience.email_domain or "",
        }
        chosen = set(queries.component_ids_by_audience(db, [audience.id]).get(audience.id, []))
        chosen_groups = set()
    else:
        values, chosen, chosen_groups = {}, set(), set()
    context: dict[str, Any] = {}
    if audience is not None:
        context = {
            "viewer_emails": queries.audience_viewer_emails(db, audience.id),
            "component_names": [c.name for c in db.scalars(queries.audience_components(audience.id))],
            "subscriptions": queries.bound_subscriber_count(db, audience_id=audience.id),
        }
    return render_template(
        "admin/audiences/form.html",
        audience=audience,
        values=values,
        chosen=chosen,
        chosen_groups=chosen_groups,
        layout=component_layout(db, g.page.id),
        errors=errors or {},
        plan_refusal=_plan_refusal() if audience is None else None,
        **context,
    ), status


@bp.get("/new")
def new() -> tuple[str, int]:
    return _audience_form()


@bp.post("/")
@requires(PAGE_ADMINS)
def create() -> Response | tuple[str, int]:
    try:
        services.check_audiences_allowed(db, g.tenant.id)
        audience = services.create_audience(
            db,
            g.page,
            actor=g.actor,
            name=text("name"),
            external_identifier=text("external_identifier"),
            email_domain=text("email_domain"),
            component_ids=_posted_component_ids(),
        )
    except DomainError as error:
        db.rollback()
        return _audience_form(errors=_form_errors(error), status=error.status_code)
    db.commit()
    count = len(queries.component_ids_by_audience(db, [audience.id]).get(audience.id, []))
    flash(f"Created the audience {audience.name}, which sees {_plural(count, 'component')}.")
    return redirect(url_for(".show", audience_id=audience.id))


@bp.get("/<audience_id>")
def show(audience_id: str) -> tuple[str, int]:
    return _audience_form(_audience(audience_id))


@bp.post("/<audience_id>")
@requires(PAGE_ADMINS)
def update(audience_id: str) -> Response | tuple[str, int]:
    audience = _audience(audience_id)
    try:
        changed = services.update_audience(
            db,
            audience,
            actor=g.actor,
            name=text("name"),
            external_identifier=text("external_identifier"),
            email_domain=text("email_domain"),
            component_ids=_posted_component_ids(),
        )
    except DomainError as error:
        db.rollback()
        return _audience_form(_audience(audience_id), _form_errors(error), error.status_code)
    db.commit()
    flash(
        f"Saved the audience {audience.name}."
        if changed
        else "Nothing to save: the audience was already as shown."
    )
    return redirect(url_for(".show", audience_id=audience.id))


def _refused(thing: Audience | Viewer, error: DomainError) -> tuple[str, int]:
    """The page of an audience or a viewer again, with the reason its change was refused."""
    db.rollback()
    if isinstance(thing, Audience):
        return _audience_form(_audience(thing.id), {"_form": error.message}, error.status_code)
    return _viewer_page(_viewer(thing.id), _form_errors(error), error.status_code)


def _page_of(thing: Audience | Viewer) -> str:
    if isinstance(thing, Audience):
        return url_for(".show", audience_id=thing.id)
    return url_for(".show", viewer_id=thing.id)


def _change(
    thing: Audience | Viewer,
    change: Callable[..., bool | None],
    done: str,
    *,
    then: str | None = None,
    **arguments: Any,
) -> Response | tuple[str, int]:
    """Apply one service `change` to an audience or a viewer and commit it; flash `done` unless the
    service answers False (it had nothing to change), then go to `then`, else the thing's page.
    A refused change shows the thing's page again with the reason, nothing changed."""
    try:
        changed = change(db, thing, actor=g.actor, **arguments)
    except DomainError as error:
        return _refused(thing, error)
    db.commit()
    if changed is not False:
        flash(done)
    return redirect(then or _page_of(thing))


@bp.post("/<audience_id>/deactivate")
@requires(PAGE_ADMINS)
def deactivate(audience_id: str) -> Response | tuple[str, int]:
    audience = _audience(audience_id)
    viewers = len(queries.viewer_ids_by_audience(db, [audience.id]).get(audience.id, []))
    return _change(
        audience,
        services.deactivate_audience,
        f"Deactivated the audience {audience.name}: its {_plural(viewers, 'viewer')} no longer "
        "see its components, and their sessions have ended.",
    )


@bp.post("/<audience_id>/reactivate")
@requires(PAGE_ADMINS)
def reactivate(audience_id: str) -> Response | tuple[str, int]:
    audience = _audience(audience_id)
    return _change(
        audience,
        services.reactivate_audience,
        f"Reactivated the audience {audience.name}: its viewers see its components again.",
    )


@bp.post("/<audience_id>/delete")
@requires(PAGE_ADMINS)
def delete(audience_id: str) -> Response | tuple[str, int]:
    audience = _audience(audience_id)
    viewers = len(queries.viewer_ids_by_audience(db, [audience.id]).get(audience.id, []))
    return _change(
        audience,
        services.delete_audience,
        f"Deleted the audience {audience.name}. Its {_plural(viewers, 'viewer')} keep their accounts "
        "but no longer see its components.",
        then=url_for(".index"),
    )


# --- the viewers' single sign-on -------------------------------------------------------------------

SIGN_IN_FIELDS = ("viewer_oidc_issuer", "viewer_oidc_client_id", "viewer_oidc_audience_claim")


def _sign_in_form(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    page = g.page
    if request.method == "POST" and errors:
        values: dict[str, Any] = {name: text(name) for name in SIGN_IN_FIELDS}
        values["viewer_oidc_is_enabled"] = flag("viewer_oidc_is_enabled", page.viewer_oidc_is_enabled)
    else:
        values = {name: getattr(page, name) or "" for name in SIGN_IN_FIELDS}
        values["viewer_oidc_is_enabled"] = page.viewer_oidc_is_enabled
    return render_template(
        "admin/audiences/sign_in.html",
        values=values,
        has_secret=bool(page.viewer_oidc_client_secret),
        public_url=_public_url(),
        errors=errors or {},
        plan_refusal=_plan_refusal(),
        visibility_note=_visibility_note(),
    ), status


@bp.get("/sign-in")
def sign_in() -> tuple[str, int]:
    return _sign_in_form()


@bp.post("/sign-in")
@requires(PAGE_ADMINS)
def save_sign_in() -> Response | tuple[str, int]:
    page = g.page
    try:
        changed = services.update_viewer_sign_in(
            db,
            page,
            actor=g.actor,
            is_enabled=flag("viewer_oidc_is_enabled", page.viewer_oidc_is_enabled),
            issuer=text("viewer_oidc_issuer"),
            client_id=text("viewer_oidc_client_id"),
            client_secret=text("viewer_oidc_client_secret"),
            audience_claim=text("viewer_oidc_audience_claim"),
        )
    except DomainError as error:
        db.rollback()
        return _sign_in_form(errors_of(error), error.status_code)
    db.commit()
    if not changed:
        flash("Nothing to save: the sign-in settings were already as shown.")
    elif page.viewer_oidc_is_enabled:
        flash("Saved the sign-in settings: viewers may sign in with single sign-on.")
    else:
        flash(
            "Saved the sign-in settings: single sign-on is off; viewers sign in by password or emailed link."
        )
    return redirect(url_for(".sign_in"))


# --- viewers -------------------------------------------------------------------------------------


def _viewer_filters(errors: dict[str, str], audiences: list[Audience]) -> tuple[ViewerState, str | None]:
    try:
        state = ViewerState(request.args.get("state", "").strip() or ViewerState.ALL.value)
    except ValueError:
        errors["state"] = "Choose one of the states."
        state = ViewerState.ALL
    audience_id = request.args.get("audience", "").strip() or None
    if audience_id and audience_id not in {audience.id for audience in audiences}:
        errors["audience"] = "Choose one of this page's audiences."
        audience_id = None
    return state, audience_id


@viewers_bp.get("/", endpoint="index")
def viewer_index() -> tuple[str, int]:
    errors: dict[str, str] = {}
    audiences = queries.page_audiences(db, g.page.id)
    state, audience_id = _viewer_filters(errors, audiences)
    q = request.args.get("q", "").strip()[:200]
    number = page_number()
    rows, has_more = queries.list_viewers(
        db, g.page.id, q=q, state=state, audience_id=audience_id, page=number
    )
    return render_template(
        "admin/viewers/index.html",
        rows=rows,
        has_more=has_more,
        number=number,
        q=q,
        state=state,
        audience_options=[("", "Any audience")] + [(a.id, a.name) for a in audiences],
        state_options=[(s.value, label) for s, label in VIEWER_STATE_LABELS.items()],
        args=request.args,
        errors=errors,
        plan_refusal=_plan_refusal(),
        zone=g.page.time_zone,
    ), 400 if errors else 200


def _invite_form(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    posted = request.method == "POST"
    return render_template(
        "admin/viewers/new.html",
        values=request.form if posted else {},
        chosen=set(request.form.getlist("audience_ids")) if posted else set(request.args.getlist("audience")),
        send_invitation=flag("send_invitation", True),
        audiences=queries.page_audiences(db, g.page.id),
        errors=errors or {},
        plan_refusal=_plan_refusal(),
        public_url=_public_url(),
    ), status


@viewers_bp.get("/new", endpoint="new")
def invite_form() -> tuple[str, int]:
    return _invite_form()


@viewers_bp.post("/", endpoint="create")
@requires(PAGE_ADMINS)
def invite() -> Response | tuple[str, int]:
    send = flag("send_invitation", True)
    try:
        services.check_audiences_allowed(db, g.tenant.id)
        viewer = services.create_viewer(
            db,
            g.page,
            actor=g.actor,
            email=text("email"),
            audience_ids=[value for value in request.form.getlist("audience_ids") if value],
            password=text("password"),
        )
        if send:
            services.invite_viewer(db, viewer, actor=g.actor, page_url=_public_url())
    except DomainError as error:
        db.rollback()
        return _invite_form(_form_errors(error), error.status_code)
    db.commit()
    if send:
        flash(f"Invited {viewer.email}: an email with a sign-in link (valid for 7 days) is on its way.")
    else:
        flash(f"Added {viewer.email}; no invitation was sent.")
    return redirect(url_for(".show", viewer_id=viewer.id))


def _viewer_page(viewer: Viewer, errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    if request.method == "POST" and errors and "audiences" in errors:
        chosen = set(request.form.getlist("audience_ids"))
    else:
        chosen = set(queries.audience_ids_by_viewer(db, [viewer.id]).get(viewer.id, []))
    audiences = queries.page_audiences(db, g.page.id)
    return render_template(
        "admin/viewers/show.html",
        viewer=viewer,
        audiences=audiences,
        chosen=chosen,
        member_of=[a.name for a in audiences if a.id in chosen],
        subscriptions=queries.bound_subscriber_count(db, viewer_id=viewer.id),
        errors=errors or {},
        zone=g.page.time_zone,
        public_url=_public_url(),
    ), status


@viewers_bp.get("/<viewer_id>", endpoint="show")
def viewer_show(viewer_id: str) -> tuple[str, int]:
    return _viewer_page(_viewer(viewer_id))


@viewers_bp.post("/<viewer_id>", endpoint="update")
@requires(PAGE_ADMINS)
def viewer_update(viewer_id: str) -> Response | tuple[str, int]:
    viewer = _viewer(viewer_id)
    try:
        changed = services.set_viewer_audiences(
            db, viewer, [value for value in request.form.getlist("audience_ids") if value], actor=g.actor
        )
    except DomainError as error:
        return _refused(viewer, error)
    db.commit()
    if changed:
        names = queries.audience_names_by_viewer(db, [viewer.id]).get(viewer.id, [])
        shown = _and(names) if names else "no audience (only public components)"
        flash(f"Saved the audiences of {viewer.email}: {shown}. It sees the change on its next page view.")
    else:
        flash("Nothing to save: the viewer's audiences were already as shown.")
    return redirect(_page_of(viewer))


@viewers_bp.post("/<viewer_id>/resend", endpoint="resend")
@requires(PAGE_ADMINS)
def viewer_resend(viewer_id: str) -> Response | tuple[str, int]:
    viewer = _viewer(viewer_id)
    return _change(
        viewer,
        services.invite_viewer,
        f"Sent {viewer.email} a new invitation (valid for 7 days).",
        page_url=_public_url(),
    )


@viewers_bp.post("/<viewer_id>/deactivate", endpoint="deactivate")
@requires(PAGE_ADMINS)
def viewer_deactivate(viewer_id: str) -> Response | tuple[str, int]:
    viewer = _viewer(viewer_id)
    return _change(
        viewer,
        services.deactivate_viewer,
        f"Deactivated {viewer.email}: it is signed out everywhere and cannot sign in.",
    )


@viewers_bp.post("/<viewer_id>/reactivate", endpoint="reactivate")
@requires(PAGE_ADMINS)
def viewer_reactivate(viewer_id: str) -> Response | tuple[str, int]:
    viewer = _viewer(viewer_id)
    return _change(viewer, services.reactivate_viewer, f"Reactivated {viewer.email}: it may sign in again.")


@viewers_bp.post("/<viewer_id>/delete", endpoint="delete")
@requires(PAGE_ADMINS)
def viewer_delete(viewer_id: str) -> Response | tuple[str, int]:
    viewer = _viewer(viewer_id)
    message = f"Deleted the viewer {viewer.email}; it can no longer sign in."
    subscriptions = queries.bound_subscriber_count(db, viewer_id=viewer.id)
    if subscriptions:
        message += f" Its {_plural(subscriptions, 'subscription')} went with it."
    return _change(viewer, services.delete_viewer, message, then=url_for(".index"))


# --- importing viewers -----------------------------------------------------------------------------


IMPORT = CsvImport(
    "viewer-import",
    csv_io.preview_import,
    templates="admin/viewers",
    form_context=lambda: {
        "audiences": queries.page_audiences(db, g.page.id),
        "plan_refusal": _plan_refusal(),
    },
    preview_context=lambda: {"send_invitations": flag("send_invitations", False)},
)


@viewers_bp.get("/import", endpoint="import_form")
def import_form() -> tuple[str, int]:
    return IMPORT.form()


@viewers_bp.post("/import/preview", endpoint="preview")
@requires(PAGE_ADMINS)
def import_preview() -> tuple[str, int]:
    try:
        services.check_audiences_allowed(db, g.tenant.id, field="file")
        checked, token = IMPORT.check_posted()
    except DomainError as error:
        return IMPORT.form(errors_of(error), error.status_code)
    return IMPORT.preview_page(checked, token)


@viewers_bp.post("/import", endpoint="run_import")
@requires(PAGE_ADMINS)
def run_import() -> Response | tuple[str, int]:
    token = text("token")
    try:
        services.check_audiences_allowed(db, g.tenant.id, field="file")
        checked = IMPORT.check_kept(token)
    except DomainError as error:
        return IMPORT.form(errors_of(error), error.status_code)
    send = flag("send_invitations", False)
    try:
        added = services.import_viewers(
            db, g.page, [(row.email, row.audience_ids) for row in checked.valid], actor=g.actor
        )
        if send:
            url = _public_url()
            for viewer in added:
                services.invite_viewer(db, viewer, actor=g.actor, page_url=url)
    except DomainError as error:
        db.rollback()
        return IMPORT.preview_page(checked, token, {"_form": error.message}, error.status_code)
    db.commit()
    IMPORT.drop(token)
    message = f"Imported {_plural(len(added), 'viewer')}."
    if checked.invalid:
        message += f" {_plural(len(checked.invalid), 'line')} could not be added."
    message += (
        f" {_plural(len(added), 'invitation')} on the way." if send and added else " No invitation was sent."
    )
    flash(message)
    return redirect(url_for(".index"))


__all__ = ["bp", "component_audiences", "flash_span_warning", "span_warning", "viewers_bp"]
