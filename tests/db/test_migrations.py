from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from db.engine import make_engine
from db.migrate import current_revision, upgrade
from db.models import Base


async def test_upgrade_creates_every_model_table_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # a second start must be a no-op
        revision = await current_revision(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        assert revision is not None
    finally:
        await engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    import db

    versions = Path(db.__file__).parent / "migrations" / "versions"
    assert sorted(p.name for p in versions.glob("*.py"))


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///plain.db", "not a url"])
def test_unsupported_database_urls_are_config_errors(url: str) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"database\.url"):
        make_engine(url)


async def test_models_and_migrations_agree(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:

            def diff(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": False,
                        "include_object": lambda o, n, t, r, c: (
                            not (n or "").startswith(("items_fts", "search_vector", "ix_items_search"))
                        ),
                    },
                )
                return compare_metadata(context, Base.metadata)

            differences = await conn.run_sync(diff)
        assert differences == []
    finally:
        await engine.dispose()


async def test_dropping_the_item_fingerprint_keeps_items_and_their_full_text_index(database_url: str) -> None:
    """0008 drops a column of ``items`` in place: on SQLite a batch copy of the table would
    have dropped the triggers that keep the full-text index in step."""
    from datetime import UTC, datetime

    from bot.query.parser import parse_query
    from db.engine import make_session_factory
    from db.repo import feeds as feed_repo
    from db.repo import items as item_repo
    from tests.support.item_rows import item_row

    now = datetime(2026, 5, 1, tzinfo=UTC)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        await upgrade(engine, "0007")
        async with sessions.begin() as s:
            feed = await feed_repo.get_or_create_feed(
                s, url="http://f.test/", name="F", kind="config", trusted=True, interval=60, now=now
            )
            await item_repo.record_items(
                s, feed.id, [item_row("a", "Kim before", published=now, search_text="kim before")], now=now
            )
        await upgrade(engine)
        async with sessions.begin() as s:
            await item_repo.record_items(
                s, feed.id, [item_row("b", "Kim after", published=now, search_text="kim after")], now=now
            )
        async with sessions() as s:
            found = await item_repo.search_items(
                s, [feed.id], [parse_query("kim")], accept=lambda _item: True, limit=10
            )
        assert sorted(item.title for item in found) == ["Kim after", "Kim before"]
    finally:
        await engine.dispose()
