"""workers take in each other's stories; items lose the fingerprint column

Each saved story records its worker and the database's time (``saved_by``, ``saved_at``),
so the other workers read what changed since they last looked. ``items.fingerprint`` was
never written: stories keep their articles' fingerprints.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("saved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_stories_saved_at"), ["saved_at"], unique=False)
    # In place, not as a batch: a batch would copy the items table, and on SQLite dropping
    # the old table drops the triggers that keep the full-text index in step (0002).
    op.execute("ALTER TABLE items DROP COLUMN fingerprint")


def downgrade() -> None:
    op.add_column("items", sa.Column("fingerprint", sa.Text(), nullable=True))
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_saved_at"))
        batch_op.drop_column("saved_at")
        batch_op.drop_column("saved_by")
