"""A stored article as an alert embed, with the follow's words highlighted."""

from __future__ import annotations

import functools

from bot.delivery.render import ArticleView, render_embed
from bot.errors import QueryError
from bot.query.matcher import highlight_spans
from bot.query.model import Query
from bot.query.parser import parse_query
from db.models import Delivery, Item


def article_view(item: Item, feed_name: str, queries: tuple[str, ...]) -> ArticleView:
    return ArticleView(
        title=item.title,
        link=item.link,
        summary=item.summary,
        source=item.source_name or feed_name,
        author=item.author,
        published=item.published_at,
        image=item.image,
        queries=queries,
    )


def spans_for(text: str, queries: tuple[str, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for query in queries:
        parsed = _highlighting(query)
        if parsed is not None:
            spans.extend(highlight_spans(text, parsed))
    return _merge(spans)


@functools.lru_cache(maxsize=4096)
def _highlighting(query: str) -> Query | None:
    """A follow's query parsed for highlighting; every alert of a popular follow parses
    the same text (twice: title and summary), so it is parsed once."""
    try:
        return parse_query(query, max_chars=10_000, max_terms=1_000)
    except QueryError:
        return None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def embed_for(item: Item, feed_name: str, queries: tuple[str, ...], extra_footer: str = "") -> dict[str, object]:
    view = article_view(item, feed_name, queries)
    return render_embed(
        view,
        title_spans=spans_for(item.title, queries),
        summary_spans=spans_for(" ".join(view.summary.split())[:400], queries),
        extra_footer=extra_footer,
    )


def follow_queries(delivery: Delivery) -> tuple[str, ...]:
    """The follows a delivery matched (stored newline-separated)."""
    return tuple(q for q in delivery.queries.split("\n") if q)
