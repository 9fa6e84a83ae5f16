"""Backend-specific statements (INSERT ... ON CONFLICT) behind one helper."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignore(session: AsyncSession, table: Any) -> Any:
    """An INSERT that skips rows violating a unique constraint, for the session's backend.

    A mapped class is replaced by its Core table: bulk rows then skip the ORM's per-row
    bookkeeping (the statement and its RETURNING are the same).
    """
    table = getattr(table, "__table__", table)
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database backend: {name}")


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
