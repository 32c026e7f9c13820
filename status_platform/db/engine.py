"""Engines: one per URL per process, with SQLite made safe for savepoints and several processes."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from status_platform.config import Settings

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def app_database_url(settings: Settings) -> str:
    """The URL the application connects with.

    On PostgreSQL the application must not own the tables (row-level security would not bind
    it), so unless DATABASE_APP_URL names the login explicitly, it is DATABASE_URL with the
    user replaced by DATABASE_APP_ROLE, which the migrations create and grant.
    """
    if settings.DATABASE_APP_URL:
        return settings.DATABASE_APP_URL
    url = make_url(settings.DATABASE_URL)
    if url.get_backend_name() != "postgresql":
        return settings.DATABASE_URL
    return url.set(username=settings.DATABASE_APP_ROLE, password=None).render_as_string(hide_password=False)


def normalized_url(raw: str) -> URL:
    """psycopg 3 is the PostgreSQL driver whatever the URL says (postgres://, postgresql://)."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    url = make_url(raw)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def get_engine(raw_url: str, **kwargs: Any) -> sa.Engine:
    """The process-wide engine for `raw_url`, created on first use."""
    with _lock:
        engine = _engines.get(raw_url)
        if engine is None:
            engine = create_engine(raw_url, **kwargs)
            _engines[raw_url] = engine
        return engine


def dispose_all() -> None:
    """Drop pooled connections, e.g. before a fork: a child must never reuse the parent's sockets."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)


def create_engine(raw_url: str, **kwargs: Any) -> sa.Engine:
    url = normalized_url(raw_url)
    if url.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).update({"timeout": 30, "check_same_thread": False})
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: sa.Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; take it over (SQLAlchemy's recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            # WAL lets the web, worker and clock processes read while one of them writes
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")
