"""tokenize / normalize_word / scan: the word rules shared by queries and articles."""

import pytest

from bot.query.text import normalize_word, scan, tokenize

TOKENIZE_CASES = [
    ("Kim Kanye", ["kim", "kanye"]),
    ("KIM  kAnYe\t\n", ["kim", "kanye"]),
    ("Beyoncé", ["beyonce"]),
    ("Beyonce\u0301 decomposed", ["beyonce", "decomposed"]),
    ("Pe\u0301rez Hilton", ["perez", "hilton"]),
    ("Kim's wedding", ["kim", "wedding"]),
    ("Kim\u2019s wedding", ["kim", "wedding"]),
    ("Kim\u2018s wedding", ["kim", "wedding"]),
    ("The Kims' party", ["the", "kim", "party"]),
    ("The Kims\u2019 party", ["the", "kim", "party"]),
    ("The Kims party", ["the", "kims", "party"]),
    ("Jay-Z", ["jay", "z"]),
    ("Jay-Z's tour", ["jay", "z", "tour"]),
    ("Conan O'Brien", ["conan", "o", "brien"]),
    ("rock 'n' roll", ["rock", "n", "roll"]),
    ("Apollo 11", ["apollo", "11"]),
    ("Kim❤️Kanye 🎤🎤", ["kim", "kanye"]),
    ("snake_case_word", ["snake", "case", "word"]),
    ("Straße", ["strasse"]),
    ("İstanbul", ["istanbul"]),
    ("ﬁnal ＫＩＭ x²", ["final", "kim", "x2"]),
    ("½", ["1", "2"]),
    ("金正恩 visits", ["金正恩", "visits"]),
    ("!!! ... --- ''", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "words"), TOKENIZE_CASES)
def test_tokenize(text: str, words: list[str]) -> None:
    assert tokenize(text) == words


def test_plural_possessive_keeps_the_plural_as_alternate() -> None:
    tokens = list(scan("The Kardashians' show"))
    assert [(t.text, t.alternate) for t in tokens] == [
        ("the", None),
        ("kardashian", "kardashians"),
        ("show", None),
    ]


def test_spans_point_into_the_original_text() -> None:
    text = "Straße: Beyoncé’s “Jay-Z” ½"
    pieces = [text[t.start : t.end] for t in scan(text)]
    assert pieces == ["Straße", "Beyoncé’s", "Jay", "Z", "½", "½"]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("KIM", "kim"), ("Beyoncé’s", "beyonce's"), ("ＫＩＭ", "kim"), ("Straße", "strasse")],
)
def test_normalize_word(raw: str, folded: str) -> None:
    assert normalize_word(raw) == folded


def test_very_long_text_is_tokenized_whole() -> None:
    text = "lorem ipsum " * 900 + "Kanye"
    assert len(text) > 10_000
    words = tokenize(text)
    assert len(words) == 1801
    assert words[-1] == "kanye"
