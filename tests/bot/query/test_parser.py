"""parse_query: normalization, structure, search strings and user-facing errors."""

import pytest

from bot.errors import QueryError
from bot.query.model import Phrase, Prefix, Word
from bot.query.parser import parse_query

NORMALIZED_CASES = [
    ("kim kanye", "kanye kim"),
    ("Kim  KANYE", "kanye kim"),
    ("kanye kim", "kanye kim"),
    ('"kim" kanye', "kanye kim"),
    ("  kim\t", "kim"),
    ("kim kim", "kim"),
    ("kim OR kim", "kim"),
    ("kim kanye OR ye", "kanye OR ye kim"),
    ("ye OR kanye kim", "kanye OR ye kim"),
    ("kanye|ye", "kanye OR ye"),
    ("kanye | ye", "kanye OR ye"),
    ("kanye |ye", "kanye OR ye"),
    ("c OR a OR b", "a OR b OR c"),
    ("kim or kanye", "kanye kim or"),  # lowercase or is a word
    ("kim (kanye OR kim)", "kim"),  # kim AND (kanye OR kim) is just kim
    ("kim -kylie", "kim -kylie"),
    ("-kylie kim", "kim -kylie"),
    ("-b -a kim", "kim -a -b"),
    ('-"Kris Jenner" kim', 'kim -"kris jenner"'),
    ('kim -"kris"', "kim -kris"),
    ('"Laura  Wasser"', '"laura wasser"'),
    ("\u201claura wasser\u201d", '"laura wasser"'),
    ('x "a b" OR c', '"a b" OR c x'),
    ("jay-z", '"jay z"'),
    ('"Jay-Z"', '"jay z"'),
    ("Beyoncé", "beyonce"),
    ("KIM\u2019S", "kim"),
    ("divorc*", "divorc*"),
    ("DIVORC* kim", "divorc* kim"),
    ("Apollo 11", "11 apollo"),
    ("kim ❤️ kanye", "kanye kim"),
    ("kim !!! kanye", "kanye kim"),
]


@pytest.mark.parametrize(("text", "normalized"), NORMALIZED_CASES)
def test_normalized_form(text: str, normalized: str) -> None:
    query = parse_query(text)
    assert query.normalized == normalized
    assert parse_query(normalized) == query


def test_equivalent_inputs_give_equal_queries() -> None:
    forms = ["Kim  KANYE", "kanye kim", '"kim" kanye', "KANYE kim kim"]
    assert len({parse_query(form) for form in forms}) == 1


def test_structure_of_a_full_query() -> None:
    query = parse_query('kim "laura wasser" kanye OR ye divorc* -kylie -"kris jenner"')
    assert query.all_of == (
        (Phrase(("laura", "wasser")),),
        (Prefix("divorc"),),
        (Word("kanye"), Word("ye")),
        (Word("kim"),),
    )
    assert query.none_of == (Phrase(("kris", "jenner")), Word("kylie"))


@pytest.mark.parametrize(
    ("text", "search"),
    [
        ("kim kanye", "kanye kim"),
        ('"laura wasser" kim -kylie', '"laura wasser" kim'),
        ("kim kanye OR ye", "kanye OR ye kim"),
        ("divorc* kim", "divorc kim"),
        ('jay-z -"kris jenner"', '"jay z"'),
    ],
)
def test_search_string(text: str, search: str) -> None:
    assert parse_query(text).search_string() == search


ERROR_CASES = [
    ('"laura wasser', "Unbalanced quote", '"laura wasser'),
    ('kim "laura wasser', "Unbalanced quote", '"laura wasser'),
    ('kim "a" "b', "Unbalanced quote", '"b'),
    ("-kylie", "only exclude", "-kylie"),
    ('-kylie -"kris jenner"', "only exclude", '-kylie -"kris jenner"'),
    ("", "empty", ""),
    ("   ", "empty", ""),
    ("!!!", "no words", "!!!"),
    ("🎉 🎉", "no words", "🎉 🎉"),
    ("OR kim", "before it", "OR kim"),
    ("|kim", "before it", "|kim"),
    ("kim OR", "after it", "kim OR"),
    ("kim |", "after it", "kim |"),
    ("kim OR OR ye", "Two ORs", "OR OR"),
    ("kim ||ye", "Two ORs", "||"),
    ("kim | OR ye", "Two ORs", "| OR"),
    ("x" * 201, "too long (201 characters, the limit is 200)", "x"),
    ("a b c d e f g h i j k", "Too many terms (11", "k"),
    ("a OR b OR c OR d OR e OR f OR g OR h OR i OR j OR k", "Too many terms", "k"),
    ('"a b" c d e f g h i j -k -l', "Too many terms (11", "-l"),
    ("ki*", "at least 3 letters", "ki*"),
    ("*", "at least 3 letters", "*"),
    ("kim -é*", "at least 3 letters", "é*"),
    ('"kim kard*"', "inside a phrase", '"kim kard*"'),
    ("di*vorce", "end of a word", "di*vorce"),
    ("divorc**", "end of a word", "divorc**"),
    ("jay-z*", "single word", "jay-z*"),
    ("kim OR -kylie", "exclusion can't be part of an OR", "OR -kylie"),
    ("-kylie OR kim", "exclusion can't be part of an OR", "-kylie OR"),
    ("kim -", "lone -", "-"),
    ("kim - kylie", "lone -", "-"),
    ("kim -!!!", "Nothing to exclude", "-!!!"),
    ('kim -""', "Nothing to exclude", '-""'),
    ("kim -KIM", "requires what", "-KIM"),
]


@pytest.mark.parametrize(("text", "message_part", "fragment"), ERROR_CASES)
def test_errors_name_the_problem_and_the_fragment(text: str, message_part: str, fragment: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    message = str(caught.value)
    assert message_part in message
    assert caught.value.fragment == fragment
    assert fragment in message
    assert len(message) < 200  # a short Discord reply


def test_unbalanced_quote_message_reads_naturally() -> None:
    with pytest.raises(QueryError, match=r'^Unbalanced quote in "laura wasser$'):
        parse_query('"laura wasser')


def test_long_fragments_are_clipped() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query('kim "' + "word " * 30)
    assert caught.value.fragment.endswith("…")
    assert len(caught.value.fragment) <= 60


def test_limits_are_inclusive_and_configurable() -> None:
    assert parse_query("x" * 200).normalized == "x" * 200
    assert len(parse_query("a b c d e f g h i j").all_of) == 10
    with pytest.raises(QueryError, match="limit is 2"):
        parse_query("a b c", max_terms=2)
    with pytest.raises(QueryError, match="limit is 4"):
        parse_query("kanye", max_chars=4)
