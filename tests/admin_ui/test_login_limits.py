"""Sign-in: failures counted per account and per address, past the limit nothing checked; safe redirects."""

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


def test_an_attempt_is_counted_before_its_password_is_checked(
    admin_client, org_a, redis_client, settings, monkeypatch
):
    """Parallel guesses cannot all pass a check made before any of them was counted."""
    counted_at_check: list[tuple[int, int]] = []
    verify = auth.verify_password

    def counters() -> tuple[int, int]:
        values = []
        for name in ("login-account", "login-ip"):
            [key] = redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:{name}:*")
            values.append(int(redis_client.get(key)))
        return values[0], values[1]

    def spying(password_hash: str, password: str) -> bool:
        counted_at_check.append(counters())
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", spying)
    _log_in(admin_client, org_a.owner_email, "wrong password")
    _log_in(admin_client, org_a.owner_email, "wrong password")
    assert counted_at_check == [(1, 1), (2, 2)]
    assert counters() == (2, 2)


def test_only_failures_use_up_the_networks_attempts(admin_client, org_a, org_b, limits):
    limits(LOGIN_ATTEMPTS_PER_IP=2)
    for _ in range(3):
        assert _log_in(admin_client, org_a.owner_email, org_a.owner_password, ATTACKER).status_code == 302
    for _ in range(2):
        assert _log_in(admin_client, "nobody@example.test", "wrong password", ATTACKER).status_code == 200
    assert _log_in(admin_client, org_b.owner_email, org_b.owner_password, ATTACKER).status_code == 429


def test_a_forgiven_attempt_never_goes_below_zero_and_keeps_the_window(redis_client, settings):
    limit = ratelimit.Limit("forgive-test", attempts=3, window_seconds=600)
    ratelimit.forgive(limit, "someone")
    assert redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:forgive-test:*") == []
    ratelimit.hit(limit, "someone")
    ratelimit.hit(limit, "someone")
    ratelimit.forgive(limit, "someone")
    ratelimit.forgive(limit, "someone")
    ratelimit.forgive(limit, "someone")
    [key] = redis_client.keys(f"{settings.RQ_QUEUE_PREFIX}:ratelimit:forgive-test:*")
    assert int(redis_client.get(key)) == 0 and 0 < redis_client.ttl(key) <= 600
    assert [ratelimit.hit(limit, "someone") for _ in range(4)] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"next": "/\t/evil.example"}, id="tab"),
        pytest.param("next=/%09/evil.example", id="encoded-tab"),
        pytest.param("next=/%0a/evil.example", id="encoded-newline"),
        pytest.param({"next": "//evil.example"}, id="scheme-relative"),
        pytest.param({"next": "https://evil.example/"}, id="absolute"),
        pytest.param({"next": "/\\evil.example"}, id="backslash"),
    ],
)
def test_sign_in_never_redirects_to_another_site(admin_client, org_a, query):
    token = csrf_token(admin_client.get("/login").get_data(as_text=True))
    response = admin_client.post(
        "/login",
        query_string=query,
        data={"email": org_a.owner_email, "password": org_a.owner_password, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/orgs"


def test_sign_in_returns_to_a_page_of_this_site(admin_client, org_a):
    token = csrf_token(admin_client.get("/login").get_data(as_text=True))
    response = admin_client.post(
        "/login",
        query_string={"next": f"/t/{org_a.slug}/team/?q=ed"},
        data={"email": org_a.owner_email, "password": org_a.owner_password, "csrf_token": token},
    )
    assert response.headers["Location"] == f"/t/{org_a.slug}/team/?q=ed"
