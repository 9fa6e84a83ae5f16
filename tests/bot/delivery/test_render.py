from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.render import (
    THREAD_NAME_LIMIT,
    ArticleView,
    bold_spans,
    escape_markdown,
    nonce_for,
    render_embed,
    split_mentions,
    story_label,
    thread_name,
    truncate,
)


def view(**kw: object) -> ArticleView:
    base: dict[str, object] = dict(  # noqa: C408 (keyword form reads like the dataclass)
        title="Kim Kardashian and Kanye West wed in Florence",
        link="https://news.test/a",
        summary="<p>ignored</p> The couple married on Saturday.",
        source="Example News",
        author=None,
        published=datetime(2014, 5, 24, 18, tzinfo=UTC),
        image="https://img.test/a.jpg",
        queries=("kanye kim",),
    )
    base.update(kw)
    return ArticleView(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@everyone look", "@\u200beveryone look"),
        ("@here", "@\u200bhere"),
        ("<@&123> role", "<@\u200b&123> role"),
        ("<@42>", "<@\u200b42>"),
        ("[click](https://evil.test)", "\\[click\\](https://evil.test)"),
        (
            "**bold** _it_ ~~s~~ `c` ||spoil||",
            "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\`c\\` \\|\\|spoil\\|\\|",
        ),
        ("# Header", "\\# Header"),
        ("> quote", "\\> quote"),
        ("Jay-Z (live)", "Jay-Z (live)"),
    ],
)
def test_escape_markdown_defuses_mentions_links_and_formatting(raw: str, expected: str) -> None:
    assert escape_markdown(raw) == expected


def test_truncate_on_word_boundary_with_ellipsis() -> None:
    text = "word " * 100
    cut = truncate(text, 50)
    assert len(cut) <= 50 and cut.endswith("…") and not cut.endswith(" …")
    assert truncate("short", 50) == "short"


def test_truncate_never_leaves_a_dangling_escape() -> None:
    cut = truncate(escape_markdown("a" * 40 + "*" * 40), 45)
    assert not cut[:-1].endswith("\\")


def test_bold_spans_escape_first_then_bold() -> None:
    assert bold_spans("Kim *x* Kanye", [(0, 3), (8, 13)]) == "**Kim** \\*x\\* **Kanye**"


def test_embed_fields_and_limits() -> None:
    embed = render_embed(view(title="T" * 400 + " @everyone", summary="s " * 3000))
    assert len(str(embed["title"])) <= 256
    assert len(str(embed["description"])) <= 4096
    assert embed["url"] == "https://news.test/a"
    assert embed["thumbnail"] == {"url": "https://img.test/a.jpg"}
    assert "<t:1400954400:R>" in str(embed["description"])
    assert embed["footer"] == {"text": "Matched: kanye kim"}
    total = sum(len(str(v)) for k, v in embed.items() if k in ("title", "description")) + len("Matched: kanye kim")
    assert total <= 6000


def test_embed_without_link_image_or_date() -> None:
    embed = render_embed(view(link=None, image=None, published=None))
    assert "url" not in embed and "thumbnail" not in embed and "timestamp" not in embed


def test_split_mentions_fits_content_limit_and_keeps_everyone() -> None:
    users = list(range(10**17, 10**17 + 300))
    chunks = split_mentions(users)
    assert [u for c in chunks for u in c] == users
    assert all(len(" ".join(f"<@{u}>" for u in c)) <= 2000 for c in chunks)
    assert len(chunks) > 1
    assert split_mentions([]) == []


def test_nonces_are_stable_distinct_and_short() -> None:
    assert nonce_for(5) == nonce_for(5)
    assert len({nonce_for(i, p) for i in range(1000) for p in range(3)}) == 3000
    assert len(nonce_for(2**63, 99)) <= 25


def test_thread_name_is_the_story_or_says_how_many_stories_gather_there() -> None:
    assert thread_name(["Kim and Kanye   marry\nin Florence"]) == "Kim and Kanye marry in Florence"
    assert (
        thread_name(["Kim and Kanye marry", "Perfume launch"])
        == "More on 2 stories: Kim and Kanye marry · Perfume launch"
    )
    assert thread_name([""]) == "More coverage"  # the first article is no longer stored
    assert thread_name(["", "Perfume launch"]) == "More on 2 stories: Perfume launch"
    long = thread_name(["word " * 60])
    assert len(long) <= THREAD_NAME_LIMIT and long.endswith("…")


def test_story_label_escapes_feed_text() -> None:
    assert story_label("@everyone *Kim* wed") == "More on: @\u200beveryone \\*Kim\\* wed"
    assert len(story_label("word " * 100)) <= len("More on: ") + 200
