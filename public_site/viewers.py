"""Viewers of private and audience-specific pages: signing in on the page's own host, and who is reading.

A viewer's session lives in the page host's own cookie (never the staff cookie of the platform
host) and names the viewer, its page, the host and the viewer's session version. It is checked
on every request: a deactivated viewer, a bumped session version, another page or another host
all end it at once. Scripts read /api/v2 with a per-viewer API token, feed readers use a
per-viewer secret feed URL; both are stored hashed.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from public_site.origin import is_same_origin
from status_platform import ratelimit
from status_platform.cache import versioned_document
from status_platform.config import Settings
from status_platform.db.session import db
from status_platform.errors import ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.passwords import hash_password, verify_password
from status_platform.ratelimit import Limit
from status_platform.validation import safe_path
from tenants.audiences import logins
from tenants.audiences.models import Audience, AudienceViewer, Viewer
from tenants.audiences.visibility import PUBLIC, Sight, sight_of_viewer
from tenants.pages.models import Page, PageVisibility
from tenants.pages.snapshot import page_version

bp = Blueprint("viewers", __name__)

SESSION_KEY = "viewer"
LINK_LIMIT = Limit("viewer-link-address", 5, 3600)
# Sent with everything made for one reader: no shared cache keeps it, no search engine lists it.
PERSONAL_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}
_dummy_hash: list[str] = []


class SignInRequired(HTTPException):
    """The page is private and nobody is signed in."""

    code = 401
    description = "This status page is private: sign in to see it."


def _settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def current_page() -> Page:
    """The Page row of this request's host (read once per request)."""
    if "viewer_page" not in g:
        page = db.get(Page, g.page_address.page_id)
        if page is None:
            abort(404)
        g.viewer_page = page
    return g.viewer_page  # type: ignore[no-any-return]


def _visibility() -> PageVisibility:
    """The page's visibility, from a small cached document (read on every request, so that a
    public page asks nothing more of the database, and keeps serving while it is down)."""
    if "page_visibility" not in g:
        page_id = g.page_address.page_id

        def build() -> dict[str, Any] | None:
            visibility = db.scalar(select(Page.visibility).where(Page.id == page_id))
            return None if visibility is None else {"visibility": visibility.value}

        document = versioned_document(
            ("access", page_id),
            version_of=("page", page_id),
            current_version=lambda: page_version(db, page_id),
            build=build,
            max_age=300,
        )
        if document is None:
            abort(404)
        g.page_visibility = PageVisibility(document["visibility"])
    return g.page_visibility  # type: ignore[no-any-return]


def page_is_restricted() -> bool:
    """Whether the page shows anything beyond its public components to anyone (private or per audience)."""
    return _visibility() is not PageVisibility.PUBLIC


def page_is_private() -> bool:
    return _visibility() is PageVisibility.PRIVATE


def _host() -> str:
    return request.host.lower()


def _from_session() -> Viewer | None:
    bound = session.get(SESSION_KEY)
    if not isinstance(bound, dict):
        return None
    viewer = None
    if bound.get("page") == g.page_address.page_id and bound.get("host") == _host():
        viewer = db.scalar(
            select(Viewer).where(Viewer.id == str(bound.get("id")), Viewer.page_id == g.page_address.page_id)
        )
    if viewer is None or not viewer.is_active or viewer.session_version != bound.get("version"):
        session.pop(SESSION_KEY, None)  # ended: deactivated, signed out everywhere, or another page
        return None
    return viewer


def _from_api_token() -> Viewer | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    viewer = logins.viewer_of_secret(db, g.page_address.page_id, "api", token.strip())
    if viewer is None:
        raise InvalidToken()
    return viewer


class InvalidToken(HTTPException):
    code = 401
    description = "The API token is not valid for this page."


