"""Fixtures: a migrated database and a Redis per run, a rolled-back transaction per test, organizations.

The database is SQLite by default and PostgreSQL when DATABASE_URL is set (the app then
connects as the non-owner role, so row-level security is exercised). Redis is the embedded
server by default and REDIS_URL when set (its database is flushed before every test).

Under pytest-xdist (`-n 2`) every worker has its own of each: its own SQLite file and embedded
Redis (its own temporary folder), on PostgreSQL its own database `<DATABASE_URL's>_gw<N>`,
created next to the given one and dropped at the end, and with REDIS_URL database number
`<REDIS_URL's> + N`.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from rq.serializers import JSONSerializer
from sqlalchemy.engine import make_url
from werkzeug.test import Client

import tenants
from status_platform.config import Settings
from status_platform.db import migrate
from status_platform.db import session as db_session
from status_platform.db.base import Base
from status_platform.db.engine import app_database_url, create_engine, dispose_all, get_engine
from status_platform.ids import new_id
from status_platform.jobs import queues
from status_platform.jobs.redis_server import ensure_embedded_redis, stop_embedded_redis
from status_platform.wsgi import HostRouter
from tests.factories import PASSWORD, Organization, make_organization

PLATFORM_HOST = "platform.test"
PAGES_DOMAIN = "pages.test"
KEEP_ROWS = {"plans", "alembic_version"}


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _xdist_worker() -> str | None:
    """The pytest-xdist worker this process is ("gw0", "gw1", ...), or None when not distributed."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _worker_database_url(url: str, worker: str | None) -> str:
    """PostgreSQL: the worker's own database beside the given one; anything else as given."""
    if worker is None or not _is_postgres(url):
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def _worker_redis_url(url: str, worker: str | None) -> str:
    """The given Redis database number plus the worker's number (gw0 keeps the given one)."""
    if worker is None:
        return url
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme == "unix" or "db" in query:  # the number is in the query (it wins over the path)
        query["db"] = [str(int(query.get("db", ["0"])[0]) + index)]
        return url.partition("?")[0] + "?" + urlencode(query, doseq=True)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + index}"))


@contextlib.contextmanager
def _postgres_admin(given_url: str) -> Iterator[sa.Connection]:
    """An autocommit connection to the given database that holds the tests' advisory lock.

    Every worker of a run migrates at the same time, and the application role the migrations
    create is cluster-wide: two CREATE ROLEs at once would fail, so one worker migrates at a time.
    """
    engine = create_engine(given_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(hashtext('statusplatform tests: migrate'))")
            yield conn
    finally:
        engine.dispose()


def _quoted_database(url: str) -> str:
    name = make_url(url).database or ""
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def settings(instance_path: Path) -> Iterator[Settings]:
    worker = _xdist_worker()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'test.db'}"
    database_url = _worker_database_url(database_url, worker)
    redis_url = _worker_redis_url(os.environ["REDIS_URL"], worker) if os.environ.get("REDIS_URL") else ""
    redis_url = redis_url or ensure_embedded_redis(instance_path)
    yield Settings.from_env(
        {},
        STATUSPLATFORM_ENV="test",
        INSTANCE_PATH=str(instance_path),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PLATFORM_HOST=PLATFORM_HOST,
        PAGES_DOMAIN=PAGES_DOMAIN,
        HOST_CACHE_SECONDS=0,
        RQ_QUEUE_PREFIX=f"sptest{os.getpid()}",
        EGRESS_ALLOWLIST=("127.0.0.1/32", "::1/128", "localhost"),
        # Tests make many API calls with one key; the rate test lowers these on the app.
        API_REQUESTS_PER_MINUTE=600_000,
        API_BURST=100_000,
    )
    if not os.environ.get("REDIS_URL"):
        stop_embedded_redis(instance_path)


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """Real argon2id, at its smallest cost: every organization the tests build hashes a password."""
    from argon2 import PasswordHasher

    from status_platform.identity import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = production


@pytest.fixture(scope="session")
def is_postgres(settings: Settings) -> bool:
    return _is_postgres(settings.DATABASE_URL)


