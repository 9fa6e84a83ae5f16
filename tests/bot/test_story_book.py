"""Story state saved with the items (one row per story, in its latest state), and taken in
by the other workers sharing the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.records import ItemRow
from bot.stories import OpenStory, StoryFingerprint, fingerprint
from bot.story_book import StoryBook
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.repo import stories as story_repo
from tests.support.item_rows import item_row

NOW = datetime(2026, 5, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MINUTES_5 = timedelta(minutes=5)


async def test_stories_saved_together_in_their_latest_state(sessions: SessionFactory) -> None:
    book = StoryBook(timedelta(hours=48))
    titles = ["Kim Kardashian wedding date set", "Kim Kardashian wedding date set for May", "Oscars host named"]
    rows = [
        item_row(f"g:{n}", t, link=f"https://n.test/{n}", article_key=f"https://n.test/{n}", published=NOW)
        for n, t in enumerate(titles)
    ]
    prints = [fingerprint(t, "", r.link, NOW) for r, t in zip(rows, titles, strict=True)]
    # Two polls: the first grew the wedding story to one article, the second to two.
    [first], first_stories = book.assign(rows[:1], prints[:1])
    [second, third], second_stories = book.assign(rows[1:], prints[1:])
    assert first.story_id == second.story_id != third.story_id
    # The older snapshot comes last, as when two polls' writes share a transaction.
    async with sessions.begin() as s:
        await book.save_latest(s, [*second_stories, *first_stories])
    reloaded = StoryBook(timedelta(hours=48))
    async with sessions() as s:
        assert await reloaded.load(s, now=NOW) == 2
    wedding = reloaded.grouper.get(first.story_id or "")
    assert wedding is not None and wedding.article_count == 2  # not the first poll's snapshot


def _article(key: str, title: str, at: datetime) -> tuple[ItemRow, StoryFingerprint]:
    row = item_row(key, title, link=f"https://n.test/{key}", article_key=f"https://n.test/{key}", published=at)
    return row, fingerprint(title, "", row.link, at)


async def _poll(sessions: SessionFactory, book: StoryBook, key: str, title: str, at: datetime) -> str:
    """One article through ``book`` as a poll takes it: assigned, its story written."""
    story_id, stories = _assigned(book, key, title, at)
    await _write(sessions, book, stories)
    return book.story_of(story_id)  # its target, if the write folded it


async def _started(sessions: SessionFactory, worker: str) -> StoryBook:
    book = StoryBook(timedelta(hours=48), worker_id=worker)
    async with sessions() as s:
        await book.load(s, now=NOW)
    return book


async def _sync(sessions: SessionFactory, book: StoryBook) -> int:
    return await book.sync(sessions)


async def test_workers_take_in_each_others_stories(sessions: SessionFactory) -> None:
    """Later coverage joins the story another worker opened, and each worker ends up with
    the articles of both."""
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    story = await _poll(sessions, a, "a1", "Kim Kardashian wedding date set", NOW)

    assert await _sync(sessions, b) == 1
    later = await _poll(sessions, b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=5))
    assert later == story  # without the sync, worker b would have opened a second story

    assert await _sync(sessions, a) == 1
    grown = a.grouper.get(story)
    assert grown is not None and grown.article_count == 2
    assert {rep.link for rep in grown.representatives} == {"n.test/a1", "n.test/b1"}
    # Nothing new: its own saves are not read back, the other's not taken in twice.
    assert (await _sync(sessions, a), await _sync(sessions, b)) == (0, 0)


async def test_a_worker_keeps_what_it_added_while_another_grew_the_story(sessions: SessionFactory) -> None:
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    story = await _poll(sessions, a, "a1", "Kim Kardashian wedding date set", NOW)
    assert await _sync(sessions, b) == 1
    # Both grow the story before either syncs again; b saves last, without a's article.
    await _poll(sessions, a, "a2", "Kim Kardashian wedding date set for Paris", NOW + timedelta(minutes=3))
    await _poll(sessions, b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=5))

    assert await _sync(sessions, a) == 1
    merged = a.grouper.get(story)
    assert merged is not None
    assert {rep.link for rep in merged.representatives} == {"n.test/a1", "n.test/a2", "n.test/b1"}
    # a saves the merged state with its next article; b takes that in.
    await _poll(sessions, a, "a3", "Kim Kardashian wedding date set in Italy", NOW + timedelta(minutes=7))
    assert await _sync(sessions, b) == 1
    whole = b.grouper.get(story)
    assert whole is not None and len(whole.representatives) == 4


async def test_a_save_that_commits_after_a_later_one_is_still_taken_in(
    sessions: SessionFactory, database_url: str
) -> None:
    """Saves are stamped when written, visible when committed: a sync reads back over an
    overlap so a slow commit is not skipped."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: two saves cannot commit out of order")
    a, b, c = [await _started(sessions, f"host:{n}") for n in (1, 2, 3)]
    slow_row, slow_fp = _article("a1", "Oscars host named", NOW)
    [_], slow_stories = a.assign([slow_row], [slow_fp])
    async with sessions.begin() as slow:
        await a.save_latest(slow, slow_stories)  # stamped now, committed below
        await _poll(sessions, b, "b1", "Kim Kardashian wedding date set", NOW)
        assert await _sync(sessions, c) == 1  # b's story only: a's is not committed yet
    assert await _sync(sessions, c) == 1
    assert len(c.grouper) == 2


