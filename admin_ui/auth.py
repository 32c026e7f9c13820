"""Signing in and out, and choosing an organization."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from status_platform.db.session import db
from status_platform.identity.models import User
from status_platform.identity.passwords import verify_password
from status_platform.tenancy.models import Membership, Tenant
from status_platform.timeutil import utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.get("/")
def home() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("auth.organizations"))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = db.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is not None and verify_password(user.password_hash, form.password.data or ""):
            session.clear()  # a fresh session on sign-in: nothing from before carries over
            user.last_login_at = utcnow()
            db.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.organizations"))
        form.password.errors = ["The email address or password is not right."]
    # A refused form is shown again, fields marked (a browser logs any 4xx page as an error).
    return render_template("admin/login.html", form=form)


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect after sign-in is a phishing tool.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


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
    rows = db.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == current_user.id, Tenant.is_active.is_(True))
        .order_by(Tenant.name)
    ).all()
    if len(rows) == 1:
        return redirect(url_for("tenant.dashboard.index", tenant_slug=rows[0][0].slug))
    return render_template("admin/organizations.html", rows=rows)
