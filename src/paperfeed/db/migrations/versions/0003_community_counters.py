"""vote and comment counters on papers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Denormalised counts, kept in the same transaction as the vote/comment row: listings read them
    # for thousands of papers without a join.
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("vote_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("comment_count")
        batch.drop_column("vote_count")