async def _write(sessions: SessionFactory, book: StoryBook, stories: list[OpenStory]) -> dict[str, str]:
    """A poll's story writes as ``bot.poll_store.write_stores`` makes them: fold, then save."""
    async with sessions.begin() as s:
        folded = await book.fold_new(s, stories)
        await book.save_latest(s, stories)
    return folded


def _assigned(book: StoryBook, key: str, title: str, at: datetime) -> tuple[str, list[OpenStory]]:
    row, fp = _article(key, title, at)
    [assigned], stories = book.assign([row], [fp])
    assert assigned.story_id is not None
    return assigned.story_id, stories


async def _stored_story_ids(sessions: SessionFactory) -> set[str]:
    async with sessions() as s:
        return {OpenStory.from_json(state).story_id for state in await story_repo.open_stories(s, since=NOW - DAY)}


async def test_two_workers_opening_the_same_story_at_once_end_with_one(sessions: SessionFactory) -> None:
    """Two outlets' first articles on the news, polled by two workers between syncs: the
    worker that writes second folds its story into the first's, so one thread is opened."""
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    first, a_stories = _assigned(a, "a1", "Kim Kardashian wedding date set", NOW)
    second, b_stories = _assigned(b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=1))
    assert first != second  # neither worker had seen the other's article

    assert await _write(sessions, a, a_stories) == {}
    assert await _write(sessions, b, b_stories) == {second: first}
    assert b.grouper.get(second) is None
    whole = b.grouper.get(first)
    assert whole is not None and whole.article_count == 2
    assert {rep.link for rep in whole.representatives} == {"n.test/a1", "n.test/b1"}
    assert await _stored_story_ids(sessions) == {first}
    # Later coverage joins the one story on either worker.
    assert await _poll(sessions, b, "b2", "Kim Kardashian wedding date set for May in Italy", NOW + MINUTES_5) == first
    assert await _sync(sessions, a) == 1
    grown = a.grouper.get(first)
    assert grown is not None and grown.article_count == 3


async def test_a_different_story_opened_meanwhile_is_kept(sessions: SessionFactory) -> None:
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    wedding, a_stories = _assigned(a, "a1", "Kim Kardashian wedding date set", NOW)
    oscars, b_stories = _assigned(b, "b1", "Oscars host named", NOW)
    assert await _write(sessions, a, a_stories) == {}
    assert await _write(sessions, b, b_stories) == {}
    assert await _stored_story_ids(sessions) == {wedding, oscars}


async def test_a_story_the_sync_took_in_after_ours_opened_is_folded_into(sessions: SessionFactory) -> None:
    """The regular sync may take the other's story in before this worker writes: it was
    still not there when this worker's article was assigned."""
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    second, b_stories = _assigned(b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=1))
    first = await _poll(sessions, a, "a1", "Kim Kardashian wedding date set", NOW)
    assert await _sync(sessions, b) == 1
    assert await _write(sessions, b, b_stories) == {second: first}


