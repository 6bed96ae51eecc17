"""Hugging Face fidelity: the source's comment count beside ours, the submitter's full name

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Comments counted on Hugging Face, kept apart from ours (comment_count) as upvotes are kept apart
    # from vote_count: the source owns its number, paperfeed adds its own to it when it shows a total.
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("source_comments", sa.Integer(), server_default="0", nullable=False))
    # The submitter's display name as Hugging Face sends it (submitted_by stays the username).
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("submitter_fullname", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("submitter_fullname")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("source_comments")
