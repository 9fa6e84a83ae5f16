"""Alembic environment: runs migrations on the async engine handed over by db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base

target_metadata = Base.metadata


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Full-text machinery (FTS5 tables, the tsvector column) is managed by hand in 0002.
    return not (name or "").startswith(("items_fts", "search_vector"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `storywatch db upgrade`, which passes a connection")
_run(connection)