@pytest.fixture(scope="session")
def owner_engine(settings: Settings) -> Iterator[sa.Engine]:
    """The migrating owner's engine: a clean schema (a worker's own new database), then every revision."""
    if not _is_postgres(settings.DATABASE_URL):
        engine = create_engine(settings.DATABASE_URL, poolclass=sa.pool.NullPool)
        migrate.upgrade(settings)
        yield engine
        engine.dispose()
        return
    given_url = os.environ["DATABASE_URL"]
    own_database = _xdist_worker() is not None
    with _postgres_admin(given_url) as admin:
        if own_database:
            name = _quoted_database(settings.DATABASE_URL)
            admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # a killed run's
            admin.exec_driver_sql(f"CREATE DATABASE {name}")
        engine = create_engine(settings.DATABASE_URL, poolclass=sa.pool.NullPool)
        if not own_database:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        migrate.upgrade(settings)
    yield engine
    engine.dispose()
    if own_database:
        dispose_all()  # the app role's pooled connections
        with _postgres_admin(given_url) as admin:
            admin.exec_driver_sql(
                f"DROP DATABASE IF EXISTS {_quoted_database(settings.DATABASE_URL)} WITH (FORCE)"
            )


@pytest.fixture(scope="session")
def app_engine(settings: Settings, owner_engine: sa.Engine) -> sa.Engine:
    """The engine the application uses (on PostgreSQL: the non-owner role)."""
    return get_engine(app_database_url(settings))


@pytest.fixture(scope="session")
def redis_client(settings: Settings) -> redis.Redis:
    return queues.configure(settings)


@pytest.fixture(autouse=True)
def _clean_redis(redis_client: redis.Redis) -> None:
    redis_client.flushdb()


@pytest.fixture(autouse=True)
def connection(
    request: pytest.FixtureRequest,
    app_engine: sa.Engine,
    owner_engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[sa.Connection | None]:
    """Every session of the test joins one transaction through SAVEPOINTs; all of it rolls back.

    Tests that need real commits (other processes, live servers) ask for `committed_db`.
    """
    if "committed_db" in request.fixturenames:
        yield None
        return
    with app_engine.connect() as conn:
        outer = conn.begin()
        db_session.SessionFactory.configure(bind=conn, join_transaction_mode="create_savepoint")
        # Apps and workers built inside the test must not rebind sessions to the engine.
        monkeypatch.setattr(db_session, "configure", lambda _settings: app_engine)
        yield conn
        outer.rollback()
    db_session.SessionFactory.configure(bind=app_engine, join_transaction_mode="conditional_savepoint")


@pytest.fixture
def committed_db(app_engine: sa.Engine, owner_engine: sa.Engine) -> Iterator[sa.Engine]:
    """Real commits, for tests with other processes or servers; every row is removed afterwards."""
    db_session.SessionFactory.configure(bind=app_engine, join_transaction_mode="conditional_savepoint")
    yield app_engine
    app_engine.dispose()
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_ROWS]
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(t.name for t in tables) + " CASCADE")
        else:
            for table in tables:
                conn.execute(table.delete())


# --- apps and clients --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def router(settings: Settings, owner_engine: sa.Engine) -> HostRouter:
    """The one WSGI entry (admin app on the platform host, public app on page hosts)."""
    return HostRouter(settings)


@pytest.fixture(scope="session")
def admin_app(router: HostRouter) -> Flask:
    """The staff app (platform host)."""
    return router.admin_app


@pytest.fixture(scope="session")
def public_app(router: HostRouter) -> Flask:
    """The public app (page hosts)."""
    return router.public_app


@pytest.fixture
def public_client(public_app: Flask) -> FlaskClient:
    """A client of the public app; pass the page's host as base_url or Host header."""
    return public_app.test_client()


@pytest.fixture
def web(router: HostRouter) -> Client:
    """A client of the whole router: pass the Host header you mean."""
    return Client(router)


