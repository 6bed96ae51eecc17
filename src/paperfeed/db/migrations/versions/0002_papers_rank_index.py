"""covering index for the listing views (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not need it: a rowid lookup there is as cheap as an index-only read.
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_papers_rank", "papers", ["id"], postgresql_include=["upvotes", "published", "arxiv_id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_papers_rank", table_name="papers")
