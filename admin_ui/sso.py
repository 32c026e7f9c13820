"""Staff single sign-on (OpenID Connect) on the platform host, one identity provider per organization.

"Sign in with single sign-on" asks for the organization's short name (the part after /t/ in
its admin address), sends the browser to the organization's provider and signs in the person
with the email the provider vouches for (`email_verified` true). Nobody is routed by the
domain of an email: an organization's just-in-time domain is its own claim, never verified,
so it must not draw other people's sign-ins to its provider. Someone who is not a member yet
joins with the configured role (viewer or editor) only when the email's domain is the
organization's just-in-time domain: the organization's own provider vouched for them.

An organization's provider is run by that organization, so it only speaks for that
organization: the session remembers which organizations it entered through single sign-on,
and with which provider (issuer, client id). An organization opens through single sign-on
only while its provider is still the one the session entered with. A session begun by single
sign-on opens only those organizations, lists only them at /orgs and cannot change the
account (`limited_to`, `account_refusal`); a session begun with a password opens every
organization of the member except those that require single sign-on and were not entered
through it (`gate`).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_ui.forms import safe_path, text
from status_platform.config import Settings
from status_platform.db.session import db, rebind_request_session
from status_platform.errors import DomainError, ValidationError
from status_platform.identity import oidc
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.oidc import OidcError, OidcProvider, SignOn
from status_platform.tenancy.models import Tenant
from status_platform.timeutil import utcnow
from tenants.team.queries import membership_of
from tenants.team.services import join_through_sso

bp = Blueprint("sso", __name__)

# In the staff session: the organizations entered through single sign-on, each with the
# (issuer, client id) it was entered with; and whether the session itself began that way.
ORGS_KEY = "sso_orgs"
BEGUN_KEY = "sso_begun"
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def provider_of(tenant: Tenant | None) -> OidcProvider | None:
    """The organization's provider, when its single sign-on is on, complete and in its plan."""
    if tenant is None or not tenant.is_active or not tenant.sso_is_enabled or not tenant.plan.allows_sso:
        return None
    if not (tenant.sso_issuer and tenant.sso_client_id and tenant.sso_client_secret):
        return None
    return OidcProvider(tenant.sso_issuer, tenant.sso_client_id, tenant.sso_client_secret)


def requires_sso(tenant: Tenant) -> bool:
    return bool(tenant.sso_is_required) and provider_of(tenant) is not None


def signed_on_with(tenant_id: str) -> tuple[str, str] | None:
    """The (issuer, client id) this session entered the organization with, if through single sign-on."""
    entered = (session.get(ORGS_KEY) or {}).get(tenant_id)
    if isinstance(entered, list | tuple) and len(entered) == 2:
        return str(entered[0]), str(entered[1])
    return None


def _entered_now(tenant: Tenant) -> bool:
    """Whether this session entered `tenant` through the provider it has now."""
    provider = provider_of(tenant)
    entered = signed_on_with(tenant.id)
    return provider is not None and entered == (provider.issuer, provider.client_id)


def limited_to() -> set[str] | None:
    """The organizations a session begun by single sign-on may open (None: not so limited)."""
    if not session.get(BEGUN_KEY):
        return None
    return set(session.get(ORGS_KEY) or {})


def account_refusal() -> str | None:
    """Why this session may not change the account (its name, its password), if it may not."""
    if not session.get(BEGUN_KEY):
        return None
    return (
        "You signed in through an organization's single sign-on, which speaks for that organization "
        "only. Sign in with your password to change your account."
    )


def gate(tenant: Tenant) -> Response | None:
    """For the organization guard: None when this session may open `tenant`, else where to go.

    Refused: a session begun by single sign-on in an organization it did not enter through
    that organization's current provider, and a password session in an organization that
    requires single sign-on and was not entered through its current provider. Reads are
    redirected to the way in; writes are refused with 403.
    """
    if _entered_now(tenant):
        return None
    path = request.full_path.rstrip("?")
    entered_before = signed_on_with(tenant.id) is not None
    begun = bool(session.get(BEGUN_KEY))
    usable = provider_of(tenant) is not None
    if requires_sso(tenant) or (begun and entered_before and usable):
        if entered_before:
            message = f"{tenant.name}'s single sign-on changed since you signed in: sign in through it again."
        else:
            message = (
                f"{tenant.name} requires single sign-on: sign in through your organization's identity "
                "provider."
            )
        target = url_for("sso.login", org=tenant.slug, next=path)
    elif begun:
        if entered_before:
            message = (
                f"{tenant.name} turned its single sign-on off since you signed in. "
                f"Sign in with your password to open {tenant.name}."
            )
        else:
            message = (
                f"You signed in through another organization's single sign-on. "
                f"Sign in with your password to open {tenant.name}."
            )
        target = url_for("auth.login", next=path)
    else:
        return None
    if request.method not in READS:
        abort(403, message)
    flash(message)
    return redirect(target)


# --- signing in ----------------------------------------------------------------------------------


