"""Onboarding: an organization with its owner, its first page and its default incident types."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.errors import Conflict, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.passwords import check_password_rules, hash_password, verify_password
from status_platform.tenancy.models import Membership, Role, Tenant
from status_platform.validation import clean_email, clean_slug, clean_text
from tenants.audit.services import record_event
from tenants.incidents.services import create_default_incident_types
from tenants.pages.models import Page
from tenants.pages.services import create_page, slug_is_taken


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
    page = create_page(session, name=page_name or name, slug=page_slug, actor=actor)
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
