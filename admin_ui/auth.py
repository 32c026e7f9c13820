"""Accounts on the platform host: sign-up, sign-in with attempt limits, password reset, invitations."""

from __future__ import annotations

import hashlib

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from admin_ui import sso
from admin_ui.forms import errors_of, safe_path, text
from status_platform import ratelimit
from status_platform.config import Settings
from status_platform.db.session import db, rebind_request_session
from status_platform.errors import DomainError, NotFound, PermissionDenied, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.models import User
from status_platform.identity.passwords import check_password_rules, hash_password, verify_password
from status_platform.ids import new_id
from status_platform.mail.outgoing import send_after_commit
from status_platform.ratelimit import Limit
from status_platform.tenancy.models import Invitation, Membership, Tenant
from status_platform.timeutil import utcnow
from status_platform.validation import clean_email, clean_slug, clean_text
from tenants.organizations.services import create_organization, unique_organization_slug
from tenants.team import services as team

bp = Blueprint("auth", __name__)

SIGNUP_PER_IP = Limit("signup-ip", attempts=10, window_seconds=3600)
RESET_PER_IP = Limit("reset-ip", attempts=10, window_seconds=3600)
RESET_PER_EMAIL = Limit("reset-email", attempts=3, window_seconds=3600)
RESET_SALT = "password-reset"
RESET_MAX_AGE = 3600
ACCOUNT_EXISTS = (
    "There is already an account for this address. Sign in first, then create the organization "
    "from your account."
)


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def _sign_in(user: User) -> None:
    """A fresh session for `user`: nothing from before (another account, a planted value) carries over."""
    session.clear()
    login_user(user)


def _too_many(template: str, message: str, wait: int, **context: object) -> tuple[str, int, dict[str, str]]:
    return (
        render_template(template, errors={"_form": message}, **context),
        429,
        {"Retry-After": str(wait)},
    )


@bp.get("/")
def home() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("auth.organizations"))
    return redirect(url_for("auth.login"))


# --- signing in and out ----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int, dict[str, str]]:
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        per_account, per_ip = ratelimit.login_limits(_settings())
        # Every attempt is counted before its password is checked, so parallel guesses cannot
        # all pass a check made before any of them was counted; past the limit the password is
        # not even checked, and a guesser learns nothing more.
        account_wait = ratelimit.attempt(per_account, email)
        ip_wait = ratelimit.attempt(per_ip, _client_ip())
        if account_wait:
            message = f"Too many sign-in attempts for this account. {ratelimit.try_again_in(account_wait)}"
            return _too_many("admin/login.html", message, account_wait, form=form)
        if ip_wait:
            message = f"Too many sign-in attempts from your network. {ratelimit.try_again_in(ip_wait)}"
            return _too_many("admin/login.html", message, ip_wait, form=form)
        user = db.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is not None and verify_password(user.password_hash, form.password.data or ""):
            user.last_login_at = utcnow()
            db.commit()
            # Only failures count: the account starts afresh, the network gets its attempt back.
            ratelimit.reset(per_account, email)
            ratelimit.forgive(per_ip, _client_ip())
            _sign_in(user)
            return redirect(safe_path(request.args.get("next")) or url_for("auth.organizations"))
        form.password.errors = ["The email address or password is not right."]
    # A refused form is shown again, fields marked (a browser logs any 4xx page as an error).
    return render_template("admin/login.html", form=form, errors={})


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))


@bp.get("/orgs")
@login_required
def organizations() -> Response | str:
    query = (
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == current_user.id, Tenant.is_active.is_(True))
        .order_by(Tenant.name)
    )
    # A session begun by an organization's single sign-on reaches that organization only.
    limited_to = sso.limited_to()
    if limited_to is not None:
        query = query.where(Tenant.id.in_(limited_to))
    rows = db.execute(query).all()
    if len(rows) == 1:
        return redirect(url_for("tenant.dashboard.index", tenant_slug=rows[0][0].slug))
    return render_template("admin/organizations.html", rows=rows)


# --- signing up ----------------------------------------------------------------------------------


def _signup_form(errors: dict[str, str] | None = None, *, account_exists: bool = False) -> str:
    values = request.form if request.method == "POST" else {}
    email = current_user.email if current_user.is_authenticated else ""
    return render_template(
        "admin/auth/signup.html",
        values=values,
        email=email,
        errors=errors or {},
        account_exists=account_exists,
    )