class PlatformHostClient(FlaskClient):
    """A test client of the admin app whose requests carry the platform host."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{PLATFORM_HOST}")
        return super().open(*args, **kwargs)

    def session_transaction(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{PLATFORM_HOST}")
        return super().session_transaction(*args, **kwargs)


@pytest.fixture
def admin_client(admin_app: Flask) -> FlaskClient:
    return PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the form has no CSRF token"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str) -> Any:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST `data` to `url` as the signed-in browser would: with the session's CSRF token."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


def add_member(org: Organization, role: str) -> tuple[str, str]:
    """Make a user with `role` in `org` (viewer, editor, admin, owner); returns (email, password)."""
    from status_platform.db.session import platform_session
    from status_platform.identity.models import User
    from status_platform.identity.passwords import hash_password
    from status_platform.tenancy.models import Membership, Role

    email = f"{role}-{new_id()}@{org.slug}.test"
    with platform_session() as s:
        user = User(email=email, password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        s.add(Membership(tenant_id=org.tenant_id, user_id=user.id, role=Role(role)))
        s.commit()
    return email, PASSWORD


@pytest.fixture
def client_as(admin_app: Flask, org_a: Organization) -> Callable[[str], FlaskClient]:
    """A factory: a new browser signed in as a member of organization A with the given role."""

    def make(role: str, org: Organization = org_a) -> FlaskClient:
        client = PlatformHostClient(admin_app, admin_app.response_class, use_cookies=True)
        if role == "owner":
            email, password = org.owner_email, org.owner_password
        else:
            email, password = add_member(org, role)
        response = log_in(client, email, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


def fingerprint(tenant_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the organization can see, and the platform's rows: equal before and after means unchanged."""
    from status_platform.db.session import new_session

    state: dict[str, list[tuple[Any, ...]]] = {}
    with new_session(tenant_id) as s:
        for table in Base.metadata.sorted_tables:
            state[table.name] = sorted(
                (tuple(str(v) for v in row) for row in s.execute(table.select())), key=repr
            )
    return state


@pytest.fixture
def staff_client(admin_client: FlaskClient, org_a: Organization) -> FlaskClient:
    """The owner of organization A, signed in."""
    response = log_in(admin_client, org_a.owner_email, org_a.owner_password)
    assert response.status_code == 302
    return admin_client


# --- organizations -----------------------------------------------------------------------------


@pytest.fixture
def org_a() -> Organization:
    return make_organization("acme", "Acme")


@pytest.fixture
def org_b() -> Organization:
    return make_organization("globex", "Globex")


# --- jobs --------------------------------------------------------------------------------------


@pytest.fixture
def worker_settings(settings: Settings) -> dict[str, Settings]:
    """The settings the test's worker starts with; fixtures may replace them (see `mail`)."""
    return {"settings": settings}


@pytest.fixture
def run_jobs(worker_settings: dict[str, Settings], redis_client: redis.Redis) -> Callable[..., int]:
    """Run every queued job in this process with a real RQ worker in burst mode; returns how many ran."""
    from status_platform.jobs.worker import build_worker

    tenants.register_periodic_tasks()

    def _run(*queue_names: str) -> int:
        names = queue_names or queues.QUEUE_NAMES

        def finished_and_failed() -> tuple[set[str], set[str]]:
            finished: set[str] = set()
            failed: set[str] = set()
            for name in names:
                queue = queues.get_queue(name)
                finished.update(queue.finished_job_registry.get_job_ids())
                failed.update(queue.failed_job_registry.get_job_ids())
            return finished, failed

        finished_before, failed_before = finished_and_failed()
        build_worker(worker_settings["settings"], names, forking=False).work(burst=True)
        finished, failed = finished_and_failed()
        new_failures = failed - failed_before
        if new_failures:
            from rq.job import Job

            reasons = [
                Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer).latest_result()
                for job_id in new_failures
            ]
            raise AssertionError(f"{len(new_failures)} job(s) failed: {[r.exc_string for r in reasons if r]}")
        return len(finished - finished_before)

    return _run


# --- mail and HTTP receivers -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CapturedMail:
    messages: list[EmailMessage] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[CapturedMail]:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""
    captured = CapturedMail()
    captured.port = _free_port()
    controller = Controller(captured, hostname=captured.host, port=captured.port)
    controller.start()
    yield captured
    controller.stop()


@pytest.fixture
def mail(smtp_server: CapturedMail, worker_settings: dict[str, Settings]) -> CapturedMail:
    """Platform mail sent by the test's jobs arrives at the test's own SMTP server."""
    worker_settings["settings"] = replace(worker_settings["settings"], SMTP_PORT=smtp_server.port)
    return smtp_server


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """An HTTP server on loopback recording every request; `responses` are answered in turn (then 200)."""

    url: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds each answer waits, to keep requests in flight
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ReceiverServer(ThreadingHTTPServer):
    # Delivery workers open up to DELIVERY_CONCURRENCY connections at once.
    request_queue_size = 256
    daemon_threads = True


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.lock:
                receiver.requests.append(ReceivedRequest(self.command, self.path, dict(self.headers), body))
                status = receiver.responses.pop(0) if receiver.responses else 200
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(receiver.body)))
            if receiver.body.startswith(b"<!doctype html>"):
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(receiver.body)

        do_GET = do_POST = do_PUT = _record  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = _ReceiverServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
