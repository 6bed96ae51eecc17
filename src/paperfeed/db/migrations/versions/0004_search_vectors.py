"""stored embeddings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_vectors",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("paper_hash", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_vectors_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_vectors")),
    )
    with op.batch_alter_table("paper_vectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_vectors_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("paper_vectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_vectors_created_at"))
    op.drop_table("paper_vectors")
