"""The schema comes from one line of Alembic revisions that agrees with the models, up and down."""

from __future__ import annotations

import uuid
from dataclasses import replace

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from status_platform.db import migrate
from status_platform.db.base import Base
from status_platform.db.engine import create_engine


def test_there_is_a_single_head(settings):
    assert len(migrate.current_heads(settings)) == 1


def test_autogenerate_finds_no_difference_between_models_and_migrations(owner_engine):
    with owner_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_and_downgrade_on_an_empty_database(settings, owner_engine, tmp_path):
    if settings.is_sqlite:
        scratch = replace(settings, DATABASE_URL=f"sqlite:///{tmp_path / 'scratch.db'}")
        drop = None
    else:
        name = f"scratch_{uuid.uuid4().hex[:10]}"
        with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        url = sa.engine.make_url(settings.DATABASE_URL).set(database=name)
        scratch = replace(settings, DATABASE_URL=url.render_as_string(hide_password=False))
        drop = name
    try:
        migrate.upgrade(scratch)
        command.check(migrate.alembic_config(scratch))  # raises when autogenerate would add anything
        engine = create_engine(scratch.DATABASE_URL, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert set(Base.metadata.tables) <= tables
            assert conn.scalar(sa.text("SELECT count(*) FROM plans")) >= 1
        migrate.downgrade(scratch, "base")
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(scratch)
        engine.dispose()
    finally:
        if drop:
            with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"DROP DATABASE {drop} WITH (FORCE)")
