"""Row-level security for tenant tables and the application's database role (PostgreSQL only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# NULLIF: once a custom setting has existed in a backend, "unset" reads as '' rather than NULL.
TENANT_SETTING = "NULLIF(current_setting('app.tenant_id', true), '')"
SWEEP_SETTING = "current_setting('app.all_tenants', true) = 'on'"
POLICY = "tenant_isolation"


def enable_tenant_rls(op: Any, table: str) -> None:
    """Force row-level security on `table`: a row is visible and writable only for its tenant."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY} ON {table} "
        f"USING (tenant_id = {TENANT_SETTING} OR {SWEEP_SETTING}) "
        f"WITH CHECK (tenant_id = {TENANT_SETTING})"
    )


def disable_tenant_rls(op: Any, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def grant_app_role(connection: sa.Connection, role: str) -> None:
    """Create the application's login role if missing and give it DML on every table.

    The role neither owns the tables nor bypasses row-level security; it is what the web,
    worker and clock processes connect as. Idempotent: run after every migration.
    """
    if connection.dialect.name != "postgresql":
        return
    if not role.replace("_", "").isalnum():
        raise ValueError(f"DATABASE_APP_ROLE {role!r} must be letters, digits and underscores")
    exists = connection.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if not exists:
        connection.exec_driver_sql(
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
        )
    database = connection.scalar(sa.text("SELECT current_database()"))
    connection.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
    connection.exec_driver_sql(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
    )
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    # Alembic's own bookkeeping is the owner's business.
    connection.exec_driver_sql(f"REVOKE ALL ON TABLE alembic_version FROM {role}")
