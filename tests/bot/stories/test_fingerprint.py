"""Fingerprints: normalization, names, serialization, and the shared-token bound."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.stories import StoryFingerprint, fingerprint
from bot.stories.fingerprint import MAX_BODY_TOKENS
from bot.stories.names import distinctive_names, title_subject
from bot.stories.similarity import DEFAULT_THRESHOLDS, score
from bot.stories.text import content_tokens, stem

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Beyoncé’s tour", ["beyonc", "tour"]),  # folded, possessive dropped, stemmed
        ("WATCH: Kim Kardashian says video is exclusive", ["kim", "kardashian"]),  # boilerplate
        ("HGTV cancels the show", ["hgtv", "cancel", "show"]),
        ("HGTV cancelled; HGTV cancelling", ["hgtv", "cancel", "hgtv", "cancel"]),
        ("Author to pay $22.5 million", ["author", "pay", "22.5", "million"]),
    ],
)
def test_content_tokens(text: str, tokens: list[str]) -> None:
    assert content_tokens(text) == tokens


@pytest.mark.parametrize(
    "forms",
    [
        ("marry", "married", "marries", "marrying"),
        ("wed", "wedding"),
        ("movie", "movies"),
        ("collapse", "collapsed"),
        ("agree", "agreed"),
        ("file", "files", "filed", "filing"),
    ],
)
def test_inflections_share_a_stem(forms: tuple[str, ...]) -> None:
    assert len({stem(form) for form in forms}) == 1


@pytest.mark.parametrize(
    ("title", "summary", "names"),
    [
        (
            "Beyoncé, Jay-Z to perform at Kim Kardashian and Kanye West's wedding",
            "",
            ["jay z", "kim kardashian", "kanye west"],  # single opener unconfirmed
        ),
        (
            "Beyonce breaks record for most Grammy wins",
            "Beyonce won her 32nd Grammy, passing Georg Solti.",
            ["beyonce", "grammy", "georg solti"],  # opener confirmed by the summary
        ),
        (
            # Title Case: only words the summary also capitalizes count
            "Kim Kardashian Blogs for First Time Since Marrying Kanye West",
            "Kim Kardashian wrote her first post since she married Kanye West in Florence.",
            ["kim kardashian", "kanye west", "florence"],
        ),
        (
            "Death toll from Turkey-Syria quake tops 2,000 as rescuers dig",
            "Rescuers pulled survivors from the rubble in Turkey.",
            ["turkey syria", "turkey"],  # sentence openers "Death"/"Rescuers" dropped
        ),
        ("Bank of America to pay fine", "", ["bank of america"]),
    ],
)
def test_distinctive_names(title: str, summary: str, names: list[str]) -> None:
    assert distinctive_names(title, summary) == names


def test_title_subject_is_the_first_run_even_unconfirmed() -> None:
    assert title_subject("Beyonce wins album of the year") == "beyonce"
    assert title_subject("WATCH: Taylor Swift at the Grammys") == "taylor swift"
    assert title_subject("no capitals here") is None


def test_fingerprint_fields() -> None:
    fp = fingerprint(
        "Kim Kardashian files for divorce",
        "Kim Kardashian filed papers in Los Angeles on Friday.",
        "https://www.site.example/story/1?utm_source=rss",
        WHEN,
    )
    assert fp.title_tokens == ("kim", "kardashian", "fil", "divorc")
    assert "fil" not in fp.body_tokens  # body tokens exclude title tokens
    assert {"paper", "los", "angel"} <= set(fp.body_tokens)
    assert fp.names == ("kim kardashian", "los angeles")
    assert fp.subject == "kim kardashian"
    assert fp.link == "site.example/story/1"
    assert fp.has_summary


def test_summary_contributes_a_bounded_lede() -> None:
    summary = " ".join(f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200))
    fp = fingerprint("Headline", summary, None, WHEN)
    assert len(fp.body_tokens) == MAX_BODY_TOKENS


def test_truncated_aggregator_title_drops_the_cut_word() -> None:
    title = "Kourtney Kardashian expecting third child with Scott Dis  ..."
    fp = fingerprint(title, "", None, WHEN)
    assert fp.title_tokens == ("kourtney", "kardashian", "expect", "third", "child", "scott")


def test_published_is_normalized_to_utc_and_must_be_aware() -> None:
    plus_two = timezone(timedelta(hours=2))
    fp = fingerprint("Headline", "", None, datetime(2024, 3, 1, 14, 0, tzinfo=plus_two))
    assert fp.published == WHEN
    assert fp.published.tzinfo == UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        fingerprint("Headline", "", None, datetime(2024, 3, 1, 12, 0))


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=150, deadline=None)
@given(
    title=_text,
    summary=_text,
    link=st.one_of(st.none(), st.text(max_size=80), st.just("https://x.example/a?utm_id=1")),
    minutes=st.integers(min_value=-(10**6), max_value=10**6),
)
def test_json_round_trip(title: str, summary: str, link: str | None, minutes: int) -> None:
    fp = fingerprint(title, summary, link, WHEN + timedelta(minutes=minutes))
    data = fp.to_json()
    back = StoryFingerprint.from_json(data)
    assert back == fp
    assert back.tokens == fp.tokens
    assert back.name_tokens == fp.name_tokens
    assert back.subject_tokens == fp.subject_tokens
    assert back.to_json() == data


@pytest.mark.parametrize(
    "data",
    [
        "",
        "null",
        "[]",
        '{"v": 99}',
        '{"v": 1, "t": [], "b": [], "n": [], "s": null, "l": null}',
        '{"v": 1, "t": [1], "b": [], "n": [], "s": null, "l": null, "p": "2024-03-01T12:00Z"}',
        '{"v": 1, "t": [], "b": [], "n": [], "s": null, "l": null, "p": "yesterday"}',
        '{"v": 1, "t": [], "b": [], "n": [], "s": null, "l": null, "p": "2024-03-01T12:00:00"}',
    ],
)
def test_from_json_rejects_malformed_data(data: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|format|expected|aware|string"):
        StoryFingerprint.from_json(data)


_vocabulary = st.sampled_from(
    ["Kim", "Kardashian", "divorce", "files", "Kanye", "West", "tour", "Paris", "baby", "album"]
)
_words = st.lists(_vocabulary, max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_words, _words, _words, _words)
def test_same_story_implies_the_shared_token_bound(title_a: str, summary_a: str, title_b: str, summary_b: str) -> None:
    """The index relies on this bound to skip stories; it must never be violated."""
    a = fingerprint(title_a, summary_a, None, WHEN)
    b = fingerprint(title_b, summary_b, None, WHEN)
    pair = score(a, b)
    if pair.title >= DEFAULT_THRESHOLDS.title or pair.full >= DEFAULT_THRESHOLDS.full:
        shared_title = len(a.title_token_set & b.title_token_set)
        shared = len(a.tokens & b.tokens)
        for side in (a, b):
            assert shared_title >= 1
            assert shared_title >= DEFAULT_THRESHOLDS.min_shared_title_tokens(side) or (
                side.has_summary and shared >= DEFAULT_THRESHOLDS.min_shared_full_tokens(side)
            )


def test_pickle_carries_the_fields_and_rebuilds_shared_words() -> None:
    when = datetime(2014, 5, 24, 18, 0, tzinfo=UTC)
    summary = "Kim Kardashian wed Kanye West in Florence on Saturday."
    original = fingerprint("Kim Kardashian and Kanye West marry", summary, "https://a.test/1", when)
    copy = pickle.loads(pickle.dumps(original))
    assert copy == original
    derived = ("tokens", "title_token_set", "name_tokens", "subject_tokens", "all_words", "given_names")
    assert all(getattr(copy, name) == getattr(original, name) for name in derived)
    assert score(copy, original, DEFAULT_THRESHOLDS).title == 1.0
    # The words of both are the same interned strings, not copies.
    assert all(a is b for a, b in zip(copy.title_tokens, original.title_tokens, strict=True))
