"""a server may turn off the follow / unfollow button on alerts; items by story

/latest shows one line per story with the count of its other coverage (ix_items_story).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_buttons", sa.Boolean(), nullable=True))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_story", ["story_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_story")
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("alert_buttons")
