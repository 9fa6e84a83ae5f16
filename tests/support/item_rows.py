"""ItemRow, the poll pipeline's record of an item, built for repository and story tests."""

from __future__ import annotations

from datetime import datetime

from bot.records import ItemRow


def item_row(
    key: str,
    title: str = "Kim and Kanye",
    *,
    published: datetime | None,
    link: str | None = None,
    article_key: str | None = None,
    link_key: bool = False,
    search_text: str = "",
) -> ItemRow:
    """An item whose first dedup key is ``key``; ``link_key`` adds its link's key too, as
    ``item_keys`` does."""
    return ItemRow(
        keys=(key,) + ((f"l:{link}",) if link_key and link else ()),
        article_key=article_key,
        title=title,
        link=link,
        summary="",
        author=None,
        categories=(),
        image=None,
        source_name=None,
        published_at=published,
        search_text=search_text,
    )