def current_viewer() -> Viewer | None:
    """The viewer reading this request (by session, or by API token on /api/v2), if any.

    Only private and audience-specific pages have viewers; on a public page nobody is signed in.
    """
    if "viewer" not in g:
        viewer = None
        if page_is_restricted():
            if request.path.startswith("/api/v2/") and request.headers.get("Authorization"):
                viewer = _from_api_token()
            else:
                viewer = _from_session()
        g.viewer = viewer
    return g.viewer  # type: ignore[no-any-return]


def use_feed_token(token: str) -> Viewer:
    """Read this request as the viewer whose secret feed URL carries `token` (401 if none)."""
    viewer = (
        logins.viewer_of_secret(db, g.page_address.page_id, "feed", token) if page_is_restricted() else None
    )
    if viewer is None:
        raise InvalidFeedToken()
    g.viewer = viewer
    g.pop("sight", None)
    return viewer


class InvalidFeedToken(HTTPException):
    code = 404
    description = "There is no feed at this address."


def current_sight() -> Sight:
    """What the reader of this request may see: its audiences when signed in, else the public's."""
    if "sight" not in g:
        viewer = current_viewer()
        g.sight = sight_of_viewer(db, viewer.id) if viewer is not None else PUBLIC
    return g.sight  # type: ignore[no-any-return]


def is_personal() -> bool:
    """Whether this response is for one reader (a viewer), so no shared cache may keep it."""
    return current_viewer() is not None or page_is_private()


def require_viewer_if_private() -> None:
    if page_is_private() and current_viewer() is None:
        raise SignInRequired()


def sign_in(viewer: Viewer, *, method: str) -> None:
    """A fresh session for `viewer`, bound to this page and host; the calling view commits.

    Nothing of the session before (another viewer, a planted value) carries over, and every
    sign-in link sent before stops working.
    """
    session.clear()
    session[SESSION_KEY] = {
        "id": viewer.id,
        "page": viewer.page_id,
        "host": _host(),
        "version": viewer.session_version,
        "method": method,
    }
    session.permanent = True
    logins.note_sign_in(viewer)
    g.viewer = viewer
    g.pop("sight", None)


def sign_out() -> None:
    session.pop(SESSION_KEY, None)
    g.viewer = None
    g.pop("sight", None)


def safe_next(target: str | None) -> str:
    """A path of this host to go to after signing in; anything else goes to the status page."""
    return safe_path(target) or url_for("public.index")


@bp.app_context_processor
def _viewer_context() -> dict[str, Any]:
    return {"viewer_nav": _viewer_nav}


def _viewer_nav() -> dict[str, str | None] | None:
    """For the page header: who is signed in, or None on a page without viewers."""
    if "page_address" not in g or not page_is_restricted():
        return None
    viewer = current_viewer()
    return {"email": viewer.email if viewer is not None else None}


# --- pages ----------------------------------------------------------------------------------------


def _page_context() -> dict[str, Any]:
    page = current_page()
    return {
        "page_name": page.name,
        "sso_enabled": bool(page.viewer_oidc_is_enabled and page.viewer_oidc_issuer),
        "private": _visibility() is PageVisibility.PRIVATE,
        "next_path": safe_next(request.values.get("next")),
    }


def _login_page(
    status: int = 200, *, errors: dict[str, str] | None = None, email: str = "", notice: str = ""
) -> tuple[str, int, dict[str, str]]:
    return (
        render_template(
            "public/login.html", errors=errors or {}, email=email, notice=notice, **_page_context()
        ),
        status,
        dict(PERSONAL_HEADERS),
    )


def _unknown_hash() -> str:
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


def _actor(viewer: Viewer) -> Actor:
    return Actor(label=f"viewer {viewer.email}", ip_address=request.remote_addr)


def _same_origin_or_400() -> None:
    if not is_same_origin():
        abort(400, "This form must be sent from the status page itself.")


def _too_many(wait: int, message: str, email: str) -> tuple[str, int, dict[str, str]]:
    body, _, headers = _login_page(
        429, errors={"_form": f"{message} {ratelimit.try_again_in(wait)}"}, email=email
    )
    return body, 429, {**headers, "Retry-After": str(wait)}


