"""Writes of audiences (which components a private client sees) and viewers (who may sign in).

Visibility is modelled by audience only: components are given to audiences, and a viewer sees
the union of the components of its active audiences. A viewer has no components of its own.

Every function needs the admin role, works in the session's tenant (another organization's
objects are unknown to it, as another page's are), records an audit event when something
changed, bumps the page's version when what audiences see changed, flushes and never commits.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.config import active_settings
from status_platform.errors import Conflict, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.oidc import clean_provider_settings
from status_platform.identity.passwords import hash_password
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.tenancy.plans import plan_of
from status_platform.timeutil import utcnow
from tenants.audiences import logins, queries
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.audiences.schemas import (
    clean_audience_name,
    clean_claim_name,
    clean_email_domain,
    clean_external_identifier,
    clean_external_login,
    clean_viewer_email,
    clean_viewer_password,
)
from tenants.audit.services import record_event
from tenants.components.models import Component
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.models import Channel
from tenants.subscribers.services import add_subscriber


class Unchanged(enum.Enum):
    """The value of an update's argument that was not given: the setting keeps its value."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


# --- loading and checking ----------------------------------------------------------------------


def _load(
    session: Session, model: Any, page_id: str, ids: Iterable[str], *, field: str, label: str
) -> list[Any]:
    """The page's objects with these ids, in the given order; an unknown id is a ValidationError.

    Another organization's or another page's object is unknown here alike.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {
        obj.id: obj
        for obj in session.scalars(select(model).where(model.id.in_(wanted), model.page_id == page_id))
    }
    missing = [object_id for object_id in wanted if object_id not in found]
    if missing:
        raise ValidationError(f"There is no {label} {missing[0]!r} on this page.", field=field)
    return [found[object_id] for object_id in wanted]


def _components(session: Session, page_id: str, ids: Iterable[str]) -> list[Component]:
    return _load(session, Component, page_id, ids, field="component_ids", label="component")


def _viewers(session: Session, page_id: str, ids: Iterable[str]) -> list[Viewer]:
    return _load(session, Viewer, page_id, ids, field="viewer_ids", label="viewer")


def _audiences(session: Session, page_id: str, ids: Iterable[str]) -> list[Audience]:
    return _load(session, Audience, page_id, ids, field="audience_ids", label="audience")


def _check_name_free(session: Session, page_id: str, name: str, *, other_than: str | None = None) -> None:
    existing = queries.audience_by_name(session, page_id, name)
    if existing is not None and existing.id != other_than:
        raise Conflict(f"This page already has an audience named {name!r}.", field="name")


def _check_email_free(session: Session, page_id: str, email: str, *, other_than: str | None = None) -> None:
    existing = queries.viewer_by_email(session, page_id, email)
    if existing is not None and existing.id != other_than:
        raise Conflict(f"This page already has a viewer with the address {email}.", field="email")


def check_audiences_allowed(session: Session, tenant_id: str, *, field: str | None = None) -> None:
    """Refuse, naming the plan, to add audiences or viewers on a plan without audiences.

    What exists already stays manageable (deactivated, edited, deleted) after a change of plan.
    """
    plan = plan_of(session, tenant_id)
    if not plan.allows_audiences:
        raise ValidationError(
            f"The {plan.name} plan does not include audiences and viewer sign-in; change plans to use them.",
            field=field,
        )


# --- links -------------------------------------------------------------------------------------


def _replace_links(
    session: Session, link: Any, *, owner: str, owner_id: str, target: str, target_ids: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Make `owner_id`'s links exactly `target_ids`; returns the (added, removed) target ids."""
    current = {
        getattr(row, target): row
        for row in session.scalars(select(link).where(getattr(link, owner) == owner_id))
    }
    wanted = list(dict.fromkeys(target_ids))
    removed = [target_id for target_id in current if target_id not in wanted]
    added = [target_id for target_id in wanted if target_id not in current]
    for target_id in removed:
        session.delete(current[target_id])
    for target_id in added:
        session.add(link(**{owner: owner_id, target: target_id}))
    session.flush()
    return added, removed


