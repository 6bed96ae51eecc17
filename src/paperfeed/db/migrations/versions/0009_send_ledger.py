"""digest send ledger

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The same literal as paperfeed.digests.ledger_models.CLAIMABLE_SQL (a migration never imports models).
CLAIMABLE_SQL = "status IN ('prepared', 'retry')"
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "digest_sends",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("paper_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("smtp_reply", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_digest_sends_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sends")),
        sa.UniqueConstraint("message_id", name=op.f("uq_digest_sends_message_id")),
        sa.UniqueConstraint("subscription_id", "period", name="uq_digest_sends_subscription_period"),
    )
    with op.batch_alter_table("digest_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_digest_sends_due",
            ["next_attempt_at", "id"],
            unique=False,
            sqlite_where=sa.text(CLAIMABLE_SQL),
            postgresql_where=sa.text(CLAIMABLE_SQL),
        )

    op.create_table(
        "digest_sent_papers",
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("paper_id", _ID, nullable=False),
        sa.Column("send_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_digest_sent_papers_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["digest_sends.id"],
            name=op.f("fk_digest_sent_papers_send_id_digest_sends"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_digest_sent_papers_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscription_id", "paper_id", name=op.f("pk_digest_sent_papers")),
    )
    with op.batch_alter_table("digest_sent_papers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_sent_papers_send_id"), ["send_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_sent_papers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_sent_papers_send_id"))
    op.drop_table("digest_sent_papers")
    with op.batch_alter_table("digest_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_sends_due")
    op.drop_table("digest_sends")
