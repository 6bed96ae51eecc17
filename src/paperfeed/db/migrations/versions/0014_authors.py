"""authors: follows, authorship claims (one approved claim per byline place), grouped name variants

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "author_follows",
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("author_id", BIG, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_author_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_author_follows_author_id_authors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "author_id", name=op.f("pk_author_follows")),
    )
    op.create_index(op.f("ix_author_follows_author_id"), "author_follows", ["author_id"])
    op.create_table(
        "author_claims",
        sa.Column("id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("paper_id", BIG, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author_id", BIG, nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", BIG, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_author_claims_status")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_author_claims_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_author_claims_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name=op.f("fk_author_claims_author_id_authors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_author_claims_decided_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_claims")),
        sa.UniqueConstraint("user_id", "paper_id", "position", name="uq_author_claims_user_place"),
    )
    op.create_index(op.f("ix_author_claims_author_id"), "author_claims", ["author_id"])
    op.create_index("ix_author_claims_status_created", "author_claims", ["status", "created_at"])
    op.create_index(
        "uq_author_claims_approved_place",
        "author_claims",
        ["paper_id", "position"],
        unique=True,
        sqlite_where=sa.text("status = 'approved'"),
        postgresql_where=sa.text("status = 'approved'"),
    )
    op.create_table(
        "author_variants",
        sa.Column("author_id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_author_variants_author_id_authors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_author_variants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("author_id", name=op.f("pk_author_variants")),
    )
    op.create_index(op.f("ix_author_variants_user_id"), "author_variants", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_author_variants_user_id"), table_name="author_variants")
    op.drop_table("author_variants")
    op.drop_index("uq_author_claims_approved_place", table_name="author_claims")
    op.drop_index("ix_author_claims_status_created", table_name="author_claims")
    op.drop_index(op.f("ix_author_claims_author_id"), table_name="author_claims")
    op.drop_table("author_claims")
    op.drop_index(op.f("ix_author_follows_author_id"), table_name="author_follows")
    op.drop_table("author_follows")
