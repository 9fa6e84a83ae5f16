"""SQLAlchemy 2 typed models. Alembic (db/migrations) owns the schema; keep both in step.

Unique constraints make every write idempotent: re-polling a feed, restarting the bot or
two workers racing cannot create a second item, follow or delivery for the same thing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite forgets the zone, so put it back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# Discord snowflakes exceed 32 bits.
Snowflake = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    # config: from config.toml (trusted); server: added by an admin; search: a follow's search feed
    kind: Mapped[str] = mapped_column(String(16), default="config")
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    search_query: Mapped[str | None] = mapped_column(String(400), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    baseline_done: Mapped[bool] = mapped_column(Boolean, default=False)
    guid_stable: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[float] = mapped_column(Float)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Work claim for several worker processes: whoever holds an unexpired lease polls it.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_feeds_due", "enabled", "next_poll_at"),)


class GuildFeed(Base):
    """A feed a server added (server feeds) — the same URL may be shared by many servers."""

    __tablename__ = "guild_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[int] = mapped_column(Snowflake)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("guild_id", "feed_id", name="uq_guild_feeds"),)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(600))
    # Canonical article link: the same article reached through two feeds shares it.
    article_key: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2048))
    summary: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    categories: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(2048))
    source_name: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # published_at, or first_seen_at when the feed gives no date: what /latest sorts by.
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime)
    story_id: Mapped[str | None] = mapped_column(String(64))
    # Normalized words of title, summary and categories; full-text indexed (migration 0002).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        UniqueConstraint("feed_id", "dedup_key", name="uq_items_feed_dedup"),
        Index("ix_items_article_key", "article_key"),
        Index("ix_items_sort_at", "sort_at"),
        Index("ix_items_feed_sort", "feed_id", "sort_at"),
        # A story's coverage, counted for /latest.
        Index("ix_items_story", "story_id"),
    )


class SeenKey(Base):
    """Dedup keys outlive pruned items for the retention window, so nothing re-alerts."""

    __tablename__ = "seen_keys"

    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Follow(Base):
    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    user_id: Mapped[int] = mapped_column(Snowflake)
    query: Mapped[str] = mapped_column(String(400))  # the normalized query
    delivery: Mapped[str] = mapped_column(String(16), default="instant")  # instant|hourly|daily
    dm: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The search feed polled for this follow (shared by every follow with the same search).
    search_feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("guild_id", "channel_id", "user_id", "query", name="uq_follows"),
        Index("ix_follows_member", "guild_id", "user_id"),
        Index("ix_follows_query", "query"),
        Index("ix_follows_search_feed", "search_feed_id"),
    )


class Delivery(Base):
    """The outbox: one row per (channel, article) to post, written with the item."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    guild_id: Mapped[int] = mapped_column(Snowflake)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    # One article per channel, whichever feed carried it.
    article_identity: Mapped[str] = mapped_column(String(2048))
    user_ids: Mapped[str] = mapped_column(Text)  # space-separated member ids to mention
    queries: Mapped[str] = mapped_column(Text, default="")  # newline-separated follows that matched
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How it went out: alert (pinged), thread (story follow-up), summary (over the cap).
    sent_as: Mapped[str | None] = mapped_column(String(16))
    # channel: channel_id is a guild channel; dm: channel_id holds the member's user id.
    kind: Mapped[str] = mapped_column(String(16), default="channel", server_default="channel")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "article_identity", name="uq_deliveries_channel_article"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # The alerts one message carries (a bundle), to redraw them all when one changes.
        Index("ix_deliveries_message", "message_id"),
    )


class ChannelState(Base):
    """Per-channel delivery state: pause after 403, flood window."""

    __tablename__ = "channel_state"

    channel_id: Mapped[int] = mapped_column(Snowflake, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Flood cap: a fixed window that starts with its first alert.
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Meta(Base):
    """Small key/value counters, e.g. the follows version other workers poll."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class JobLease(Base):
    """Which worker runs a job that walks a shared list (digests, summaries, the pings
    held by quiet hours), and until when: one at a time, so none is sent twice. A lease
    that runs out (its worker died) is taken over."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))  # a worker id; None: free
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Story(Base):
    """An open story's grouping state, so the grouper survives restarts."""

    __tablename__ = "stories"

    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # bot.stories.open_story.OpenStory.to_json()
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Which worker saved this state, and when by the database's clock: the other workers
    # take in what changed since they last looked (bot.story_book.StoryBook.sync).
    saved_by: Mapped[str | None] = mapped_column(String(200))
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ChannelStory(Base):
    """A story's first alert in a channel: later coverage goes into its thread."""

    __tablename__ = "channel_stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    story_id: Mapped[str] = mapped_column(String(64))
    root_message_id: Mapped[int] = mapped_column(Snowflake)
    root_delivery_id: Mapped[int] = mapped_column(Integer)
    thread_id: Mapped[int | None] = mapped_column(Snowflake)
    outlets: Mapped[str] = mapped_column(Text, default="")  # newline-separated, in order
    article_count: Mapped[int] = mapped_column(Integer, default=1)
    # The article_count the first alert's footer shows: behind article_count, the footer is
    # brought up to date once the queued alerts are out (it is cosmetic; they come first).
    footer_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    pinged_user_ids: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_article_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "story_id", name="uq_channel_stories"),
        # Partial: only the few stories whose footer is behind, looked for after each drain.
        Index(
            "ix_channel_stories_stale_footer",
            "last_article_at",
            sqlite_where=text("footer_count < article_count"),
            postgresql_where=text("footer_count < article_count"),
        ),
    )


class GuildSettings(Base):
    """Per-server overrides of the [alerts] defaults, edited with /settings."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(Snowflake, primary_key=True)
    story_mode: Mapped[str | None] = mapped_column(String(16))
    max_per_window: Mapped[int | None] = mapped_column(Integer)
    window_seconds: Mapped[float | None] = mapped_column(Float)
    quiet_hours: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))
    search_feeds: Mapped[bool | None] = mapped_column(Boolean)
    bundle_alerts: Mapped[bool | None] = mapped_column(Boolean)
    alert_buttons: Mapped[bool | None] = mapped_column(Boolean)
    allowed_channel_ids: Mapped[str | None] = mapped_column(Text)  # space-separated; None: all


class DigestEntry(Base):
    """An article waiting for a member's hourly or daily digest."""

    __tablename__ = "digest_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    user_id: Mapped[int] = mapped_column(Snowflake)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(String(400))
    period: Mapped[str] = mapped_column(String(16))  # hourly | daily
    dm: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "user_id", "item_id", name="uq_digest_entries"),
        Index("ix_digest_entries_due", "sent_at", "due_at"),
    )


class QuietPing(Base):
    """A mention held back by quiet hours, gathered into one message when they end."""

    __tablename__ = "quiet_pings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    user_id: Mapped[int] = mapped_column(Snowflake)
    delivery_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("delivery_id", "user_id", name="uq_quiet_pings"),
        Index("ix_quiet_pings_open", "sent_at", "guild_id"),
    )