def _touch(session: Session, model: Any, ids: Iterable[str]) -> None:
    """A change of links is a change of both objects linked: their `updated_at` moves."""
    wanted = list(ids)
    if wanted:
        session.execute(sa.update(model).where(model.id.in_(wanted)).values(updated_at=utcnow()))


def _set_audience_viewers(session: Session, audience: Audience, viewer_ids: Sequence[str]) -> bool:
    added, removed = _replace_links(
        session,
        AudienceViewer,
        owner="audience_id",
        owner_id=audience.id,
        target="viewer_id",
        target_ids=viewer_ids,
    )
    _touch(session, Viewer, [*added, *removed])
    return bool(added or removed)


def _set_audience_components(session: Session, audience: Audience, component_ids: Sequence[str]) -> bool:
    added, removed = _replace_links(
        session,
        AudienceComponent,
        owner="audience_id",
        owner_id=audience.id,
        target="component_id",
        target_ids=component_ids,
    )
    return bool(added or removed)


def _audience_state(session: Session, audience: Audience) -> dict[str, Any]:
    return {
        "name": audience.name,
        "external_identifier": audience.external_identifier,
        "email_domain": audience.email_domain,
        "is_active": audience.is_active,
        "component_ids": queries.component_ids_by_audience(session, [audience.id]).get(audience.id, []),
        "viewer_ids": queries.viewer_ids_by_audience(session, [audience.id]).get(audience.id, []),
    }


