"""Organizations: onboarding (owner, first page, default incident types), renaming, deleting, staff SSO."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.cache import invalidate_after_commit
from status_platform.config import active_settings
from status_platform.errors import Conflict, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.oidc import clean_provider_settings
from status_platform.identity.passwords import check_password_rules, hash_password, verify_password
from status_platform.identity.permissions import OWNERS, TEAM_ADMINS, require_role
from status_platform.tenancy.models import Membership, Role, Tenant
from status_platform.tenancy.plans import plan_of
from status_platform.validation import RESERVED_SLUGS, clean_email, clean_slug, clean_text
from tenants.audiences.schemas import clean_email_domain
from tenants.audit.services import record_event
from tenants.incidents.services import create_default_incident_types
from tenants.pages.models import Page
from tenants.pages.services import create_page, slug_is_taken
from tenants.team.schemas import clean_role

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


# --- staff single sign-on ----------------------------------------------------------------------------

SSO_JIT_ROLES = (Role.VIEWER, Role.EDITOR)


def _sso_state(tenant: Tenant) -> dict[str, object]:
    return {
        "sso_is_enabled": tenant.sso_is_enabled,
        "sso_is_required": tenant.sso_is_required,
        "sso_issuer": tenant.sso_issuer,
        "sso_client_id": tenant.sso_client_id,
        "sso_jit_domain": tenant.sso_jit_domain,
        "sso_jit_role": tenant.sso_jit_role.value,
    }


def update_sso_settings(
    session: Session,
    tenant: Tenant,
    *,
    actor: Actor,
    is_enabled: bool,
    is_required: bool,
    issuer: str,
    client_id: str,
    client_secret: str = "",
    jit_domain: str = "",
    jit_role: str = "viewer",
    signed_on_with: tuple[str, str] | None = None,
) -> list[str]:
    """Set the organization's staff single sign-on (OpenID Connect); returns the settings changed.

    Admins and owners; a plan with single sign-on to turn it on. An empty `client_secret` keeps
    the stored one, which the audit log never shows. New members from the just-in-time domain
    join as viewer or editor. Requiring single sign-on needs it on and the acting member's
    session to have entered the organization through this very provider, `signed_on_with`
    (issuer, client id), so that nobody requires a sign-in they have not seen work. Everything
    is checked before anything changes: ValidationError names the field. Flushes, never commits.
    """
    require_role(actor, TEAM_ADMINS, "change the organization's single sign-on")
    provider = clean_provider_settings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        is_enabled=is_enabled,
        stored_secret=tenant.sso_client_secret,
        settings=active_settings(),
        prefix="sso_",
    )
    domain = clean_email_domain(jit_domain, field="sso_jit_domain")
    role = clean_role(jit_role, field="sso_jit_role")
    if role not in SSO_JIT_ROLES:
        raise ValidationError(
            "People who join through single sign-on start as viewer or editor; an admin can promote them.",
            field="sso_jit_role",
        )
    if is_enabled and not tenant.sso_is_enabled:
        plan = plan_of(session, tenant.id)
        if not plan.allows_sso:
            raise ValidationError(
                f"The {plan.name} plan does not include single sign-on; change plans to use it.",
                field="sso_is_enabled",
            )
    if is_required:
        if not is_enabled:
            raise ValidationError("Turn single sign-on on to require it.", field="sso_is_required")
        if signed_on_with != (provider.issuer, provider.client_id):
            raise ValidationError(
                "Sign in through this single sign-on once before requiring it (save, then use “Test "
                "single sign-on”), so that you know it works and nobody is locked out.",
                field="sso_is_required",
            )
    before = _sso_state(tenant)
    secret_change = provider.secret_change(tenant.sso_client_secret)
    tenant.sso_is_enabled, tenant.sso_is_required = is_enabled, is_required
    tenant.sso_issuer, tenant.sso_client_id = provider.issuer, provider.client_id
    tenant.sso_jit_domain, tenant.sso_jit_role = domain, role
    if secret_change is not None:
        tenant.sso_client_secret = provider.client_secret
    after = _sso_state(tenant)
    changed = [name for name in after if after[name] != before[name]]
    old = {name: before[name] for name in changed}
    new = {name: after[name] for name in changed}
    if secret_change is not None:
        changed.append("sso_client_secret")
        old["sso_client_secret"], new["sso_client_secret"] = secret_change
    if not changed:
        return []
    session.flush()
    record_event(
        session,
        actor,
        "organization.sso_updated",
        object_type="organization",
        object_id=tenant.id,
        summary="Changed the staff single sign-on: " + ", ".join(changed),
        before=old,
        after=new,
    )
    return changed