def _form(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    values = request.form if request.method == "POST" else request.args
    return render_template(
        "admin/sso_login.html",
        identifier=values.get("identifier", values.get("org", "")),
        next_path=safe_path(values.get("next")) or "",
        errors=errors or {},
    ), status


def _refused(message: str, again: str) -> tuple[str, int, dict[str, str]]:
    # The refused login is gone from the session already (`oidc.complete` consumed its entry),
    # and nobody was signed in by it; whoever was signed in before stays: a link to the
    # callback must not sign people out.
    page = render_template("admin/sso_refused.html", message=message, again_url=again)
    return page, 400, {"Cache-Control": "private, no-store"}


def _organization_of(identifier: str) -> Tenant:
    """The organization its short name names, with single sign-on; else ValidationError."""
    value = identifier.strip().lower()
    hint = "It is the part after /t/ in the address of your organization's screens."
    if not value:
        raise ValidationError(f"Enter your organization's short name. {hint}", field="identifier")
    if "@" in value:
        raise ValidationError(
            f"Enter your organization's short name, not an email address. {hint}", field="identifier"
        )
    tenant = db.scalar(
        select(Tenant).where(
            Tenant.is_active.is_(True), Tenant.sso_is_enabled.is_(True), Tenant.slug == value
        )
    )
    if tenant is None or provider_of(tenant) is None:
        raise ValidationError(
            f"There is no organization {value!r} with single sign-on. {hint} Or sign in with your password.",
            field="identifier",
        )
    return tenant


def _begin(tenant: Tenant, next_path: str) -> Response | tuple[str, int, dict[str, str]]:
    provider = provider_of(tenant)
    assert provider is not None
    try:
        target = oidc.begin(
            session,
            provider=provider,
            redirect_uri=_settings().admin_url(url_for("sso.callback")),
            settings=_settings(),
            context={"tenant": tenant.id, "next": next_path},
        )
    except OidcError as error:
        return _refused(error.message, url_for("sso.login", org=tenant.slug, next=next_path or None))
    response = redirect(target)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/login/sso", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The form, or (with `org`, or once the form is sent) the way to the organization's provider."""
    identifier = text("identifier") if request.method == "POST" else request.args.get("org", "")
    if not identifier and request.method == "GET":
        return _form()
    try:
        tenant = _organization_of(identifier)
    except DomainError as error:
        return _form({error.field or "_form": error.message}, 422)
    next_path = safe_path(request.values.get("next")) or ""
    return _begin(tenant, next_path)


@bp.get("/login/sso/callback")
def callback() -> Response | tuple[str, int, dict[str, str]]:
    """Where the provider sends the person back: check everything, then sign in."""

    def configured(context: dict[str, str]) -> OidcProvider | None:
        return provider_of(db.get(Tenant, context.get("tenant") or ""))

    try:
        signed_on = oidc.complete(session, request.args, settings=_settings(), provider=configured)
        user, tenant = _member_of(signed_on)
    except OidcError as error:
        db.rollback()
        begun_for = db.get(Tenant, error.context.get("tenant") or "")
        next_path = error.context.get("next") or None
        again = url_for("sso.login", org=begun_for.slug if begun_for else None, next=next_path)
        return _refused(error.message, again)
    _sign_in(user, tenant)
    db.commit()
    next_path = safe_path(signed_on.context.get("next"))
    return redirect(next_path or url_for("tenant.dashboard.index", tenant_slug=tenant.slug))


def _member_of(signed_on: SignOn) -> tuple[User, Tenant]:
    """The member the sign-on is (joining just in time when its domain allows); raises OidcError."""
    tenant_id = signed_on.context["tenant"]
    # The membership made here and its audit event are the organization's rows.
    rebind_request_session(tenant_id)
    tenant = db.get(Tenant, tenant_id)
    provider = provider_of(tenant)
    assert tenant is not None and provider is not None

    def refuse(message: str, reason: str) -> OidcError:
        return oidc.refuse(message, reason, provider.issuer)

    email = signed_on.verified_email("signing in")
    user = db.scalar(select(User).where(User.email == email))
    if user is not None and not user.is_active:
        raise refuse("This account is disabled.", f"inactive user {email}")
    if user is not None and membership_of(db, tenant.id, user.id) is not None:
        return user, tenant
    domain = email.rpartition("@")[2]
    if not tenant.sso_jit_domain or domain != tenant.sso_jit_domain:
        joins = (
            f" Only {tenant.sso_jit_domain} addresses join automatically." if tenant.sso_jit_domain else ""
        )
        raise refuse(
            f"{email} is not a member of {tenant.name}.{joins} Ask an admin of {tenant.name} to invite you.",
            f"{email} is no member and not of the just-in-time domain",
        )
    actor = Actor(label=f"single sign-on ({email})", ip_address=request.remote_addr, is_system=True)
    try:
        membership = join_through_sso(db, tenant, email=email, actor=actor)
    except DomainError as error:
        raise refuse(
            f"You could not join {tenant.name}: {error.message}", f"join refused: {error.message}"
        ) from None
    return membership.user, tenant


def _sign_in(user: User, tenant: Tenant) -> None:
    """Sign in `user` having entered `tenant` through its provider.

    The same person already signed in keeps the session (and the organizations it opened),
    with this organization added; anyone else gets a fresh session that opens this
    organization only.
    """
    entered: dict[str, Any] = {}
    begun = True
    if current_user.is_authenticated and current_user.id == user.id:
        entered = dict(session.get(ORGS_KEY) or {})
        begun = bool(session.get(BEGUN_KEY))
    else:
        session.clear()
        login_user(user)
    entered[tenant.id] = [tenant.sso_issuer, tenant.sso_client_id]
    session[ORGS_KEY] = entered
    session[BEGUN_KEY] = begun
    user.last_login_at = utcnow()
