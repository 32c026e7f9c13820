"""Declarative base, shared column types, and the TenantScoped mixin every tenant table uses."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from status_platform.ids import new_id
from status_platform.timeutil import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always UTC-aware in Python, on SQLite and PostgreSQL alike.

    SQLite keeps no zone, so values are stored as naive UTC there and given their zone back on
    the way out; naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: attach a time zone before storing it")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum]) -> sa.Enum:
    """A portable VARCHAR enum that stores the members' wire values (``major_outage``)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


PublicId = Annotated[str, mapped_column(sa.String(12), primary_key=True, default=new_id)]
Str255 = Annotated[str, mapped_column(sa.String(255))]
CreatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]
UpdatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)]


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} {ident}>"


class TenantScoped:
    """A row owned by exactly one organization.

    Never filter on tenant_id by hand: the session adds the criterion to every ORM statement
    (status_platform/db/session.py) and PostgreSQL row-level security backs it up. Every tenant
    table is unique on (tenant_id, id) so that children can reference parents by both columns.
    """

    tenant_id: Mapped[str] = mapped_column(sa.String(12), sa.ForeignKey("tenants.id", ondelete="CASCADE"))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        extra: tuple[Any, ...] = getattr(cls, "__tenant_table_args__", ())
        return (sa.UniqueConstraint("tenant_id", "id"), sa.Index(None, "tenant_id"), *extra)


def tenant_fk(
    columns: list[str], parent: str, *, ondelete: str | None = "CASCADE"
) -> sa.ForeignKeyConstraint:
    """A foreign key to `parent` by (tenant_id, id): a child can only point at its own tenant's rows."""
    return sa.ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{parent}.tenant_id", f"{parent}.id"], ondelete=ondelete
    )


def tenant_join(parent: str, child: str, column: str) -> str:
    """A relationship join on (tenant_id, id) in which only `column` is foreign.

    Both relationships of a child (say, to its page and its group) share tenant_id; marking only
    the id column foreign keeps SQLAlchemy from ever copying, or nulling, tenant_id through them.
    """
    return f"and_({parent}.id == foreign({child}.{column}), {parent}.tenant_id == {child}.tenant_id)"
