"""Settings come from the environment, with development defaults that production refuses."""

from __future__ import annotations

import pytest

from status_platform.config import DEV_SECRET_KEY, ConfigError, Settings

PRODUCTION = {
    "STATUSPLATFORM_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://owner@db/status",
    "REDIS_URL": "redis://cache:6379/0",
    "MAIL_FROM": "Status <status@example.com>",
}


def test_development_defaults_need_no_environment(tmp_path):
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    database_url = settings.DATABASE_URL
    assert database_url == f"sqlite:///{tmp_path / 'statusplatform.db'}"
    assert (settings.REDIS_URL, settings.PLATFORM_HOST, settings.PAGES_DOMAIN) == (
        "",
        "localhost",
        "localhost",
    )
    assert settings.SECRET_KEY == DEV_SECRET_KEY and settings.EGRESS_ALLOWLIST == ()
    assert settings.page_url("acme") == "http://acme.localhost"


def test_every_variable_is_read_with_its_type():
    settings = Settings.from_env(
        {
            "SMTP_PORT": "2525",
            "SMTP_STARTTLS": "yes",
            "EGRESS_ALLOWLIST": "127.0.0.1/32, hooks.internal ,",
            "PAGES_DOMAIN": "status.example.com",
            "PUBLIC_URL_SCHEME": "https",
            "TWILIO_API_BASE": "http://127.0.0.1:9",
            "DATABASE_URL": "sqlite:///x.db",
        }
    )
    assert settings.SMTP_PORT == 2525 and settings.SMTP_STARTTLS is True
    assert settings.EGRESS_ALLOWLIST == ("127.0.0.1/32", "hooks.internal")
    assert settings.page_url("acme") == "https://acme.status.example.com"
    assert settings.page_url("acme", "status.acme.com") == "https://status.acme.com"
    assert settings.TWILIO_API_BASE == "http://127.0.0.1:9"


def test_the_public_port_appears_in_page_urls_but_not_in_custom_domains():
    settings = Settings.from_env({"PUBLIC_URL_PORT": "8000", "DATABASE_URL": "sqlite:///x.db"})
    assert settings.page_url("acme") == "http://acme.localhost:8000"
    assert settings.page_url("acme", "status.acme.com") == "http://status.acme.com"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT must be a whole number"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS must be true or false"),
        ({"EGRESS_ALLOWLIST": "10.0.0.0/99"}, "not a valid CIDR"),
        ({"STATUSPLATFORM_ENV": "staging"}, "STATUSPLATFORM_ENV must be one of"),
        ({"PUBLIC_URL_SCHEME": "ftp"}, "PUBLIC_URL_SCHEME"),
    ],
)
def test_malformed_values_are_refused_by_name(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"DATABASE_URL": "sqlite:///x.db", **environ})


def test_production_starts_with_real_settings():
    assert Settings.from_env(PRODUCTION).is_production


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"DATABASE_URL": "sqlite:///prod.db"}, "PostgreSQL"),
        ({"MAIL_FROM": "Status Platform <status@localhost>"}, "MAIL_FROM"),
    ],
)
def test_production_refuses_development_defaults(override, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**PRODUCTION, **override})


def test_production_cookies_are_secure_http_only_and_same_site():
    production = Settings.from_env(
        {},
        STATUSPLATFORM_ENV="production",
        SECRET_KEY="x" * 40,
        REDIS_URL="redis://127.0.0.1:6379/0",
        DATABASE_URL="postgresql://u@127.0.0.1/db",
        MAIL_FROM="Status <status@example.com>",
    ).flask_config()
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True and production["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production["REMEMBER_COOKIE_SECURE"] is True and production["REMEMBER_COOKIE_HTTPONLY"] is True


def test_dns_nameservers_and_login_limits_are_read_from_the_environment():
    settings = Settings.from_env(
        {"DNS_NAMESERVERS": "127.0.0.1:5353, 10.0.0.2", "LOGIN_ATTEMPTS_PER_ACCOUNT": "3"}
    )
    assert settings.DNS_NAMESERVERS == ("127.0.0.1:5353", "10.0.0.2")
    assert settings.LOGIN_ATTEMPTS_PER_ACCOUNT == 3
