"""Plain records passed between the poll pipeline and the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ItemRow:
    """An item as the poll pipeline hands it to the database."""

    keys: tuple[str, ...]  # every dedup key of the item; the first is stored on the row
    article_key: str | None
    title: str
    link: str | None
    summary: str
    author: str | None
    categories: tuple[str, ...]
    image: str | None
    source_name: str | None
    published_at: datetime | None
    search_text: str = ""
    story_id: str | None = None
