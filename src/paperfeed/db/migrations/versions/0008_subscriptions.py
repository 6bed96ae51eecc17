"""digest subscriptions and preferences

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("frequency", sa.String(length=8), server_default="daily", nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("saved_searches", sa.JSON(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("max_papers", sa.Integer(), server_default="10", nullable=False),
        sa.Column("only_code", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("bounce_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("token_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'unsubscribed', 'bounced')", name=op.f("ck_subscriptions_status")
        ),
        sa.CheckConstraint("frequency IN ('daily', 'weekly')", name=op.f("ck_subscriptions_frequency")),
        sa.CheckConstraint("max_papers BETWEEN 1 AND 50", name=op.f("ck_subscriptions_max_papers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("email", name=op.f("uq_subscriptions_email")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_status"))
    op.drop_table("subscriptions")