async def test_a_poll_that_assigned_to_a_folded_story_writes_into_its_target(sessions: SessionFactory) -> None:
    a, b = await _started(sessions, "host:1"), await _started(sessions, "host:2")
    first, a_stories = _assigned(a, "a1", "Kim Kardashian wedding date set", NOW)
    second, b_stories = _assigned(b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=1))
    # Another of b's polls joins b's story before b's first write.
    row, fp = _article("b2", "Kim Kardashian wedding date set for May in Italy", NOW + timedelta(minutes=2))
    [in_flight], in_flight_stories = b.assign([row], [fp])
    assert in_flight.story_id == second
    await _write(sessions, a, a_stories)
    assert await _write(sessions, b, b_stories) == {second: first}

    [redirected] = b.redirected([in_flight])
    assert redirected.story_id == first
    assert await _write(sessions, b, in_flight_stories) == {}  # saves the target's state
    async with sessions() as s:
        [state] = await story_repo.open_stories(s, since=NOW - DAY)
    saved = OpenStory.from_json(state)
    assert saved.story_id == first and saved.article_count == 3


async def test_the_second_of_two_concurrent_writes_waits_and_folds(database_url: str) -> None:
    """Two worker processes (two engines) write their new stories at the same time: the
    story-opening lock makes the second wait for the first's commit, then see its story."""
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        await upgrade(engines[0])
        sessions_a, sessions_b = (make_session_factory(engine) for engine in engines)
        a, b = await _started(sessions_a, "host:1"), await _started(sessions_b, "host:2")
        first, a_stories = _assigned(a, "a1", "Kim Kardashian wedding date set", NOW)
        second, b_stories = _assigned(b, "b1", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=1))
        a_locked, a_commit = asyncio.Event(), asyncio.Event()

        async def write_a() -> dict[str, str]:
            async with sessions_a.begin() as s:
                folded = await a.fold_new(s, a_stories)
                await a.save_latest(s, a_stories)
                a_locked.set()
                await a_commit.wait()
            return folded

        task_a = asyncio.create_task(write_a())
        await a_locked.wait()
        task_b = asyncio.create_task(_write(sessions_b, b, b_stories))
        await asyncio.sleep(0.5)
        assert not task_b.done()  # waiting for a's transaction
        a_commit.set()
        assert await task_a == {}
        assert await asyncio.wait_for(task_b, 15) == {second: first}
        assert await _stored_story_ids(sessions_a) == {first}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_restarted_worker_does_not_fold_into_what_it_had_loaded(sessions: SessionFactory) -> None:
    """A restarted worker reads again the saves from before it loaded. A representative
    its copy has dropped since is nothing new: a new story that only that one would have
    taken stays apart, as in one process without the restart."""
    titles = [
        "Oscars host named",
        "Kim Kardashian wedding date set",
        "Tony awards nominees announced",
        "Grammy producers plan a tribute",
        "Cannes jury president chosen",
        "Emmys move their ceremony to August",
    ]
    # In the order they came; the wedding one is the most recent (a feed that was late).
    minutes = [0, 30, 2, 3, 4, 5]
    reps = tuple(
        fingerprint(title, "", f"https://n.test/r{n}", NOW + timedelta(minutes=minutes[n]))
        for n, title in enumerate(titles)
    )
    previous = StoryBook(timedelta(hours=48), worker_id="host:before-restart")
    async with sessions.begin() as s:
        await previous.save(s, [OpenStory("s-old", reps, reps[1].published, len(reps))])
    book = await _started(sessions, "host:after-restart")
    # An article joins the story through its first representative; the story is full, so
    # the representative that came second, the wedding one, is dropped.
    joined, grown = _assigned(book, "n1", "Oscars host named for next year", NOW + timedelta(minutes=31))
    assert joined == "s-old"
    story = book.grouper.get("s-old")
    assert story is not None and reps[1] not in story.representatives
    opened, new = _assigned(book, "n2", "Kim Kardashian wedding date set for May", NOW + timedelta(minutes=32))
    assert opened != "s-old"

    assert await _write(sessions, book, [*grown, *new]) == {}
    assert await _stored_story_ids(sessions) == {"s-old", opened}
