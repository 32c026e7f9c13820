"""On PostgreSQL, the database itself keeps organizations apart: raw SQL as the app role sees one tenant."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from status_platform.db.base import Base, TenantScoped
from status_platform.db.session import platform_session, tenant_session
from tests.factories import make_organization

TENANT_TABLES = sorted(
    m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)
)

# Row-level security exists on PostgreSQL only; CI's second run is on PostgreSQL.
pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs DATABASE_URL on PostgreSQL"
)


@pytest.fixture
def two_orgs(committed_db):
    return make_organization("acme", "Acme"), make_organization("globex", "Globex")


def test_the_app_connects_as_a_role_that_neither_owns_the_tables_nor_bypasses_rls(app_engine):
    with app_engine.connect() as conn:
        role = conn.execute(
            text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert role.rolsuper is False and role.rolbypassrls is False
        owners = set(conn.scalars(text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")))
        assert role.rolname not in owners


def test_every_tenant_table_has_forced_row_level_security(app_engine):
    with app_engine.connect() as conn:
        protected = set(
            conn.scalars(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
                    "WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.policyname = 'tenant_isolation'"
                )
            )
        )
    assert set(TENANT_TABLES) <= protected


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_raw_sql_sees_only_the_bound_organization(table, two_orgs):
    acme, globex = two_orgs
    with tenant_session(acme.tenant_id) as s:
        tenant_ids = set(s.scalars(text(f"SELECT tenant_id FROM {table}")))
    assert tenant_ids == {acme.tenant_id}
    with platform_session() as s:
        assert s.scalar(text(f"SELECT count(*) FROM {table}")) == 0


def test_raw_insert_for_another_organization_is_refused(two_orgs):
    acme, globex = two_orgs
    with (
        tenant_session(acme.tenant_id) as s,
        pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
    ):
        s.execute(
            text(
                "INSERT INTO incident_types (id, tenant_id, name, color, position, is_retired, "
                "created_at, updated_at) VALUES ('planted00001', :t, 'x', '#000000', 1, false, now(), now())"
            ),
            {"t": globex.tenant_id},
        )


def test_a_child_cannot_point_at_another_organizations_parent(two_orgs):
    acme, globex = two_orgs
    # The row passes the policy (its tenant is the session's); the composite foreign key stops it.
    with tenant_session(acme.tenant_id) as s, pytest.raises(sa.exc.IntegrityError):
        s.execute(
            text(
                "INSERT INTO incident_updates (id, tenant_id, incident_id, status, body, display_at, "
                "deliver_notifications, created_at, updated_at) VALUES ('planted00002', :a, :incident, "
                "'investigating', '', now(), true, now(), now())"
            ),
            {"a": acme.tenant_id, "incident": globex.ids["incident"]},
        )
