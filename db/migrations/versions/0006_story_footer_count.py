"""story footer count, alerts by message and bundling per server

First-alert footers are brought up to date after the queue (footer_count), one message
may carry several alerts (ix_deliveries_message finds them), and a server may turn that
off (guild_settings.bundle_alerts).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("footer_count", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(
            "ix_channel_stories_stale_footer",
            ["last_article_at"],
            unique=False,
            sqlite_where=sa.text("footer_count < article_count"),
            postgresql_where=sa.text("footer_count < article_count"),
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_message", ["message_id"], unique=False)
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle_alerts", sa.Boolean(), nullable=True))
    # Until now every thread post updated the footer at once: existing footers are current.
    op.execute("UPDATE channel_stories SET footer_count = article_count")


def downgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("bundle_alerts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_message")
    with op.batch_alter_table("channel_stories", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_stories_stale_footer")
        batch_op.drop_column("footer_count")
