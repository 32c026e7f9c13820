"""Forgotten passwords (a link that works once, for an hour) and the account page: both end other sessions."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from admin_ui import auth
from status_platform.db.session import platform_session
from status_platform.identity.models import User
from tests.conftest import PLATFORM_HOST, PlatformHostClient, csrf_token, fingerprint, log_in

NEW_PASSWORD = "a brand new password"
SENT = "If an account exists for that address, we sent a link"


def _post(client, url: str, data: dict[str, str]):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _ask_for_link(client, email: str):
    return _post(client, "/password/forgot", {"email": email})


def _link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(rf"http://{re.escape(PLATFORM_HOST)}(/password/reset/\S+)", body)
    assert match, body
    return match.group(1)


def _new_client(admin_app):
    return PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)


def test_the_answer_is_the_same_whether_an_account_exists_or_not(admin_client, org_a, org_b, mail, run_jobs):
    known = _ask_for_link(admin_client, org_a.owner_email)
    unknown = _ask_for_link(admin_client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    assert SENT in known.get_data(as_text=True) and SENT in unknown.get_data(as_text=True)
    run_jobs()
    assert [m["To"] for m in mail.messages] == [org_a.owner_email]
    assert mail.messages[0]["Subject"] == "Reset your Status Platform password"
    assert "/password/reset/" in mail.messages[0].get_body(("html",)).get_content()


def test_a_reset_link_works_once(admin_client, admin_app, org_a, org_b, mail, run_jobs):
    _ask_for_link(admin_client, org_a.owner_email)
    run_jobs()
    link = _link(mail.messages[0])
    browser = _new_client(admin_app)
    form = browser.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    response = _post(browser, link, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/orgs")
    assert browser.get(f"/t/{org_a.slug}/team/").status_code == 200
    again = browser.get(link)
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "already used" in page and 'href="/password/forgot"' in page
    assert log_in(_new_client(admin_app), org_a.owner_email, NEW_PASSWORD).status_code == 302
    assert log_in(_new_client(admin_app), org_a.owner_email, org_a.owner_password).status_code == 200
    # The other organization's owner is untouched.
    assert log_in(_new_client(admin_app), org_b.owner_email, org_b.owner_password).status_code == 302


def test_a_used_link_cannot_set_a_password_either(admin_client, admin_app, org_a, mail, run_jobs):
    _ask_for_link(admin_client, org_a.owner_email)
    run_jobs()
    link = _link(mail.messages[0])
    _post(_new_client(admin_app), link, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    before = fingerprint(org_a.tenant_id)
    response = _post(
        _new_client(admin_app), link, {"password": "yet another one", "confirm_password": "yet another one"}
    )
    assert response.status_code == 400
    assert fingerprint(org_a.tenant_id) == before


def test_an_expired_reset_link_is_refused(admin_client, admin_app, org_a, mail, run_jobs, monkeypatch):
    with monkeypatch.context() as signing_clock:
        # Signed an hour and a minute ago.
        signing_clock.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3660)
        _ask_for_link(admin_client, org_a.owner_email)
    run_jobs()
    response = _new_client(admin_app).get(_link(mail.messages[0]))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "expired" in page and "Ask for a new link" in page


def test_a_forged_reset_link_is_refused(admin_client, org_a):
    for token in ("not-a-token", "eyJ1c2VyIjoiYWJjIn0.Zz.forged"):
        response = admin_client.get(f"/password/reset/{token}")
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)


def test_resetting_the_password_ends_every_other_session(
    staff_client, admin_client, admin_app, org_a, mail, run_jobs
):
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 200
    browser = _new_client(admin_app)
    _ask_for_link(browser, org_a.owner_email)
    run_jobs()
    _post(browser, _link(mail.messages[0]), {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 302
    assert browser.get(f"/t/{org_a.slug}/team/").status_code == 200


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("short", "short", "password", "at least 8"),
        (NEW_PASSWORD, "something else", "confirm_password", "not the same"),
    ],
)
def test_a_bad_new_password_is_marked_and_changes_nothing(
    admin_client, admin_app, org_a, mail, run_jobs, password, confirm, field, message
):
    _ask_for_link(admin_client, org_a.owner_email)
    run_jobs()
    link = _link(mail.messages[0])
    before = fingerprint(org_a.tenant_id)
    response = _post(_new_client(admin_app), link, {"password": password, "confirm_password": confirm})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="field invalid"' in page and message in page
    assert f'aria-describedby="{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before
    assert _new_client(admin_app).get(link).status_code == 200  # the link still works


def test_reset_requests_are_limited_per_address(admin_client, org_a, mail, run_jobs):
    for _ in range(3):
        assert _ask_for_link(admin_client, org_a.owner_email).status_code == 200
    response = _ask_for_link(admin_client, org_a.owner_email)
    assert response.status_code == 429
    assert "Too many reset requests. Try again in 60 minutes." in response.get_data(as_text=True)
    run_jobs()
    assert len(mail.messages) == 3


def test_reset_requests_are_limited_per_network(admin_client, org_a, org_b, mail, run_jobs):
    for number in range(10):
        _ask_for_link(admin_client, f"person{number}@example.test")
    assert _ask_for_link(admin_client, org_b.owner_email).status_code == 429
    run_jobs()
    assert mail.messages == []


def test_a_malformed_address_is_marked(admin_client, org_a):
    response = _ask_for_link(admin_client, "not an address")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="field invalid"' in page and "is not valid" in page


def test_reset_tokens_of_one_user_do_not_open_another_account(
    admin_client, admin_app, org_a, org_b, mail, run_jobs
):
    _ask_for_link(admin_client, org_b.owner_email)
    run_jobs()
    browser = _new_client(admin_app)
    _post(browser, _link(mail.messages[0]), {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert browser.get(f"/t/{org_b.slug}/team/").status_code == 200
    assert browser.get(f"/t/{org_a.slug}/team/").status_code == 404
    with platform_session() as s:
        owner_a = s.scalars(select(User).where(User.email == org_a.owner_email)).one()
    assert owner_a.session_version == 1


# --- the account page: name and password -----------------------------------------------------------


def test_changing_the_password_on_the_account_page_ends_every_other_session(
    staff_client, admin_app, org_a, org_b
):
    other_device = _new_client(admin_app)
    log_in(other_device, org_a.owner_email, org_a.owner_password)
    response = _post(
        staff_client,
        "/account",
        {
            "form": "password",
            "current_password": org_a.owner_password,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    page = staff_client.get("/account").get_data(as_text=True)
    assert "Password changed; you were signed out everywhere else." in page
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 200
    assert other_device.get(f"/t/{org_a.slug}/team/").status_code == 302
    assert log_in(_new_client(admin_app), org_a.owner_email, NEW_PASSWORD).status_code == 302
    assert log_in(_new_client(admin_app), org_b.owner_email, org_b.owner_password).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "current_password", "not your current password"),
        (None, "short", "short", "new_password", "at least 8"),
        (None, NEW_PASSWORD, "something else", "confirm_password", "not the same"),
    ],
)
def test_a_refused_password_change_is_marked_and_changes_nothing(
    staff_client, org_a, current, new, confirm, field, message
):
    before = fingerprint(org_a.tenant_id)
    response = _post(
        staff_client,
        "/account",
        {
            "form": "password",
            "current_password": current or org_a.owner_password,
            "new_password": new,
            "confirm_password": confirm,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'class="field invalid"' in page and f'aria-describedby="{field}-error"' in page
    assert fingerprint(org_a.tenant_id) == before
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 200


def test_wrong_current_passwords_count_towards_the_accounts_limit(staff_client, org_a):
    for _ in range(5):
        _post(
            staff_client, "/account", {"form": "password", "current_password": "guess", "new_password": "x"}
        )
    response = _post(
        staff_client,
        "/account",
        {
            "form": "password",
            "current_password": org_a.owner_password,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


def test_a_current_password_is_counted_before_it_is_checked(
    staff_client, org_a, redis_client, settings, monkeypatch
):
    seen: list[int] = []
    verify = auth.verify_password

    def spying(password_hash: str, password: str) -> bool:
        [key] = redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:login-account:*")
        seen.append(int(redis_client.get(key)))
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", spying)
    for _ in range(2):
        _post(
            staff_client, "/account", {"form": "password", "current_password": "guess", "new_password": "x"}
        )
    assert seen == [1, 2]
    response = _post(
        staff_client,
        "/account",
        {
            "form": "password",
            "current_password": org_a.owner_password,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302 and seen == [1, 2, 3]
    # The right password started the account's count afresh.
    assert redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:login-account:*") == []


def test_the_account_page_changes_the_name(staff_client, org_a):
    response = _post(staff_client, "/account", {"form": "profile", "name": "Wile E. Coyote"})
    assert response.status_code == 302
    with platform_session() as s:
        assert s.scalars(select(User.name).where(User.email == org_a.owner_email)).one() == "Wile E. Coyote"
    assert staff_client.get(f"/t/{org_a.slug}/team/").status_code == 200


def test_the_account_page_needs_a_signed_in_user(admin_client):
    response = admin_client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
