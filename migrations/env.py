"""Alembic environment: runs revisions on the owner's connection, then grants the app role."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.pool import NullPool

import status_platform.models  # noqa: F401  (registers platform tables)
import tenants  # noqa: F401  (registers every feature's tables)
from status_platform.config import Settings
from status_platform.db.base import Base, UTCDateTime
from status_platform.db.engine import create_engine
from status_platform.db.rls import grant_app_role

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Revisions name the portable SQL type; the UTC handling lives in the models.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Any, settings: Settings) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
        grant_app_role(connection, settings.DATABASE_APP_ROLE)


def run_migrations_online() -> None:
    settings: Settings = config.attributes.get("settings") or Settings.from_env()
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, settings)
        return
    engine = create_engine(settings.DATABASE_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run(connection, settings)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `statusplatform db upgrade`")
run_migrations_online()
