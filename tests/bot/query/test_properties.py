"""Property tests: the index agrees with the reference matcher; normalization round-trips."""

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.query.document import MatchDoc
from bot.query.index import FollowIndex
from bot.query.matcher import highlight_spans, matched_words, matches
from bot.query.model import Query
from bot.query.parser import parse_query
from bot.query.text import scan, tokenize, word_forms

# A small vocabulary, so random follows and random articles do meet.
VOCABULARY = ["kim", "kanye", "ye", "west", "kris", "jenner", "kylie", "wedding", "divorce"]
SURFACE_FORMS = [
    *VOCABULARY,
    "Kim's",
    "Kims'",
    "Kims",
    "KANYE",
    "Jay-Z",
    "divorced",
    "Divorcing",
    "Kimono",
    "Beyoncé",
    "wed",
    "11",
]
STEMS = ["kim", "kan", "div", "divorc", "wed", "jen", "kar"]
SEPARATORS = [" ", ", ", " - ", ": ", " 🎉 ", "! "]

words = st.sampled_from(VOCABULARY)
phrases = st.lists(words, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
prefixes = st.sampled_from(STEMS).map(lambda stem: stem + "*")
terms = st.one_of(words, words, phrases, prefixes)
groups = st.lists(terms, min_size=1, max_size=3).map(lambda ts: " OR ".join(ts))
exclusions = st.lists(st.one_of(words, phrases, prefixes), max_size=2)


@st.composite
def query_texts(draw: st.DrawFn) -> str:
    positives = draw(st.lists(groups, min_size=1, max_size=3))
    negatives = ["-" + term for term in draw(exclusions)]
    parts = positives + negatives
    return " ".join(draw(st.permutations(parts)))


def parsed(text: str) -> Query:
    try:
        return parse_query(text)
    except QueryError:
        assume(False)  # e.g. "kim -kim", or over the term limit
        raise


@st.composite
def field_texts(draw: st.DrawFn, max_words: int = 8) -> str:
    chosen = draw(st.lists(st.sampled_from(SURFACE_FORMS), max_size=max_words))
    text = ""
    for word in chosen:
        text += word + draw(st.sampled_from(SEPARATORS))
    return text


@st.composite
def articles(draw: st.DrawFn) -> MatchDoc:
    categories = draw(st.lists(field_texts(max_words=2), max_size=2))
    return MatchDoc.from_article(draw(field_texts()), draw(field_texts()), categories)


# One step of an index's life: add key -> query, or remove key.
operations = st.lists(st.tuples(st.booleans(), st.integers(0, 15), query_texts()), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    ops=operations,
    docs=st.lists(articles(), min_size=1, max_size=5),
    frequencies=st.dictionaries(st.sampled_from(VOCABULARY + STEMS), st.integers(0, 50)),
)
def test_index_agrees_with_reference_matcher(
    ops: list[tuple[bool, int, str]], docs: list[MatchDoc], frequencies: dict[str, int]
) -> None:
    index: FollowIndex[int] = FollowIndex(term_frequency=frequencies)
    live: dict[int, Query] = {}
    for step, (is_add, key, text) in enumerate(ops):
        if is_add:
            try:
                query = parse_query(text)
            except QueryError:
                continue
            index.add(key, query)
            live[key] = query
        elif key in live:
            index.remove(key)
            del live[key]
        if step % 5 == 0:
            index.observe(docs[step % len(docs)])  # rarity drifts between adds
    assert len(index) == len(live)
    for doc in docs:
        expected = {key for key, query in live.items() if matches(query, doc)}
        assert index.match(doc) == expected


@settings(max_examples=300, deadline=None)
@given(query_texts())
def test_normalized_form_round_trips(text: str) -> None:
    query = parsed(text)
    again = parse_query(query.normalized)
    assert again == query
    assert again.normalized == query.normalized


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abkimK -\"|*OR\u201cé’'🎉()")), max_size=40))
def test_any_input_parses_or_raises_query_error(text: str) -> None:
    error: QueryError | None = None
    try:
        query = parse_query(text)
    except QueryError as caught:
        error = caught
    if error is not None:
        assert str(error)  # every refusal explains itself
        return
    assert parse_query(query.normalized) == query


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_unicode_input_parses_or_raises_query_error(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return
    assert parse_query(query.normalized) == query


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_tokenize_is_idempotent_on_its_output(text: str) -> None:
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens


@settings(max_examples=200, deadline=None)
@given(title=field_texts(), text=query_texts())
def test_highlights_exist_exactly_when_words_matched(title: str, text: str) -> None:
    query = parsed(text)
    spans = highlight_spans(title, query)
    assert bool(spans) == bool(matched_words(query, MatchDoc.from_article(title)))
    assert all(0 <= start < end <= len(title) for start, end in spans)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), field_texts(), st.from_regex(r"[A-Za-z0-9 '’-]{0,40}")))
def test_word_forms_is_scan_without_spans(text: str) -> None:
    assert word_forms(text) == [(token.text, token.alternate) for token in scan(text)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_highlight_spans_are_ordered_and_disjoint_on_any_text(text: str) -> None:
    spans = highlight_spans(text, parse_query('kim OR kims OR kar* OR "a b"'))
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
