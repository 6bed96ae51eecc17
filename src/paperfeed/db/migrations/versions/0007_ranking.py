"""GitHub stars history and trending scores

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "star_snapshots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_star_snapshots")),
    )
    with op.batch_alter_table("star_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_star_snapshots_repo_fetched_at", ["repo", "fetched_at"], unique=False)
    op.create_table(
        "trending_scores",
        sa.Column("paper_id", _ID, nullable=False),
        sa.Column("window", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("votes", sa.Float(), nullable=False),
        sa.Column("comments", sa.Float(), nullable=False),
        sa.Column("stars", sa.Float(), nullable=False),
        sa.Column("stars_gained", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_trending_scores_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", "window", name=op.f("pk_trending_scores")),
    )
    # A covering index for the recompute's scan of every paper (see ranking/models.py).
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_papers_trending_signals",
            ["id", "upvotes", "vote_count", "comment_count", "listing_date", "published", "arxiv_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_index("ix_papers_trending_signals")
    op.drop_table("trending_scores")
    with op.batch_alter_table("star_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_star_snapshots_repo_fetched_at")
    op.drop_table("star_snapshots")
