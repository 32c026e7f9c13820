"""Settings from environment variables, with development defaults that production refuses."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEV_MAIL_FROM = "Status Platform <status@localhost>"
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(ValueError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


def _bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _allowlist(raw: str) -> tuple[str, ...]:
    entries = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    for entry in entries:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"EGRESS_ALLOWLIST: {entry!r} is not a valid CIDR") from None
    return entries


_active: list[Settings] = []


def activate(settings: Settings) -> None:
    """Make `settings` the process's own, for code that runs outside a request (jobs)."""
    _active[:] = [settings]


def active_settings() -> Settings:
    """The settings the process was started with (by an app factory or a worker)."""
    if not _active:
        raise RuntimeError("no settings are active in this process; build an app or a worker first")
    return _active[0]


@dataclass(frozen=True)
class Settings:
    """Every setting of the platform. Names match the environment variables one to one."""

    STATUSPLATFORM_ENV: str = "development"
    INSTANCE_PATH: str = "instance"
    DATABASE_URL: str = ""
    DATABASE_APP_URL: str = ""
    DATABASE_APP_ROLE: str = "statusplatform_app"
    REDIS_URL: str = ""
    PLATFORM_HOST: str = "localhost"
    PAGES_DOMAIN: str = "localhost"
    PUBLIC_URL_SCHEME: str = "http"
    PUBLIC_URL_PORT: str = ""
    SECRET_KEY: str = DEV_SECRET_KEY
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = 1025
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False
    MAIL_FROM: str = DEV_MAIL_FROM
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_FROM: str = ""
    TWILIO_API_BASE: str = "https://api.twilio.com"
    EGRESS_ALLOWLIST: tuple[str, ...] = field(default_factory=tuple)
    PROXY_FIX_HOPS: int = 0
    HOST_CACHE_SECONDS: int = 5
    RQ_QUEUE_PREFIX: str = "statusplatform"
    # DNS servers that verify custom domains ("10.0.0.2" or "127.0.0.1:5353"); empty: the system's.
    DNS_NAMESERVERS: tuple[str, ...] = field(default_factory=tuple)
    # Sign-in attempts allowed per account and per address in LOGIN_WINDOW_SECONDS.
    LOGIN_ATTEMPTS_PER_ACCOUNT: int = 5
    LOGIN_ATTEMPTS_PER_IP: int = 20
    LOGIN_WINDOW_SECONDS: int = 900
    # Management API requests per key: API_REQUESTS_PER_MINUTE on average, API_BURST at once.
    API_REQUESTS_PER_MINUTE: int = 60
    API_BURST: int = 60
    # Notification delivery: a claimed delivery is another worker's again after
    # DELIVERY_LEASE_SECONDS; retries wait DELIVERY_RETRY_BASE_SECONDS, doubled per attempt;
    # each worker keeps DELIVERY_CONCURRENCY webhook requests in flight. Fan-out inserts
    # FANOUT_BATCH_SIZE deliveries per transaction.
    DELIVERY_LEASE_SECONDS: int = 120
    DELIVERY_RETRY_BASE_SECONDS: int = 10
    DELIVERY_CONCURRENCY: int = 100
    FANOUT_BATCH_SIZE: int = 5000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from `environ` (default: os.environ), then apply `overrides`.

        Raises ConfigError for malformed values and for development secrets in production.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, default in asdict(cls()).items():
            if name not in env:
                continue
            raw = env[name]
            if isinstance(default, bool):
                values[name] = _bool(raw, name)
            elif isinstance(default, int):
                values[name] = _int(raw, name)
            elif name == "DNS_NAMESERVERS":
                values[name] = tuple(part.strip() for part in raw.split(",") if part.strip())
            elif isinstance(default, tuple):
                values[name] = _allowlist(raw)
            else:
                values[name] = raw.strip()
        values.update(overrides)
        settings = replace(cls(), **values)
        if not settings.DATABASE_URL:
            db_file = Path(settings.INSTANCE_PATH).resolve() / "statusplatform.db"
            settings = replace(settings, DATABASE_URL=f"sqlite:///{db_file}")
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.STATUSPLATFORM_ENV not in ENVIRONMENTS:
            raise ConfigError(f"STATUSPLATFORM_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if not self.PLATFORM_HOST or not self.PAGES_DOMAIN:
            raise ConfigError("PLATFORM_HOST and PAGES_DOMAIN must not be empty")
        if self.PUBLIC_URL_SCHEME not in {"http", "https"}:
            raise ConfigError("PUBLIC_URL_SCHEME must be http or https")
        for name in (
            "DELIVERY_LEASE_SECONDS",
            "DELIVERY_RETRY_BASE_SECONDS",
            "DELIVERY_CONCURRENCY",
            "FANOUT_BATCH_SIZE",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.PUBLIC_URL_PORT and not self.PUBLIC_URL_PORT.isdigit():
            raise ConfigError("PUBLIC_URL_PORT must be a port number")
        if self.is_production:
            if self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32:
                raise ConfigError("production needs SECRET_KEY: a random value of at least 32 characters")
            if not self.REDIS_URL:
                raise ConfigError("production needs REDIS_URL; the embedded Redis is for development only")
            if self.DATABASE_URL.startswith("sqlite"):
                raise ConfigError("production needs DATABASE_URL pointing at PostgreSQL")
            if self.MAIL_FROM == DEV_MAIL_FROM:
                raise ConfigError("production needs MAIL_FROM")

    @property
    def is_production(self) -> bool:
        return self.STATUSPLATFORM_ENV == "production"

    @property
    def is_testing(self) -> bool:
        return self.STATUSPLATFORM_ENV == "test"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    def flask_config(self) -> dict[str, Any]:
        """The settings as a Flask config mapping, plus Flask's own keys derived from them."""
        config: dict[str, Any] = asdict(self)
        config["SETTINGS"] = self
        config["TESTING"] = self.is_testing
        config["PREFERRED_URL_SCHEME"] = self.PUBLIC_URL_SCHEME
        config["SESSION_COOKIE_SECURE"] = self.is_production
        config["SESSION_COOKIE_HTTPONLY"] = True
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
        config["REMEMBER_COOKIE_SECURE"] = self.is_production
        config["REMEMBER_COOKIE_HTTPONLY"] = True
        config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
        config["WTF_CSRF_TIME_LIMIT"] = None
        # The largest request body (a logo upload is at most 512 KB); larger ones are refused with 413.
        config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
        return config

    def page_url(self, slug: str, custom_domain: str | None = None) -> str:
        """Public URL of a page: its verified custom domain, else its subdomain of PAGES_DOMAIN."""
        host = custom_domain or f"{slug}.{self.PAGES_DOMAIN}"
        port = f":{self.PUBLIC_URL_PORT}" if self.PUBLIC_URL_PORT and not custom_domain else ""
        return f"{self.PUBLIC_URL_SCHEME}://{host}{port}"

    def admin_url(self, path: str = "/") -> str:
        port = f":{self.PUBLIC_URL_PORT}" if self.PUBLIC_URL_PORT else ""
        return f"{self.PUBLIC_URL_SCHEME}://{self.PLATFORM_HOST}{port}{path}"