def _viewer_state(session: Session, viewer: Viewer) -> dict[str, Any]:
    return {
        "email": viewer.email,
        "external_login": viewer.external_login,
        "is_active": viewer.is_active,
        "audience_ids": queries.audience_ids_by_viewer(session, [viewer.id]).get(viewer.id, []),
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [name for name in after if after[name] != before[name]]
    return {name: before[name] for name in changed}, {name: after[name] for name in changed}


# --- audiences ---------------------------------------------------------------------------------


def create_audience(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    name: str,
    external_identifier: str | None = None,
    email_domain: str | None = None,
    component_ids: Sequence[str] = (),
    viewer_ids: Sequence[str] = (),
) -> Audience:
    """Add an audience to `page` that sees `component_ids`, with the viewers `viewer_ids`.

    ValidationError names a bad field (`name`, `component_ids`, `viewer_ids` naming another
    page's or an unknown object); Conflict when the page has an audience of that name already.
    """
    require_role(actor, PAGE_ADMINS, "add audiences")
    name = clean_audience_name(name)
    external_identifier = clean_external_identifier(external_identifier)
    email_domain = clean_email_domain(email_domain)
    components = _components(session, page.id, component_ids)
    viewers = _viewers(session, page.id, viewer_ids)
    _check_name_free(session, page.id, name)
    audience = Audience(
        page_id=page.id, name=name, external_identifier=external_identifier, email_domain=email_domain
    )
    session.add(audience)
    session.flush()
    _set_audience_components(session, audience, [c.id for c in components])
    _set_audience_viewers(session, audience, [v.id for v in viewers])
    record_event(
        session,
        actor,
        "audience.created",
        object_type="audience",
        object_id=audience.id,
        page_id=page.id,
        summary=f"Created audience {name!r}",
        after=_audience_state(session, audience),
    )
    bump_version(session, page.id)
    session.flush()
    return audience


def update_audience(
    session: Session,
    audience: Audience,
    *,
    actor: Actor,
    name: str | Unchanged = UNCHANGED,
    external_identifier: str | None | Unchanged = UNCHANGED,
    email_domain: str | None | Unchanged = UNCHANGED,
    component_ids: Sequence[str] | Unchanged = UNCHANGED,
    viewer_ids: Sequence[str] | Unchanged = UNCHANGED,
) -> bool:
    """Change the given settings of an audience; `component_ids` and `viewer_ids` replace its lists.

    Everything is checked before anything changes. Returns whether anything changed (nothing
    changed: no event, no version bump).
    """
    require_role(actor, PAGE_ADMINS, "edit audiences")
    page_id = audience.page_id
    new_name = clean_audience_name(name) if not isinstance(name, Unchanged) else audience.name
    new_external = (
        clean_external_identifier(external_identifier)
        if not isinstance(external_identifier, Unchanged)
        else audience.external_identifier
    )
    new_domain = (
        clean_email_domain(email_domain) if not isinstance(email_domain, Unchanged) else audience.email_domain
    )
    components = (
        _components(session, page_id, component_ids) if not isinstance(component_ids, Unchanged) else None
    )
    viewers = _viewers(session, page_id, viewer_ids) if not isinstance(viewer_ids, Unchanged) else None
    if new_name != audience.name:
        _check_name_free(session, page_id, new_name, other_than=audience.id)
    before = _audience_state(session, audience)
    audience.name, audience.external_identifier, audience.email_domain = new_name, new_external, new_domain
    links_changed = False
    if components is not None:
        links_changed |= _set_audience_components(session, audience, [c.id for c in components])
    if viewers is not None:
        links_changed |= _set_audience_viewers(session, audience, [v.id for v in viewers])
    if links_changed:
        audience.updated_at = utcnow()
    session.flush()
    old, new = _changes(before, _audience_state(session, audience))
    if not new:
        return False
    record_event(
        session,
        actor,
        "audience.updated",
        object_type="audience",
        object_id=audience.id,
        page_id=page_id,
        summary=f"Edited audience {audience.name!r}: {', '.join(new)}",
        before=old,
        after=new,
    )
    bump_version(session, page_id)
    session.flush()
    return True


def delete_audience(session: Session, audience: Audience, *, actor: Actor) -> None:
    """Delete an audience: its viewers stop seeing its components (they keep their accounts).

    Subscriptions bound to the audience go with it, since they would tell of what nobody in it
    may see any more.
    """
    require_role(actor, PAGE_ADMINS, "delete audiences")
    page_id, name = audience.page_id, audience.name
    before = _audience_state(session, audience)
    record_event(
        session,
        actor,
        "audience.deleted",
        object_type="audience",
        object_id=audience.id,
        page_id=page_id,
        summary=f"Deleted audience {name!r}",
        before=before,
    )
    _touch(session, Viewer, before["viewer_ids"])
    session.delete(audience)
    session.flush()
    bump_version(session, page_id)


def _change_components(
    session: Session, audience: Audience, wanted: list[str], *, actor: Actor, verb: str
) -> bool:
    before = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
    if not _set_audience_components(session, audience, wanted):
        return False
    audience.updated_at = utcnow()
    session.flush()
    after = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
    record_event(
        session,
        actor,
        "audience.components_changed",
        object_type="audience",
        object_id=audience.id,
        page_id=audience.page_id,
        summary=f"{verb} components of audience {audience.name!r}",
        before={"component_ids": before},
        after={"component_ids": after},
    )
    bump_version(session, audience.page_id)
    session.flush()
    return True


def set_audience_components(
    session: Session, audience: Audience, component_ids: Sequence[str], *, actor: Actor
) -> bool:
    """Give the audience exactly `component_ids` (of its page). Returns whether anything changed."""
    require_role(actor, PAGE_ADMINS, "change what audiences see")
    components = _components(session, audience.page_id, component_ids)
    return _change_components(session, audience, [c.id for c in components], actor=actor, verb="Replaced")


def add_audience_components(
    session: Session, audience: Audience, component_ids: Sequence[str], *, actor: Actor
) -> bool:
    """Give the audience `component_ids` besides those it has (idempotent). Returns whether it changed."""
    require_role(actor, PAGE_ADMINS, "change what audiences see")
    components = _components(session, audience.page_id, component_ids)
    current = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
    wanted = [*current, *(c.id for c in components)]
    return _change_components(session, audience, wanted, actor=actor, verb="Added")


def remove_audience_components(
    session: Session, audience: Audience, component_ids: Sequence[str], *, actor: Actor
) -> bool:
    """Take `component_ids` (of its page) from the audience, skipping ones it lacks.

    Returns whether anything changed.
    """
    require_role(actor, PAGE_ADMINS, "change what audiences see")
    removed = {c.id for c in _components(session, audience.page_id, component_ids)}
    current = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
    wanted = [component_id for component_id in current if component_id not in removed]
    return _change_components(session, audience, wanted, actor=actor, verb="Removed")


def add_component_to_audiences(
    session: Session, component: Component, audience_ids: Sequence[str], *, actor: Actor
) -> list[Audience]:
    """Give `component` to each audience of `audience_ids` (of its page); returns the audiences changed."""
    require_role(actor, PAGE_ADMINS, "change what audiences see")
    audiences = _audiences(session, component.page_id, audience_ids)
    changed = []
    for audience in audiences:
        current = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
        if component.id not in current and _change_components(
            session, audience, [*current, component.id], actor=actor, verb="Added"
        ):
            changed.append(audience)
    return changed


def remove_component_from_audiences(
    session: Session, component: Component, audience_ids: Sequence[str], *, actor: Actor
) -> list[Audience]:
    """Take `component` from each audience of `audience_ids` (of its page); returns the audiences changed."""
    require_role(actor, PAGE_ADMINS, "change what audiences see")
    audiences = _audiences(session, component.page_id, audience_ids)
    changed = []
    for audience in audiences:
        current = queries.component_ids_by_audience(session, [audience.id]).get(audience.id, [])
        if component.id in current and _change_components(
            session, audience, [c for c in current if c != component.id], actor=actor, verb="Removed"
        ):
            changed.append(audience)
    return changed


def deactivate_audience(session: Session, audience: Audience, *, actor: Actor) -> bool:
    """Stop the audience from giving anything: its viewers lose its components at once.

    The sessions of its viewers end (their `session_version` moves), so nobody keeps a view
    chosen when the audience was active. False, and nothing written, when already inactive.
    """
    require_role(actor, PAGE_ADMINS, "deactivate audiences")
    if not audience.is_active:
        return False
    audience.is_active = False
    viewer_ids = queries.viewer_ids_by_audience(session, [audience.id]).get(audience.id, [])
    if viewer_ids:
        session.execute(
            sa.update(Viewer)
            .where(Viewer.id.in_(viewer_ids))
            .values(session_version=Viewer.session_version + 1)
        )
    record_event(
        session,
        actor,
        "audience.deactivated",
        object_type="audience",
        object_id=audience.id,
        page_id=audience.page_id,
        summary=f"Deactivated audience {audience.name!r}",
        before={"is_active": True},
        after={"is_active": False},
    )
    bump_version(session, audience.page_id)
    session.flush()
    return True


def reactivate_audience(session: Session, audience: Audience, *, actor: Actor) -> bool:
    """Let a deactivated audience give its components again. False, and nothing written, when active."""
    require_role(actor, PAGE_ADMINS, "reactivate audiences")
    if audience.is_active:
        return False
    audience.is_active = True
    record_event(
        session,
        actor,
        "audience.reactivated",
        object_type="audience",
        object_id=audience.id,
        page_id=audience.page_id,
        summary=f"Reactivated audience {audience.name!r}",
        before={"is_active": False},
        after={"is_active": True},
    )
    bump_version(session, audience.page_id)
    session.flush()
    return True


# --- viewers -----------------------------------------------------------------------------------


def _set_viewer_audiences(session: Session, viewer: Viewer, audience_ids: Sequence[str]) -> bool:
    added, removed = _replace_links(
        session,
        AudienceViewer,
        owner="viewer_id",
        owner_id=viewer.id,
        target="audience_id",
        target_ids=audience_ids,
    )
    _touch(session, Audience, [*added, *removed])
    return bool(added or removed)


def create_viewer(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    email: str,
    external_login: str | None = None,
    audience_ids: Sequence[str] = (),
    subscribe: bool = False,
    password: str | None = None,
) -> Viewer:
    """Add a viewer account to `page`, member of `audience_ids`.

    With `subscribe`, the viewer is also subscribed by email (confirmed: staff add it
    knowingly) to what it may see; that subscription is bound to the viewer. With `password`
    (checked against the password rules, stored as an argon2 hash), it may also sign in with
    it. ValidationError names a bad field; Conflict when the page has a viewer of that address already.
    """
    require_role(actor, PAGE_ADMINS, "add viewers")
    email = clean_viewer_email(email)
    external_login = clean_external_login(external_login)
    audiences = _audiences(session, page.id, audience_ids)
    initial = clean_viewer_password(password)
    _check_email_free(session, page.id, email)
    viewer = Viewer(
        page_id=page.id,
        email=email,
        external_login=external_login,
        password_hash=hash_password(initial) if initial else None,
    )
    session.add(viewer)
    session.flush()
    _set_viewer_audiences(session, viewer, [a.id for a in audiences])
    record_event(
        session,
        actor,
        "viewer.created",
        object_type="viewer",
        object_id=viewer.id,
        page_id=page.id,
        summary=f"Added viewer {email}",
        after=_viewer_state(session, viewer),
    )
    if subscribe:
        subscriber = add_subscriber(
            session, page, channel=Channel.EMAIL, address=email, actor=actor, confirmed=True
        )
        subscriber.viewer_id = viewer.id
    session.flush()
    return viewer


def update_viewer(
    session: Session,
    viewer: Viewer,
    *,
    actor: Actor,
    email: str | Unchanged = UNCHANGED,
    external_login: str | None | Unchanged = UNCHANGED,
    audience_ids: Sequence[str] | Unchanged = UNCHANGED,
) -> bool:
    """Change the given settings of a viewer; `audience_ids` replaces its audiences.

    Everything is checked before anything changes. Returns whether anything changed.
    """
    require_role(actor, PAGE_ADMINS, "edit viewers")
    page_id = viewer.page_id
    new_email = clean_viewer_email(email) if not isinstance(email, Unchanged) else viewer.email
    new_login = (
        clean_external_login(external_login)
        if not isinstance(external_login, Unchanged)
        else viewer.external_login
    )
    audiences = (
        _audiences(session, page_id, audience_ids) if not isinstance(audience_ids, Unchanged) else None
    )
    if new_email != viewer.email:
        _check_email_free(session, page_id, new_email, other_than=viewer.id)
    before = _viewer_state(session, viewer)
    viewer.email, viewer.external_login = new_email, new_login
    if audiences is not None and _set_viewer_audiences(session, viewer, [a.id for a in audiences]):
        viewer.updated_at = utcnow()
    session.flush()
    old, new = _changes(before, _viewer_state(session, viewer))
    if not new:
        return False
    record_event(
        session,
        actor,
        "viewer.updated",
        object_type="viewer",
        object_id=viewer.id,
        page_id=page_id,
        summary=f"Edited viewer {viewer.email}: {', '.join(new)}",
        before=old,
        after=new,
    )
    session.flush()
    return True


def set_viewer_audiences(
    session: Session, viewer: Viewer, audience_ids: Sequence[str], *, actor: Actor
) -> bool:
    """Make the viewer a member of exactly `audience_ids` (of its page). Returns whether it changed."""
    return update_viewer(session, viewer, actor=actor, audience_ids=audience_ids)


def delete_viewer(session: Session, viewer: Viewer, *, actor: Actor) -> None:
    """Delete a viewer account: it can no longer sign in, and any session it has finds no account.

    Its memberships and the subscriptions bound to it go with it.
    """
    require_role(actor, PAGE_ADMINS, "delete viewers")
    before = _viewer_state(session, viewer)
    record_event(
        session,
        actor,
        "viewer.deleted",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"Deleted viewer {viewer.email}",
        before=before,
    )
    _touch(session, Audience, before["audience_ids"])
    session.delete(viewer)
    session.flush()


def deactivate_viewer(session: Session, viewer: Viewer, *, actor: Actor) -> bool:
    """Stop a viewer from signing in and end its sessions at once (its `session_version` moves).

    The account and its memberships are kept. False, and nothing written, when already inactive.
    """
    require_role(actor, PAGE_ADMINS, "deactivate viewers")
    if not viewer.is_active:
        return False
    viewer.is_active = False
    viewer.session_version += 1
    record_event(
        session,
        actor,
        "viewer.deactivated",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"Deactivated viewer {viewer.email}",
        before={"is_active": True},
        after={"is_active": False},
    )
    session.flush()
    return True


def reactivate_viewer(session: Session, viewer: Viewer, *, actor: Actor) -> bool:
    """Let a deactivated viewer sign in again. False, and nothing written, when already active."""
    require_role(actor, PAGE_ADMINS, "reactivate viewers")
    if viewer.is_active:
        return False
    viewer.is_active = True
    record_event(
        session,
        actor,
        "viewer.reactivated",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"Reactivated viewer {viewer.email}",
        before={"is_active": False},
        after={"is_active": True},
    )
    session.flush()
    return True


def invite_viewer(session: Session, viewer: Viewer, *, actor: Actor, page_url: str) -> None:
    """Email the viewer an invitation: a sign-in link to `page_url` that works once, for 7 days.

    Sent once the session commits. Refused (Conflict) for a deactivated viewer, whose link
    would not work.
    """
    require_role(actor, PAGE_ADMINS, "invite viewers")
    if not viewer.is_active:
        raise Conflict(f"{viewer.email} is deactivated: reactivate the viewer to send an invitation.")
    logins.send_login_link(session, viewer, page_url=page_url, invitation=True)
    record_event(
        session,
        actor,
        "viewer.invited",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"Sent viewer {viewer.email} an invitation",
    )
    session.flush()


def import_viewers(
    session: Session,
    page: Page,
    rows: Sequence[tuple[str, Sequence[str]]],
    *,
    actor: Actor,
) -> list[Viewer]:
    """Add one viewer per (email, audience ids) of `rows`, checked already by the import's preview.

    Each address and audience is checked again against the page as it is now (another import
    may have run since the preview): a taken address is a Conflict, an unknown audience a
    ValidationError, and nothing is added. One audit event records the import.
    """
    require_role(actor, PAGE_ADMINS, "import viewers")
    emails = [clean_viewer_email(email) for email, _ in rows]
    wanted = {audience_id for _, audience_ids in rows for audience_id in audience_ids}
    _audiences(session, page.id, sorted(wanted))
    taken = set(
        session.scalars(select(Viewer.email).where(Viewer.page_id == page.id, Viewer.email.in_(emails)))
    )
    if taken or len(set(emails)) != len(emails):
        repeated = sorted(taken) or [email for email in emails if emails.count(email) > 1]
        raise Conflict(
            f"This page already has a viewer with the address {repeated[0]}; preview the file again."
        )
    viewers = [Viewer(page_id=page.id, email=email) for email in emails]
    session.add_all(viewers)
    session.flush()
    session.add_all(
        AudienceViewer(audience_id=audience_id, viewer_id=viewer.id)
        for viewer, (_, audience_ids) in zip(viewers, rows, strict=True)
        for audience_id in dict.fromkeys(audience_ids)
    )
    _touch(session, Audience, sorted(wanted))
    by_audience: dict[str, int] = {}
    for _, audience_ids in rows:
        for audience_id in set(audience_ids):
            by_audience[audience_id] = by_audience.get(audience_id, 0) + 1
    record_event(
        session,
        actor,
        "viewer.imported",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary=f"Imported {len(viewers)} viewer{'' if len(viewers) == 1 else 's'}",
        after={"count": len(viewers), "audiences": by_audience},
    )
    session.flush()
    return viewers


def sign_on_viewer(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    sub: str,
    email: str,
    managed_audience_ids: Collection[str],
    audience_ids: Collection[str],
) -> Viewer:
    """The page's viewer a single sign-on is: found, linked or created, its audiences in step.

    Found by its login at the page's identity provider (`sub`), else by `email`, which the
    caller has checked the provider vouches for; a viewer found by email is then linked to
    `sub`, unless it is linked to another login already (Conflict: that provider account is
    not this viewer). Its audiences among `managed_audience_ids` (those single sign-on
    manages) become those of `audience_ids`; the others stay as staff set them. A viewer
    not found is created just in time, in `audience_ids`, which must hold an active audience
    (else PermissionDenied: a provider anyone may use does not open the page to everyone),
    on a plan with audiences. A deactivated viewer is refused (PermissionDenied). Audited as
    `create_viewer` and `update_viewer` are. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "sign viewers on")
    email = clean_viewer_email(email)
    viewer = session.scalar(
        select(Viewer).where(Viewer.page_id == page.id, Viewer.external_login == sub)
    ) or queries.viewer_by_email(session, page.id, email)
    audiences = list(session.scalars(queries.audiences_of(page.id)))
    given = [a.id for a in audiences if a.id in audience_ids]
    if viewer is None:
        if not any(a.is_active for a in audiences if a.id in audience_ids):
            raise PermissionDenied(
                f"Your account has no access to the {page.name} status page. Ask {page.name} for access."
            )
        check_audiences_allowed(session, page.tenant_id)
        return create_viewer(session, page, actor=actor, email=email, external_login=sub, audience_ids=given)
    if viewer.external_login not in (None, sub):
        raise Conflict(
            f"The {page.name} status page's account for {email} is linked to another account at "
            f"your identity provider, so this one cannot sign in to it. Ask {page.name} to check it."
        )
    if not viewer.is_active:
        raise PermissionDenied(
            f"Your access to the {page.name} status page has been turned off. Ask {page.name} to restore it."
        )
    current = queries.audience_ids_by_viewer(session, [viewer.id]).get(viewer.id, [])
    kept = [
        audience_id
        for audience_id in current
        if audience_id not in managed_audience_ids or audience_id in given
    ]
    added = [audience_id for audience_id in given if audience_id not in current]
    update_viewer(
        session,
        viewer,
        actor=actor,
        external_login=sub if viewer.external_login is None else UNCHANGED,
        audience_ids=[*kept, *added],
    )
    return viewer


# --- viewer sign-in settings of a page ---------------------------------------------------------


def _sign_in_state(page: Page) -> dict[str, Any]:
    return {
        "viewer_oidc_is_enabled": page.viewer_oidc_is_enabled,
        "viewer_oidc_issuer": page.viewer_oidc_issuer,
        "viewer_oidc_client_id": page.viewer_oidc_client_id,
        "viewer_oidc_audience_claim": page.viewer_oidc_audience_claim,
    }


def update_viewer_sign_in(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    is_enabled: bool,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None = None,
    audience_claim: str | None = None,
) -> list[str]:
    """Set the page's single sign-on for viewers (OpenID Connect); returns the names of the settings changed.

    `client_secret` None (or empty) keeps the stored secret; it is never recorded in the audit
    log, which says only that it was replaced. Enabling needs an issuer, a client id and a
    secret, and a plan with audiences. The issuer URL is refused when it points at a private
    address (see `status_platform.identity.oidc.clean_issuer`). Everything is checked before anything changes.
    """
    require_role(actor, PAGE_ADMINS, "change how viewers sign in")
    provider = clean_provider_settings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        is_enabled=is_enabled,
        stored_secret=page.viewer_oidc_client_secret,
        settings=active_settings(),
        prefix="viewer_oidc_",
    )
    audience_claim = clean_claim_name(audience_claim)
    if is_enabled and not page.viewer_oidc_is_enabled:
        check_audiences_allowed(session, page.tenant_id, field="viewer_oidc_is_enabled")
    before = _sign_in_state(page)
    secret_change = provider.secret_change(page.viewer_oidc_client_secret)
    page.viewer_oidc_is_enabled = is_enabled
    page.viewer_oidc_issuer = provider.issuer
    page.viewer_oidc_client_id = provider.client_id
    page.viewer_oidc_audience_claim = audience_claim
    if secret_change is not None:
        page.viewer_oidc_client_secret = provider.client_secret
    old, new = _changes(before, _sign_in_state(page))
    changed = list(new)
    if secret_change is not None:
        changed.append("viewer_oidc_client_secret")
        old["viewer_oidc_client_secret"], new["viewer_oidc_client_secret"] = secret_change
    if not changed:
        return []
    record_event(
        session,
        actor,
        "page.viewer_sign_in_updated",
        object_type="page",
        object_id=page.id,
        page_id=page.id,
        summary="Changed the viewers' single sign-on: " + ", ".join(changed),
        before=old,
        after=new,
    )
    # The sign-in page offers single sign-on, or stops offering it.
    bump_version(session, page.id)
    session.flush()
    return changed