@bp.before_request
def _only_restricted_pages() -> None:
    if not page_is_restricted():
        abort(404)  # a public page has no viewers to sign in


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        if current_viewer() is not None:
            return redirect(safe_next(request.args.get("next")))  # type: ignore[return-value]
        return _login_page()
    _same_origin_or_400()
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return _login_page(422, errors=errors, email=email)
    per_account, per_ip = ratelimit.login_limits(_settings(), "viewer-login")
    ip = request.remote_addr or "unknown"
    subject = f"{g.page_address.page_id}:{email}"
    account_wait = ratelimit.attempt(per_account, subject)
    ip_wait = ratelimit.attempt(per_ip, ip)
    if account_wait:
        return _too_many(account_wait, "Too many sign-in attempts for this account.", email)
    if ip_wait:
        return _too_many(ip_wait, "Too many sign-in attempts from your network.", email)
    viewer = db.scalar(select(Viewer).where(Viewer.page_id == g.page_address.page_id, Viewer.email == email))
    known = viewer is not None and viewer.is_active and viewer.password_hash
    # The same work whether or not the account exists, so timing tells nothing either.
    matches = verify_password(viewer.password_hash if known else _unknown_hash(), password)  # type: ignore[union-attr]
    if viewer is None or not known or not matches:
        return _login_page(
            422, errors={"password": "The email address or password is not right."}, email=email
        )
    ratelimit.reset(per_account, subject)
    ratelimit.forgive(per_ip, ip)
    sign_in(viewer, method="password")
    db.commit()
    return redirect(safe_next(request.form.get("next")))  # type: ignore[return-value]


@bp.post("/login/link")
def request_link() -> tuple[str, int, dict[str, str]]:
    """Email a sign-in link; the answer is the same whether or not the address has an account."""
    _same_origin_or_400()
    email = (request.form.get("email") or "").strip().lower()
    if "@" not in email:
        return _login_page(
            422, errors={"link_email": "Enter the email address you were invited with."}, email=email
        )
    wait_address = ratelimit.attempt(LINK_LIMIT, f"{g.page_address.page_id}:{email}")
    _, per_ip = ratelimit.login_limits(_settings(), "viewer-login")
    wait_ip = ratelimit.attempt(per_ip, request.remote_addr or "unknown")
    if wait_address or wait_ip:
        wait = max(wait_address, wait_ip)
        return _too_many(wait, "Too many sign-in links asked for.", email)
    viewer = db.scalar(select(Viewer).where(Viewer.page_id == g.page_address.page_id, Viewer.email == email))
    if viewer is not None and viewer.is_active:
        from public_site.documents import page_url

        logins.send_login_link(db, viewer, page_url=page_url())
        db.commit()
    return _login_page(
        notice=f"If {email} may read this page, a sign-in link is on its way. It works once, for 15 minutes.",
        email=email,
    )


@bp.route("/login/link/<token>", methods=["GET", "POST"])
def follow_link(token: str) -> Response | tuple[str, int, dict[str, str]]:
    """A GET (what a mail scanner sends) only shows a button; the POST signs in and uses the link up."""
    headers = {
        "Cache-Control": "private, no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
    }
    try:
        linked = logins.viewer_of_token(db, g.page_address.page_id, token)
    except logins.LinkInvalid as exc:
        return (
            render_template("public/login_link.html", error=str(exc), **_page_context()),
            400,
            headers,
        )
    if request.method == "GET":
        return (
            render_template(
                "public/login_link.html", error=None, email=linked.viewer.email, **_page_context()
            ),
            200,
            headers,
        )
    _same_origin_or_400()
    if not logins.use_up(db, linked):
        db.rollback()
        return (
            render_template(
                "public/login_link.html", error="This sign-in link has been used already.", **_page_context()
            ),
            400,
            headers,
        )
    sign_in(linked.viewer, method="link")
    db.commit()
    target = url_for("viewers.account") if linked.is_invitation else url_for("public.index")
    return redirect(target)  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    _same_origin_or_400()
    sign_out()
    return redirect(url_for("public.index"))  # type: ignore[return-value]