def _signup_owner(email: str) -> User | None:
    """The existing account `email` names, if it is the signed-in user's; None for a new address.

    Sign-up must not become a way around the sign-in limits: another person's account is
    refused before any password is checked.
    """
    owner = db.scalar(select(User).where(User.email == email))
    if owner is None:
        return None
    if not current_user.is_authenticated or owner.id != current_user.id:
        raise ValidationError(ACCOUNT_EXISTS, field="owner_email")
    return owner


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str | tuple[str, int, dict[str, str]]:
    """A new organization with its owner and first page; a signed-in user may add another one.

    A signed-in user confirms with their password, which counts against their account's
    sign-in limit like a sign-in would.
    """
    if request.method == "GET":
        return _signup_form()
    wait = ratelimit.attempt(SIGNUP_PER_IP, _client_ip())
    if wait:
        message = f"Too many sign-ups from your network. {ratelimit.try_again_in(wait)}"
        return _too_many("admin/auth/signup.html", message, wait, values=request.form, email="")
    per_account, _ = ratelimit.login_limits(_settings())
    counted = ""
    try:
        name = clean_text(text("name"), field="name", label="Company name")
        page_name = clean_text(text("page_name"), field="page_name", label="Page name", required=False)
        page_slug = clean_slug(text("page_slug"), field="page_slug", label="Page address")
        email = clean_email(text("owner_email"), field="owner_email", label="Owner email")
        if text("owner_password") != text("confirm_password"):
            raise ValidationError("The two passwords are not the same.", field="confirm_password")
        if _signup_owner(email) is not None:
            wait = ratelimit.attempt(per_account, email)
            if wait:
                message = f"Too many sign-in attempts for this account. {ratelimit.try_again_in(wait)}"
                return _too_many(
                    "admin/auth/signup.html", message, wait, values=request.form, email=current_user.email
                )
            counted = email
        # The organization takes the session's tenant id: its rows are written through it.
        rebind_request_session(new_id())
        created = create_organization(
            db,
            name=name,
            slug=unique_organization_slug(db, name),
            owner_email=email,
            owner_password=text("owner_password"),
            page_name=page_name or None,
            page_slug=page_slug,
            actor=Actor(label=email, ip_address=request.remote_addr),
        )
        created.owner.last_login_at = utcnow()
        db.commit()
    except IntegrityError:
        # Another sign-up took the same slug, address or account between the checks and the commit.
        db.rollback()
        if counted:
            ratelimit.forgive(per_account, counted)
        return _signup_form({"_form": "Someone signed up with the same details a moment ago; try again."})
    except DomainError as error:
        db.rollback()
        errors = errors_of(error)
        if counted and error.field == "owner_password":
            # A wrong password of the signed-in user: it stays counted.
            errors["owner_password"] = "That is not your current password."
        elif counted:
            # Refused before or after the password was found right: not a failed sign-in.
            ratelimit.forgive(per_account, counted)
        # The organization's slug is made from the company name: a refused slug is the name's fault.
        if "slug" in errors:
            errors["name"] = errors.pop("slug")
        return _signup_form(errors, account_exists=errors.get("owner_email") == ACCOUNT_EXISTS)
    if counted:
        ratelimit.reset(per_account, counted)
    _sign_in(created.owner)
    flash(f"Welcome to {created.tenant.name}. Add the components of {created.page.name} to get started.")
    return redirect(
        url_for("tenant.page.dashboard.show", tenant_slug=created.tenant.slug, page_id=created.page.id)
    )


# --- your account --------------------------------------------------------------------------------


def _set_password(user: User, password: str) -> None:
    # A new session version ends every session of the user, on every device.
    user.password_hash = hash_password(password)
    user.session_version += 1


