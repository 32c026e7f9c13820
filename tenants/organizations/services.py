"""Organizations: onboarding (owner, first page, default incident types), renaming and deleting."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.cache import invalidate_after_commit
from status_platform.errors import Conflict, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.passwords import check_password_rules, hash_password, verify_password
from status_platform.identity.permissions import OWNERS, TEAM_ADMINS, require_role
from status_platform.tenancy.models import Membership, Role, Tenant
from status_platform.validation import RESERVED_SLUGS, clean_email, clean_slug, clean_text
from tenants.audit.services import record_event
from tenants.incidents.services import create_default_incident_types
from tenants.pages.models import Page
from tenants.pages.services import create_page, slug_is_taken

log = logging.getLogger(__name__)
# Room left in the 63 characters of a slug for the "-2", "-3" ... of a taken one.
SLUG_BASE_LENGTH = 56


@dataclass(frozen=True)
class NewOrganization:
    tenant: Tenant
    owner: User
    page: Page


def create_organization(
    session: Session,
    *,
    name: str,
    slug: str,
    owner_email: str,
    owner_password: str,
    actor: Actor,
    page_name: str | None = None,
    page_slug: str | None = None,
) -> NewOrganization:
    """Create an organization with `owner_email` as owner and a first page.

    `session` must be bound to a fresh tenant id (``tenant_session(new_id())``): the
    organization takes that id, so the whole creation is one transaction. An existing user
    becomes owner only if `owner_password` is theirs. Raises ValidationError or Conflict and
    writes nothing on bad input. Flushes, never commits.
    """
    tenant_id = session.info.get("tenant_id")
    if not tenant_id:
        raise RuntimeError("create_organization needs a session bound to the new organization's id")
    name = clean_text(name, field="name", label="Organization name")
    slug = clean_slug(slug, label="Organization slug")
    email = clean_email(owner_email, field="owner_email", label="Owner email")
    page_slug = clean_slug(page_slug or slug, field="page_slug", label="Page address")
    if session.scalar(select(select(Tenant.id).where(Tenant.slug == slug).exists())):
        raise Conflict(f"An organization with the slug {slug!r} already exists.", field="slug")
    if slug_is_taken(session, page_slug):
        raise Conflict(f"The page address {page_slug!r} is already taken.", field="page_slug")
    owner = session.scalar(select(User).where(User.email == email))
    if owner is None:
        check_password_rules(owner_password, field="owner_password")
        owner = User(email=email, password_hash=hash_password(owner_password))
        session.add(owner)
    elif not verify_password(owner.password_hash, owner_password):
        raise ValidationError(
            f"{email} already has an account with a different password.", field="owner_password"
        )
    tenant = Tenant(id=tenant_id, name=name, slug=slug)
    session.add(tenant)
    session.flush()
    session.add(Membership(tenant_id=tenant.id, user_id=owner.id, role=Role.OWNER))
    # The first page is the new owner's own act, whoever started the sign-up.
    as_owner = Actor(label=actor.label, user_id=owner.id, ip_address=actor.ip_address, role=Role.OWNER)
    page = create_page(session, name=page_name or name, slug=page_slug, actor=as_owner)
    create_default_incident_types(session)
    record_event(
        session,
        actor,
        "organization.created",
        object_type="organization",
        object_id=tenant.id,
        summary=f"Created organization {name!r} owned by {email}",
    )
    session.flush()
    return NewOrganization(tenant, owner, page)


def slugify(text: str) -> str:
    """'Acme Café, Inc.' -> 'acme-cafe-inc': lowercase ASCII letters and digits joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_BASE_LENGTH].strip("-")


def unique_organization_slug(session: Session, name: str) -> str:
    """A free organization slug derived from `name`: 'acme', else 'acme-2', 'acme-3', ...

    Reserved words are skipped like taken slugs. Raises ValidationError (field "name") when
    `name` has no letter or digit to build a slug from. Reads only.
    """
    base = slugify(name)
    if not base:
        raise ValidationError("The company name needs at least one letter or digit.", field="name")
    taken = set(
        session.scalars(
            select(Tenant.slug).where(sa.or_(Tenant.slug == base, Tenant.slug.startswith(f"{base}-")))
        )
    )
    candidate, number = base, 1
    while candidate in taken or candidate in RESERVED_SLUGS:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def rename_organization(session: Session, tenant: Tenant, *, name: str, actor: Actor) -> bool:
    """Rename `tenant` (admins and owners). Returns False when the name is unchanged.

    Raises PermissionDenied or ValidationError (field "name") and changes nothing then.
    The slug stays: links and bookmarks keep working. Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "rename the organization")
    name = clean_text(name, field="name", label="Organization name")
    if name == tenant.name:
        return False
    before = tenant.name
    tenant.name = name
    session.flush()
    record_event(
        session,
        actor,
        "organization.renamed",
        object_type="organization",
        object_id=tenant.id,
        summary=f"Renamed the organization from {before!r} to {name!r}",
        before={"name": before},
        after={"name": name},
    )
    return True


def delete_organization(session: Session, tenant: Tenant, *, confirm_name: str, actor: Actor) -> None:
    """Delete `tenant` and, by the database's cascades, everything it owns (owners only).

    `confirm_name` must be the organization's name as typed by the owner, else
    ValidationError (field "confirm") and nothing is deleted. Users stay: they may belong to
    other organizations. Flushes, never commits.
    """
    require_role(actor, OWNERS, "delete the organization")
    if confirm_name.strip() != tenant.name.strip():
        raise ValidationError(
            f"Type the organization's name, {tenant.name}, exactly to confirm.", field="confirm"
        )
    page_ids = list(session.scalars(select(Page.id)))
    # The audit log goes with the organization, so the deletion is logged by the process instead.
    log.info("organization %s (%r) deleted by %s", tenant.id, tenant.name, actor.label)
    session.delete(tenant)
    session.flush()
    for page_id in page_ids:
        invalidate_after_commit(session, "page", page_id)
