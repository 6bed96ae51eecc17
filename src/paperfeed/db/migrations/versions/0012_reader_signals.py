"""reader signals and profiles: the For-you recommendations' private inputs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reader_signals",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reader_signals_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_reader_signals_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "paper_id", name=op.f("pk_reader_signals")),
    )
    op.create_index(op.f("ix_reader_signals_paper_id"), "reader_signals", ["paper_id"])
    op.create_table(
        "reader_profiles",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("categories", sa.Text(), server_default="", nullable=False),
        sa.Column("exploration", sa.Float(), server_default="0.1", nullable=False),
        sa.Column("feed_secret_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reader_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_reader_profiles")),
        sa.UniqueConstraint("feed_secret_hash", name=op.f("uq_reader_profiles_feed_secret_hash")),
    )


def downgrade() -> None:
    op.drop_table("reader_profiles")
    op.drop_index(op.f("ix_reader_signals_paper_id"), table_name="reader_signals")
    op.drop_table("reader_signals")
