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
