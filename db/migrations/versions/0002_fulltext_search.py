"""full-text search over stored articles (/latest)

Items get ``search_text``: their normalized words (the query tokenizer's output), so
the database index and the Python matcher agree on accents, case and possessives.
SQLite indexes it with FTS5 (external content, kept in step by triggers); PostgreSQL
with a generated tsvector column and a GIN index.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE items_fts USING fts5("
            "search_text, content='items', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
            "INSERT INTO items_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
            "INSERT INTO items_fts(items_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER items_fts_update AFTER UPDATE OF search_text ON items BEGIN "
            "INSERT INTO items_fts(items_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO items_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    elif bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE items ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_items_search_vector ON items USING GIN (search_vector)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS items_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search_vector")
        op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("search_text")
