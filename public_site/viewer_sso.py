"""Single sign-on for viewers (OpenID Connect), on the page's own host with the page's own provider.

Staff of a private or audience-specific page set its provider (`viewer_oidc_*`). A viewer who
signs on is found by its login at the provider (`external_login` = the token's `sub`) or by
email, or created just in time; what it sees comes from the provider each sign-on:

- with an audience claim configured, the claim (a string or a list of strings) names the
  viewer's audiences by their external identifier, or by name for an audience without one; the
  provider is then the authority on all of the viewer's audiences;
- without one, the email's domain joins the audiences whose email domain it is; audiences
  without an email domain keep the viewers staff gave them.

The email must be one the provider says is verified (`email_verified` true). A viewer found
by email that is linked to another login at the provider is refused. A viewer created just
in time must be given at least one active audience: a provider that lets anyone sign in (a
public one) does not open the page to everyone (`tenants.audiences.services.sign_on_viewer`).
Every refusal shows a 400 page with the reason and "Try again", and signs nobody in; a
session signed in before stays.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

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

from public_site.documents import page_url
from public_site.viewers import current_page, safe_next, sign_in
from status_platform.config import Settings
from status_platform.db.session import db
from status_platform.errors import Conflict, DomainError, PermissionDenied
from status_platform.identity import oidc
from status_platform.identity.actor import Actor
from status_platform.identity.oidc import OidcError, OidcProvider, SignOn
from tenants.audiences import queries
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.services import sign_on_viewer
from tenants.pages.models import Page, PageVisibility

bp = Blueprint("viewer_sso", __name__)

NO_STORE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}


def _settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def provider_of(page: Page) -> OidcProvider | None:
    """The page's identity provider for viewers, when its single sign-on is on and can work."""
    if page.visibility is PageVisibility.PUBLIC or not page.viewer_oidc_is_enabled:
        return None
    if not (page.viewer_oidc_issuer and page.viewer_oidc_client_id and page.viewer_oidc_client_secret):
        return None
    return OidcProvider(page.viewer_oidc_issuer, page.viewer_oidc_client_id, page.viewer_oidc_client_secret)


@bp.before_request
def _only_when_enabled() -> None:
    page = current_page()
    provider = provider_of(page)
    if provider is None:
        abort(404)
    g.sso_page, g.sso_provider = page, provider


def _refused(message: str, next_path: str) -> tuple[str, int, dict[str, str]]:
    # The refused login is gone from the session already (`oidc.complete` consumed its entry);
    # whoever was signed in stays signed in: a link to the callback must not sign people out.
    body = render_template(
        "public/viewer_sso_refused.html",
        message=message,
        page_name=g.sso_page.name,
        again_url=url_for(".start", next=next_path),
        login_url=url_for("viewers.login", next=next_path),
    )
    return body, 400, NO_STORE


@bp.get("/login/sso")
def start() -> Response | tuple[str, int, dict[str, str]]:
    """Send the browser to the page's identity provider; it comes back to `callback`."""
    next_path = safe_next(request.args.get("next"))
    own = page_url()
    if urlsplit(own).netloc.lower() != request.host.lower():
        # The provider knows one redirect URI, on the page's own address: start there.
        return redirect(own + request.full_path.rstrip("?"))  # type: ignore[return-value]
    try:
        target = oidc.begin(
            session,
            provider=g.sso_provider,
            redirect_uri=own + url_for(".callback"),
            settings=_settings(),
            context={"page": g.sso_page.id, "next": next_path},
        )
    except OidcError as error:
        return _refused(error.message, next_path)
    response = redirect(target)
    response.headers.update(NO_STORE)
    return response  # type: ignore[return-value]


@bp.get("/login/sso/callback")
def callback() -> Response | tuple[str, int, dict[str, str]]:
    """Where the provider sends the viewer back: check everything, then sign in."""
    page, provider = g.sso_page, g.sso_provider
    try:
        signed_on = oidc.complete(
            session,
            request.args,
            settings=_settings(),
            provider=lambda context: provider if context.get("page") == page.id else None,
        )
        next_path = safe_next(signed_on.context.get("next"))
        viewer = _viewer_of(page, signed_on)
    except OidcError as error:
        db.rollback()
        return _refused(error.message, safe_next(error.context.get("next")))
    sign_in(viewer, method="sso")
    db.commit()
    response = redirect(next_path)
    response.headers.update(NO_STORE)
    return response  # type: ignore[return-value]


# --- who the sign-on is ------------------------------------------------------------------------


def _refuse(message: str, reason: str) -> OidcError:
    return oidc.refuse(message, reason, g.sso_provider.issuer)


def _matches(audience: Audience, names: Collection[str]) -> bool:
    key = audience.external_identifier or audience.name
    return key.casefold() in names


def claimed_names(claims: dict[str, Any], claim: str) -> set[str]:
    """The audience names a claim carries (a string or a list of strings), casefolded."""
    value = claims.get(claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return {item.strip().casefold() for item in values if isinstance(item, str) and item.strip()}


def audiences_given(
    page: Page, audiences: Sequence[Audience], signed_on: SignOn
) -> tuple[set[str], set[str]]:
    """(the audience ids single sign-on manages on this page, those of them this sign-on gives)."""
    if page.viewer_oidc_audience_claim:
        names = claimed_names(signed_on.claims, page.viewer_oidc_audience_claim)
        return {a.id for a in audiences}, {a.id for a in audiences if _matches(a, names)}
    domain = (signed_on.email or "").rpartition("@")[2]
    managed = [a for a in audiences if a.email_domain]
    return {a.id for a in managed}, {a.id for a in managed if a.email_domain == domain}


def _viewer_of(page: Page, signed_on: SignOn) -> Viewer:
    """The page's viewer this sign-on is (created or linked, audiences in step); raises OidcError."""
    email = signed_on.verified_email("this page")
    audiences = list(db.scalars(queries.audiences_of(page.id)))
    managed, given = audiences_given(page, audiences, signed_on)
    actor = Actor(label=f"single sign-on ({email})", ip_address=request.remote_addr, is_system=True)
    try:
        return sign_on_viewer(
            db,
            page,
            actor=actor,
            sub=signed_on.subject,
            email=email,
            managed_audience_ids=managed,
            audience_ids=given,
        )
    except (Conflict, PermissionDenied) as error:
        raise _refuse(error.message, f"viewer refused: {error.message}") from None
    except DomainError as error:
        message = f"Your account could not be set up on this page: {error.message}"
        raise _refuse(message, f"viewer refused: {error.message}") from None