def _account_page(
    viewer: Viewer,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    notice: str = "",
    feed_url: str | None = None,
    api_token: str | None = None,
) -> tuple[str, int, dict[str, str]]:
    from public_site.documents import page_url

    audiences = list(
        db.scalars(
            select(Audience.name)
            .join(AudienceViewer, AudienceViewer.audience_id == Audience.id)
            .where(AudienceViewer.viewer_id == viewer.id, Audience.is_active.is_(True))
            .order_by(Audience.name)
        )
    )
    return (
        render_template(
            "public/account.html",
            viewer=viewer,
            audiences=audiences,
            errors=errors or {},
            notice=notice,
            feed_url=feed_url,
            api_token=api_token,
            page_url=page_url(),
            **_page_context(),
        ),
        status,
        dict(PERSONAL_HEADERS),
    )


def _signed_in() -> Viewer:
    viewer = current_viewer()
    if viewer is None or request.headers.get("Authorization"):
        raise SignInRequired()
    return viewer


@bp.get("/account")
def account() -> tuple[str, int, dict[str, str]]:
    return _account_page(_signed_in())


@bp.post("/account/password")
def set_password() -> Response | tuple[str, int, dict[str, str]]:
    _same_origin_or_400()
    viewer = _signed_in()
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    if viewer.password_hash:
        per_account, _ = ratelimit.login_limits(_settings(), "viewer-login")
        subject = f"{viewer.page_id}:{viewer.email}"
        wait = ratelimit.attempt(per_account, subject)
        if wait:
            message = f"Too many attempts for this account. {ratelimit.try_again_in(wait)}"
            body, _, headers = _account_page(viewer, 429, errors={"current_password": message})
            return body, 429, {**headers, "Retry-After": str(wait)}
        if not verify_password(viewer.password_hash, current):
            return _account_page(
                viewer, 422, errors={"current_password": "Your current password is not right."}
            )
        ratelimit.reset(per_account, subject)
    try:
        logins.set_password(db, viewer, new, actor=_actor(viewer))
    except ValidationError as error:
        db.rollback()
        return _account_page(viewer, 422, errors={error.field or "new_password": error.message})
    sign_in(viewer, method="password")  # this session carries on under the new version
    db.commit()
    return _account_page(viewer, notice="Your password is saved. Other sessions have been signed out.")


def _new_secret(kind: str) -> tuple[str, int, dict[str, str]]:
    """A new feed address or API token for the signed-in viewer, shown this once."""
    _same_origin_or_400()
    viewer = _signed_in()
    token = logins.issue_secret(db, viewer, kind, actor=_actor(viewer))
    db.commit()
    if kind == "feed":
        from public_site.documents import page_url

        notice = "Your new feed address is below. Any address made before no longer works."
        return _account_page(viewer, notice=notice, feed_url=f"{page_url()}/history.atom?token={token}")
    notice = "Your new API token is below; it is shown only once. Any token made before no longer works."
    return _account_page(viewer, notice=notice, api_token=token)


@bp.post("/account/feed")
def new_feed_url() -> tuple[str, int, dict[str, str]]:
    return _new_secret("feed")


@bp.post("/account/api-token")
def new_api_token() -> tuple[str, int, dict[str, str]]:
    return _new_secret("api")


@bp.post("/account/revoke")
def revoke_secrets() -> tuple[str, int, dict[str, str]]:
    _same_origin_or_400()
    viewer = _signed_in()
    logins.revoke_secrets(db, viewer, actor=_actor(viewer))
    db.commit()
    return _account_page(viewer, notice="Your feed address and API token no longer work.")
