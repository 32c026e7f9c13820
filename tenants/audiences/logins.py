"""Viewers' own sign-in: emailed links (signed, expiring, single use), passwords, and the
per-viewer secrets of the feed URL and the API token.

A link carries the viewer, its page and a fingerprint of the viewer's sign-in state (session
version, last sign-in and password). Signing in changes the last sign-in, so every link sent
before stops working: a link works once, and a newer sign-in by any means retires older links.
An invitation lives a week, a requested sign-in link fifteen minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.config import active_settings
from status_platform.identity.actor import Actor
from status_platform.identity.passwords import check_password_rules, hash_password
from status_platform.mail.outgoing import send_after_commit
from status_platform.timeutil import utcnow
from tenants.audiences.models import Viewer
from tenants.audit.services import record_event
from tenants.pages.models import Page

INVITATION_SECONDS = 7 * 24 * 3600
LINK_SECONDS = 15 * 60
_SALT = "viewer-sign-in-link"


class LinkInvalid(LookupError):
    """The link is malformed, expired, already used, or its viewer can no longer sign in."""


@dataclass(frozen=True)
class LinkedViewer:
    viewer: Viewer
    is_invitation: bool
    # The sign-in state the link was checked against (what `use_up` compares and sets).
    seen_version: int
    seen_login_at: datetime | None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(active_settings().SECRET_KEY, salt=_SALT)


def _fingerprint(viewer: Viewer) -> str:
    state = f"{viewer.id}:{viewer.session_version}:{viewer.last_login_at}:{viewer.password_hash or ''}"
    return hashlib.blake2b(state.encode(), digest_size=12).hexdigest()


def login_token(viewer: Viewer, *, invitation: bool = False) -> str:
    """A token for the link that signs `viewer` in (valid until it is used or expires)."""
    return _serializer().dumps(
        {"v": viewer.id, "p": viewer.page_id, "f": _fingerprint(viewer), "i": 1 if invitation else 0}
    )


def viewer_of_token(session: Session, page_id: str, token: str) -> LinkedViewer:
    """The active viewer of `page_id` that `token` signs in, or LinkInvalid."""
    try:
        data, signed_at = _serializer().loads(token, max_age=INVITATION_SECONDS, return_timestamp=True)
    except SignatureExpired as exc:
        raise LinkInvalid("This sign-in link has expired.") from exc
    except BadSignature as exc:
        raise LinkInvalid("This sign-in link is not valid.") from exc
    if not isinstance(data, dict) or data.get("p") != page_id:
        raise LinkInvalid("This sign-in link is not valid.")
    is_invitation = data.get("i") == 1
    if not is_invitation and (datetime.now(UTC) - signed_at).total_seconds() > LINK_SECONDS:
        raise LinkInvalid("This sign-in link has expired.")
    viewer = session.scalar(select(Viewer).where(Viewer.id == str(data.get("v")), Viewer.page_id == page_id))
    if viewer is None or not viewer.is_active:
        raise LinkInvalid("This sign-in link is not valid.")
    if data.get("f") != _fingerprint(viewer):
        raise LinkInvalid("This sign-in link has been used already.")
    return LinkedViewer(viewer, is_invitation, viewer.session_version, viewer.last_login_at)


def note_sign_in(viewer: Viewer) -> None:
    """Record a sign-in; every sign-in link sent before it stops working."""
    viewer.last_login_at = utcnow()


def use_up(session: Session, linked: LinkedViewer) -> bool:
    """Spend the link, once: of two requests racing with one link, only one gets True.

    A compare-and-set of the sign-in state the link was checked against, so a second request
    that read the same state finds it changed.
    """
    viewer = linked.viewer
    spent = session.execute(
        sa.update(Viewer)
        .where(
            Viewer.id == viewer.id,
            Viewer.session_version == linked.seen_version,
            Viewer.last_login_at.is_not_distinct_from(linked.seen_login_at),
        )
        .values(last_login_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(viewer)
    return spent.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def set_password(session: Session, viewer: Viewer, password: str, *, actor: Actor) -> None:
    """Give `viewer` a new password; its other sessions end (the session version moves)."""
    check_password_rules(password, field="new_password")
    viewer.password_hash = hash_password(password)
    viewer.session_version += 1
    record_event(
        session,
        actor,
        "viewer.password_set",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"{viewer.email} set a password",
    )
    session.flush()


def send_login_link(session: Session, viewer: Viewer, *, page_url: str, invitation: bool = False) -> None:
    """Email `viewer` a link that signs it in to its page (sent after `session` commits)."""
    page = session.get(Page, viewer.page_id)
    name = page.name if page is not None else "the status page"
    link = f"{page_url.rstrip('/')}/login/link/{login_token(viewer, invitation=invitation)}"
    if invitation:
        subject = f"You are invited to the {name} status page"
        lead = f"You have been given access to the {name} status page."
        lifetime = "The link works once, for 7 days."
    else:
        subject = f"Sign in to the {name} status page"
        lead = f"Someone (we hope you) asked to sign in to the {name} status page."
        lifetime = "The link works once, for 15 minutes. If you did not ask, ignore this message."
    text = f"{lead}\n\nSign in:\n{link}\n\n{lifetime}\n"
    html = (
        f'<p>{escape(lead)}</p><p><a href="{escape(link)}">Sign in to {escape(name)}</a></p>'
        f"<p>{escape(lifetime)}</p>"
    )
    send_after_commit(session, to=viewer.email, subject=subject, text=text, html=html)


# --- per-viewer secrets: the feed URL and the API token -------------------------------------------

_SECRET_COLUMNS = {"feed": "feed_token_hash", "api": "api_token_hash"}
_SECRET_PREFIXES = {"feed": "spf_", "api": "spv_"}
_SECRET_NAMES = {"feed": "feed address", "api": "API token"}


def _secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_secret(session: Session, viewer: Viewer, kind: str, *, actor: Actor) -> str:
    """A new feed token or API token for `viewer` ("feed" or "api"); the one before stops working.

    Only its SHA-256 is kept (the token is long and random), so it is shown once.
    """
    token = _SECRET_PREFIXES[kind] + secrets.token_urlsafe(32)
    setattr(viewer, _SECRET_COLUMNS[kind], _secret_hash(token))
    record_event(
        session,
        actor,
        f"viewer.{kind}_token_issued",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"A new {_SECRET_NAMES[kind]} for {viewer.email}",
    )
    session.flush()
    return token


def revoke_secrets(session: Session, viewer: Viewer, *, actor: Actor) -> None:
    """The viewer's feed URL and API token stop working."""
    viewer.feed_token_hash = None
    viewer.api_token_hash = None
    record_event(
        session,
        actor,
        "viewer.tokens_revoked",
        object_type="viewer",
        object_id=viewer.id,
        page_id=viewer.page_id,
        summary=f"Revoked the feed address and API token of {viewer.email}",
    )
    session.flush()


def viewer_of_secret(session: Session, page_id: str, kind: str, token: str) -> Viewer | None:
    """The active viewer of `page_id` whose feed token or API token is `token`, if any."""
    if not token.startswith(_SECRET_PREFIXES[kind]) or len(token) > 100:
        return None
    column = getattr(Viewer, _SECRET_COLUMNS[kind])
    viewer = session.scalar(select(Viewer).where(column == _secret_hash(token), Viewer.page_id == page_id))
    return viewer if viewer is not None and viewer.is_active else None
