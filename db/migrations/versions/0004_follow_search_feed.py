"""follows point at their search feed

Two queries can share one search (e.g. ``kim kanye`` and ``kim kanye -kylie``), so a
search feed is found through the follows that use it, not through one query string.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.add_column(sa.Column("search_feed_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_follows_search_feed_id_feeds",
            "feeds",
            ["search_feed_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_follows_search_feed", ["search_feed_id"])


def downgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.drop_index("ix_follows_search_feed")
        batch.drop_constraint("fk_follows_search_feed_id_feeds", type_="foreignkey")
        batch.drop_column("search_feed_id")
