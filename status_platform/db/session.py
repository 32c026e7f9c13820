"""One Session per request or job, bound to one organization for its whole life.

Four guards make a cross-tenant read impossible for a buggy caller:
- `do_orm_execute` adds ``tenant_id = <bound tenant>`` to every ORM SELECT, UPDATE and DELETE,
  relationship loads and ``session.get`` included;
- a session without a tenant raises TenantNotBound when it names a tenant table, and matches
  no tenant rows it reaches indirectly;
- `before_flush` stamps tenant_id on new rows and refuses rows of another tenant;
- `after_begin` sets ``app.tenant_id`` for the transaction, which PostgreSQL row-level security
  checks (status_platform/db/rls.py), so even raw SQL sees one tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria
from werkzeug.local import LocalProxy

from status_platform.config import Settings
from status_platform.db.base import TenantScoped
from status_platform.db.engine import app_database_url, get_engine

SessionFactory = sessionmaker(expire_on_commit=False)


class TenantNotBound(RuntimeError):
    """A tenant-owned table was touched from a session that has no tenant."""


def configure(settings: Settings) -> sa.Engine:
    """Bind the session factory to the application's engine for this process."""
    engine = get_engine(app_database_url(settings))
    SessionFactory.configure(bind=engine)
    return engine


def new_session(tenant_id: str | None) -> Session:
    """A session that sees one organization's rows (or, with None, only platform tables)."""
    return SessionFactory(info={"tenant_id": tenant_id})


@contextmanager
def tenant_session(tenant_id: str) -> Iterator[Session]:
    """For jobs and CLI commands: a fresh session that can only see `tenant_id`'s rows."""
    with new_session(tenant_id) as session:
        yield session


@contextmanager
def platform_session() -> Iterator[Session]:
    """A session for platform tables only (tenants, users, memberships, page routes, API keys)."""
    with new_session(None) as session:
        yield session


@contextmanager
def sweep_session() -> Iterator[Session]:
    """Cross-tenant reads for the clock's sweeps (status_platform/jobs/clock.py) and nothing else.

    Sweeps select (tenant_id, id) pairs and hand each to a tenant job; they never write.
    """
    with SessionFactory(info={"tenant_id": None, "all_tenants": True}) as session:
        yield session


def get_db() -> Session:
    """The request's session, bound to the tenant the request resolved (g.tenant_id)."""
    if not has_request_context():
        raise RuntimeError("`db` is for requests; jobs and the CLI use tenant_session()")
    if "db" not in g:
        g.db = new_session(g.get("tenant_id"))
    return g.db  # type: ignore[no-any-return]


db: Session = LocalProxy(get_db)  # type: ignore[assignment]


def rebind_request_session(tenant_id: str) -> Session:
    """Bind the request to `tenant_id` once it is known (after login or path resolution).

    The tenant of a session never changes: a session opened before is closed, so no object of
    the identity map can cross over.
    """
    old = g.pop("db", None)
    if old is not None:
        old.close()
    g.tenant_id = tenant_id
    return get_db()


def init_app(app: Flask) -> None:
    app.extensions["db_engine"] = configure(app.config["SETTINGS"])
    app.teardown_appcontext(_close_db)


def _close_db(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def _tenant_criteria(tenant_id: str) -> Any:
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


def _no_tenant_rows() -> Any:
    return with_loader_criteria(TenantScoped, lambda cls: sa.false(), include_aliases=True)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get("all_tenants"):
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is not None:
        criteria = _tenant_criteria(tenant_id)
    elif any(issubclass(mapper.class_, TenantScoped) for mapper in state.all_mappers):
        raise TenantNotBound("a tenant-owned table was queried without a tenant")
    else:
        # A platform session reaching tenant rows indirectly (select_from, CTE, union) gets none.
        criteria = _no_tenant_rows()
    state.statement = state.statement.options(criteria)


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    tenant_id = session.info.get("tenant_id")
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantNotBound(f"cannot write {obj!r} without a tenant")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise PermissionError(f"{obj!r} belongs to another organization")


@event.listens_for(Session, "after_begin")
def _set_database_tenant(session: Session, _transaction: Any, connection: sa.Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session.info.get("tenant_id")
    all_tenants = "on" if session.info.get("all_tenants") else ""
    # Transaction-local (the third argument): cleared at COMMIT or ROLLBACK, so a pooled
    # connection never carries one tenant's setting into another's transaction.
    connection.exec_driver_sql(
        "SELECT set_config('app.tenant_id', %(tenant)s, true), set_config('app.all_tenants', %(all)s, true)",
        {"tenant": tenant_id or "", "all": all_tenants},
    )
