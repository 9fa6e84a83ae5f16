"""Matching on the real UCI entertainment headlines (read-only shared data)."""

import csv
import random
import re
from pathlib import Path

import pytest

from bot.errors import QueryError
from bot.query.document import MatchDoc
from bot.query.index import FollowIndex
from bot.query.matcher import matches
from bot.query.model import Query
from bot.query.parser import parse_query
from bot.query.text import tokenize

HEADLINES = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "stories" / "uci-entertainment-2014-05-01_2014-06-14.tsv"
)


@pytest.fixture(scope="module")
def titles() -> list[str]:
    with HEADLINES.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        title_at = next(rows).index("TITLE")
        return [row[title_at] for row in rows]


def test_whole_word_matching_agrees_with_an_independent_regex(titles: list[str]) -> None:
    # The regex spells out the rules: whole words (letters/digits around count as the
    # same word, "_" and punctuation do not), case-insensitive, an optional possessive.
    pattern = re.compile(r"(?<![^\W_])(?:kardashian|kanye)(?:['’]s|s['’])?(?![^\W_])", re.I)
    query = parse_query("kardashian OR kanye")
    ours = [t for t in titles if matches(query, MatchDoc.from_article(t))]
    oracle = [t for t in titles if pattern.search(t)]
    substring = [t for t in titles if re.search("kardashian|kanye", t, re.I)]
    assert ours == oracle
    assert 0 < len(ours) <= len(substring)  # whole words are stricter than substrings


def _follow_texts(titles: list[str], count: int, rng: random.Random) -> list[str]:
    texts = []
    while len(texts) < count:
        words = [w for w in tokenize(rng.choice(titles)) if len(w) > 2]
        if len(words) < 2:
            continue
        start = rng.randrange(len(words) - 1)
        parts = rng.sample(
            [
                words[start],
                f'"{words[start]} {words[start + 1]}"',
                f"{rng.choice(words)} OR {rng.choice(words)}",
                f"{max(words, key=len)[:4]}*",
                rng.choice(words),
            ],
            rng.randint(1, 3),
        )
        if rng.random() < 0.3:
            parts.append("-" + rng.choice(tokenize(rng.choice(titles)) or ["x"]))
        texts.append(" ".join(parts))
    return texts


def test_index_agrees_with_reference_matcher_on_real_headlines(titles: list[str]) -> None:
    rng = random.Random(20140524)
    follows: dict[int, Query] = {}
    for key, text in enumerate(_follow_texts(titles, 300, rng)):
        try:
            follows[key] = parse_query(text)
        except QueryError:
            continue
    index: FollowIndex[int] = FollowIndex()
    for key, query in follows.items():
        index.add(key, query)
    matched_any = 0
    for title in rng.sample(titles, 1500):
        doc = MatchDoc.from_article(title)
        expected = {key for key, query in follows.items() if matches(query, doc)}
        assert index.match(doc) == expected, title
        matched_any += bool(expected)
    assert matched_any > 100  # the follows come from these headlines, so many match