def _account_page(errors: dict[str, str] | None = None, form: str = "") -> str:
    values = request.form if request.method == "POST" else {}
    return render_template("admin/auth/account.html", values=values, errors=errors or {}, form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Response | str | tuple[str, int, dict[str, str]]:
    """Your name and password; changing the password signs you out everywhere else."""
    if request.method == "GET":
        return _account_page()
    user = db.get(User, current_user.id)
    if user is None:  # pragma: no cover - the loader found it a moment ago
        return redirect(url_for("auth.login"))
    which = text("form")
    refusal = sso.account_refusal()
    if refusal is not None:
        return _account_page({"_form": refusal}, which), 403, {}
    try:
        if which == "profile":
            user.name = clean_text(text("name"), field="name", label="Your name", required=False)
            db.commit()
            flash("Saved your name.")
            return redirect(url_for("auth.account"))
        if which != "password":
            raise ValidationError("Choose what to change.")
        per_account, _ = ratelimit.login_limits(_settings())
        # Counted before the check, as at sign-in; the right password starts the account afresh.
        wait = ratelimit.attempt(per_account, user.email)
        if wait:
            message = f"Too many attempts with a wrong password. {ratelimit.try_again_in(wait)}"
            return _too_many("admin/auth/account.html", message, wait, values=request.form, form=which)
        if not verify_password(user.password_hash, text("current_password")):
            raise ValidationError("That is not your current password.", field="current_password")
        ratelimit.reset(per_account, user.email)
        check_password_rules(text("new_password"), field="new_password")
        if text("new_password") != text("confirm_password"):
            raise ValidationError("The two passwords are not the same.", field="confirm_password")
    except DomainError as error:
        db.rollback()
        return _account_page(errors_of(error), which)
    _set_password(user, text("new_password"))
    db.commit()
    _sign_in(user)
    flash("Password changed; you were signed out everywhere else.")
    return redirect(url_for("auth.account"))


# --- forgotten passwords -------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Changes with the password and with every "sign out everywhere": a used link is dead.
    state = f"{user.id}:{user.password_hash or ''}:{user.session_version}"
    return hashlib.sha256(state.encode()).hexdigest()[:24]


def reset_token(user: User) -> str:
    """A signed link token to choose a new password: good for an hour, and for one use."""
    return str(_reset_serializer().dumps({"user": user.id, "state": _password_fingerprint(user)}))


def _user_of_reset_token(token: str) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise NotFound("This link has expired: reset links work for one hour.") from None
    except BadSignature:
        raise NotFound("This link is not valid. Check that you copied all of it.") from None
    user_id = data.get("user") if isinstance(data, dict) else None
    user = db.scalar(select(User).where(User.id == user_id, User.is_active.is_(True))) if user_id else None
    if user is None or data.get("state") != _password_fingerprint(user):
        raise NotFound("This link was already used, or the password was changed since it was sent.")
    return user


def _send_reset_mail(user: User) -> None:
    link = _settings().admin_url(url_for("auth.reset_password", token=reset_token(user)))
    text_body = (
        "Someone (we hope you) asked to reset the password of your Status Platform account.\n\n"
        f"Choose a new password:\n{link}\n\n"
        "The link works once, for one hour. If you did not ask, ignore this message: "
        "your password stays as it is.\n"
    )
    html_body = (
        "<p>Someone (we hope you) asked to reset the password of your Status Platform account.</p>"
        f'<p><a href="{escape(link)}">Choose a new password</a></p>'
        "<p>The link works once, for one hour. If you did not ask, ignore this message: "
        "your password stays as it is.</p>"
    )
    send_after_commit(
        db, to=user.email, subject="Reset your Status Platform password", text=text_body, html=html_body
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> str | tuple[str, int, dict[str, str]]:
    """Mail a reset link; the answer is the same whether an account exists or not."""
    if request.method == "GET":
        return render_template("admin/auth/forgot.html", values={}, errors={})
    try:
        email = clean_email(text("email"))
    except ValidationError as error:
        return render_template("admin/auth/forgot.html", values=request.form, errors=errors_of(error))
    wait = max(ratelimit.attempt(RESET_PER_IP, _client_ip()), ratelimit.attempt(RESET_PER_EMAIL, email))
    if wait:
        message = f"Too many reset requests. {ratelimit.try_again_in(wait)}"
        return _too_many("admin/auth/forgot.html", message, wait, values=request.form)
    user = db.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if user is not None:
        _send_reset_mail(user)
        db.commit()
    return render_template("admin/auth/forgot_sent.html", email=email)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """Choose a new password from a mailed link; every other session of the account ends."""
    try:
        user = _user_of_reset_token(token)
    except DomainError as error:
        return render_template(
            "admin/auth/link_invalid.html",
            heading="This reset link cannot be used",
            message=error.message,
            again_url=url_for("auth.forgot_password"),
            again_label="Ask for a new link",
        ), 400
    if request.method == "GET":
        return render_template("admin/auth/reset.html", user=user, errors={})
    try:
        check_password_rules(text("password"), field="password")
        if text("password") != text("confirm_password"):
            raise ValidationError("The two passwords are not the same.", field="confirm_password")
    except ValidationError as error:
        return render_template("admin/auth/reset.html", user=user, errors=errors_of(error))
    _set_password(user, text("password"))
    # The link came to this address: it is the owner's.
    user.email_verified_at = user.email_verified_at or utcnow()
    user.last_login_at = utcnow()
    db.commit()
    ratelimit.reset(ratelimit.login_limits(_settings())[0], user.email)
    _sign_in(user)
    flash("Your password was changed; you were signed out everywhere else.")
    return redirect(url_for("auth.organizations"))


# --- invitations ---------------------------------------------------------------------------------


def _invitation_page(
    invitation: Invitation, tenant: Tenant, errors: dict[str, str] | None = None, has_account: bool = False
) -> str:
    values = request.form if request.method == "POST" else {}
    return render_template(
        "admin/auth/invitation.html",
        invitation=invitation,
        tenant=tenant,
        has_account=has_account,
        values=values,
        errors=errors or {},
    )


def _invitation_invalid(message: str) -> tuple[str, int]:
    page = render_template(
        "admin/auth/link_invalid.html",
        heading="This invitation cannot be used",
        message=message,
        again_url=None,
        again_label="",
    )
    return page, 400


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    """Join an organization from a mailed link: signed in as the invited address, or as a new account.

    Someone with an account who is not signed in is sent to sign in first; the link brings them
    back here. Joining is a POST (the page's button), never a side effect of opening the link.
    """
    try:
        invitation = team.invitation_from_token(db, token)
    except DomainError as error:
        return _invitation_invalid(error.message)
    tenant = db.get(Tenant, invitation.tenant_id)
    if tenant is None or not tenant.is_active:
        return _invitation_invalid("The organization of this invitation no longer exists.")
    signed_in = current_user.is_authenticated
    has_account = bool(db.scalar(select(select(User.id).where(User.email == invitation.email).exists())))
    if not signed_in and has_account:
        flash(f"Sign in as {invitation.email} to accept the invitation to {tenant.name}.")
        return redirect(url_for("auth.login", next=request.path))
    if request.method == "GET" or (signed_in and current_user.email != invitation.email):
        return _invitation_page(invitation, tenant, has_account=has_account)
    user_id = current_user.id if signed_in else None
    invitation_id, tenant_slug, tenant_name = invitation.id, tenant.slug, tenant.name
    try:
        if not signed_in and text("password") != text("confirm_password"):
            raise ValidationError("The two passwords are not the same.", field="confirm_password")
        # The membership and its audit event are the organization's rows.
        rebind_request_session(invitation.tenant_id)
        # Read again through the new session: the one the link was read with is closed, and the
        # invitation may have gone in between.
        reloaded = db.get(Invitation, invitation_id)
        if reloaded is None:
            raise NotFound("This invitation is no longer valid. Ask the organization for a new one.")
        invitation = reloaded
        membership = team.accept_invitation(
            db,
            invitation,
            actor=Actor(label=invitation.email, ip_address=request.remote_addr),
            user=db.get(User, user_id) if user_id else None,
            name=text("name"),
            password=text("password"),
        )
    except PermissionDenied:
        db.rollback()
        raise
    except NotFound as error:
        db.rollback()
        return _invitation_invalid(error.message)
    except DomainError as error:
        db.rollback()
        return _invitation_page(invitation, tenant, errors_of(error), has_account=has_account)
    user = membership.user
    db.commit()
    if not signed_in:
        _sign_in(user)
    flash(f"Welcome to {tenant_name}: you joined as {membership.role.value}.")
    return redirect(url_for("tenant.dashboard.index", tenant_slug=tenant_slug))
