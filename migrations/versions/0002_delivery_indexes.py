"""Indexes for the delivery workers: the claim of due rows per channel, and attempts per delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 14:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_tenant_id_channel_next_attempt_at"),
            ["tenant_id", "channel", "next_attempt_at"],
            unique=False,
        )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_tenant_id_delivery_id_attempted_at"),
            ["tenant_id", "delivery_id", "attempted_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_tenant_id_delivery_id_attempted_at"))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_tenant_id_channel_next_attempt_at"))
