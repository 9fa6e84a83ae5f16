"""Pure decisions about what a poll found: dedup keys, what to alert, who to tell.

Like reader's ``Decider``: no I/O, only data in and data out, so every rule here is
tested with plain values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.feeds.dedup import canonical_link, item_dedup_key
from bot.feeds.model import ParsedFeed, ParsedItem
from bot.query.text import word_forms
from bot.records import ItemRow


def item_keys(item: ParsedItem, *, guid_stable: bool) -> tuple[str, ...]:
    """Every key that identifies this item; any one already seen makes it seen.

    The primary key follows the guid > link > title+date rule. The link key is added
    beside a guid so that a feed whose guids churn (or stop being stable) still
    recognizes an article it has seen by its canonical link.
    """
    primary = item_dedup_key(item, guid_stable=guid_stable)
    keys = [primary]
    link = item.source_url or item.link
    if link:
        link_key = "l:" + canonical_link(link)
        if link_key not in keys:
            keys.append(link_key)
    return tuple(keys)


def article_identity(item: ParsedItem) -> str | None:
    link = item.source_url or item.link
    return canonical_link(link) if link else None


def search_text_of(title: str, summary: str, categories: Sequence[str]) -> str:
    """The item's normalized words (with plural-possessive alternates) for full-text search."""
    words: list[str] = []
    for text in (title, summary, *categories):
        for word, alternate in word_forms(text):  # scan's words, without building spans
            words.append(word)
            if alternate:
                words.append(alternate)
    return " ".join(words)


def to_rows(feed: ParsedFeed) -> list[ItemRow]:
    return [
        ItemRow(
            keys=item_keys(item, guid_stable=feed.guid_stable),
            article_key=article_identity(item),
            title=item.title,
            link=item.source_url or item.link,
            summary=item.summary,
            author=item.author,
            categories=item.categories,
            image=item.image,
            source_name=item.source,
            published_at=item.published,
            search_text=search_text_of(item.title, item.summary, item.categories),
        )
        for item in feed.items
    ]


@dataclass(frozen=True)
class AlertDecider:
    """Whether a newly stored item may alert anyone."""

    now: datetime
    max_age: timedelta
    baseline: bool  # the feed's first successful poll records what is there, alerts nothing

    def should_alert(self, published: datetime | None) -> bool:
        if self.baseline:
            return False
        if published is None:
            return True  # first seen now: as fresh as it gets
        return self.now - published <= self.max_age


@dataclass(frozen=True, slots=True)
class FollowRef:
    guild_id: int
    channel_id: int
    user_id: int
    query: str
    delivery: str = "instant"  # instant | hourly | daily
    dm: bool = False


@dataclass(frozen=True, slots=True)
class ChannelAlert:
    guild_id: int
    channel_id: int
    user_ids: tuple[int, ...]
    queries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """Where one matched item goes: channel alerts, direct messages, digest entries."""

    channels: list[ChannelAlert]
    direct: list[FollowRef]  # one DM per member (deduplicated)
    digests: list[FollowRef]


def plan_item(follows: Iterable[FollowRef], *, visible_guilds: set[int] | None, matched: set[str]) -> DeliveryPlan:
    """Split the follows an item matched by how their members want it."""
    relevant = [f for f in follows if f.query in matched and (visible_guilds is None or f.guild_id in visible_guilds)]
    instant_here = [f for f in relevant if f.delivery == "instant" and not f.dm]
    direct: dict[int, FollowRef] = {}
    for f in relevant:
        if f.delivery == "instant" and f.dm:
            direct.setdefault(f.user_id, f)
    digests: dict[tuple[int, int, str], FollowRef] = {}
    for f in relevant:
        if f.delivery in ("hourly", "daily"):
            digests.setdefault((f.channel_id, f.user_id, f.delivery), f)
    return DeliveryPlan(
        channels=group_by_channel(instant_here, visible_guilds=None, matched=matched),
        direct=list(direct.values()),
        digests=list(digests.values()),
    )


def group_by_channel(
    follows: Iterable[FollowRef],
    *,
    visible_guilds: set[int] | None,
    matched: Mapping[str, object] | set[str],
) -> list[ChannelAlert]:
    """One alert per channel, mentioning every member there whose follow matched."""
    users: dict[tuple[int, int], set[int]] = defaultdict(set)
    queries: dict[tuple[int, int], set[str]] = defaultdict(set)
    for follow in follows:
        if follow.query not in matched:
            continue
        if visible_guilds is not None and follow.guild_id not in visible_guilds:
            continue
        key = (follow.guild_id, follow.channel_id)
        users[key].add(follow.user_id)
        queries[key].add(follow.query)
    return [
        ChannelAlert(
            guild_id=g,
            channel_id=c,
            user_ids=tuple(sorted(users[(g, c)])),
            queries=tuple(sorted(queries[(g, c)])),
        )
        for (g, c) in sorted(users)
    ]


def identity_for(article_key: str | None, item_id: int) -> str:
    return article_key or f"item:{item_id}"
