"""Sign-in attempt limits: failures counted per account and per address; past the limit nothing is checked."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from admin_ui import auth
from status_platform import ratelimit
from tests.conftest import csrf_token

ATTACKER = "203.0.113.5"
ELSEWHERE = "198.51.100.7"


def _log_in(client, email: str, password: str, ip: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": ip}
    token = csrf_token(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, environ_base=environ
    )


@pytest.fixture
def limits(admin_app, monkeypatch):
    """Change the app's sign-in limits for one test."""

    def change(**values: int) -> None:
        settings = dataclasses.replace(admin_app.config["SETTINGS"], **values)
        monkeypatch.setitem(admin_app.config, "SETTINGS", settings)

    return change


def test_after_too_many_failures_even_the_right_password_is_refused(admin_client, org_a):
    for _ in range(5):
        assert _log_in(admin_client, org_a.owner_email, "wrong password").status_code == 200
    response = _log_in(admin_client, org_a.owner_email, org_a.owner_password)
    page = response.get_data(as_text=True)
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert "Too many sign-in attempts for this account. Try again in 15 minutes." in page
    assert 'role="alert"' in page
    assert admin_client.get(f"/t/{org_a.slug}/").status_code == 302


def test_the_limit_of_one_account_leaves_other_accounts_alone(admin_client, org_a, org_b):
    for _ in range(5):
        _log_in(admin_client, org_a.owner_email, "wrong password")
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 429
    assert _log_in(admin_client, org_b.owner_email, org_b.owner_password).status_code == 302
    assert admin_client.get(f"/t/{org_b.slug}/team/").status_code == 200


def test_the_password_is_not_even_checked_past_the_limit(admin_client, org_a, monkeypatch):
    for _ in range(5):
        _log_in(admin_client, org_a.owner_email, "wrong password")

    def must_not_be_called(*_args: object) -> bool:
        raise AssertionError("the password was checked")

    monkeypatch.setattr(auth, "verify_password", must_not_be_called)
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 429


def test_the_account_is_counted_whatever_the_case_of_its_address(admin_client, org_a):
    for _ in range(5):
        _log_in(admin_client, org_a.owner_email.upper(), "wrong password")
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 429


def test_a_successful_sign_in_forgets_the_accounts_failures(admin_client, org_a):
    for _ in range(4):
        _log_in(admin_client, org_a.owner_email, "wrong password")
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 302
    for _ in range(4):
        _log_in(admin_client, org_a.owner_email, "wrong password")
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 302


def test_failures_from_one_address_are_limited_across_accounts(admin_client, org_a, org_b, limits):
    limits(LOGIN_ATTEMPTS_PER_IP=3)
    for email in ("nobody@example.test", "someone@example.test", org_b.owner_email):
        assert _log_in(admin_client, email, "wrong password", ATTACKER).status_code == 200
    response = _log_in(admin_client, org_a.owner_email, org_a.owner_password, ATTACKER)
    assert response.status_code == 429
    assert "Too many sign-in attempts from your network. Try again in 15 minutes." in response.get_data(
        as_text=True
    )
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password, ELSEWHERE).status_code == 302


def test_the_window_comes_from_the_settings(admin_client, org_a, limits, redis_client, settings):
    limits(LOGIN_ATTEMPTS_PER_ACCOUNT=2, LOGIN_WINDOW_SECONDS=120)
    _log_in(admin_client, org_a.owner_email, "wrong password")
    _log_in(admin_client, org_a.owner_email, "wrong password")
    response = _log_in(admin_client, org_a.owner_email, org_a.owner_password)
    assert "Try again in 2 minutes." in response.get_data(as_text=True)
    keys = redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:login-account:*")
    assert len(keys) == 1 and 0 < redis_client.ttl(keys[0]) <= 120
    # Addresses are not kept in clear in Redis.
    assert b"acme" not in keys[0]


def test_the_login_page_links_to_password_reset_and_sign_up(admin_client):
    page = admin_client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot">Forgot your password?</a>' in page
    assert 'href="/signup">Create an organization</a>' in page


def test_sign_in_keeps_working_when_the_counters_cannot_be_reached(admin_client, org_a, monkeypatch):
    class Unreachable:
        def pipeline(self, **_options: object) -> None:
            raise redis.ConnectionError("Redis is down")

        def delete(self, *_keys: object) -> None:
            raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(ratelimit, "get_redis", Unreachable)
    assert _log_in(admin_client, org_a.owner_email, "wrong password").status_code == 200
    assert _log_in(admin_client, org_a.owner_email, org_a.owner_password).status_code == 302
